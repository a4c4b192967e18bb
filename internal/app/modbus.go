package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/config"
	lmnmodbus "github.com/smgw/smgw/internal/lmn/modbus"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	mb "github.com/smgw/smgw/internal/proto/modbus"
)

// modbusService owns one Modbus line: it opens the port (again, after a
// failure), runs a bus of the line's meters on it, and hands their
// readings to the ingest pipeline. Its watchdog progress is the bus
// loop's: it ticks while the line is served, whether the meters answer
// or not (their health is in the log and the meters' latest readings),
// and stops if the loop hangs.
type modbusService struct {
	line   config.ModbusLine
	meters []lmnmodbus.MeterOptions
	in     *Ingest
	log    *slog.Logger
	reopen time.Duration
	period time.Duration // the longest poll period of its meters
	lineProgress
	bus     atomic.Pointer[lmnmodbus.Bus]
	running atomic.Bool // the bus runs on an open port (lmnstatus.go)
}

// newModbus builds one service per line of the enabled modbus meters,
// compiling every meter's profile (a bad profile refuses the start).
func newModbus(cfg *config.Config, meters []config.Meter, in *Ingest, now func() time.Time, log *slog.Logger) ([]*modbusService, error) {
	if len(meters) == 0 {
		return nil, nil
	}
	c := *cfg
	c.Meters = meters
	var out []*modbusService
	for _, l := range c.ModbusLines() {
		s := &modbusService{line: l, in: in, reopen: 5 * time.Second,
			log: log.With("service", "modbus "+l.Name())}
		s.now = now
		for _, mc := range l.Meters {
			name := mc.Profile
			p, err := profile.Open(name)
			if err != nil {
				return nil, fmt.Errorf("%w: meter %s: %w", ErrRefused, mc.ID, err)
			}
			s.period = max(s.period, mc.Interval.Std(), mc.LiveInterval.Std())
			s.meters = append(s.meters, lmnmodbus.MeterOptions{
				ID: mc.ID, Unit: byte(mc.Unit), Profile: p,
				Interval: mc.Interval.Std(), LiveInterval: mc.LiveInterval.Std(), Sink: s,
			})
		}
		s.tick()
		out = append(out, s)
	}
	return out, nil
}

// Append implements lmnmodbus.Sink.
func (s *modbusService) Append(ctx context.Context, rs ...meter.Reading) error {
	err := s.in.Append(ctx, rs...)
	s.tick()
	return err
}

// Live implements lmnmodbus.Sink.
func (s *modbusService) Live(rs ...meter.Reading) {
	s.in.Live(rs...)
	s.tick()
}

// Stats returns the meters' counters of the current bus (nil before the
// port is open).
func (s *modbusService) Stats() []lmnmodbus.Stats {
	if b := s.bus.Load(); b != nil {
		return b.Stats()
	}
	return nil
}

// open opens the line's port.
func (s *modbusService) open(ctx context.Context) (serial.Port, error) {
	l := s.line
	if l.TCP != "" {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return serial.DialTCP(dctx, l.TCP)
	}
	parity, err := serial.ParseParity(l.Parity)
	if err != nil {
		return nil, err
	}
	sc := &serial.Config{Name: filepath.Clean(l.Port), Baud: l.Baud, Parity: parity, StopBits: l.StopBits}
	if l.RS485 {
		sc.RS485 = &serial.RS485{Enabled: true, RTSOnSend: !l.RTSActiveLow, RTSAfterSend: l.RTSActiveLow,
			DelayBefore: time.Duration(l.RTSDelayBeforeMS) * time.Millisecond, DelayAfter: time.Duration(l.RTSDelayAfterMS) * time.Millisecond}
	}
	return serial.Open(sc)
}

// Run serves the line until ctx ends: open, poll, and after a port
// failure close and open again.
func (s *modbusService) Run(ctx context.Context) error {
	l := s.line
	parity := l.Parity != "none"
	bits := mb.CharBits(8, parity, l.StopBits)
	framing := lmnmodbus.RTU
	if l.Framing == config.FramingTCP {
		framing = lmnmodbus.TCP
	}
	return s.runLine(ctx, s.log, "modbus", s.reopen, s.open, func(ctx context.Context, port serial.Port) (bool, error) {
		err := s.serve(ctx, port, framing, bits)
		return errors.Is(err, lmnmodbus.ErrPort), err
	})
}

func (s *modbusService) serve(ctx context.Context, port serial.Port, framing lmnmodbus.Framing, bits int) error {
	c, err := lmnmodbus.NewClient(port, &lmnmodbus.ClientOptions{Framing: framing, Baud: s.line.Baud, CharBits: bits,
		Timeout: time.Duration(s.line.TimeoutMS) * time.Millisecond, Now: s.now})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	bus, err := lmnmodbus.NewBus(c, &lmnmodbus.BusOptions{Retries: s.line.Retries, Now: s.now, Log: s.log})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	for _, mo := range s.meters {
		if err := bus.AddMeter(mo); err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	s.bus.Store(bus)
	// The loop's progress: ticked between polls too, so a line whose
	// meters are all silent still shows a live loop.
	stop := s.watchTicks(ctx, func() uint64 {
		var n uint64
		for _, st := range bus.Stats() {
			n += st.Requests + st.Polls
		}
		return n
	})
	defer stop()
	s.running.Store(true)
	err = bus.Run(ctx)
	s.running.Store(false)
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
