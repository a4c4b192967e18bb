package bus

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Errors drivers wrap so that the scheduler can count and retry by kind.
var (
	// ErrTimeout is a meter that did not answer in time. Retryable.
	ErrTimeout = errors.New("bus: no answer")
	// ErrFrame is a garbled frame (bad CRC/FCS, bad framing). Retryable.
	ErrFrame = errors.New("bus: frame error")
	// ErrProtocol is a meter that answered with an error or something the
	// protocol does not allow (an exception, a refused association).
	// Wrap it with a *ProtocolError to give the kind.
	ErrProtocol = errors.New("bus: protocol error")
	// ErrPermanent marks an error no retry can fix (a configuration
	// error); the job waits for its next regular slot at once.
	ErrPermanent = errors.New("bus: permanent error")
	// ErrUnknownMeter is returned by Submit for a meter the bus does not
	// have.
	ErrUnknownMeter = errors.New("bus: unknown meter")
	// ErrStop marks an error that is not the meter's but the line's (the
	// port failed, a USB adapter was unplugged) or the gateway's (the
	// store refused the readings): Runner.Run stops and returns it, so
	// that its owner can reopen the port. Wrap an error with Stop.
	ErrStop = errors.New("bus: line stopped")
)

// Stop wraps err so that it stops the Runner (errors.Is(err, ErrStop));
// its message stays err's.
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return &stopError{err}
}

type stopError struct{ err error }

func (e *stopError) Error() string   { return e.err.Error() }
func (e *stopError) Unwrap() []error { return []error{ErrStop, e.err} }

// ProtocolError is a protocol error of a named kind (e.g.
// "exception", "confirmed-service-error", "access:read-write-denied"),
// counted per kind. It wraps ErrProtocol.
type ProtocolError struct {
	Kind string
	Err  error
}

func (e *ProtocolError) Error() string { return e.Err.Error() }

// Unwrap returns ErrProtocol and the cause.
func (e *ProtocolError) Unwrap() []error { return []error{ErrProtocol, e.Err} }

// Classify returns the counter an error goes to: "timeout", "frame",
// "protocol:<kind>", "protocol", or "other".
func Classify(err error) string {
	var pe *ProtocolError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrFrame):
		return "frame"
	case errors.As(err, &pe) && pe.Kind != "":
		return "protocol:" + pe.Kind
	case errors.Is(err, ErrProtocol):
		return "protocol"
	}
	return "other"
}

// Job is one recurring task of a meter's poll plan.
type Job struct {
	// Name names the job in logs and counters ("registers", "profile",
	// "clock").
	Name string
	// Every is the period; required, at least a millisecond.
	Every time.Duration
	// Align runs the job at multiples of Every on the wall clock (UTC)
	// plus Offset, instead of Every after the last run.
	Align  bool
	Offset time.Duration
}

// Options tune retries. Zero values take the defaults.
type Options struct {
	// Retries is how often a failed job is retried before it waits for
	// its next slot: default 3; negative for none.
	Retries int
	// Backoff is the first retry's delay (default 2 s), doubled each
	// retry up to MaxBackoff (default 5 min).
	Backoff, MaxBackoff time.Duration
	// Timeout is a job's deadline (default 60 s).
	Timeout time.Duration
	// HoldOnTimeout: when a job fails because the meter does not answer
	// (ErrTimeout), the meter's other jobs wait for that job's retry too,
	// so that a meter that is gone costs the line one timeout per retry,
	// not one per job.
	HoldOnTimeout bool
	// Now is the Runner's clock (default time.Now); the Scheduler is
	// always given its times.
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Retries == 0 {
		r.Retries = 3
	}
	if r.Retries < 0 {
		r.Retries = 0
	}
	if r.Backoff <= 0 {
		r.Backoff = 2 * time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 5 * time.Minute
	}
	if r.Timeout <= 0 {
		r.Timeout = 60 * time.Second
	}
	return r
}

// Health is a meter's counters.
type Health struct {
	Meter       string            `json:"meter"`
	Jobs        uint64            `json:"jobs"`      // jobs run (polls and commands)
	Successes   uint64            `json:"successes"` // jobs that succeeded
	Failures    uint64            `json:"failures"`  // jobs that failed
	Timeouts    uint64            `json:"timeouts"`
	FrameErrors uint64            `json:"frame_errors"`
	Protocol    map[string]uint64 `json:"protocol,omitempty"` // protocol errors by kind
	Other       uint64            `json:"other"`
	LastSuccess time.Time         `json:"last_success"`
	LastError   string            `json:"last_error,omitempty"`
	LastErrorAt time.Time         `json:"last_error_at"`
	// LastKind is the last error's counter, as Classify returns it.
	LastKind string `json:"last_error_kind,omitempty"`
	// Failing counts the failures since the last success.
	Failing int `json:"failing"`
	// Retries counts jobs run again after a failure (with backoff) and
	// requests a driver repeated within a job (Runner.Retried).
	Retries uint64 `json:"retries"`
}

// Healthy reports whether the meter's last job succeeded.
func (h Health) Healthy() bool { return h.Failing == 0 && !h.LastSuccess.IsZero() }

