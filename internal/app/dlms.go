package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/bus"
	lmndlms "github.com/smgw/smgw/internal/lmn/dlms"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/hdlc"
	"github.com/smgw/smgw/internal/store"
)

// dlmsService owns one line of DLMS meters: it opens the port (again,
// after a failure), runs the line's bus scheduler and hands the readings
// to the ingest pipeline. Its progress ticks while jobs finish, whether
// the meters answer or not (their health is in Health and the log).
type dlmsService struct {
	line   config.DLMSLine
	meters []lmndlms.MeterOptions
	log    *slog.Logger
	reopen time.Duration
	period time.Duration
	lineProgress
	cur atomic.Pointer[lmndlms.Line]
}

// dlmsSecret reads a sealed secret "dlms/<id>/<what>": 16 raw bytes or
// 32 hex digits for keys, the bytes as they are for a password.
func dlmsSecret(st *store.Store, id meter.MeterID, what string, key bool) ([]byte, error) {
	b, err := st.Record(store.KindSecret, "dlms/"+string(id)+"/"+what)
	if err != nil {
		return nil, fmt.Errorf("meter %s: secret dlms/%s/%s: %w", id, id, what, err)
	}
	if key && len(b) == 32 {
		if k, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil {
			return k, nil
		}
	}
	if key && len(b) != 16 {
		return nil, fmt.Errorf("meter %s: secret dlms/%s/%s is not a 16-byte key", id, id, what)
	}
	return b, nil
}

// dlmsMeterOptions maps a [[meter]] table onto the driver's options.
func dlmsMeterOptions(mc config.Meter, st *store.Store) (lmndlms.MeterOptions, error) {
	objName := mc.Objects
	if objName == "" {
		objName = config.DefaultDLMSObjects
	}
	objs, err := lmndlms.BuiltinObjects(objName)
	if err != nil {
		return lmndlms.MeterOptions{}, err
	}
	o := lmndlms.MeterOptions{ID: mc.ID, SAP: uint8(mc.ClientSAP), RegisterEvery: mc.Interval.Std(),
		MaxInfo: uint32(mc.MaxInfo), Window: uint32(mc.Window), Silence: time.Duration(mc.TimeoutMS) * time.Millisecond,
		ClockLimit: mc.ClockLimit.Std(), ClockMode: mc.ClockMode}
	logical := uint16(mc.ServerLogical)
	if logical == 0 {
		logical = 1
	}
	switch mc.ServerPhysical {
	case -1:
		o.Server = hdlc.Address{Upper: logical, Size: 1}
	case 0:
		o.Server = hdlc.ServerAddress(logical, 16)
	default:
		o.Server = hdlc.ServerAddress(logical, uint16(mc.ServerPhysical))
	}
	for _, r := range mc.DLMSRegisters() {
		class := uint16(3)
		if x, ok := objs.Find(r); ok && (x.Class == 1 || x.Class == 4) {
			class = x.Class
		}
		o.Registers = append(o.Registers, lmndlms.Register{OBIS: r, Class: class})
	}
	if p, ok := mc.DLMSLoadProfile(); ok {
		o.Profile = p
	}
	switch mc.Auth {
	case "", "none":
		o.Assoc.Auth = lmndlms.AuthNone
	case "low":
		o.Assoc.Auth = lmndlms.AuthLow
		o.Assoc.Password = []byte(mc.Password)
		if mc.Password == "" {
			if o.Assoc.Password, err = dlmsSecret(st, mc.ID, "password", false); err != nil {
				return o, err
			}
		}
	case "high":
		o.Assoc.Auth = lmndlms.AuthHigh
		sec := &lmndlms.Security{}
		title := mc.SystemTitle
		if title == "" {
			title = config.DefaultDLMSSystemTitle
		}
		sec.SystemTitle, _ = hex.DecodeString(title)
		for _, k := range []struct {
			hexv, name string
			dst        *[]byte
		}{{mc.AK, "auth", &sec.AK}, {mc.EK, "enc", &sec.EK}} {
			if k.hexv != "" {
				*k.dst, _ = hex.DecodeString(k.hexv)
				continue
			}
			if *k.dst, err = dlmsSecret(st, mc.ID, k.name, true); err != nil {
				return o, err
			}
		}
		o.Assoc.Security = sec
	}
	return o, nil
}

// newDLMS builds one service per line of the enabled dlms meters.
func newDLMS(cfg *config.Config, meters []config.Meter, in *Ingest, st *store.Store, now func() time.Time, log *slog.Logger) ([]*dlmsService, error) {
	if len(meters) == 0 {
		return nil, nil
	}
	c := *cfg
	c.Meters = meters
	var out []*dlmsService
	for _, l := range c.DLMSLines() {
		s := &dlmsService{line: l, reopen: 5 * time.Second, log: log.With("service", "dlms "+l.Name())}
		s.now = now
		for _, mc := range l.Meters {
			o, err := dlmsMeterOptions(mc, st)
			if err != nil {
				return nil, fmt.Errorf("%w: meter %s: %w", ErrRefused, mc.ID, err)
			}
			o.Sink = lineSink{in: in, p: &s.lineProgress}
			o.Records = st
			o.Now = now
			o.Events = func(ctx context.Context, kind, msg string, attrs map[string]string) {
				if _, err := st.Log(ctx, store.LogMetrology, store.Event{Kind: kind, Message: msg, Attrs: attrs}); err != nil {
					s.log.Error("dlms: event not logged", "kind", kind, "err", err)
				}
			}
			s.period = max(s.period, o.RegisterEvery, 15*time.Minute)
			s.meters = append(s.meters, o)
		}
		s.tick()
		out = append(out, s)
	}
	return out, nil
}

// Health returns the meters' counters (nil before the port is open).
func (s *dlmsService) Health() []bus.Health {
	if l := s.cur.Load(); l != nil {
		return l.Health()
	}
	return nil
}

func (s *dlmsService) open(ctx context.Context) (serial.Port, error) {
	if s.line.TCP != "" {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return serial.DialTCP(dctx, s.line.TCP)
	}
	return serial.Open(&serial.Config{Name: filepath.Clean(s.line.Port), Baud: s.line.Baud})
}

// Run serves the line until ctx ends.
func (s *dlmsService) Run(ctx context.Context) error {
	wrapper := false
	for _, m := range s.line.Meters {
		wrapper = wrapper || m.Wrapper
	}
	return s.runLine(ctx, s.log, "dlms", s.reopen, s.open, func(ctx context.Context, port serial.Port) (bool, error) {
		line := lmndlms.NewLine(port, &lmndlms.LineOptions{Wrapper: wrapper, Log: s.log})
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

// dlmsMeter returns the running driver of a dlms meter (a Disconnector),
// or nil.
func (a *App) dlmsMeter(id meter.MeterID) Disconnector {
	for _, s := range a.dlms {
		if l := s.cur.Load(); l != nil {
			if m := l.Meter(id); m != nil {
				return m
			}
		}
	}
	return nil
}

// dlmsBreaker switches a DLMS meter's disconnect control (class 70) for
// the command path; the switch runs on the meter's line before its next
// poll.
func dlmsBreaker(ctx context.Context, dc Disconnector, id meter.MeterID, disconnect bool) (any, string, error) {
	var err error
	if disconnect {
		err = dc.Disconnect(ctx)
	} else {
		err = dc.Reconnect(ctx)
	}
	if err != nil {
		return nil, "", err
	}
	return BreakerResult{Meter: id, Connected: !disconnect}, fmt.Sprintf("meter %s connected=%v", id, !disconnect), nil
}
