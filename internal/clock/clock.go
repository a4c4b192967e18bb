package clock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Sources of trust, as the configuration names them ([clock] source).
const (
	// SourceNone trusts the clock as it is (demo, development).
	SourceNone = "none"
	// SourceNTP trusts the clock once systemd-timesyncd has synchronised it.
	SourceNTP = "ntp"
	// SourceRTC trusts the clock when the RTC's data is valid and the
	// system time was set from it at boot.
	SourceRTC = "rtc"
	// SourceAny trusts the clock when either NTP or the RTC vouches for it.
	SourceAny = "any"
)

// Default paths of the sources.
const (
	// TimesyncFile exists once systemd-timesyncd has synchronised the clock
	// since boot (it is on tmpfs, so a reboot starts untrusted).
	TimesyncFile = "/run/systemd/timesync/synchronized"
	// RTCDevice is the RTC whose validity flag is read.
	RTCDevice = "/dev/rtc0"
	// RTCHctosys is "1" when the kernel set the system time from rtc0 at boot.
	RTCHctosys = "/sys/class/rtc/rtc0/hctosys"
)

// ErrUnknownSource is returned by New for a source it does not know.
var ErrUnknownSource = errors.New("clock: unknown source")

// Jump is a difference between the wall clock and the monotonic clock
// over one check period: the wall clock was set.
type Jump struct {
	// From is the wall time expected at the check (the previous wall time
	// plus the monotonic time elapsed); To is the wall time found.
	From, To time.Time
}

// Delta is how far the clock jumped: positive forward.
func (j Jump) Delta() time.Duration { return j.To.Sub(j.From) }

// Options configure a Monitor. The zero value trusts the clock as it is
// and checks for jumps every 10 s with a 2 s threshold.
type Options struct {
	// Source is one of SourceNone (""), SourceNTP, SourceRTC, SourceAny.
	Source string
	// Every is the check period; 0 is 10 s.
	Every time.Duration
	// JumpThreshold is the smallest difference reported as a Jump; 0 is 2 s.
	JumpThreshold time.Duration
	// Wall returns the wall clock; nil is time.Now without its monotonic
	// reading.
	Wall func() time.Time
	// Mono returns monotonic time since an arbitrary start; nil uses the
	// runtime's monotonic clock.
	Mono func() time.Duration
	// NTPSynced reports whether NTP synchronised the clock; nil checks
	// TimesyncFile.
	NTPSynced func() bool
	// RTCValid reports whether the RTC vouches for the clock; nil reads
	// RTCDevice and RTCHctosys (Linux only; false elsewhere).
	RTCValid func() bool
	// OnTrusted is called once, from Check or Run, when the clock becomes
	// trusted, with the source that vouched for it ("none" at New for
	// SourceNone is not reported).
	OnTrusted func(ctx context.Context, source string)
	// OnJump is called from Check or Run for every jump.
	OnJump func(ctx context.Context, j Jump)
	// Log receives the monitor's lines; nil discards them.
	Log *slog.Logger
}

// Monitor decides whether the clock is trusted and watches it for jumps.
// New → Run; Trusted and Wait are safe for concurrent use.
type Monitor struct {
	source    string
	every     time.Duration
	threshold time.Duration
	wall      func() time.Time
	mono      func() time.Duration
	ntp       func() bool
	rtc       func() bool
	onTrusted func(context.Context, string)
	onJump    func(context.Context, Jump)
	log       *slog.Logger

	mu       sync.Mutex
	trusted  bool
	by       string        // the source that vouched
	trustedC chan struct{} // closed when trusted
	lastWall time.Time
	lastMono time.Duration
	jumps    uint64
}

// New returns a monitor. It reads the sources once, so Trusted is right
// from the start; it starts no goroutine.
func New(opts *Options) (*Monitor, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch o.Source {
	case "":
		o.Source = SourceNone
	case SourceNone, SourceNTP, SourceRTC, SourceAny:
	default:
		return nil, fmt.Errorf("%w %q (known: none, ntp, rtc, any)", ErrUnknownSource, o.Source)
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.JumpThreshold <= 0 {
		o.JumpThreshold = 2 * time.Second
	}
	if o.Wall == nil {
		o.Wall = func() time.Time { return time.Now().Round(0) }
	}
	if o.Mono == nil {
		start := time.Now()
		o.Mono = func() time.Duration { return time.Since(start) }
	}
	if o.NTPSynced == nil {
		o.NTPSynced = func() bool { _, err := os.Stat(TimesyncFile); return err == nil }
	}
	if o.RTCValid == nil {
		o.RTCValid = func() bool { return rtcValid(RTCDevice, RTCHctosys) }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		source: o.Source, every: o.Every, threshold: o.JumpThreshold,
		wall: o.Wall, mono: o.Mono, ntp: o.NTPSynced, rtc: o.RTCValid,
		onTrusted: o.OnTrusted, onJump: o.OnJump, log: o.Log,
		trustedC: make(chan struct{}),
	}
	m.lastWall, m.lastMono = m.wall(), m.mono()
	if m.source == SourceNone {
		m.trusted, m.by = true, SourceNone
		close(m.trustedC)
	}
	return m, nil
}

// Source is the configured source of trust.
func (m *Monitor) Source() string { return m.source }

// Trusted reports whether readings may be timestamped with the clock now.
func (m *Monitor) Trusted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.trusted
}

// TrustedBy names the source that vouched for the clock, "" while it is
// not trusted.
func (m *Monitor) TrustedBy() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.by
}

// Jumps is the number of jumps seen.
func (m *Monitor) Jumps() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.jumps
}

// Wait returns nil once the clock is trusted, or ctx's error.
func (m *Monitor) Wait(ctx context.Context) error {
	select {
	case <-m.trustedC:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run checks the clock every period until ctx ends; it returns nil then.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.every)
	defer t.Stop()
	m.Check(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.Check(ctx)
		}
	}
}

// Check does one period's work: it looks for a jump since the last check
// and, while the clock is not trusted, asks the source again.
func (m *Monitor) Check(ctx context.Context) {
	wall, mono := m.wall(), m.mono()
	m.mu.Lock()
	expected := m.lastWall.Add(mono - m.lastMono)
	m.lastWall, m.lastMono = wall, mono
	var jump *Jump
	if d := wall.Sub(expected); d > m.threshold || d < -m.threshold {
		jump = &Jump{From: expected, To: wall}
		m.jumps++
	}
	var became string
	if !m.trusted {
		if by := m.vouch(); by != "" {
			m.trusted, m.by = true, by
			close(m.trustedC)
			became = by
		}
	}
	m.mu.Unlock()

	if jump != nil {
		m.log.Warn("clock: the wall clock jumped", "from", jump.From, "to", jump.To, "delta", jump.Delta())
		if m.onJump != nil {
			m.onJump(ctx, *jump)
		}
	}
	if became != "" {
		m.log.Info("clock: trusted", "source", became, "time", wall)
		if m.onTrusted != nil {
			m.onTrusted(ctx, became)
		}
	}
}

// vouch returns the source that vouches for the clock now, or "".
func (m *Monitor) vouch() string {
	if (m.source == SourceNTP || m.source == SourceAny) && m.ntp() {
		return SourceNTP
	}
	if (m.source == SourceRTC || m.source == SourceAny) && m.rtc() {
		return SourceRTC
	}
	return ""
}
