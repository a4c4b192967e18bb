package modbus

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	mb "github.com/smgw/smgw/internal/proto/modbus"
	"github.com/smgw/smgw/internal/testutil"
)

func TestPlan(t *testing.T) {
	p := mustProfile(t, "sdm630")
	batches := Plan(p.Registers, p.MaxRegisters, p.MaxGap)
	total := 0
	for _, b := range batches {
		if b.Count > 80 || b.Count == 0 {
			t.Errorf("batch %+v", b)
		}
		// contiguous: the registers fill the batch exactly (max_gap 0)
		n := 0
		for _, r := range b.Registers {
			n += r.Count()
		}
		if n != int(b.Count) {
			t.Errorf("batch at %d: %d registers of %d mapped", b.Address, n, b.Count)
		}
		total += len(b.Registers)
	}
	if total != len(p.Registers) {
		t.Errorf("%d registers planned, profile has %d", total, len(p.Registers))
	}
	if len(batches) != 9 {
		t.Errorf("sdm630: %d requests, want 9", len(batches))
	}
	// With gaps allowed, everything in 0…0x4F is one request.
	gappy := Plan(p.Registers, 125, 20)
	if gappy[0].Address != 0 || gappy[0].Count != 0x50 {
		t.Errorf("max_gap 20: first batch %d+%d", gappy[0].Address, gappy[0].Count)
	}
	// The limit splits a long run.
	var regs []profile.Register
	for i := range 100 {
		regs = append(regs, profile.Register{Table: profile.Input, Address: uint16(2 * i), Type: "float32"})
	}
	split := Plan(regs, 125, 0)
	if len(split) != 2 || split[0].Count != 124 || split[1].Count != 76 {
		t.Errorf("200 registers: %d batches %+v", len(split), split[0].Count)
	}
	for _, b := range split {
		if err := b.Request().Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestPymodbus reads three meters of different profiles from Debian's
// pymodbus server through real ptys, checks every value stored exactly,
// and counts the faults: a unit that does not answer (timeouts, the others
// still read) and a register the server does not have (exception 2).
func TestPymodbus(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	img := image{}
	meters := []struct {
		id      meter.MeterID
		unit    byte
		profile string
	}{{"sdm630-1", 1, "sdm630"}, {"em24-1", 2, "em24"}, {"abb-1", 3, "abb-b23"}, {"em340-1", 4, "em340"}, {"sdm120-1", 5, "sdm120"}}
	want := map[meter.MeterID]map[meter.OBIS]meter.Value{}
	profiles := map[meter.MeterID]*profile.Profile{}
	for i, m := range meters {
		p := mustProfile(t, m.profile)
		profiles[m.id] = p
		want[m.id] = img.Fill(t, m.unit, p, i)
	}
	// A unit that is configured but silent, and one whose profile asks
	// for a register the server lacks.
	silent := mustProfile(t, "sdm72")
	missing, err := profile.Parse("missing.toml", []byte(`model = "test"
[[register]]
obis = "1-0:1.8.0"
table = "holding"
address = 0x7000
type = "uint32"
unit = "Wh"
`))
	if err != nil {
		t.Fatal(err)
	}
	img[9] = map[string]map[string]uint16{"input": {}, "holding": {"1": 1}}
	startPymodbus(t, b, img)

	port := openPort(t, a)
	c, err := NewClient(port, &ClientOptions{Baud: 9600, CharBits: 11, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := NewBus(c, &BusOptions{Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	for _, m := range meters {
		if err := bus.AddMeter(MeterOptions{ID: m.id, Unit: m.unit, Profile: profiles[m.id], Interval: time.Minute, LiveInterval: 10 * time.Second, Sink: sink}); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.AddMeter(MeterOptions{ID: "silent-1", Unit: 8, Profile: silent, Interval: time.Minute, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	if err := bus.AddMeter(MeterOptions{ID: "missing-1", Unit: 9, Profile: missing, Interval: time.Minute, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bus.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range meters {
		checkValues(t, sink, m.id, profiles[m.id], want[m.id])
	}
	for _, s := range bus.Stats() {
		t.Log(fmtStats(s))
		switch s.ID {
		case "silent-1":
			if s.Healthy() || s.Timeouts == 0 || s.Responses != 0 || s.FailedPolls != 1 {
				t.Errorf("silent unit: %s", fmtStats(s))
			}
		case "missing-1":
			if s.Healthy() || s.Exceptions[mb.ExIllegalDataAddress] != 1 || s.Requests != 1 {
				t.Errorf("missing register: %s", fmtStats(s))
			}
		default:
			if !s.Healthy() || s.Timeouts+s.CRCErrors+s.BadFrames != 0 || s.Requests != s.Responses {
				t.Errorf("%s", fmtStats(s))
			}
		}
	}
	if l := len(sink.live); l == 0 {
		t.Error("no live values delivered")
	}
	for _, r := range sink.regs {
		if r.OBIS.Instantaneous() {
			t.Errorf("instantaneous %s appended as a register", r.OBIS)
		}
	}

	// The probe's read: one pass, errors joined.
	rs, err := ReadAll(ctx, c, 1, profiles["sdm630-1"], "probe", 0)
	if err != nil || len(rs) != len(profiles["sdm630-1"].Registers) {
		t.Fatalf("ReadAll = %d readings, %v", len(rs), err)
	}
	if _, err := ReadAll(ctx, c, 9, missing, "probe", 0); !errors.As(err, new(*mb.Exception)) {
		t.Errorf("ReadAll of a missing register: %v", err)
	}
}

// TestFaults puts a fault-injecting relay between the driver and the
// pymodbus server: a garbled byte in a response (CRC error counted, the
// retry succeeds), a dropped byte (an incomplete frame: a timeout, then the
// retry), and checks the bus is not stuck afterwards.
func TestFaults(t *testing.T) {
	testutil.CheckGoroutines(t)
	a1, b1 := serialtest.PtyPair(t) // driver ↔ relay
	a2, b2 := serialtest.PtyPair(t) // relay ↔ pymodbus
	p := mustProfile(t, "sdm120")
	img := image{}
	want := img.Fill(t, 1, p, 3)
	startPymodbus(t, b2, img)

	fromPeer := 0
	relay := serialtest.NewRelay(openPort(t, b1), openPort(t, a2), &serialtest.RelayOptions{
		Fault: func(toPeer bool, i int, c byte) (byte, bool) {
			if toPeer {
				return c, true
			}
			fromPeer++
			switch fromPeer {
			case 5: // a data byte of the first response
				return c ^ 0x40, true
			case 36: // the last byte of the fourth response goes missing
				return c, false
			}
			return c, true
		},
	})
	defer relay.Close()

	port := openPort(t, a1)
	c, err := NewClient(port, &ClientOptions{Baud: 9600, CharBits: 11, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bus, _ := NewBus(c, &BusOptions{Retries: 2})
	sink := &memSink{}
	if err := bus.AddMeter(MeterOptions{ID: "m1", Unit: 1, Profile: p, Interval: time.Minute, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bus.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	s := bus.Stats()[0]
	t.Log(fmtStats(s))
	if s.CRCErrors != 1 || s.Timeouts != 1 || !s.Healthy() || s.Requests != s.Responses+2 {
		t.Errorf("after a garbled and a dropped byte: %s", fmtStats(s))
	}
	checkValues(t, sink, "m1", p, want)
	// Not stuck: a second poll is clean.
	if err := bus.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if s2 := bus.Stats()[0]; s2.CRCErrors != 1 || s2.Timeouts != 1 || s2.Responses != 2*s.Responses {
		t.Errorf("second poll: %s", fmtStats(s2))
	}
}

// TestRun runs the scheduler: registers and live values on their
// periods, a silent meter backing off without holding up the others, and
// a clean stop when the context ends.
func TestRun(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	p := mustProfile(t, "em340")
	img := image{}
	want := img.Fill(t, 1, p, 0)
	startPymodbus(t, b, img)
	port := openPort(t, a)
	c, _ := NewClient(port, &ClientOptions{Baud: 9600, CharBits: 11, Timeout: 200 * time.Millisecond})
	bus, _ := NewBus(c, &BusOptions{Retries: -1})
	sink := &memSink{}
	bus.AddMeter(MeterOptions{ID: "m1", Unit: 1, Profile: p, Interval: 2 * time.Second, LiveInterval: time.Second, Sink: sink})
	bus.AddMeter(MeterOptions{ID: "gone", Unit: 2, Profile: p, Interval: 2 * time.Second, LiveInterval: time.Second, Sink: sink})
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	if err := bus.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	st := bus.Stats()
	t.Log(fmtStats(st[0]), "\n", fmtStats(st[1]))
	if st[0].Polls < 4 || !st[0].Healthy() {
		t.Errorf("m1: %s", fmtStats(st[0]))
	}
	if st[1].Healthy() || st[1].Timeouts == 0 || st[1].Timeouts > 4 {
		t.Errorf("gone: %s (it must back off)", fmtStats(st[1]))
	}
	checkValues(t, sink, "m1", p, want)
	if err := bus.AddMeter(MeterOptions{ID: "late", Unit: 3, Profile: p, Sink: sink}); !errors.Is(err, ErrOptions) {
		t.Errorf("AddMeter while running: %v", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := NewClient(nil, nil); !errors.Is(err, ErrOptions) {
		t.Error(err)
	}
	if _, err := NewBus(nil, nil); !errors.Is(err, ErrOptions) {
		t.Error(err)
	}
	a, _ := serialtest.PtyPair(t)
	c, _ := NewClient(openPort(t, a), nil)
	bus, _ := NewBus(c, nil)
	p := mustProfile(t, "sdm120")
	sink := &memSink{}
	for _, mo := range []MeterOptions{
		{ID: "x", Unit: 0, Profile: p, Sink: sink},
		{ID: "x", Unit: 248, Profile: p, Sink: sink},
		{ID: "x", Unit: 1, Sink: sink},
		{ID: "x", Unit: 1, Profile: p},
		{ID: "bad id", Unit: 1, Profile: p, Sink: sink},
	} {
		if err := bus.AddMeter(mo); !errors.Is(err, ErrOptions) {
			t.Errorf("AddMeter(%+v) = %v", mo, err)
		}
	}
	bus.AddMeter(MeterOptions{ID: "x", Unit: 1, Profile: p, Sink: sink})
	if err := bus.AddMeter(MeterOptions{ID: "y", Unit: 1, Profile: p, Sink: sink}); !errors.Is(err, ErrOptions) {
		t.Errorf("two meters on unit 1: %v", err)
	}
}

// TestMeterComesBack: a meter that stops answering (the line drops all it
// sends) is backed off and counted, the bus keeps running, and once it
// answers again its readings flow and it is healthy.
func TestMeterComesBack(t *testing.T) {
	testutil.CheckGoroutines(t)
	a1, b1 := serialtest.PtyPair(t)
	a2, b2 := serialtest.PtyPair(t)
	p := mustProfile(t, "sdm120")
	img := image{}
	want := img.Fill(t, 1, p, 5)
	startPymodbus(t, b2, img)
	var gone atomic.Bool
	gone.Store(true)
	relay := serialtest.NewRelay(openPort(t, b1), openPort(t, a2), &serialtest.RelayOptions{
		Fault: func(toPeer bool, _ int, c byte) (byte, bool) { return c, toPeer || !gone.Load() },
	})
	defer relay.Close()
	c, _ := NewClient(openPort(t, a1), &ClientOptions{Timeout: 150 * time.Millisecond})
	bus, _ := NewBus(c, &BusOptions{Retries: -1, MaxBackoff: 2 * time.Second})
	sink := &memSink{}
	bus.AddMeter(MeterOptions{ID: "m1", Unit: 1, Profile: p, Interval: time.Second, Sink: sink})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	wait := func(what string, cond func(Stats) bool) Stats {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if s := bus.Stats()[0]; cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %s", what, fmtStats(bus.Stats()[0]))
			}
		}
	}
	s := wait("two failed polls", func(s Stats) bool { return s.FailedPolls >= 2 })
	if s.Healthy() || s.Timeouts != s.Requests || len(sink.latest("m1")) != 0 {
		t.Errorf("while gone: %s", fmtStats(s))
	}
	back := time.Now()
	gone.Store(false)
	s = wait("healthy again", func(s Stats) bool { return s.Healthy() })
	if s.LastSuccess.Before(back) || s.Failures != 0 {
		t.Errorf("after coming back: %s", fmtStats(s))
	}
	wait("all values stored", func(Stats) bool { return len(sink.latest("m1")) == len(p.Registers) })
	checkValues(t, sink, "m1", p, want)
}

// TestStaleFrames: late answers (another unit's frame, and one of ours
// with another register count) ahead of the real answer are skipped.
func TestStaleFrames(t *testing.T) {
	a, b := serialtest.PtyPair(t)
	c, _ := NewClient(openPort(t, a), &ClientOptions{Timeout: 2 * time.Second})
	meterSide := openPort(t, b)
	req := mb.ReadInput(0, 2)
	stale1 := mb.AppendRTU(nil, 9, []byte{mb.FuncReadInput, 2, 0, 1})
	stale2 := mb.AppendRTU(nil, 1, []byte{mb.FuncReadInput, 2, 0, 7})
	good := mb.AppendRTU(nil, 1, []byte{mb.FuncReadInput, 4, 0x43, 0x66, 0x4C, 0xCD})
	go func() {
		buf := make([]byte, 8)
		meterSide.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(meterSide, buf); err != nil {
			return
		}
		meterSide.Write(append(append([]byte(nil), stale1...), stale2[:3]...))
		time.Sleep(20 * time.Millisecond)
		meterSide.Write(append(append([]byte(nil), stale2[3:]...), good...))
	}()
	resp, err := c.Do(context.Background(), 1, req)
	if err != nil || resp.Register(0) != 0x4366 || resp.Register(1) != 0x4CCD {
		t.Fatalf("Do = %v, %v", resp.Registers(), err)
	}
	if c.StaleFrames() != 2 {
		t.Errorf("StaleFrames() = %d, want 2", c.StaleFrames())
	}
}
