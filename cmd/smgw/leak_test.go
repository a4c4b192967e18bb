package main

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkGoroutines fails the test if, at its end, goroutines it started are
// still running after a grace period. It compares the goroutines' stacks
// (by their first function) with those at the call, so it does not depend
// on what other tests or the runtime leave around.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		var extra []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
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
