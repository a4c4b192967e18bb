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
