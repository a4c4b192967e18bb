package store

// Temporary stubs so dependent packages compile while the implementation
// lands. Replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

var errTODO = errors.New("store: not implemented yet")

// Store is the gateway's durable store.
type Store struct{}

// Open opens (creating if needed) the database at path.
func Open(path string, opts *Options) (*Store, error) { return nil, errTODO }

// Close flushes deferred readings, stops the writer and closes the file.
func (s *Store) Close() error { return nil }

// Path is the database file.
func (s *Store) Path() string { return "" }

// Append stores readings durably: it returns after they are fsynced.
func (s *Store) Append(ctx context.Context, rs ...meter.Reading) error { return errTODO }

// Pending is an append in flight.
type Pending struct{}

// AppendAsync queues readings for the next group commit.
func (s *Store) AppendAsync(rs ...meter.Reading) *Pending { return &Pending{} }

// Wait waits for the append to be durable.
func (p *Pending) Wait(ctx context.Context) error { return errTODO }

// Done is closed when the append is durable or failed.
func (p *Pending) Done() <-chan struct{} { return nil }

// AppendDeferred queues readings to be made durable within DeferredFlush.
func (s *Store) AppendDeferred(rs ...meter.Reading) error { return errTODO }

// Flush makes deferred readings durable now.
func (s *Store) Flush(ctx context.Context) error { return errTODO }

// Subscription delivers committed readings.
type Subscription struct{}

// Subscribe returns a subscription to committed readings.
func (s *Store) Subscribe(buf int) *Subscription { return &Subscription{} }

// C delivers readings.
func (sub *Subscription) C() <-chan meter.Reading { return nil }

// Dropped counts readings dropped because C was full.
func (sub *Subscription) Dropped() uint64 { return 0 }

// Close ends the subscription.
func (sub *Subscription) Close() {}

// Query streams readings ordered by meter, OBIS and time.
func (s *Store) Query(ctx context.Context, q Query, fn func(meter.Reading) error) error {
	return errTODO
}

// Latest returns the newest reading of a series.
func (s *Store) Latest(id meter.MeterID, o meter.OBIS) (meter.Reading, bool) {
	return meter.Reading{}, false
}

// Meters lists the meters and their series.
func (s *Store) Meters() []MeterInfo { return nil }

// Enqueue queues payloads on an outbox channel durably.
func (s *Store) Enqueue(ctx context.Context, channel string, payloads ...[]byte) (uint64, error) {
	return 0, errTODO
}

// Outbox returns up to max unacknowledged items after seq.
func (s *Store) Outbox(channel string, after uint64, max int) ([]OutboxItem, error) {
	return nil, errTODO
}

// Ack acknowledges every item through seq.
func (s *Store) Ack(ctx context.Context, channel string, through uint64) error { return errTODO }

// Log appends an event to a log durably.
func (s *Store) Log(ctx context.Context, name LogName, ev Event) (Event, error) {
	return Event{}, errTODO
}

// Events streams a log's entries with Seq > after.
func (s *Store) Events(ctx context.Context, name LogName, after uint64, fn func(Event) error) error {
	return errTODO
}

// VerifyLog checks a log's hash chain.
func (s *Store) VerifyLog(ctx context.Context, name LogName) (LogReport, error) {
	return LogReport{}, errTODO
}

// Stats returns counters.
func (s *Store) Stats() Stats { return Stats{} }

// Progress is when the writer last completed a loop.
func (s *Store) Progress() time.Time { return time.Time{} }

// EncodeReading appends the outbox payload form of r.
func EncodeReading(dst []byte, r meter.Reading) []byte { return dst }

// DecodeReading reads an outbox payload.
func DecodeReading(p []byte) (meter.Reading, error) { return meter.Reading{}, errTODO }
