package mbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/lmn/mbus/mbussim"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
	"github.com/smgw/smgw/internal/testutil"
)

type sink struct {
	mu   sync.Mutex
	rs   []meter.Reading
	live []meter.Reading
}

func (s *sink) Append(_ context.Context, rs ...meter.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	s.rs = append(s.rs, rs...)
	return nil
}

func (s *sink) Live(rs ...meter.Reading) {
	s.mu.Lock()
	s.live = append(s.live, rs...)
	s.mu.Unlock()
}

func (s *sink) latest(o meter.OBIS) (meter.Reading, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.rs) - 1; i >= 0; i-- {
		if s.rs[i].OBIS == o {
			return s.rs[i], true
		}
	}
	for i := len(s.live) - 1; i >= 0; i-- {
		if s.live[i].OBIS == o {
			return s.live[i], true
		}
	}
	return meter.Reading{}, false
}

func openPort(t testing.TB, name string) serial.Port {
	t.Helper()
	p, err := serial.Open(&serial.Config{Name: name, Baud: 2400, Parity: serial.ParityEven})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// line returns the master's port, connected to sims served on the far
// end of a pty pair (through a relay with opts, when not nil).
func line(t testing.TB, relay *serialtest.RelayOptions, sims ...*mbussim.Meter) serial.Port {
	t.Helper()
	a, b := serialtest.PtyPair(t)
	drv := openPort(t, a)
	far := openPort(t, b)
	if relay != nil {
		c, d := serialtest.PtyPair(t)
		near := openPort(t, c)
		simPort := openPort(t, d)
		r := serialtest.NewRelay(far, near, relay)
		t.Cleanup(r.Close)
		far = simPort
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mbussim.ServeLine(ctx, far, sims...) }()
	t.Cleanup(func() { cancel(); <-done })
	return drv
}

func newSim(t testing.TB, o mbussim.Options) *mbussim.Meter {
	t.Helper()
	m, err := mbussim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var testMaster = MasterOptions{Baud: 2400, Timeout: 150 * time.Millisecond, Gap: 60 * time.Millisecond}

// within checks that a reading's value lies between the register's value
// before and after the read.
func within(t *testing.T, what string, r meter.Reading, lo, hi meter.Value) {
	t.Helper()
	if r.Value.Cmp(lo) < 0 || r.Value.Cmp(hi) > 0 {
		t.Errorf("%s = %v %v, want %v…%v", what, r.Value, r.Unit, lo, hi)
	}
}

// Three meters on one line: a heat meter at primary 5 answering in three
// telegrams, an electricity meter at primary 7, a water meter addressed
// by secondary address. Every value is exact.
func TestReadMeters(t *testing.T) {
	testutil.CheckGoroutines(t)
	heat := newSim(t, mbussim.Options{Primary: 5, ID: 0x11110005, History: 14, PerTelegram: 6})
	elec := newSim(t, mbussim.Options{Primary: 7, ID: 0x22220007, Medium: pmbus.DevElectricity})
	water := newSim(t, mbussim.Options{Primary: 0, ID: 0x33330000, Medium: pmbus.DevWater, CI: pmbus.CIRspLongMSB, History: 8, PerTelegram: 4})
	port := line(t, nil, heat, elec, water)
	l := NewLine(port, &LineOptions{Master: testMaster})
	sh, se, sw := &sink{}, &sink{}, &sink{}
	wa := water.Address()
	for _, o := range []MeterOptions{
		{ID: "heat-1", Primary: 5, Sink: sh},
		{ID: "elec-1", Primary: 7, Sink: se},
		{ID: "water-1", Secondary: &wa, Sink: sw},
	} {
		if _, err := l.AddMeter(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := time.Now()
	for _, id := range []meter.MeterID{"heat-1", "elec-1", "water-1"} {
		rs, err := l.Meter(id).Read(ctx)
		if err != nil || len(rs) == 0 {
			t.Fatalf("%s: %v %v", id, rs, err)
		}
	}
	after := time.Now()
	r, ok := sh.latest(meter.MustOBIS("6-0:1.0.0*255"))
	if !ok || r.Unit != meter.UnitWattHour || r.Source != meter.SourceMBus {
		t.Fatalf("heat energy: %v %v", r, ok)
	}
	within(t, "heat energy", r, meter.V(heat.EnergyWh(before), 3), meter.V(heat.EnergyWh(after), 3))
	r, _ = sh.latest(meter.MustOBIS("6-0:2.0.0*255"))
	within(t, "heat volume", r, meter.V(heat.VolumeL(before), -3), meter.V(heat.VolumeL(after), -3))
	r, _ = se.latest(meter.MustOBIS("1-0:1.8.0*255"))
	within(t, "electricity 1.8.0", r, meter.V(elec.EnergyWh(before), 0), meter.V(elec.EnergyWh(after), 0))
	if r, ok := se.latest(meter.MustOBIS("1-0:1.7.0*255")); !ok || r.Unit != meter.UnitWatt {
		t.Errorf("live power: %v %v", r, ok)
	}
	r, _ = sw.latest(meter.MustOBIS("8-0:1.0.0*255"))
	within(t, "water volume (mode 2)", r, meter.V(water.VolumeL(before), -3), meter.V(water.VolumeL(after), -3))
	if r.Value.E != -3 || r.Unit != meter.UnitCubicMetre {
		t.Errorf("water volume %v %v", r.Value, r.Unit)
	}
	// The heat meter's history came in three telegrams, read with the
	// FCB toggled: no storage records are readings, the history decodes.
	if n := heat.Requests(); n < 4 {
		t.Errorf("heat meter saw %d requests, want SND_NKE and 3 REQ_UD2", n)
	}
	if h := l.Meter("water-1").LastHeader(); h.Address != wa || !h.MSB() {
		t.Errorf("water header %+v", h)
	}

	// The line's runner polls them on its own.
	l2 := NewLine(port, &LineOptions{Master: testMaster})
	s2 := &sink{}
	if _, err := l2.AddMeter(MeterOptions{ID: "heat-1", Primary: 5, Sink: s2, Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- l2.Run(rctx) }()
	for i := 0; i < 400 && l2.Health()[0].Successes < 3; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := l2.Health()[0]; h.Successes < 3 || h.Failures != 0 {
		t.Fatalf("health %v", h)
	}
}

// Faults: dropped and garbled bytes, late answers, an application error,
// and a meter that vanishes for an hour and comes back: counted per meter,
// the other meter served throughout, no panic, no stuck bus.
func TestFaults(t *testing.T) {
	testutil.CheckGoroutines(t)
	var clk atomic.Int64
	clk.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clk.Load()) }
	m1 := newSim(t, mbussim.Options{Primary: 1, ID: 0x00000001, History: 10, PerTelegram: 5, Now: now})
	m2 := newSim(t, mbussim.Options{Primary: 2, ID: 0x00000002, Medium: pmbus.DevElectricity, Now: now})
	var lineDrop atomic.Bool
	port := line(t, &serialtest.RelayOptions{Fault: func(toPeer bool, i int, b byte) (byte, bool) {
		return b, !(lineDrop.Load() && !toPeer && i%53 == 20)
	}}, m1, m2)
	l := NewLine(port, &LineOptions{Master: testMaster,
		Bus: &bus.Options{Retries: 2, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Timeout: 10 * time.Second}})
	s1, s2 := &sink{}, &sink{}
	l.AddMeter(MeterOptions{ID: "m1", Primary: 1, Sink: s1, Interval: 100 * time.Millisecond, Now: now})
	l.AddMeter(MeterOptions{ID: "m2", Primary: 2, Sink: s2, Interval: 100 * time.Millisecond, Now: now})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	health := func(id string) bus.Health {
		for _, h := range l.Health() {
			if h.Meter == id {
				return h
			}
		}
		return bus.Health{}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; i < 750; i++ {
			if cond() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; health %v", what, l.Health())
	}
	waitFor("first reads", func() bool { return health("m1").Successes > 0 && health("m2").Successes > 0 })

	// A byte dropped from an answer: cut short, a frame error, repeated.
	m1.DropNext(1)
	waitFor("dropped byte counted", func() bool { return health("m1").FrameErrors > 0 })
	// A garbled byte: the checksum fails, a frame error.
	f2 := health("m2").FrameErrors
	m2.GarbleNext(1)
	waitFor("garbled byte counted", func() bool { return health("m2").FrameErrors > f2 })
	// A line that drops bytes for a while.
	f1 := health("m1").FrameErrors + health("m1").Timeouts
	lineDrop.Store(true)
	waitFor("line drops counted", func() bool { return health("m1").FrameErrors+health("m1").Timeouts > f1 })
	lineDrop.Store(false)
	// A late answer: beyond the response timeout, counted as one.
	t2 := health("m2").Timeouts
	m2.SetDelay(250 * time.Millisecond)
	waitFor("late answer counted", func() bool { return health("m2").Timeouts > t2 })
	m2.SetDelay(0)
	// An application error (CI 0x70).
	m1.FailNext(1)
	waitFor("application error counted", func() bool { return health("m1").Protocol["application-error"] > 0 })
	ok1, ok2 := health("m1").Successes, health("m2").Successes
	waitFor("both recovered", func() bool { return health("m1").Successes > ok1+1 && health("m2").Successes > ok2+1 })

	// m1 vanishes for an hour of its clock; m2 goes on.
	m1.VanishFor(time.Hour)
	fail := health("m1").Failures
	waitFor("m1 failing", func() bool { return health("m1").Failures > fail+1 })
	s2ok := health("m2").Successes
	waitFor("m2 served during m1's outage", func() bool { return health("m2").Successes > s2ok+2 })
	clk.Add(int64(time.Hour + time.Second))
	back := health("m1").Successes
	waitFor("m1 back", func() bool { return health("m1").Successes > back && health("m1").Failing == 0 })
	r, ok := s1.latest(meter.MustOBIS("6-0:1.0.0*255"))
	if !ok || r.Value != meter.V(m1.EnergyWh(now()), 3) {
		t.Errorf("m1 energy after the outage: %v, want %d kWh", r, m1.EnergyWh(now()))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("health: %v", l.Health())
}

// The primary scan finds the meters at their addresses, and two meters
// sharing an address as a collision.
func TestScanPrimary(t *testing.T) {
	testutil.CheckGoroutines(t)
	a := newSim(t, mbussim.Options{Primary: 1, ID: 0x10000001})
	b := newSim(t, mbussim.Options{Primary: 3, ID: 0x10000003, Medium: pmbus.DevWater})
	c := newSim(t, mbussim.Options{Primary: 4, ID: 0x10000004})
	d := newSim(t, mbussim.Options{Primary: 4, ID: 0x20000004, Medium: pmbus.DevElectricity})
	port := line(t, nil, a, b, c, d)
	o := testMaster
	o.Retries = -1
	m := NewMaster(port, &o)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	found, err := ScanPrimary(ctx, m, 0, 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, f := range found {
		got += fmt.Sprintf("%d:%s:%v ", f.Primary, f.Secondary.IDString(), f.Collision)
	}
	// Two meters at 4 answer SND_NKE with the same E5 (no collision
	// seen), then their RSP_UDs collide.
	if want := "1:10000001:false 3:10000003:false 4:00000000:true "; got != want {
		t.Fatalf("found %s, want %s", got, want)
	}
}

// The secondary scan finds every meter by narrowing collisions digit by
// digit, including meters whose numbers share a long prefix.
func TestScanSecondary(t *testing.T) {
	testutil.CheckGoroutines(t)
	ids := []uint32{0x11111111, 0x12222222, 0x12333333, 0x87654321, 0x00000001}
	var sims []*mbussim.Meter
	for i, id := range ids {
		sims = append(sims, newSim(t, mbussim.Options{Primary: byte(i + 10), ID: id}))
	}
	port := line(t, nil, sims...)
	o := testMaster
	o.Retries = -1
	m := NewMaster(port, &o)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tries := 0
	found, err := ScanSecondary(ctx, m, pmbus.Wildcard, func(pmbus.SecondaryAddress) { tries++ })
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, f := range found {
		if f.Collision || f.Secondary.Manufacturer.String() != "SMG" {
			t.Errorf("found %+v", f)
		}
		seen[f.Secondary.ID] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("%08X not found (found %v)", id, found)
		}
	}
	if len(found) != len(ids) {
		t.Errorf("found %d meters, want %d", len(found), len(ids))
	}
	t.Logf("%d selections", tries)
	// A start mask narrows the search.
	start, _ := pmbus.ParseSecondaryAddress("12FFFFFF")
	found, err = ScanSecondary(ctx, m, start, nil)
	if err != nil || len(found) != 2 {
		t.Fatalf("12FFFFFF: %v %v", found, err)
	}
}

// Errors classify for the scheduler: no answer is a timeout.
func TestNoMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	port := line(t, nil)
	l := NewLine(port, &LineOptions{Master: testMaster})
	m, err := l.AddMeter(MeterOptions{ID: "gone", Primary: 9, Sink: &sink{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Read(context.Background())
	if !errors.Is(err, bus.ErrTimeout) {
		t.Fatalf("%v", err)
	}
	for _, o := range []MeterOptions{{ID: "x", Primary: 251, Sink: &sink{}}, {ID: "y", Sink: nil}, {ID: "z", Secondary: &pmbus.SecondaryAddress{ID: 0x1234567F}, Sink: &sink{}}} {
		if _, err := l.AddMeter(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
