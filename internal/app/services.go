package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/sim"
	"github.com/smgw/smgw/internal/meter"
)

// meterService runs one meter: it catches up on what the meter produced
// while the gateway was down (Backfill from the latest stored register),
// then reads it (Run). It sits between the meter and the ingest pipeline
// to time the meter's ticks for the watchdog.
type meterService struct {
	id       meter.MeterID
	m        *sim.Meter
	in       *Ingest
	period   time.Duration // the longest the meter may go without a tick
	latest   time.Time     // the newest register stored at start; zero for none
	initial  time.Duration // backfill this far when nothing is stored
	now      func() time.Time
	log      *slog.Logger
	progress atomic.Int64 // unix nanoseconds of the last tick

	// Set and changed by the command path (commands.go).
	mc      config.Meter
	ctlMu   sync.Mutex
	cancel  context.CancelFunc // stops the running sim.Meter.Run
	removed bool
}

func newMeterService(mc config.Meter, in *Ingest, latest time.Time, initial time.Duration,
	now func() time.Time, log *slog.Logger) (*meterService, error) {
	if mc.Driver != config.DriverSim {
		return nil, fmt.Errorf("%w: meter %s: driver %q is not available in this build", ErrRefused, mc.ID, mc.Driver)
	}
	live := mc.LiveInterval.Std()
	if live == 0 {
		live = -1 // the configuration's 0 is "none"; the simulator's is its default
	}
	m, err := sim.New(&sim.Options{
		ID:           mc.ID,
		Profile:      sim.Profile(mc.Profile),
		Interval:     mc.Interval.Std(),
		LiveInterval: live,
		Now:          now,
		Log:          log.With("service", "meter "+string(mc.ID)),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	period := mc.Interval.Std()
	if live > 0 {
		period = live
	}
	ms := &meterService{id: mc.ID, m: m, in: in, period: period, latest: latest, initial: initial, now: now, log: log, mc: mc}
	ms.tick()
	return ms, nil
}

func (ms *meterService) tick() { ms.progress.Store(ms.now().UnixNano()) }

// Progress is when the meter last ticked.
func (ms *meterService) Progress() time.Time { return time.Unix(0, ms.progress.Load()) }

// Append implements sim.Sink.
func (ms *meterService) Append(ctx context.Context, rs ...meter.Reading) error {
	err := ms.in.Append(ctx, rs...)
	ms.tick()
	return err
}

// Live implements sim.Sink.
func (ms *meterService) Live(rs ...meter.Reading) {
	ms.in.Live(rs...)
	ms.tick()
}

// Run backfills, then reads the meter until ctx ends.
func (ms *meterService) Run(ctx context.Context) error {
	from := ms.latest
	switch {
	case !from.IsZero():
		from = from.Add(time.Nanosecond) // Backfill's range includes from
	case ms.initial > 0:
		from = ms.now().Add(-ms.initial)
	}
	if !from.IsZero() {
		// Twice: the first pass may take long enough for a boundary to pass.
		for range 2 {
			to := ms.now()
			if err := ms.sim().Backfill(ctx, ms, from, to); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if !errors.Is(err, sim.ErrTimeRange) {
					return err
				}
				ms.log.Warn("meter: cannot catch up", "meter", ms.id, "err", err)
				break
			}
			from = to
		}
		ms.tick()
	}
	return ms.runLoop(ctx)
}

var _ sim.Sink = (*meterService)(nil)

// selfCheck periodically checks that a server answers; the time of its
// last success is the server's watchdog progress.
type selfCheck struct {
	name     string
	every    time.Duration
	check    func(ctx context.Context) error
	now      func() time.Time
	log      *slog.Logger
	progress atomic.Int64
	failing  bool
}

// Progress is when the check last succeeded (the start before the first).
func (c *selfCheck) Progress() time.Time {
	if n := c.progress.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return c.now()
}

// Run checks until ctx ends.
func (c *selfCheck) Run(ctx context.Context) error {
	c.progress.Store(c.now().UnixNano())
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(c.every, 5*time.Second))
		err := c.check(cctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			c.progress.Store(c.now().UnixNano())
			if c.failing {
				c.log.Info("self-check passes again", "service", c.name)
			}
			c.failing = false
		case !c.failing:
			c.failing = true
			c.log.Warn("self-check failed", "service", c.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
