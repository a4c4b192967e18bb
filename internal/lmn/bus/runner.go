package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RunFunc runs one job of a meter's plan on the line; ctx carries the
// job's deadline.
type RunFunc func(ctx context.Context, job string) error

type command struct {
	meter string
	fn    func(ctx context.Context) error
	done  chan error
}

// Runner owns one line: it runs the Scheduler's jobs one at a time with
// real time, and commands before polls. New → Add → Run(ctx).
type Runner struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	s     *Scheduler
	run   map[string]RunFunc
	cmds  []*command
	kick  chan struct{}
	ticks uint64
	load  load
}

// NewRunner returns a runner with the options of NewScheduler. log may be
// nil.
func NewRunner(opts *Options, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{log: log, now: time.Now, s: NewScheduler(opts), run: map[string]RunFunc{}, kick: make(chan struct{}, 1)}
	if opts != nil && opts.Now != nil {
		r.now = opts.Now
	}
	r.load.since = r.now()
	return r
}

// Add adds a meter, its plan and the function that runs its jobs. Call
// it before or during Run.
func (r *Runner) Add(meter string, plan []Job, run RunFunc) error {
	if run == nil {
		return fmt.Errorf("bus: meter %q: no run function", meter)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.s.Add(meter, plan, r.now()); err != nil {
		return err
	}
	r.run[meter] = run
	r.wake()
	return nil
}

func (r *Runner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Do runs fn for meter on the line as soon as the job in progress ends,
// before any poll, and returns its error. Commands run in the order
// submitted. It fails with ctx's error if ctx ends first (fn may still
// run then, if it was already started).
func (r *Runner) Do(ctx context.Context, meter string, fn func(ctx context.Context) error) error {
	r.mu.Lock()
	if _, ok := r.run[meter]; !ok {
		r.mu.Unlock()
		return fmt.Errorf("%w %q", ErrUnknownMeter, meter)
	}
	c := &command{meter: meter, fn: fn, done: make(chan error, 1)}
	r.cmds = append(r.cmds, c)
	r.wake()
	r.mu.Unlock()
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Note counts a recovered line error of a meter (see Scheduler.Note). It
// may be called from a job.
func (r *Runner) Note(meter, kind string) {
	r.mu.Lock()
	r.s.Note(meter, kind)
	r.mu.Unlock()
}

// Retried counts a request a driver repeated within a job of meter (see
// Health.Retries). It may be called from a job.
func (r *Runner) Retried(meter string) {
	r.mu.Lock()
	r.s.Retried(meter)
	r.mu.Unlock()
}

// Health returns every meter's counters.
func (r *Runner) Health() []Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Health()
}

// Ticks counts jobs and commands finished: a watchdog sees the loop move.
func (r *Runner) Ticks() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ticks
}

// Schedule returns when each job of meter is next due.
func (r *Runner) Schedule(meter string) map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Schedule(meter)
}

// Run serves the line until ctx ends; it returns nil then, or the error
// of a job that wraps ErrStop (see Stop).
func (r *Runner) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err, ran := r.command(ctx); ran {
			if err != nil {
				return err
			}
			continue
		}
		r.mu.Lock()
		now := r.now()
		d, ok, wake := r.s.Next(now)
		r.mu.Unlock()
		if !ok {
			var tc <-chan time.Time
			var t *time.Timer
			if !wake.IsZero() {
				t = time.NewTimer(wake.Sub(now))
				tc = t.C
			}
			select {
			case <-ctx.Done():
			case <-r.kick:
			case <-tc:
			}
			if t != nil {
				t.Stop()
			}
			continue
		}
		if err := r.job(ctx, d); err != nil {
			return err
		}
	}
}