// Meter states, as State returns them.
const (
	StateOK          = "ok"          // the last job succeeded
	StateFailing     = "failing"     // the meter answers, but the last job failed
	StateUnreachable = "unreachable" // the meter did not answer the last job
	StateWaiting     = "waiting"     // no job has finished yet
)

// State sums the counters up in a word: ok, failing, unreachable or
// waiting.
func (h Health) State() string {
	switch {
	case h.Failing == 0 && h.Jobs == 0:
		return StateWaiting
	case h.Failing == 0:
		return StateOK
	case h.LastKind == "timeout":
		return StateUnreachable
	}
	return StateFailing
}

// Due is a job the scheduler chose to run now.
type Due struct {
	Meter string
	Job   string
	// Attempt is 0 for the first try, then 1, 2, … for retries.
	Attempt int
	// Slot is when the job was due (its scheduled time, not the retry's).
	Slot time.Time
}

type task struct {
	job     Job
	next    time.Time // when it is due (a retry's time while retrying)
	slot    time.Time // the regular slot being served
	attempt int
}

type meterState struct {
	id      string
	tasks   []*task
	served  time.Time // when it last got the line
	order   int       // insertion order, to break ties
	running bool
	health  Health
}

// Scheduler decides which meter's job gets the line. It holds no clock
// and starts nothing; it is not safe for concurrent use (the Runner
// guards it).
type Scheduler struct {
	opts   Options
	meters map[string]*meterState
	list   []*meterState
}

// NewScheduler returns an empty scheduler.
func NewScheduler(opts *Options) *Scheduler {
	return &Scheduler{opts: opts.withDefaults(), meters: map[string]*meterState{}}
}

// Options returns the options in force (defaults applied).
func (s *Scheduler) Options() Options { return s.opts }

// Add adds a meter with its poll plan; its jobs are first due at now
// (aligned jobs at now too, so a fresh start reads at once).
func (s *Scheduler) Add(meter string, plan []Job, now time.Time) error {
	if meter == "" {
		return fmt.Errorf("bus: empty meter name")
	}
	if _, dup := s.meters[meter]; dup {
		return fmt.Errorf("bus: meter %q added twice", meter)
	}
	m := &meterState{id: meter, order: len(s.list), health: Health{Meter: meter}}
	names := map[string]bool{}
	for _, j := range plan {
		if j.Every < time.Millisecond {
			return fmt.Errorf("bus: meter %q job %q: period %v is shorter than 1ms", meter, j.Name, j.Every)
		}
		if names[j.Name] {
			return fmt.Errorf("bus: meter %q: job %q twice", meter, j.Name)
		}
		names[j.Name] = true
		m.tasks = append(m.tasks, &task{job: j, next: now, slot: now})
	}
	s.meters[meter] = m
	s.list = append(s.list, m)
	return nil
}

// Meters lists the meters in the order they were added.
func (s *Scheduler) Meters() []string {
	out := make([]string, len(s.list))
	for i, m := range s.list {
		out[i] = m.id
	}
	return out
}

// Next returns the job to run at now, or ok false and when the next one
// falls due (the zero time when there is none). Among due jobs the meter
// that had the line longest ago goes first (a fair share of the line);
// within a meter, the job due first.
func (s *Scheduler) Next(now time.Time) (d Due, ok bool, wake time.Time) {
	return s.next(now, now)
}

// next is Next counting as due the jobs due by dueBy (≤ now).
func (s *Scheduler) next(now, dueBy time.Time) (d Due, ok bool, wake time.Time) {
	var best *meterState
	var bestTask *task
	for _, m := range s.list {
		if m.running {
			continue
		}
		var mt *task
		for _, t := range m.tasks {
			if !t.next.After(dueBy) && (mt == nil || t.next.Before(mt.next)) {
				mt = t
			}
			if t.next.After(dueBy) && (wake.IsZero() || t.next.Before(wake)) {
				wake = t.next
			}
		}
		if mt == nil {
			continue
		}
		if best == nil || m.served.Before(best.served) || m.served.Equal(best.served) && m.order < best.order {
			best, bestTask = m, mt
		}
	}
	if best == nil {
		return Due{}, false, wake
	}
	best.running = true
	best.served = now
	return Due{Meter: best.id, Job: bestTask.job.Name, Attempt: bestTask.attempt, Slot: bestTask.slot}, true, time.Time{}
}

// DueAll makes every job of every meter due at now, as at a fresh start
// (retries in progress start over).
func (s *Scheduler) DueAll(now time.Time) {
	for _, m := range s.list {
		for _, t := range m.tasks {
			t.next, t.slot, t.attempt = now, now, 0
		}
	}
}

// StartCommand marks the meter as having the line for a command (which
// counts towards its fair share).
func (s *Scheduler) StartCommand(meter string, now time.Time) bool {
	m := s.meters[meter]
	if m == nil {
		return false
	}
	m.served = now
	return true
}

