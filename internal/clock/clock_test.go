package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fake is a settable wall and monotonic clock and NTP and RTC states.
type fake struct {
	wall      time.Time
	mono      time.Duration
	ntp, rtc  bool
	trustedBy []string
	jumps     []Jump
}

func (f *fake) advance(d time.Duration) { f.wall = f.wall.Add(d); f.mono += d }

func (f *fake) monitor(t *testing.T, source string) *Monitor {
	t.Helper()
	m, err := New(&Options{
		Source: source, JumpThreshold: time.Second,
		Wall: func() time.Time { return f.wall }, Mono: func() time.Duration { return f.mono },
		NTPSynced: func() bool { return f.ntp }, RTCValid: func() bool { return f.rtc },
		OnTrusted: func(_ context.Context, s string) { f.trustedBy = append(f.trustedBy, s) },
		OnJump:    func(_ context.Context, j Jump) { f.jumps = append(f.jumps, j) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrust(t *testing.T) {
	for _, tc := range []struct {
		source   string
		ntp, rtc bool
		want     string // the source that vouches, "" for untrusted
	}{
		{SourceNone, false, false, SourceNone},
		{"", false, false, SourceNone},
		{SourceNTP, false, false, ""},
		{SourceNTP, false, true, ""},
		{SourceNTP, true, false, SourceNTP},
		{SourceRTC, true, false, ""},
		{SourceRTC, false, true, SourceRTC},
		{SourceAny, false, false, ""},
		{SourceAny, false, true, SourceRTC},
		{SourceAny, true, true, SourceNTP},
	} {
		f := &fake{wall: time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC), ntp: tc.ntp, rtc: tc.rtc}
		m := f.monitor(t, tc.source)
		m.Check(context.Background())
		if got := m.TrustedBy(); got != tc.want || m.Trusted() != (tc.want != "") {
			t.Errorf("source %q ntp=%v rtc=%v: trusted by %q (%v), want %q", tc.source, tc.ntp, tc.rtc, got, m.Trusted(), tc.want)
		}
	}
}

func TestBecomesTrustedOnceAndWaitReturns(t *testing.T) {
	f := &fake{wall: time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC)}
	m := f.monitor(t, SourceNTP)
	ctx := context.Background()
	m.Check(ctx)
	if m.Trusted() {
		t.Fatal("trusted before NTP synchronised")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := m.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on an untrusted clock: %v, want the context's deadline", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- m.Wait(ctx) }()
	f.ntp = true
	f.advance(10 * time.Second)
	m.Check(ctx)
	if err := <-waited; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	f.ntp = false // timesyncd's file gone: trust, once given, stays
	f.advance(10 * time.Second)
	m.Check(ctx)
	if !m.Trusted() || len(f.trustedBy) != 1 || f.trustedBy[0] != SourceNTP {
		t.Fatalf("trusted=%v OnTrusted calls %v, want one for ntp", m.Trusted(), f.trustedBy)
	}
}

func TestJumps(t *testing.T) {
	f := &fake{wall: time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC)}
	m := f.monitor(t, SourceNTP)
	ctx := context.Background()
	f.advance(10 * time.Second)
	m.Check(ctx) // steady: no jump
	f.advance(10 * time.Second)
	f.wall = f.wall.Add(500 * time.Millisecond) // under the threshold
	m.Check(ctx)
	if len(f.jumps) != 0 {
		t.Fatalf("jumps %v, want none", f.jumps)
	}
	// NTP's first correction: from 1970 to 2026.
	f.advance(10 * time.Second)
	before := f.wall
	f.wall = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	f.ntp = true
	m.Check(ctx)
	if len(f.jumps) != 1 || !f.jumps[0].From.Equal(before) || !f.jumps[0].To.Equal(f.wall) {
		t.Fatalf("jumps %v, want one from %v to %v", f.jumps, before, f.wall)
	}
	// Backwards.
	f.advance(10 * time.Second)
	f.wall = f.wall.Add(-time.Hour)
	m.Check(ctx)
	if len(f.jumps) != 2 || f.jumps[1].Delta() != -time.Hour || m.Jumps() != 2 {
		t.Fatalf("jumps %v, want a second of -1h", f.jumps)
	}
}

func TestUnknownSource(t *testing.T) {
	if _, err := New(&Options{Source: "gps"}); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("New(gps): %v, want ErrUnknownSource", err)
	}
}

func TestRunStops(t *testing.T) {
	m, err := New(&Options{Source: SourceNTP, Every: time.Millisecond, NTPSynced: func() bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	if err := m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRTCValidMissingDevice(t *testing.T) {
	dir := t.TempDir()
	if rtcValid(dir+"/rtc0", dir+"/hctosys") {
		t.Fatal("a missing RTC vouched for the clock")
	}
}
