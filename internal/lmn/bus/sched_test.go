package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestFairShareAndPlan(t *testing.T) {
	s := NewScheduler(nil)
	start := t0.Add(30 * time.Second)
	for _, m := range []string{"a", "b", "c"} {
		if err := s.Add(m, []Job{{Name: "registers", Every: time.Minute}, {Name: "profile", Every: 15 * time.Minute, Align: true, Offset: 10 * time.Second}}, start); err != nil {
			t.Fatal(err)
		}
	}
	now := start
	var order []string
	for i := 0; i < 6; i++ {
		d, ok, _ := s.Next(now)
		if !ok {
			t.Fatalf("step %d: nothing due", i)
		}
		order = append(order, d.Meter+"/"+d.Job)
		now = now.Add(time.Second)
		s.Done(d, now, nil)
	}
	// Each meter gets the line in turn, not one meter's jobs back to back.
	want := []string{"a/registers", "b/registers", "c/registers", "a/profile", "b/profile", "c/profile"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if _, ok, wake := s.Next(now); ok || !wake.Equal(start.Add(time.Minute)) {
		t.Fatalf("next wake %v ok %v", wake, ok)
	}
	sch := s.Schedule("a")
	if want := t0.Add(15*time.Minute + 10*time.Second); !sch["profile"].Equal(want) {
		t.Fatalf("profile next %v, want %v (aligned to the quarter + offset)", sch["profile"], want)
	}
}

func TestBackoffAndCounters(t *testing.T) {
	s := NewScheduler(&Options{Retries: 3, Backoff: time.Second, MaxBackoff: 3 * time.Second})
	if err := s.Add("m", []Job{{Name: "registers", Every: time.Hour}}, t0); err != nil {
		t.Fatal(err)
	}
	now := t0
	errs := []error{
		fmt.Errorf("x: %w", ErrTimeout),
		fmt.Errorf("x: %w", ErrFrame),
		&ProtocolError{Kind: "exception", Err: errors.New("exception-response")},
		errors.New("boom"),
	}
	var waits []time.Duration
	for i, e := range errs {
		d, ok, wake := s.Next(now)
		if !ok {
			waits = append(waits, wake.Sub(now))
			now = wake
			d, ok, _ = s.Next(now)
		}
		if !ok || d.Attempt != i {
			t.Fatalf("step %d: ok %v attempt %d", i, ok, d.Attempt)
		}
		s.Done(d, now, e)
	}
	// 1 s, 2 s, 3 s (capped), then the next regular slot.
	if fmt.Sprint(waits) != "[1s 2s 3s]" {
		t.Fatalf("backoff %v", waits)
	}
	if sch := s.Schedule("m"); !sch["registers"].Equal(t0.Add(time.Hour)) {
		t.Fatalf("after retries: next %v, want the regular slot %v", sch["registers"], t0.Add(time.Hour))
	}
	h := s.Health()[0]
	if h.Timeouts != 1 || h.FrameErrors != 1 || h.Protocol["exception"] != 1 || h.Other != 1 || h.Failing != 4 || h.Healthy() {
		t.Fatalf("health %+v", h)
	}
	s.Note("m", "frame")
	d, _, wake := s.Next(now)
	_ = d
	d, ok, _ := s.Next(wake)
	if !ok {
		t.Fatal("not due at its slot")
	}
	s.Done(d, wake, nil)
	h = s.Health()[0]
	if !h.Healthy() || h.FrameErrors != 2 || h.Successes != 1 || !h.LastSuccess.Equal(wake) {
		t.Fatalf("health %+v", h)
	}
	if h.String() == "" {
		t.Fatal("empty String")
	}
}

func TestPermanentSkipsRetries(t *testing.T) {
	s := NewScheduler(nil)
	s.Add("m", []Job{{Name: "j", Every: time.Minute}}, t0)
	d, _, _ := s.Next(t0)
	s.Done(d, t0, fmt.Errorf("bad config: %w", ErrPermanent))
	if sch := s.Schedule("m"); !sch["j"].Equal(t0.Add(time.Minute)) {
		t.Fatalf("next %v", sch["j"])
	}
}

func TestAddErrors(t *testing.T) {
	s := NewScheduler(nil)
	if s.Add("", nil, t0) == nil || s.Add("m", []Job{{Name: "j"}}, t0) == nil ||
		s.Add("m", []Job{{Name: "j", Every: time.Second}, {Name: "j", Every: time.Second}}, t0) == nil {
		t.Fatal("bad plans accepted")
	}
	s.Add("x", nil, t0)
	if s.Add("x", nil, t0) == nil {
		t.Fatal("duplicate meter accepted")
	}
}

// TestRunnerCommandsFirst: a command waits only for the job in progress,
// then goes before every due poll; one job runs at a time; a panicking
// job is counted and the line goes on.
func TestRunnerCommandsFirst(t *testing.T) {
	r := NewRunner(&Options{Retries: -1, Timeout: time.Second}, nil)
	var mu sync.Mutex
	var log []string
	active := 0
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	job := func(meter string) RunFunc {
		return func(ctx context.Context, job string) error {
			mu.Lock()
			active++
			if active > 1 {
				t.Error("two jobs on the line")
			}
			log = append(log, meter+"/"+job)
			mu.Unlock()
			started <- struct{}{}
			if meter == "a" && job == "slow" {
				<-release
			}
			mu.Lock()
			active--
			mu.Unlock()
			if meter == "c" {
				panic("driver bug")
			}
			return nil
		}
	}
	r.Add("a", []Job{{Name: "slow", Every: time.Hour}}, job("a"))
	r.Add("b", []Job{{Name: "poll", Every: time.Hour}}, job("b"))
	r.Add("c", []Job{{Name: "poll", Every: time.Hour}}, job("c"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-started // a/slow is on the line
	cmdDone := make(chan error)
	go func() {
		cmdDone <- r.Do(ctx, "b", func(context.Context) error {
			mu.Lock()
			log = append(log, "b/disconnect")
			mu.Unlock()
			return nil
		})
	}()
	// Let the command be queued, then release the slow job.
	for i := 0; i < 200; i++ {
		r.mu.Lock()
		n := len(r.cmds)
		r.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-cmdDone; err != nil {
		t.Fatal(err)
	}
	<-started
	<-started
	for i := 0; i < 200 && r.Ticks() < 4; i++ {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := fmt.Sprint(log)
	mu.Unlock()
	// The command used b's share of the line, so c polls before b.
	if got != "[a/slow b/disconnect c/poll b/poll]" {
		t.Fatalf("order %s", got)
	}
	h := r.Health()
	if h[2].Other != 1 || h[2].Failures != 1 {
		t.Fatalf("panic not counted: %+v", h[2])
	}
	if err := r.Do(context.Background(), "nope", nil); !errors.Is(err, ErrUnknownMeter) {
		t.Fatalf("unknown meter: %v", err)
	}
}

// TestHoldOnTimeout: a meter that does not answer holds its other jobs
// until the failed job's retry; a meter that answers with an error does
// not.
func TestHoldOnTimeout(t *testing.T) {
	s := NewScheduler(&Options{Backoff: time.Second, HoldOnTimeout: true})
	plan := []Job{{Name: "registers", Every: time.Minute}, {Name: "live", Every: 10 * time.Second}}
	s.Add("m", plan, t0)
	d, _, _ := s.Next(t0)
	s.Done(d, t0, fmt.Errorf("x: %w", ErrTimeout))
	if _, ok, wake := s.Next(t0); ok || !wake.Equal(t0.Add(time.Second)) {
		t.Fatalf("after a timeout: ok %v, wake %v (want the retry, 1 s)", ok, wake)
	}
	if h := s.Health()[0]; h.State() != StateUnreachable || h.LastKind != "timeout" {
		t.Fatalf("state %s, kind %q", h.State(), h.LastKind)
	}
	// The retry (attempt 1) runs first, then the held job.
	now := t0.Add(time.Second)
	d, _, _ = s.Next(now)
	if d.Job != "registers" || d.Attempt != 1 {
		t.Fatalf("first after the hold: %+v", d)
	}
	s.Done(d, now, &ProtocolError{Kind: "exception", Err: errors.New("refused")})
	d, ok, _ := s.Next(now)
	if !ok || d.Job != "live" {
		t.Fatalf("a protocol error must not hold: %+v %v", d, ok)
	}
	s.Done(d, now, nil)
	h := s.Health()[0]
	if h.Retries != 1 || h.State() != StateOK || h.Jobs != 3 {
		t.Fatalf("health %s", h)
	}
	s2 := NewScheduler(nil)
	s2.Add("m", plan, t0)
	if h := s2.Health()[0]; h.State() != StateWaiting {
		t.Fatalf("fresh meter: %s", h.State())
	}
	d, _, _ = s2.Next(t0)
	s2.Done(d, t0, fmt.Errorf("x: %w", ErrFrame))
	if h := s2.Health()[0]; h.State() != StateFailing {
		t.Fatalf("after a frame error: %s", h.State())
	}
	if d, ok, _ := s2.Next(t0); !ok || d.Job != "live" {
		t.Fatal("without HoldOnTimeout the other job goes on")
	}
}

// TestRunnerCycleStopOccupancy: Cycle runs every job once with the
// meters in turn; a job wrapping ErrStop stops Run with its error and is
// not counted against the meter; the line's busy time is kept.
func TestRunnerCycleStopOccupancy(t *testing.T) {
	r := NewRunner(&Options{Retries: -1}, nil)
	var mu sync.Mutex
	var log []string
	stop := false
	run := func(meter string) RunFunc {
		return func(ctx context.Context, job string) error {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, meter+"/"+job)
			if stop && meter == "b" {
				return Stop(fmt.Errorf("port gone"))
			}
			time.Sleep(2 * time.Millisecond)
			if meter == "b" {
				r.Retried("b")
				return fmt.Errorf("x: %w", ErrTimeout)
			}
			return nil
		}
	}
	plan := []Job{{Name: "r", Every: time.Hour}, {Name: "l", Every: time.Hour}}
	r.Add("a", plan, run("a"))
	r.Add("b", plan, run("b"))
	ctx := context.Background()
	for range 2 {
		if err := r.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(log); got != "[a/r b/r a/l b/l a/r b/r a/l b/l]" {
		t.Fatalf("cycles ran %s", got)
	}
	h := r.Health()
	if h[0].Successes != 4 || h[1].Timeouts != 4 || h[1].Retries != 4 || h[1].State() != StateUnreachable {
		t.Fatalf("health %s / %s", h[0], h[1])
	}
	if o := r.Occupancy(); o.Busy < 16*time.Millisecond || o.Recent <= 0 || o.Recent > 1 {
		t.Fatalf("occupancy %+v", o)
	}
	mu.Lock()
	stop = true
	mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r.s.DueAll(r.now())
	err := r.Run(rctx)
	if !errors.Is(err, ErrStop) || err.Error() != "port gone" {
		t.Fatalf("Run = %v, want the job's stop error", err)
	}
	if h := r.Health(); h[1].Jobs != 4 {
		t.Fatalf("a stop counted against the meter: %s", h[1])
	}
	if Stop(nil) != nil {
		t.Fatal("Stop(nil) != nil")
	}
}

func TestLoadWindow(t *testing.T) {
	var l load
	l.since = t0
	l.add(t0, t0.Add(30*time.Second))
	l.add(t0.Add(90*time.Second), t0.Add(150*time.Second)) // across a minute
	if o := l.occupancy(t0.Add(3 * time.Minute)); o.Busy != 90*time.Second || o.Recent != 0.5 {
		t.Fatalf("occupancy %+v", o)
	}
	// 20 minutes later the old minutes have left the window.
	l.add(t0.Add(20*time.Minute), t0.Add(20*time.Minute+30*time.Second))
	if o := l.occupancy(t0.Add(21 * time.Minute)); o.Busy != 120*time.Second || o.Recent != 30.0/(14*60) { // the window: the 14 whole minutes before and the current one
		t.Fatalf("occupancy after the window %+v", o)
	}
}
