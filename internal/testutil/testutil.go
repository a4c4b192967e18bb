// Package testutil holds helpers that several packages' tests share: a
// check that a test leaves no goroutine running, and a buffer safe for
// concurrent writers. Only tests import it.
package testutil

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// CheckGoroutines fails the test if, at its end (after the cleanups
// registered after this call), goroutines it started are still running
// after a grace period of 10 s. It compares goroutines by id with those
// running at the call, so it does not depend on what other tests or the
// runtime leave around.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		var extra []string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			extra = extra[:0]
			for id, stack := range goroutines() {
				if _, ok := before[id]; !ok {
					extra = append(extra, stack)
				}
			}
			if len(extra) == 0 {
				return
			}
		}
		t.Errorf("%d goroutine(s) leaked:\n\n%s", len(extra), strings.Join(extra, "\n\n"))
	})
}

// goroutines returns the stacks of the running goroutines by id, without
// the caller's own and the test framework's.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		id := strings.Fields(head)
		if len(id) < 2 {
			continue
		}
		if strings.Contains(g, "runtime.Stack(") || strings.Contains(g, "testing.(*T).Run(") ||
			strings.Contains(g, "testing.tRunner.func") || strings.Contains(g, "testing.runTests") ||
			strings.Contains(g, "testing.(*M).") || strings.Contains(g, "os/signal.signal_recv") {
			continue
		}
		out[id[1]] = g
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a logger's
// handler written to by a server's goroutines, say).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
