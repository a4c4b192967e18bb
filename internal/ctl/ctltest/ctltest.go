// Package ctltest provides an in-memory ctl.Backend for tests of the
// control socket, the status page and their users, so they need no store.
package ctltest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// Backend is an in-memory ctl.Backend. The zero value is empty and ready.
// It is safe for concurrent use; Query and Events iterate over a snapshot,
// checking ctx before every call of fn.
type Backend struct {
	mu       sync.Mutex
	readings []meter.Reading // ordered by meter, OBIS, time
	logs     map[store.LogName][]store.Event
	broken   map[store.LogName]bool
	status   ctl.Status
	err      error
	queries  []store.Query
}

var _ ctl.Backend = (*Backend)(nil)

// Add stores readings, keeping the store's order (meter, OBIS, time).
func (b *Backend) Add(rs ...meter.Reading) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.readings = slices.Concat(b.readings, rs) // a new array: snapshots stay intact
	slices.SortStableFunc(b.readings, compareReadings)
}

func compareReadings(x, y meter.Reading) int {
	return cmp.Or(
		cmp.Compare(x.Meter, y.Meter),
		bytes.Compare(x.OBIS[:], y.OBIS[:]),
		x.Time.Compare(y.Time),
	)
}

// Log appends an event to a log the way the store does: it sets Seq, Prev
// and Hash, and returns the stored event.
func (b *Backend) Log(name store.LogName, ev store.Event) store.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.logs == nil {
		b.logs = map[store.LogName][]store.Event{}
	}
	l := b.logs[name]
	ev.Seq = uint64(len(l)) + 1
	if len(l) > 0 {
		ev.Prev = l[len(l)-1].Hash
	}
	h := sha256.New()
	h.Write(ev.Prev[:])
	h.Write(binary.BigEndian.AppendUint64(nil, ev.Seq))
	fmt.Fprintf(h, "%d|%s|%s|%v", ev.Time.UnixNano(), ev.Kind, ev.Message, ev.Attrs)
	copy(ev.Hash[:], h.Sum(nil))
	b.logs[name] = append(l, ev)
	return ev
}

// BreakLog makes VerifyLog of name fail with store.ErrChainBroken.
func (b *Backend) BreakLog(name store.LogName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		b.broken = map[store.LogName]bool{}
	}
	b.broken[name] = true
}

// SetStatus sets what Status returns.
func (b *Backend) SetStatus(s ctl.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = s
}

// SetErr makes every call fail with err (nil: succeed again).
func (b *Backend) SetErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// Queries returns the queries Query was called with.
func (b *Backend) Queries() []store.Query {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.queries)
}

// Query implements ctl.Backend with the store's semantics.
func (b *Backend) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	b.mu.Lock()
	b.queries = append(b.queries, q)
	rs, err := b.readings, b.err
	b.mu.Unlock()
	if err != nil {
		return err
	}
	n := 0
	for _, r := range rs {
		if !Match(q, r) {
			continue
		}
		if q.Limit > 0 && n >= q.Limit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		n++
	}
	return ctx.Err()
}

// Match reports whether q selects r (ignoring Limit).
func Match(q store.Query, r meter.Reading) bool {
	return (q.Meter == "" || q.Meter == r.Meter) &&
		(q.OBIS == meter.OBIS{} || q.OBIS == r.OBIS) &&
		(q.From.IsZero() || !r.Time.Before(q.From)) &&
		(q.To.IsZero() || r.Time.Before(q.To))
}

// Meters implements ctl.Backend: the meters and series of the readings added.
func (b *Backend) Meters(ctx context.Context) ([]store.MeterInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	var ms []store.MeterInfo
	for _, r := range b.readings {
		if len(ms) == 0 || ms[len(ms)-1].ID != r.Meter {
			ms = append(ms, store.MeterInfo{ID: r.Meter})
		}
		m := &ms[len(ms)-1]
		if len(m.Series) == 0 || m.Series[len(m.Series)-1].OBIS != r.OBIS {
			m.Series = append(m.Series, store.SeriesInfo{OBIS: r.OBIS, First: r.Time})
		}
		s := &m.Series[len(m.Series)-1]
		s.Latest, s.Unit = r, r.Unit
	}
	return ms, ctx.Err()
}

// Events implements ctl.Backend.
func (b *Backend) Events(ctx context.Context, name store.LogName, after uint64, fn func(store.Event) error) error {
	b.mu.Lock()
	evs, err := b.logs[name], b.err
	b.mu.Unlock()
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Seq <= after {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// VerifyLog implements ctl.Backend.
func (b *Backend) VerifyLog(ctx context.Context, name store.LogName) (store.LogReport, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return store.LogReport{}, b.err
	}
	evs := b.logs[name]
	rep := store.LogReport{Name: name}
	for _, ev := range evs {
		if b.broken[name] && ev.Seq > 1 {
			return rep, fmt.Errorf("%w: %s: entry %d does not follow entry %d", store.ErrChainBroken, name, ev.Seq, rep.Last)
		}
		if rep.Entries == 0 {
			rep.First = ev.Seq
		}
		rep.Entries++
		rep.Last, rep.Head = ev.Seq, ev.Hash
	}
	return rep, ctx.Err()
}

// Status implements ctl.Backend.
func (b *Backend) Status(ctx context.Context) (ctl.Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return ctl.Status{}, b.err
	}
	s := b.status
	s.Services = slices.Clone(s.Services)
	s.Live = slices.Clone(s.Live)
	return s, ctx.Err()
}