// Cycle runs every job of every meter once, now, as Run would if all
// were due at once: meters in turn, one job a turn, commands first. Jobs
// that fail are not retried within the cycle (their retry is scheduled
// as usual). It returns when all have run, with ctx's error if ctx ends
// first or the error of a job that wraps ErrStop. It must not run while
// Run does. For probes, tests and benchmarks.
func (r *Runner) Cycle(ctx context.Context) error {
	r.mu.Lock()
	start := r.now()
	r.s.DueAll(start)
	r.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err, ran := r.command(ctx); ran {
			if err != nil {
				return err
			}
			continue
		}
		r.mu.Lock()
		d, ok, _ := r.s.next(r.now(), start)
		r.mu.Unlock()
		if !ok {
			return nil
		}
		if err := r.job(ctx, d); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// command runs the first queued command, if any.
func (r *Runner) command(ctx context.Context) (stop error, ran bool) {
	r.mu.Lock()
	if len(r.cmds) == 0 {
		r.mu.Unlock()
		return nil, false
	}
	c := r.cmds[0]
	r.cmds = r.cmds[1:]
	start := r.now()
	r.s.StartCommand(c.meter, start)
	r.mu.Unlock()
	jctx, cancel := context.WithTimeout(ctx, r.s.Options().Timeout)
	err := safe(func() error { return c.fn(jctx) })
	cancel()
	c.done <- err
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.now()
	r.load.add(start, end)
	r.ticks++
	if errors.Is(err, ErrStop) {
		return err, true
	}
	r.s.CommandDone(c.meter, end, err)
	return nil, true
}

// job runs d and records its outcome; it returns the job's error if it
// wraps ErrStop.
func (r *Runner) job(ctx context.Context, d Due) error {
	r.mu.Lock()
	fn := r.run[d.Meter]
	r.mu.Unlock()
	start := r.now()
	jctx, cancel := context.WithTimeout(ctx, r.s.Options().Timeout)
	err := safe(func() error { return fn(jctx, d.Job) })
	cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.now()
	r.load.add(start, end)
	if ctx.Err() != nil || errors.Is(err, ErrStop) {
		r.s.Abort(d) // cancelled, or the line's failure: not the meter's outcome
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	m := r.s.meters[d.Meter]
	was := m.health.Failing
	r.s.Done(d, end, err)
	r.ticks++
	switch {
	case err != nil && was == 0:
		r.log.Warn("bus: job failed", "meter", d.Meter, "job", d.Job, "attempt", d.Attempt, "kind", Classify(err), "err", err)
	case err != nil:
		// A meter already failing is logged once, not at every retry.
		r.log.Debug("bus: job failed", "meter", d.Meter, "job", d.Job, "attempt", d.Attempt, "kind", Classify(err), "err", err)
	case was > 0:
		r.log.Info("bus: meter answers again", "meter", d.Meter, "job", d.Job, "failed_jobs", was)
	}
	return nil
}

// Occupancy is how much of the time the line carried jobs and commands
// (waiting for answers included).
type Occupancy struct {
	Since  time.Time     // when the runner was made
	Busy   time.Duration // the line's busy time since then
	Recent float64       // busy share of the last 15 minutes (or since Since), 0…1
}

// Occupancy returns the line's busy time.
func (r *Runner) Occupancy() Occupancy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load.occupancy(r.now())
}

// load keeps the line's busy time, in total and in one-minute buckets
// over the last loadWindow minutes.
type load struct {
	since  time.Time
	total  time.Duration
	minute [loadWindow]int64 // busy nanoseconds of minute index i % loadWindow
	index  [loadWindow]int64 // the minute index each bucket holds
}

const loadWindow = 15

func (l *load) add(start, end time.Time) {
	if !end.After(start) {
		return
	}
	l.total += end.Sub(start)
	for t := start; t.Before(end); {
		idx := t.UnixNano() / int64(time.Minute)
		next := time.Unix(0, (idx+1)*int64(time.Minute))
		if next.After(end) {
			next = end
		}
		b := idx % loadWindow
		if l.index[b] != idx {
			l.index[b], l.minute[b] = idx, 0
		}
		l.minute[b] += int64(next.Sub(t))
		t = next
	}
}

func (l *load) occupancy(now time.Time) Occupancy {
	o := Occupancy{Since: l.since, Busy: l.total}
	cur := now.UnixNano() / int64(time.Minute)
	var busy int64
	for b := range loadWindow {
		if idx := l.index[b]; idx > cur-loadWindow && idx <= cur {
			busy += l.minute[b]
		}
	}
	span := now.Sub(time.Unix(0, (cur-loadWindow+1)*int64(time.Minute)))
	if s := now.Sub(l.since); s < span {
		span = s
	}
	if span > 0 {
		o.Recent = min(float64(busy)/float64(span), 1)
	}
	return o
}

// safe runs fn and turns a panic into an error, so one driver's bug does
// not stop the line for every meter.
func safe(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Join(ErrPermanent, fmt.Errorf("bus: job panicked: %v", p))
		}
	}()
	return fn()
}
