package app

import (
	"context"
	"github.com/smgw/smgw/internal/testutil"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifications records sd_notify states.
type notifications struct {
	mu     sync.Mutex
	states []string
}

func (n *notifications) notify(s string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.states = append(n.states, s)
	return nil
}

func (n *notifications) count(prefix string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, s := range n.states {
		if strings.HasPrefix(s, prefix) {
			c++
		}
	}
	return c
}

func (n *notifications) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.states...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestWatchdogStopsOnHungProbe(t *testing.T) {
	clock := &fakeClock{t: t0}
	var ns notifications
	storeLast := t0 // the store keeps progressing
	meterLast := t0 // the meter hangs after the start
	n := NewNotifier(&NotifierOptions{
		Notify:          ns.notify,
		Now:             clock.Now,
		Watchdog:        30 * time.Second,
		ProgressTimeout: time.Minute,
		Probes: []Probe{
			{Name: "store", Last: func() time.Time { return storeLast }},
			{Name: "meter m", Last: func() time.Time { return meterLast }, Timeout: 2 * time.Minute},
		},
	})
	step := func() bool {
		clock.Add(15 * time.Second)
		storeLast = clock.Now()
		return n.check(clock.Now())
	}
	pings := 0
	for range 8 { // 2 minutes: the meter's timeout is not exceeded yet
		if step() {
			pings++
		}
	}
	if pings != 8 || ns.count("WATCHDOG=1") != 8 {
		t.Fatalf("pinged %d times (%d notifications) while every service was fresh, want 8", pings, ns.count("WATCHDOG=1"))
	}
	if n.Stalled() != "" {
		t.Fatalf("stalled %q", n.Stalled())
	}
	for range 4 {
		if step() {
			t.Fatalf("pinged at %v with the meter hung since %v", clock.Now(), meterLast)
		}
	}
	if got := n.Stalled(); got != "meter m" {
		t.Errorf("Stalled() = %q, want meter m", got)
	}
	h := n.Health()
	if len(h) != 2 || !h[0].Healthy || h[1].Healthy || !h[1].LastProgress.Equal(meterLast) {
		t.Errorf("Health() = %+v", h)
	}
	// The meter recovers: pings resume.
	meterLast = clock.Now().Add(15 * time.Second)
	if !step() {
		t.Fatal("no ping after the meter recovered")
	}
	if ns.count("WATCHDOG=1") != 9 {
		t.Errorf("%d pings, want 9", ns.count("WATCHDOG=1"))
	}
}

func TestNotifierRun(t *testing.T) {
	testutil.CheckGoroutines(t)
	var ns notifications
	var mu sync.Mutex
	last := time.Now()
	n := NewNotifier(&NotifierOptions{
		Notify:          ns.notify,
		Watchdog:        20 * time.Millisecond,
		ProgressTimeout: 50 * time.Millisecond,
		StatusEvery:     10 * time.Millisecond,
		Status:          func() string { return "1 meters, 0 readings/min, store ok, WAN: none" },
		Probes: []Probe{{Name: "svc", Last: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return last
		}}},
	})
	n.Ready()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	// Progressing: pings come.
	deadline := time.Now().Add(10 * time.Second)
	for ns.count("WATCHDOG=1") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no watchdog pings")
		}
		mu.Lock()
		last = time.Now()
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	// Hung: once the timeout has passed, pings stop.
	for n.Stalled() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the hung service was not noticed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := ns.count("WATCHDOG=1")
	time.Sleep(100 * time.Millisecond)
	if after := ns.count("WATCHDOG=1"); after != before {
		t.Errorf("%d pings while the service was hung", after-before)
	}
	n.Stopping()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	states := ns.all()
	if !strings.HasPrefix(states[0], "READY=1\nSTATUS=1 meters") {
		t.Errorf("first notification %q", states[0])
	}
	if ns.count("STATUS=1 meters, 0 readings/min") == 0 {
		t.Error("no STATUS= line")
	}
	if !strings.HasPrefix(states[len(states)-1], "STOPPING=1") {
		t.Errorf("last notification %q, want STOPPING=1", states[len(states)-1])
	}
}

func TestNotifierNoWatchdog(t *testing.T) {
	var ns notifications
	n := NewNotifier(&NotifierOptions{Notify: ns.notify, StatusEvery: time.Hour,
		Probes: []Probe{{Name: "x", Last: func() time.Time { return time.Time{} }}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ns.all()) != 0 {
		t.Errorf("notifications without a watchdog or status: %q", ns.all())
	}
}
