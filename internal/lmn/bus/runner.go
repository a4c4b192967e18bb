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
}

// NewRunner returns a runner with the options of NewScheduler. log may be
// nil.
func NewRunner(opts *Options, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{log: log, now: time.Now, s: NewScheduler(opts), run: map[string]RunFunc{}, kick: make(chan struct{}, 1)}
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

// Run serves the line until ctx ends; it returns nil then.
func (r *Runner) Run(ctx context.Context) error {
	timeout := r.s.Options().Timeout
	for {
		if ctx.Err() != nil {
			return nil
		}
		r.mu.Lock()
		now := r.now()
		if len(r.cmds) > 0 {
			c := r.cmds[0]
			r.cmds = r.cmds[1:]
			r.s.StartCommand(c.meter, now)
			r.mu.Unlock()
			jctx, cancel := context.WithTimeout(ctx, timeout)
			err := safe(func() error { return c.fn(jctx) })
			cancel()
			r.mu.Lock()
			r.s.CommandDone(c.meter, r.now(), err)
			r.ticks++
			r.mu.Unlock()
			c.done <- err
			continue
		}
		d, ok, wake := r.s.Next(now)
		var fn RunFunc
		if ok {
			fn = r.run[d.Meter]
		}
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
		jctx, cancel := context.WithTimeout(ctx, timeout)
		err := safe(func() error { return fn(jctx, d.Job) })
		cancel()
		if ctx.Err() != nil {
			return nil // cancelled: not the meter's outcome
		}
		r.mu.Lock()
		r.s.Done(d, r.now(), err)
		r.ticks++
		r.mu.Unlock()
		if err != nil {
			r.log.Warn("bus: job failed", "meter", d.Meter, "job", d.Job, "attempt", d.Attempt, "kind", Classify(err), "err", err)
		}
	}
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