// nextSlot returns the regular slot after a job served at slot (run at now).
func nextSlot(j Job, slot, now time.Time) time.Time {
	if j.Align {
		base := now.Add(-j.Offset).UTC().Truncate(j.Every)
		return base.Add(j.Every).Add(j.Offset)
	}
	n := slot.Add(j.Every)
	if !n.After(now) {
		// Late (a long outage): don't run the missed slots one by one.
		n = now.Add(j.Every)
	}
	return n
}

// Done records the outcome of a job returned by Next, at now.
func (s *Scheduler) Done(d Due, now time.Time, err error) {
	m := s.meters[d.Meter]
	if m == nil {
		return
	}
	m.running = false
	var t *task
	for _, x := range m.tasks {
		if x.job.Name == d.Job {
			t = x
		}
	}
	s.count(m, now, err)
	if d.Attempt > 0 {
		m.health.Retries++
	}
	if t == nil {
		return
	}
	defer s.hold(m, t, err)
	if err == nil || errors.Is(err, ErrPermanent) || t.attempt >= s.opts.Retries {
		t.attempt = 0
		t.slot = nextSlot(t.job, t.slot, now)
		t.next = t.slot
		return
	}
	back := s.opts.Backoff << t.attempt
	if back <= 0 || back > s.opts.MaxBackoff {
		back = s.opts.MaxBackoff
	}
	t.attempt++
	t.next = now.Add(back)
	// A retry never runs past the next regular slot.
	if ns := nextSlot(t.job, t.slot, now); t.next.After(ns) {
		t.attempt = 0
		t.slot = ns
		t.next = ns
	}
}

// hold defers m's other jobs to t's retry after a timeout (HoldOnTimeout).
func (s *Scheduler) hold(m *meterState, t *task, err error) {
	if !s.opts.HoldOnTimeout || !errors.Is(err, ErrTimeout) {
		return
	}
	for _, x := range m.tasks {
		if x != t && x.next.Before(t.next) {
			x.next = t.next
		}
	}
}

// Abort ends a job returned by Next without an outcome (the line was
// shut down while it ran): nothing is counted and it stays due.
func (s *Scheduler) Abort(d Due) {
	if m := s.meters[d.Meter]; m != nil {
		m.running = false
	}
}

// Retried counts a request a driver repeated within a job.
func (s *Scheduler) Retried(meter string) {
	if m := s.meters[meter]; m != nil {
		m.health.Retries++
	}
}

// CommandDone records a command's outcome in the meter's counters.
func (s *Scheduler) CommandDone(meter string, now time.Time, err error) {
	if m := s.meters[meter]; m != nil {
		s.count(m, now, err)
	}
}

func (s *Scheduler) count(m *meterState, now time.Time, err error) {
	h := &m.health
	h.Jobs++
	if err == nil {
		h.Successes++
		h.LastSuccess = now
		h.Failing = 0
		return
	}
	h.Failures++
	h.Failing++
	h.LastError = err.Error()
	h.LastErrorAt = now
	h.LastKind = Classify(err)
	s.note(m, h.LastKind)
}

func (s *Scheduler) note(m *meterState, kind string) {
	h := &m.health
	switch {
	case kind == "timeout":
		h.Timeouts++
	case kind == "frame":
		h.FrameErrors++
	case kind == "protocol" || len(kind) > 9 && kind[:9] == "protocol:":
		if h.Protocol == nil {
			h.Protocol = map[string]uint64{}
		}
		k := "other"
		if len(kind) > 9 {
			k = kind[9:]
		}
		h.Protocol[k]++
	default:
		h.Other++
	}
}

// Note counts a line error of a meter that a job recovered from (a frame
// with a bad FCS that was retransmitted, a lost reply that was polled
// again): kind as Classify returns it.
func (s *Scheduler) Note(meter, kind string) {
	if m := s.meters[meter]; m != nil {
		s.note(m, kind)
	}
}

// Health returns every meter's counters, in the order they were added.
func (s *Scheduler) Health() []Health {
	out := make([]Health, 0, len(s.list))
	for _, m := range s.list {
		h := m.health
		if h.Protocol != nil {
			p := make(map[string]uint64, len(h.Protocol))
			for k, v := range h.Protocol {
				p[k] = v
			}
			h.Protocol = p
		}
		out = append(out, h)
	}
	return out
}

// Schedule returns when each job of a meter is next due, by job name.
func (s *Scheduler) Schedule(meter string) map[string]time.Time {
	m := s.meters[meter]
	if m == nil {
		return nil
	}
	out := map[string]time.Time{}
	for _, t := range m.tasks {
		out[t.job.Name] = t.next
	}
	return out
}

// kinds returns the protocol kinds of h sorted, for printing.
func (h Health) kinds() []string {
	var ks []string
	for k := range h.Protocol {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// String prints the counters on one line.
func (h Health) String() string {
	s := fmt.Sprintf("%s: %s, %d jobs, %d ok, %d failed (%d since last success), %d retries, %d timeouts, %d frame errors",
		h.Meter, h.State(), h.Jobs, h.Successes, h.Failures, h.Failing, h.Retries, h.Timeouts, h.FrameErrors)
	for _, k := range h.kinds() {
		s += fmt.Sprintf(", %s %d", k, h.Protocol[k])
	}
	return s
}
