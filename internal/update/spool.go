package update

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// SpoolFile is the spool's file name in the state directory.
const SpoolFile = "events.jsonl"

// SpooledEvent is one line of the spool.
type SpooledEvent struct {
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

// Spool is an EventLog for a process that cannot open the store (the
// smgw CLI while the daemon holds it, or with the TPM key provider): it
// appends events to a file, one JSON object a line, fsynced; the daemon
// moves them into the system event log (Drain) at start.
type Spool struct {
	Path string
	Now  func() time.Time
	mu   sync.Mutex
}

// LogEvent implements EventLog.
func (s *Spool) LogEvent(ctx context.Context, kind, message string, attrs map[string]string) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	b, err := json.Marshal(SpooledEvent{Time: now().UTC(), Kind: kind, Message: message, Attrs: attrs})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("update: spool: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("update: spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("update: spool: %w", err)
	}
	return f.Close()
}

// Drain passes every spooled event to fn in order, then removes the
// spool. If fn fails, the spool is kept whole (the next Drain repeats the
// events already passed: fn should tolerate that) and the error returned.
// A line that does not parse is skipped.
func Drain(path string, fn func(SpooledEvent) error) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("update: spool: %w", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var e SpooledEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Kind == "" {
			continue
		}
		if err := fn(e); err != nil {
			return n, err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("update: spool: %w", err)
	}
	return n, os.Remove(path)
}
