package modbus

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
)

// image and startPymodbus are modbustest's.
type image = modbustest.Image

func startPymodbus(t testing.TB, device string, img image) { modbustest.StartPymodbus(t, device, img) }

// memSink stores what a bus delivers.
type memSink struct {
	mu   sync.Mutex
	regs []meter.Reading
	live []meter.Reading
}

func (s *memSink) Append(_ context.Context, rs ...meter.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	s.regs = append(s.regs, rs...)
	return nil
}

func (s *memSink) Live(rs ...meter.Reading) {
	s.mu.Lock()
	s.live = append(s.live, rs...)
	s.mu.Unlock()
}

// latest returns the newest value of each OBIS of id.
func (s *memSink) latest(id meter.MeterID) map[meter.OBIS]meter.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[meter.OBIS]meter.Reading{}
	for _, r := range append(append([]meter.Reading(nil), s.regs...), s.live...) {
		if r.Meter == id {
			if old, ok := out[r.OBIS]; !ok || !r.Time.Before(old.Time) {
				out[r.OBIS] = r
			}
		}
	}
	return out
}

func mustProfile(t testing.TB, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openPort(t testing.TB, name string) *serial.SerialPort {
	t.Helper()
	p, err := serial.Open(&serial.Config{Name: name, Baud: 9600, Parity: serial.ParityEven})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// checkValues compares what was stored for id with want, exactly
// (mantissa and exponent), unit and source included.
func checkValues(t *testing.T, s *memSink, id meter.MeterID, p *profile.Profile, want map[meter.OBIS]meter.Value) {
	t.Helper()
	got := s.latest(id)
	if len(got) != len(want) {
		t.Errorf("%s: %d quantities stored, want %d", id, len(got), len(want))
	}
	for _, r := range p.Registers {
		g, ok := got[r.OBIS]
		w := want[r.OBIS]
		if !ok {
			t.Errorf("%s %s: not stored", id, r.OBIS)
			continue
		}
		if g.Value != w || g.Unit != r.Unit || g.Source != meter.SourceModbus {
			t.Errorf("%s %s: stored %s (%d×10^%d) %s source %s; want %s (%d×10^%d) %s", id, r.OBIS,
				g.Value, g.Value.M, g.Value.E, g.Unit.Symbol(), g.Source, w, w.M, w.E, r.Unit.Symbol())
		}
	}
}

func fmtStats(s Stats) string {
	return fmt.Sprintf("%s unit %d: req %d ok %d timeouts %d crc %d bad %d exc %v polls %d failed %d",
		s.ID, s.Unit, s.Requests, s.Responses, s.Timeouts, s.CRCErrors, s.BadFrames, s.Exceptions, s.Polls, s.FailedPolls)
}

var _ = serialtest.PtyPair
