package store

import (
	"errors"
	"log/slog"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// Sentinel errors. Callers test them with errors.Is; the wrapping error
// says which file, meter, key or sequence number was concerned.
var (
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("store: closed")
	// ErrReadOnly is returned by writes to a store opened read-only.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrLocked is returned by Open when another process (normally the
	// running daemon) holds the database file.
	ErrLocked = errors.New("store: database is in use by another process")
	// ErrCorrupt is returned when the database file is damaged or
	// truncated; the store refuses to open it rather than write over it.
	ErrCorrupt = errors.New("store: database is corrupt")
	// ErrWrongKey is returned by Open when the data key from the provider
	// is not the one the database was sealed with.
	ErrWrongKey = errors.New("store: data key does not match the database")
	// ErrSchema is returned by Open for a database of a schema version
	// this program does not know (made by a newer version).
	ErrSchema = errors.New("store: unsupported schema version")
	// ErrInvalid is returned (wrapped) by Append for a reading that fails
	// meter.Reading.Validate; nothing of that call is stored.
	ErrInvalid = errors.New("store: invalid reading")
	// ErrChainBroken is returned (wrapped) by VerifyLog when an event log's
	// hash chain has a gap, an edited entry or a wrong head.
	ErrChainBroken = errors.New("store: event log chain broken")
)

// Options configure a store. The zero value (or nil) is usable except for
// Keys, which is required.
type Options struct {
	// Keys provides the data key that seals readings at rest. Required.
	Keys keys.Provider
	// Log receives the store's log lines; nil discards them.
	Log *slog.Logger
	// Now is the clock (for retention and event times); nil is time.Now.
	Now func() time.Time
	// ReadOnly opens the database for reading only (the CLI when no
	// daemon runs): no writer, no maintenance, writes fail with ErrReadOnly.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock; 0 means 500 ms. Past
	// it Open fails with ErrLocked.
	LockTimeout time.Duration
	// OutboxChannels are the outbox channels every durably appended
	// reading is also queued on (e.g. "mqtt"). None by default.
	OutboxChannels []string
	// MaxAge drops readings older than this (by block); 0 keeps them for
	// ever (until MaxBytes).
	MaxAge time.Duration
	// MaxBytes bounds the live data in the database file; when exceeded the
	// oldest reading blocks are dropped first. 0 means no bound.
	MaxBytes int64
	// DeferredFlush is how long AppendDeferred may hold readings before
	// they are made durable; 0 means 15 minutes, so that at a household's
	// load they ride along with the 15-minute register commits instead of
	// costing commits (and flash wear) of their own.
	DeferredFlush time.Duration
	// CompactEvery is how often the commit journal is folded into reading
	// blocks; 0 means 1 hour. Compaction also runs when the journal
	// exceeds CompactBytes (0 means 4 MiB, about 350,000 readings).
	CompactEvery time.Duration
	CompactBytes int
	// CommitWindow is the least time between the starts of two commits
	// while appends keep coming (group commit); 0 means 10 ms, negative
	// means none. It bounds the commits per second, and with them the fsyncs
	// and the bytes written per reading, at the cost of at most that much
	// added latency under load. An append after a quiet spell commits at once.
	CommitWindow time.Duration
	// NoSync skips fsync (tests that do not test durability only).
	NoSync bool

	stepPoints int // points per compaction step; tests set it small
}

// Query selects readings. Zero fields select everything.
type Query struct {
	Meter meter.MeterID // "" for every meter
	OBIS  meter.OBIS    // zero for every quantity
	From  time.Time     // inclusive; zero for the beginning
	To    time.Time     // exclusive; zero for no end
	Limit int           // at most this many readings; 0 for no limit
}

// SeriesInfo describes one quantity of one meter in the store.
type SeriesInfo struct {
	OBIS   meter.OBIS
	Unit   meter.Unit
	First  time.Time     // time of the oldest stored reading
	Latest meter.Reading // the newest reading
}

// MeterInfo describes one meter seen by the store.
type MeterInfo struct {
	ID     meter.MeterID
	Series []SeriesInfo // ordered by OBIS
}

// OutboxItem is one entry owed to a channel.
type OutboxItem struct {
	Seq     uint64
	Payload []byte
}

// LogName names one of the event logs.
type LogName string

// The event logs.
const (
	LogSystem    LogName = "system"    // gateway operation: starts, stops, faults, configuration
	LogMetrology LogName = "metrology" // everything touching billing data: meters, clocks, keys
	LogConsumer  LogName = "consumer"  // what the household may see: commands, messages, access
)

// Logs lists the event logs.
var Logs = []LogName{LogSystem, LogMetrology, LogConsumer}

// Event is one entry of an event log. Seq, Prev and Hash are set by the store.
type Event struct {
	Seq     uint64
	Time    time.Time
	Kind    string            // short machine-readable kind, e.g. "start", "meter-added"
	Message string            // what a person reads
	Attrs   map[string]string // details
	Prev    [32]byte          // hash of the entry before (zero for the first of the chain)
	Hash    [32]byte          // SHA-256 over Prev and the entry's canonical encoding
}

// LogReport is what VerifyLog found.
type LogReport struct {
	Name    LogName
	Entries uint64 // entries checked
	First   uint64 // first sequence number present (older ones retired)
	Last    uint64
	Head    [32]byte
}

// Stats are counters of the store since Open.
type Stats struct {
	Appended       uint64 // readings made durable
	Deferred       uint64 // readings accepted by AppendDeferred and not yet durable
	Commits        uint64 // write transactions
	Compactions    uint64
	JournalBytes   int       // sealed journal bytes awaiting compaction
	LastCommit     time.Time // when the last transaction committed
	LastCommitTook time.Duration
	// LastCompactionTook is how long the last compaction ran, from start
	// to end (appends commit between its steps); MaxCompactionStep is the
	// longest of its steps, the most an append waited behind it.
	LastCompactionTook time.Duration
	MaxCompactionStep  time.Duration
	Meters             int
	Series             int
	FileBytes          int64
}
