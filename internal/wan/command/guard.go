package command

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Records is the part of the store the replay guard keeps its ids in
// (store.Store implements it).
type Records interface {
	PutRecord(ctx context.Context, kind, name string, value []byte) error
	Record(kind, name string) ([]byte, error)
	DeleteRecord(ctx context.Context, kind, name string) error
	RecordNames(kind, prefix string) ([]string, error)
}

// The guard's records: kind "command", name "seen/<command id>", value the
// Unix second (8 bytes, big-endian) after which the id may be forgotten:
// the command's expiry plus the skew, when Verify refuses it as expired
// anyway.
const (
	RecordKind = "command"
	seenPrefix = "seen/"
)

// DefaultMaxSeen is how many ids the guard remembers at most by default.
const DefaultMaxSeen = 10000

// Guard refuses a command id seen before. Ids are remembered durably (a
// record each, written before the command runs, so a restart does not
// reopen the window) for as long as the command could be valid, and no
// longer: memory is bounded by the commands accepted within max_validity,
// and by MaxSeen, past which new commands are refused as busy rather than
// an id forgotten early. The records of forgotten ids are deleted a few at
// a time as commands come (each delete is a transaction of its own), so
// neither a start nor a command waits for thousands of them. It is safe
// for concurrent use.
type Guard struct {
	recs Records
	skew int64
	max  int

	mu    sync.Mutex
	seen  map[string]int64 // id → forget after (Unix s)
	stale []string         // forgotten ids whose records are still to delete
}

// deletesPerAdmit is how many stale records Admit deletes at most.
const deletesPerAdmit = 8

// NewGuard loads the remembered ids, forgetting those past their time.
// maxSeen ≤ 0 is DefaultMaxSeen.
func NewGuard(ctx context.Context, recs Records, skew time.Duration, maxSeen int, now time.Time) (*Guard, error) {
	if maxSeen <= 0 {
		maxSeen = DefaultMaxSeen
	}
	g := &Guard{recs: recs, skew: int64(skew / time.Second), max: maxSeen, seen: map[string]int64{}}
	names, err := recs.RecordNames(RecordKind, seenPrefix)
	if err != nil {
		return nil, fmt.Errorf("command: replay guard: %w", err)
	}
	for _, name := range names {
		v, err := recs.Record(RecordKind, name)
		if err != nil {
			return nil, fmt.Errorf("command: replay guard: %w", err)
		}
		if len(v) != 8 {
			return nil, fmt.Errorf("command: replay guard: record %s/%s has %d bytes, want 8", RecordKind, name, len(v))
		}
		g.seen[strings.TrimPrefix(name, seenPrefix)] = int64(binary.BigEndian.Uint64(v))
	}
	g.forget(now.Unix())
	return g, nil
}

// Len returns how many ids are remembered.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

// forget moves the ids past their time to stale. Called with mu held (or
// before the guard is shared).
func (g *Guard) forget(now int64) {
	for id, until := range g.seen {
		if until < now {
			g.stale = append(g.stale, id)
			delete(g.seen, id)
		}
	}
}

// deleteStale deletes up to n stale records. Called with mu held.
func (g *Guard) deleteStale(ctx context.Context, n int) error {
	for ; n > 0 && len(g.stale) > 0; n-- {
		id := g.stale[len(g.stale)-1]
		if _, back := g.seen[id]; !back { // not seen again since
			if err := g.recs.DeleteRecord(ctx, RecordKind, seenPrefix+id); err != nil {
				return fmt.Errorf("command: replay guard: %w", err)
			}
		}
		g.stale = g.stale[:len(g.stale)-1]
	}
	return nil
}

// Admit refuses c if its id was seen, else remembers it durably. Call it
// after Verify and before running the command: a command whose id could
// not be stored is not run.
func (g *Guard) Admit(ctx context.Context, c *Command, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until, ok := g.seen[c.ID]; ok && until >= now.Unix() {
		return Reject(ReasonReplayed, "command id %q was received before", c.ID)
	}
	g.forget(now.Unix())
	if err := g.deleteStale(ctx, deletesPerAdmit); err != nil {
		return Reject(ReasonFailed, "%v", err)
	}
	if len(g.seen) >= g.max {
		return Reject(ReasonBusy, "%d command ids within their validity are remembered, the most allowed; retry later", g.max)
	}
	until := c.Expires + g.skew
	v := binary.BigEndian.AppendUint64(nil, uint64(until))
	if err := g.recs.PutRecord(ctx, RecordKind, seenPrefix+c.ID, v); err != nil {
		return Reject(ReasonFailed, "cannot record the command id: %v", err)
	}
	g.seen[c.ID] = until
	return nil
}
