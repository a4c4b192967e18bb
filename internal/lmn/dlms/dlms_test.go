package dlms

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

// fakeClock is a clock a test moves.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock    { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

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

func (s *sink) readings() []meter.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]meter.Reading(nil), s.rs...)
}

type records struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newRecords() *records { return &records{m: map[string][]byte{}} }

func (r *records) Record(kind, name string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.m[kind+"/"+name]
	if !ok {
		return nil, errors.New("not found")
	}
	return append([]byte(nil), b...), nil
}

func (r *records) PutRecord(_ context.Context, kind, name string, v []byte) error {
	r.mu.Lock()
	r.m[kind+"/"+name] = append([]byte(nil), v...)
	r.mu.Unlock()
	return nil
}

func openPort(t testing.TB, name string) serial.Port {
	t.Helper()
	p, err := serial.Open(&serial.Config{Name: name, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// line returns the driver's port, connected to sims served on the far
// end of a pty pair (through a relay with opts, when not nil).
func line(t testing.TB, relay *serialtest.RelayOptions, sims ...*dlmssim.Meter) (serial.Port, *serialtest.Relay) {
	t.Helper()
	a, b := serialtest.PtyPair(t)
	drv := openPort(t, a)
	far := openPort(t, b)
	var r *serialtest.Relay
	if relay != nil {
		c, d := serialtest.PtyPair(t)
		near := openPort(t, c)
		simPort := openPort(t, d)
		r = serialtest.NewRelay(far, near, relay)
		t.Cleanup(r.Close)
		far = simPort
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); dlmssim.ServeLine(ctx, far, sims...) }()
	t.Cleanup(func() { cancel(); <-done })
	return drv, r
}

var t0 = time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)

func newSim(t testing.TB, clk *fakeClock, o dlmssim.Options) *dlmssim.Meter {
	t.Helper()
	o.Now = clk.Now
	if o.Since.IsZero() {
		o.Since = clk.Now().Add(-40 * 24 * time.Hour)
	}
	m, err := dlmssim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var registersAll = []Register{
	{dlmssim.OBISImport, 3}, {dlmssim.OBISExport, 3}, {dlmssim.OBISImportT1, 3}, {dlmssim.OBISImportT2, 3},
	{dlmssim.OBISPower, 3}, {dlmssim.OBISVoltageL1, 3}, {dlmssim.OBISCurrentL1, 3},
}

func checkProfile(t *testing.T, rs []meter.Reading, from, to time.Time) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range rs {
		if r.OBIS[2] != 1 && r.OBIS[2] != 2 && r.OBIS[2] != 3 && r.OBIS[2] != 4 || r.OBIS[3] != 8 || r.Time.Truncate(15*time.Minute) != r.Time {
			continue
		}
		seen[fmt.Sprintf("%v@%s", r.OBIS, r.Time.Format(time.RFC3339))]++
		want := map[meter.OBIS]func(time.Time) int64{dlmssim.OBISImport: dlmssim.ImportWh, dlmssim.OBISExport: dlmssim.ExportWh,
			dlmssim.OBISReactiveImport: dlmssim.ReactiveImportVarh, dlmssim.OBISReactiveExport: dlmssim.ReactiveExportVarh}[r.OBIS]
		if want == nil {
			t.Fatalf("unexpected column %v", r.OBIS)
		}
		if w := meter.V(want(r.Time), 0); r.Value.Cmp(w) != 0 || r.Source != meter.SourceDLMS {
			t.Fatalf("%v at %v = %v, want %v", r.OBIS, r.Time, r.Value, w)
		}
	}
	n := 0
	for tm := from; !tm.After(to); tm = tm.Add(15 * time.Minute) {
		for _, o := range []meter.OBIS{dlmssim.OBISImport, dlmssim.OBISExport, dlmssim.OBISReactiveImport, dlmssim.OBISReactiveExport} {
			k := fmt.Sprintf("%v@%s", o, tm.Format(time.RFC3339))
			if seen[k] != 1 {
				t.Fatalf("%s present %d times, want exactly once", k, seen[k])
			}
			delete(seen, k)
		}
		n++
	}
	if len(seen) != 0 {
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("%d entries outside %v…%v: %v", len(keys), from, to, keys[:min(5, len(keys))])
	}
}

func TestRegistersProfileNoAuth(t *testing.T) {
	clk := newClock(t0)
	sim := newSim(t, clk, dlmssim.Options{})
	port, _ := line(t, nil, sim)
	l := NewLine(port, nil)
	snk, rec := &sink{}, newRecords()
	m, err := l.AddMeter(MeterOptions{ID: "dlms-1", Registers: registersAll, Profile: dlmssim.OBISProfile1,
		MaxBackfill: 24 * time.Hour, Sink: snk, Records: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs, err := m.ReadRegisters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := dlmssim.TariffWh(t0)
	want := map[meter.OBIS]meter.Value{
		dlmssim.OBISImport: meter.V(dlmssim.ImportWh(t0), 0), dlmssim.OBISExport: meter.V(dlmssim.ExportWh(t0), 0),
		dlmssim.OBISImportT1: meter.V(t1, 0), dlmssim.OBISImportT2: meter.V(t2, 0),
		dlmssim.OBISPower: meter.V(dlmssim.PowerW(t0), 0), dlmssim.OBISVoltageL1: meter.V(dlmssim.VoltageDV(t0), -1),
		dlmssim.OBISCurrentL1: meter.V(dlmssim.CurrentCA(t0), -2),
	}
	if len(rs) != len(want) {
		t.Fatalf("%d readings", len(rs))
	}
	for _, r := range rs {
		if w := want[r.OBIS]; r.Value != w || !r.Time.Equal(t0) {
			t.Errorf("%v = %v at %v, want %v", r.OBIS, r.Value, r.Time, w)
		}
	}
	if len(snk.live) != 3 || len(snk.readings()) != 4 {
		t.Fatalf("%d live, %d stored", len(snk.live), len(snk.readings()))
	}
	if rs[0].Unit != 30 || snk.live[1].Unit != 35 {
		t.Fatalf("units %v %v", rs[0].Unit, snk.live[1].Unit)
	}
	snk.rs = nil
	n, err := m.ReadProfile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 96 {
		t.Fatalf("%d entries, want 96", n)
	}
	checkProfile(t, snk.readings(), time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	// The next read starts after the last entry: nothing new yet.
	if n, err := m.ReadProfile(ctx); err != nil || n != 0 {
		t.Fatalf("second read: %d, %v", n, err)
	}
	clk.Add(30 * time.Minute)
	if n, err := m.ReadProfile(ctx); err != nil || n != 2 {
		t.Fatalf("after 30 min: %d, %v", n, err)
	}
	checkProfile(t, snk.readings(), time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
}

func TestClockAndDisconnect(t *testing.T) {
	clk := newClock(t0)
	sim := newSim(t, clk, dlmssim.Options{Password: []byte("12345678")})
	sim.SetClockOffset(-95 * time.Second)
	port, _ := line(t, nil, sim)
	l := NewLine(port, nil)
	var events []string
	m, err := l.AddMeter(MeterOptions{ID: "dlms-1", SAP: 17, Assoc: ClientOptions{Auth: AuthLow, Password: []byte("12345678")},
		Sink: &sink{}, Now: clk.Now, ClockEvery: time.Hour, ClockLimit: 30 * time.Second,
		Events: func(_ context.Context, kind, msg string, _ map[string]string) { events = append(events, kind) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := m.CheckClock(ctx)
	if err != nil || d != -95*time.Second {
		t.Fatalf("drift %v, %v", d, err)
	}
	if off := sim.ClockOffset(); off.Abs() > time.Second {
		t.Fatalf("clock not corrected: offset %v", off)
	}
	if len(events) != 1 || events[0] != "meter-clock-corrected" {
		t.Fatalf("events %v", events)
	}
	// Commands go through the running line.
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- l.Run(rctx) }()
	if err := m.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if sim.Connected() {
		t.Fatal("still connected")
	}
	if on, err := m.Connected(ctx); err != nil || on {
		t.Fatalf("Connected() = %v, %v", on, err)
	}
	if err := m.Reconnect(ctx); err != nil || !sim.Connected() {
		t.Fatalf("reconnect: %v", err)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A wrong password is refused with a protocol error.
	m2, _ := NewLine(port, nil).AddMeter(MeterOptions{ID: "dlms-x", Assoc: ClientOptions{Auth: AuthLow, Password: []byte("wrong")}, Sink: &sink{}, Now: clk.Now})
	_, err = m2.CheckClock(ctx)
	if bus.Classify(err) != "protocol:authentication" {
		t.Fatalf("wrong password: %v (%s)", err, bus.Classify(err))
	}
}

func hexKey(s string) []byte { b, _ := hex.DecodeString(s); return b }

func TestHLSGMACFrameCounters(t *testing.T) {
	clk := newClock(t0)
	ak, ek := hexKey("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"), hexKey("000102030405060708090A0B0C0D0E0F")
	sim := newSim(t, clk, dlmssim.Options{AK: ak, EK: ek, SystemTitle: []byte("SIM00001"), RequireAuth: true})
	port, _ := line(t, nil, sim)
	rec := newRecords()
	opts := func() MeterOptions {
		return MeterOptions{ID: "dlms-1", SAP: 1, Assoc: ClientOptions{Auth: AuthHigh, Security: &Security{AK: ak, EK: ek, SystemTitle: []byte("SMGW0001")}},
			Registers: registersAll[:2], Sink: &sink{}, Records: rec, Now: clk.Now}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := NewLine(port, nil).AddMeter(opts())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		rs, err := m.ReadRegisters(ctx)
		if err != nil || len(rs) != 2 || rs[0].Value != meter.V(dlmssim.ImportWh(t0), 0) {
			t.Fatalf("read %d: %v %v", i, rs, err)
		}
	}
	// A restart (a new line and meter) continues the counters from the
	// store: the meter accepts them.
	m, _ = NewLine(port, nil).AddMeter(opts())
	if _, err := m.ReadRegisters(ctx); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	// Without the stored counters the client would start again at 1: the
	// meter rejects the replay.
	rec2 := newRecords()
	o := opts()
	o.Records = rec2
	m, _ = NewLine(port, nil).AddMeter(o)
	if _, err := m.ReadRegisters(ctx); err == nil {
		t.Fatal("replayed invocation counters accepted")
	}
	// Wrong key: refused.
	o = opts()
	o.Assoc.Security.AK = hexKey("00000000000000000000000000000000")
	m, _ = NewLine(port, nil).AddMeter(o)
	if _, err := m.ReadRegisters(ctx); !errors.Is(err, bus.ErrProtocol) {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestFaultsAndBackfill runs a line of two meters with the bus runner
// through a relay that drops and garbles bytes, with late answers,
// exceptions and a meter that disappears for an hour (of simulated time):
// nothing panics, the line keeps serving the other meter, errors are
// counted per meter, and afterwards every 15-minute entry of the outage
// is in the sink exactly once.
func TestFaultsAndBackfill(t *testing.T) {
	clk := newClock(t0)
	sim1 := newSim(t, clk, dlmssim.Options{Server: hdlc.ServerAddress(1, 17)})
	sim2 := newSim(t, clk, dlmssim.Options{Server: hdlc.ServerAddress(1, 18), MaxInfo: 128, Window: 1})
	var mode atomic.Int32 // 0 clean, 1 drop, 2 garble
	port, _ := line(t, &serialtest.RelayOptions{Fault: func(toPeer bool, i int, b byte) (byte, bool) {
		switch mode.Load() {
		case 1:
			return b, i%97 != 50
		case 2:
			if !toPeer && i%89 == 40 {
				return b ^ 0x10, true
			}
		}
		return b, true
	}}, sim1, sim2)
	l := NewLine(port, &LineOptions{Bus: &bus.Options{Retries: 2, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Timeout: 10 * time.Second}})
	s1, s2, rec := &sink{}, &sink{}, newRecords()
	mk := func(id meter.MeterID, addr hdlc.Address, s *sink) *Meter {
		m, err := l.AddMeter(MeterOptions{ID: id, Server: addr, Registers: registersAll[:2], RegisterEvery: 150 * time.Millisecond,
			Profile: dlmssim.OBISProfile1, ProfileEvery: 200 * time.Millisecond, MaxBackfill: 6 * time.Hour,
			Silence: 250 * time.Millisecond, Retries: 2, Sink: s, Records: rec, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	mk("m1", sim1.Address(), s1)
	mk("m2", sim2.Address(), s2)
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
		for i := 0; i < 600; i++ {
			if cond() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; health %v", what, l.Health())
	}
	lastEntry := func(id string) string {
		b, _ := rec.Record(RecordProfile, id+"/"+dlmssim.OBISProfile1.String())
		return string(b)
	}
	waitFor("first profile read", func() bool { return lastEntry("m1") != "" && lastEntry("m2") != "" })

	// Line faults.
	mode.Store(1)
	waitFor("dropped bytes counted", func() bool { return health("m1").Timeouts+health("m2").Timeouts > 0 })
	mode.Store(2)
	waitFor("garbled bytes counted", func() bool { return health("m1").FrameErrors+health("m2").FrameErrors > 0 })
	mode.Store(0)
	// Protocol faults.
	sim1.FailNext(dlmssim.FaultException)
	waitFor("exception counted", func() bool { return health("m1").Protocol["exception"] > 0 })
	sim2.FailNext(dlmssim.FaultServiceError)
	waitFor("service error counted", func() bool { return health("m2").Protocol["confirmed-service-error"] > 0 })
	// Late answers: beyond the silence timeout, the client polls again.
	sim2.SetDelay(300 * time.Millisecond)
	before := health("m2").Successes
	waitFor("late answers served", func() bool { return health("m2").Successes > before+1 })
	sim2.SetDelay(0)

	// m1 disappears for an hour; m2 goes on.
	sim1.SetSilent(true)
	f1 := health("m1").Failures
	waitFor("m1 failing", func() bool { return health("m1").Failures > f1+1 })
	clk.Add(time.Hour)
	s2before := health("m2").Successes
	waitFor("m2 served during m1's outage", func() bool { return health("m2").Successes > s2before+2 })
	sim1.SetSilent(false)
	want := clk.Now().Truncate(15 * time.Minute).Format(time.RFC3339)
	waitFor("m1 backfilled", func() bool { return lastEntry("m1") == want && lastEntry("m2") == want })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	from := t0.Add(-6 * time.Hour).Truncate(15 * time.Minute).Add(15 * time.Minute)
	to := clk.Now().Truncate(15 * time.Minute)
	checkProfile(t, s1.readings(), from, to)
	checkProfile(t, s2.readings(), from, to)
	t.Logf("health: %v", l.Health())
}

func TestClockShift(t *testing.T) {
	clk := newClock(t0)
	sim := newSim(t, clk, dlmssim.Options{})
	sim.SetClockOffset(125 * time.Second)
	port, _ := line(t, nil, sim)
	m, err := NewLine(port, nil).AddMeter(MeterOptions{ID: "dlms-1", Sink: &sink{}, Now: clk.Now, ClockMode: ClockShift})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if d, err := m.CheckClock(ctx); err != nil || d != 125*time.Second {
		t.Fatalf("drift %v, %v", d, err)
	}
	if off := sim.ClockOffset(); off != 0 {
		t.Fatalf("offset after shift_time: %v", off)
	}
	// Within the limit: nothing changes.
	sim.SetClockOffset(3 * time.Second)
	if d, err := m.CheckClock(ctx); err != nil || d != 3*time.Second || sim.ClockOffset() != 3*time.Second {
		t.Fatalf("drift %v, %v, offset %v", d, err, sim.ClockOffset())
	}
}
