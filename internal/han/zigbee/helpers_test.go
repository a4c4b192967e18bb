package zigbee

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/han/zigbee/ihdsim"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/testutil"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

var testNet = hal.NetworkConfig{Channel: 15, PANID: 0x1a62, ExtendedPANID: 0x00124b0001020304,
	NetworkKey: [16]byte{1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13}}

// fakeNCP implements hal.NCP in memory: Send hands frames to the devices'
// handlers and their answers come back as Incoming events.
type fakeNCP struct {
	mu      sync.Mutex
	events  chan hal.Event
	devs    map[uint16]func(hal.Frame) [][]byte
	sent    []hal.Frame
	cfg     hal.NetworkConfig
	started bool
	permits []uint64
	removed []hal.Device
	onSend  func(hal.Frame)
	wg      sync.WaitGroup
	closed  bool
}

func newFakeNCP() *fakeNCP {
	return &fakeNCP{events: make(chan hal.Event, 256), devs: map[uint16]func(hal.Frame) [][]byte{}}
}

func (f *fakeNCP) Start(ctx context.Context, cfg hal.NetworkConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg, f.started = cfg, true
	return nil
}

func (f *fakeNCP) Send(ctx context.Context, dst uint16, dstEP, srcEP uint8, cluster uint16, payload []byte) error {
	fr := hal.Frame{SrcAddr: 0, SrcEndpoint: srcEP, DstEndpoint: dstEP, Cluster: cluster, Payload: bytes.Clone(payload)}
	f.mu.Lock()
	f.sent = append(f.sent, fr)
	h := f.devs[dst]
	on := f.onSend
	if h != nil && !f.closed {
		f.wg.Add(1)
	}
	f.mu.Unlock()
	if on != nil {
		on(fr)
	}
	if h == nil {
		return nil
	}
	// In order, as one radio link delivers them.
	defer f.wg.Done()
	for _, p := range h(fr) {
		f.deliver(dst, dstEP, srcEP, cluster, p)
	}
	return nil
}

func (f *fakeNCP) deliver(src uint16, srcEP, dstEP uint8, cluster uint16, p []byte) {
	f.events <- hal.Incoming{Frame: hal.Frame{SrcAddr: src, SrcEndpoint: srcEP, DstEndpoint: dstEP, Cluster: cluster, LinkQuality: 180, Payload: p}}
}

func (f *fakeNCP) Events() <-chan hal.Event { return f.events }

func (f *fakeNCP) PermitJoin(ctx context.Context, eui64 uint64, code []byte, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.permits = append(f.permits, eui64)
	return nil
}

func (f *fakeNCP) Remove(ctx context.Context, d hal.Device) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, d)
	return nil
}

func (f *fakeNCP) Info() hal.Info {
	return hal.Info{Driver: "fake", State: hal.StateUp, Channel: 15, PANID: 0x1a62}
}

func (f *fakeNCP) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.wg.Wait()
	return nil
}

func (f *fakeNCP) sentFrames() []hal.Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hal.Frame(nil), f.sent...)
}

// join adds a device that announces itself at nwk.
func (f *fakeNCP) join(eui uint64, nwk uint16, h func(hal.Frame) [][]byte) {
	f.mu.Lock()
	f.devs[nwk] = h
	f.mu.Unlock()
	f.events <- hal.Announce{Device: hal.Device{NWK: nwk, EUI64: eui}}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 10, 12, 7, 30, 0, time.UTC) // a Tuesday

