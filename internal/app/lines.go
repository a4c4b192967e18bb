package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/meter"
)

// lineProgress is an RS-485 line service's progress clock, the Last of
// its watchdog probe: the service's loop ticks it, and so does every
// reading its meters deliver (lineSink).
type lineProgress struct {
	now      func() time.Time
	progress atomic.Int64
}

func (p *lineProgress) tick() { p.progress.Store(p.now().UnixNano()) }

// Progress is when the line last made progress.
func (p *lineProgress) Progress() time.Time { return time.Unix(0, p.progress.Load()) }

// lineSink hands a line's readings to the ingest pipeline and ticks the
// line's progress.
type lineSink struct {
	in *Ingest
	p  *lineProgress
}

func (d lineSink) Append(ctx context.Context, rs ...meter.Reading) error {
	err := d.in.Append(ctx, rs...)
	d.p.tick()
	return err
}

func (d lineSink) Live(rs ...meter.Reading) {
	d.in.Live(rs...)
	d.p.tick()
}

// watchTicks ticks p every 5 s while ticks (the line's count of finished
// requests or jobs) moves, so that a line whose meters are all silent
// still shows a live loop, and one whose loop hangs stops ticking. stop
// ends the watcher and waits for it.
func (p *lineProgress) watchTicks(ctx context.Context, ticks func() uint64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		last := uint64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n := ticks(); n != last {
					last = n
					p.tick()
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// runLine is the loop of an RS-485 line service (DLMS, Modbus, M-Bus):
// open the port, serve it until serve returns, close it, and open it
// again after reopen when serve says the line failed (retry). A port
// that cannot be opened is tried again every reopen, except for a bad
// configuration, which is refused. It returns nil when ctx ends.
func (p *lineProgress) runLine(ctx context.Context, log *slog.Logger, what string, reopen time.Duration,
	open func(context.Context) (serial.Port, error),
	serve func(context.Context, serial.Port) (retry bool, err error)) error {
	failing := false
	for {
		p.tick()
		port, err := open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, serial.ErrConfig) || errors.Is(err, serial.ErrRS485Unsupported) {
				return fmt.Errorf("%w: %w", ErrRefused, err)
			}
			if !failing {
				log.Warn(what+": cannot open the line; retrying", "err", err, "every", reopen)
				failing = true
			}
			if sleepCtx(ctx, reopen) != nil {
				return nil
			}
			continue
		}
		if failing {
			log.Info(what + ": line open again")
			failing = false
		}
		retry, err := serve(ctx, port)
		port.Close()
		if ctx.Err() != nil {
			return nil
		}
		if !retry {
			return err
		}
		log.Warn(what+": the line failed; reopening", "err", err)
		if sleepCtx(ctx, reopen) != nil {
			return nil
		}
	}
}
