package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/bus"
	lmnmbus "github.com/smgw/smgw/internal/lmn/mbus"
	"golang.org/x/sync/errgroup"
)

// mbusService owns one wired M-Bus line: it opens the port (again, after
// a failure), runs the line's bus scheduler and hands the readings to the
// ingest pipeline. Its progress ticks while jobs finish, whether the
// meters answer or not (their health is in Health and the log).
type mbusService struct {
	line   config.MBusLine
	meters []lmnmbus.MeterOptions
	log    *slog.Logger
	reopen time.Duration
	period time.Duration
	lineProgress
	cur atomic.Pointer[lmnmbus.Line]
}

// mbusMeterOptions maps a [[meter]] table onto the driver's options.
func mbusMeterOptions(mc config.Meter) (lmnmbus.MeterOptions, error) {
	primary, sec, ok := mc.MBusAddress()
	if !ok {
		return lmnmbus.MeterOptions{}, fmt.Errorf("address %q is not an M-Bus address", mc.Address)
	}
	o := lmnmbus.MeterOptions{ID: mc.ID, Secondary: sec, Interval: mc.Interval.Std()}
	if sec == nil {
		o.Primary = byte(primary)
	}
	if mc.Medium != "" {
		d, ok := lmnmbus.MediumByName(mc.Medium)
		if !ok {
			return o, fmt.Errorf("unknown medium %q", mc.Medium)
		}
		o.Medium = d
	}
	return o, nil
}

// newMBus builds one service per line of the enabled mbus meters.
func newMBus(cfg *config.Config, meters []config.Meter, in *Ingest, now func() time.Time, log *slog.Logger) ([]*mbusService, error) {
	if len(meters) == 0 {
		return nil, nil
	}
	c := *cfg
	c.Meters = meters
	var out []*mbusService
	for _, l := range c.MBusLines() {
		s := &mbusService{line: l, reopen: 5 * time.Second, log: log.With("service", "mbus "+l.Name())}
		s.now = now
		for _, mc := range l.Meters {
			o, err := mbusMeterOptions(mc)
			if err != nil {
				return nil, fmt.Errorf("%w: meter %s: %w", ErrRefused, mc.ID, err)
			}
			o.Sink = lineSink{in: in, p: &s.lineProgress}
			o.Now = now
			s.period = max(s.period, o.Interval, 15*time.Minute)
			s.meters = append(s.meters, o)
		}
		s.tick()
		out = append(out, s)
	}
	return out, nil
}

// Health returns the meters' counters (nil before the port is open).
func (s *mbusService) Health() []bus.Health {
	if l := s.cur.Load(); l != nil {
		return l.Health()
	}
	return nil
}

func (s *mbusService) open(ctx context.Context) (serial.Port, error) {
	if s.line.TCP != "" {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return serial.DialTCP(dctx, s.line.TCP)
	}
	sc := &serial.Config{Name: filepath.Clean(s.line.Port), Baud: s.line.Baud, Parity: serial.ParityEven}
	if s.line.RS485 {
		sc.RS485 = &serial.RS485{Enabled: true, RTSOnSend: !s.line.RTSActiveLow, RTSAfterSend: s.line.RTSActiveLow,
			DelayBefore: time.Duration(s.line.RTSDelayBeforeMS) * time.Millisecond, DelayAfter: time.Duration(s.line.RTSDelayAfterMS) * time.Millisecond}
	}
	return serial.Open(sc)
}

// masterOptions are the line's timing from its [[bus]] table.
func (s *mbusService) masterOptions() lmnmbus.MasterOptions {
	o := lmnmbus.MasterOptions{Baud: s.line.Baud, Timeout: time.Duration(s.line.TimeoutMS) * time.Millisecond, Retries: s.line.Retries}
	if s.line.TCP != "" && o.Timeout == 0 {
		o.Timeout = 330*time.Second/time.Duration(max(s.line.Baud, 300)) + 500*time.Millisecond // the converter's latency too
	}
	return o
}

// Run serves the line until ctx ends.
func (s *mbusService) Run(ctx context.Context) error {
	return s.runLine(ctx, s.log, "mbus", s.reopen, s.open, func(ctx context.Context, port serial.Port) (bool, error) {
		line := lmnmbus.NewLine(port, &lmnmbus.LineOptions{Master: s.masterOptions(), Log: s.log})
		for _, o := range s.meters {
			if _, err := line.AddMeter(o); err != nil {
				return false, fmt.Errorf("%w: %w", ErrRefused, err)
			}
		}
		s.cur.Store(line)
		stop := s.watchTicks(ctx, line.Ticks)
		err := line.Run(ctx)
		stop()
		return err != nil, err
	})
}

// mbusProbes are the watchdog probes of the mbus lines.
func (a *App) mbusProbes(progressTimeout time.Duration) []Probe {
	var out []Probe
	for _, s := range a.mbus {
		out = append(out, Probe{Name: "mbus " + s.line.Name(), Last: s.Progress, Timeout: progressTimeout + s.period})
	}
	return out
}

// startMBus runs the mbus lines as services of the group.
func (a *App) startMBus(g *errgroup.Group, ctx context.Context) {
	for _, s := range a.mbus {
		a.service(g, ctx, "mbus "+s.line.Name(), s.Run)
	}
}