const elec = meter.MeterID("elec-1")

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "smgw.db"), &store.Options{Keys: keys.Static{Key: testKey}, NoSync: true, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func rd(id meter.MeterID, o string, at time.Time, v meter.Value, u meter.Unit) meter.Reading {
	return meter.Reading{Meter: id, OBIS: meter.MustOBIS(o), Time: at, Value: v, Unit: u}
}

// seed stores a day and a half of electricity readings: the register
// every 15 minutes (+250 Wh each) up to t0, plus tier registers and
// demand.
func seed(t testing.TB, st *store.Store) {
	t.Helper()
	var rs []meter.Reading
	start := t0.Add(-36 * time.Hour).Truncate(15 * time.Minute)
	wh := int64(10_000_000) // 10 MWh at the start, in Wh
	for at := start; !at.After(t0); at = at.Add(15 * time.Minute) {
		rs = append(rs, rd(elec, "1-0:1.8.0", at, meter.V(wh*10+4, -1), meter.UnitWattHour))
		wh += 250
	}
	rs = append(rs,
		rd(elec, "1-0:2.8.0", t0, meter.V(4567, 0), meter.UnitWattHour),
		rd(elec, "1-0:1.8.1", t0, meter.V(6000123, 0), meter.UnitWattHour),
		rd(elec, "1-0:1.8.2", t0, meter.V(4001, 3), meter.UnitWattHour), // 4.001 MWh
		rd(elec, "1-0:1.7.0", t0, meter.V(15004, -1), meter.UnitWatt),   // 1500.4 W
		rd(elec, "1-0:2.7.0", t0, meter.V(200, 0), meter.UnitWatt),
		rd("gas-1", "7-0:3.0.0", t0, meter.V(1234567, -3), meter.UnitCubicMetre), // 1234.567 m³
	)
	if err := st.Append(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
}

// env is a running ESI over a fake NCP, a real store and tariff model.
type env struct {
	t    *testing.T
	st   *store.Store
	tm   *tariff.Model
	ncp  *fakeNCP
	svc  *Service
	clk  *clock
	ihd  *ihdsim.IHD
	stop func()
}

const ihdEUI, ihdNWK = uint64(0x000d6f0011223344), uint16(0x4c21)

func startEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	testutil.CheckGoroutines(t)
	st := openStore(t)
	seed(t, st)
	clk := &clock{t: t0}
	tm, err := tariff.Open(st, &tariff.Options{NotFound: store.ErrNotFound, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ncp := newFakeNCP()
	o := &Options{NCP: ncp, Network: testNet, Meters: []Meter{{ID: elec, Kind: KindElectricity}, {ID: "gas-1", Kind: KindGas}},
		Tariff: tm, Now: clk.Now, Location: time.UTC, Version: "test", Tick: 20 * time.Millisecond}
	if mod != nil {
		mod(o)
	}
	svc, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	e := &env{t: t, st: st, tm: tm, ncp: ncp, svc: svc, clk: clk, ihd: ihdsim.New()}
	e.ihd.Now = clk.Now
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			svc.Close()
			ncp.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

// joinIHD joins the simulated display and lets it say hello (a read of
// the Basic cluster), so the ESI knows its endpoint.
func (e *env) joinIHD() {
	e.t.Helper()
	e.ncp.join(ihdEUI, ihdNWK, e.ihd.Handle)
	e.send(zcl.ClusterBasic, e.ihd.ReadAttributes(zcl.BasicModel))
	e.wait("the Basic read", func(v *ihdsim.View) bool { _, ok := v.Attr(zcl.ClusterBasic, zcl.BasicModel); return ok })
}

// send delivers a frame from the display to the ESI's endpoint 1.
func (e *env) send(cluster uint16, frame []byte) { e.sendTo(1, cluster, frame) }

func (e *env) sendTo(ep uint8, cluster uint16, frame []byte) {
	e.ncp.deliver(ihdNWK, 1, ep, cluster, frame)
}

// wait waits (bounded; a hang detector) for cond on the display.
func (e *env) wait(what string, cond func(v *ihdsim.View) bool) {
	e.t.Helper()
	if !e.ihd.Wait(10*time.Second, cond) {
		e.t.Fatalf("display: no %s within 10 s", what)
	}
}

// schedule installs a two-tier time-of-use tariff: 0.3012 EUR/kWh
// (tier 1 "Day") 06:00–22:00 every day, 0.1850 (tier 2 "Night") else.
func (e *env) schedule() {
	e.t.Helper()
	all := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	err := e.tm.SetSchedule(context.Background(), tariff.Schedule{ID: "tou-2026", Effective: t0.Add(-24 * time.Hour), Currency: "EUR", Unit: "kWh",
		Tiers:       []tariff.Tier{{ID: 1, Label: "Day", Price: meter.V(3012, -4)}, {ID: 2, Label: "Night", Price: meter.V(1850, -4)}},
		DefaultTier: 2, Periods: []tariff.Period{{Tier: 1, Days: all, Start: "06:00", End: "22:00"}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func halReset(reason string) hal.Event { return hal.Reset{Reason: reason} }

func testLogger(w *testutil.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
