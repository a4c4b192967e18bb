package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Probe reports when a service last made progress: the store's writer
// loop, a meter's last tick, a server's last successful self-check.
type Probe struct {
	Name string
	// Last returns the time of the service's last progress.
	Last func() time.Time
	// Timeout is how old Last may be before the service counts as hung;
	// 0 is NotifierOptions.ProgressTimeout.
	Timeout time.Duration
}

// NotifierOptions configure a Notifier. The zero value is usable: it
// talks to systemd (a no-op without NOTIFY_SOCKET) and pings no watchdog.
type NotifierOptions struct {
	// Notify sends one sd_notify state string; nil sends it to systemd.
	Notify func(state string) error
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Watchdog is systemd's watchdog interval (WatchdogSec=); the
	// notifier pings at half of it. 0 disables the pings.
	Watchdog time.Duration
	// ProgressTimeout is how old a probe's progress may be for the
	// watchdog to be pinged; 0 is 2 minutes.
	ProgressTimeout time.Duration
	// StatusEvery is how often the STATUS= line is sent; 0 is 10 s.
	StatusEvery time.Duration
	// Status returns the STATUS= line; nil sends none.
	Status func() string
	// Probes are the services watched.
	Probes []Probe
	// Log receives the watchdog's complaints; nil discards them.
	Log *slog.Logger
}

// Notifier tells systemd about the daemon: READY=1, STATUS= lines, and
// WATCHDOG=1 pings sent only while every probe shows recent progress, so a
// hung service makes systemd restart the daemon. Its Run does not touch
// the probes' services; it only reads their clocks.
type Notifier struct {
	notify   func(string) error
	now      func() time.Time
	watchdog time.Duration
	timeout  time.Duration
	every    time.Duration
	status   func() string
	probes   []Probe
	log      *slog.Logger

	mu      sync.Mutex
	stalled string // names of hung services at the last check, "" if none
}

// NewNotifier returns a notifier; it sends nothing before Ready or Run.
func NewNotifier(opts *NotifierOptions) *Notifier {
	if opts == nil {
		opts = &NotifierOptions{}
	}
	n := &Notifier{
		notify:   opts.Notify,
		now:      opts.Now,
		watchdog: opts.Watchdog,
		timeout:  opts.ProgressTimeout,
		every:    opts.StatusEvery,
		status:   opts.Status,
		probes:   opts.Probes,
		log:      opts.Log,
	}
	if n.notify == nil {
		n.notify = sdNotify
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.timeout <= 0 {
		n.timeout = 2 * time.Minute
	}
	if n.every <= 0 {
		n.every = 10 * time.Second
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	return n
}

func (n *Notifier) send(state string) {
	if err := n.notify(state); err != nil {
		n.log.Warn("systemd notify failed", "state", firstLine(state), "err", err)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Ready sends READY=1 (with a first STATUS= line).
func (n *Notifier) Ready() {
	st := "READY=1"
	if n.status != nil {
		st += "\nSTATUS=" + n.status()
	}
	n.send(st)
}

// Stopping sends STOPPING=1.
func (n *Notifier) Stopping() { n.send("STOPPING=1\nSTATUS=stopping") }

// ServiceHealth is one probe's state at a check.
type ServiceHealth struct {
	Name         string
	LastProgress time.Time
	Healthy      bool
}

// Health checks every probe at the notifier's clock.
func (n *Notifier) Health() []ServiceHealth {
	now := n.now()
	out := make([]ServiceHealth, len(n.probes))
	for i, p := range n.probes {
		last := p.Last()
		out[i] = ServiceHealth{Name: p.Name, LastProgress: last, Healthy: n.fresh(p, last, now)}
	}
	return out
}

func (n *Notifier) fresh(p Probe, last, now time.Time) bool {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = n.timeout
	}
	return now.Sub(last) <= timeout
}

// Stalled names the services that showed no progress at the last
// watchdog check, "" when all are healthy.
func (n *Notifier) Stalled() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stalled
}

// check pings the watchdog if every probe is healthy at now and reports
// whether it did.
func (n *Notifier) check(now time.Time) bool {
	var hung []string
	for _, p := range n.probes {
		if last := p.Last(); !n.fresh(p, last, now) {
			hung = append(hung, p.Name)
		}
	}
	stalled := strings.Join(hung, ", ")
	n.mu.Lock()
	changed := stalled != n.stalled
	n.stalled = stalled
	n.mu.Unlock()
	if changed {
		if stalled != "" {
			n.log.Error("watchdog: services show no progress; not pinging systemd's watchdog",
				"services", stalled, "progress_timeout", n.timeout)
		} else {
			n.log.Info("watchdog: every service shows progress again")
		}
	}
	if stalled != "" {
		return false
	}
	n.send("WATCHDOG=1")
	return true
}

// Run sends STATUS= lines and watchdog pings until ctx is cancelled; it
// returns nil then.
func (n *Notifier) Run(ctx context.Context) error {
	status := time.NewTicker(n.every)
	defer status.Stop()
	var wd <-chan time.Time
	if n.watchdog > 0 {
		t := time.NewTicker(max(n.watchdog/2, time.Millisecond))
		defer t.Stop()
		wd = t.C
		n.check(n.now())
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wd:
			n.check(n.now())
		case <-status.C:
			if n.status != nil {
				n.send("STATUS=" + n.status())
			}
		}
	}
}
