package zigbee

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/hal/zigbee/znp"
	"github.com/smgw/smgw/hal/zigbee/znpsim"
	"github.com/smgw/smgw/internal/han/zigbee/ihdsim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/testutil"
)

// simRig is the ESI over the real ZNP driver, talking MT frames over a
// socat pty pair to the simulated co-processor, with a simulated display
// on its far side.
type simRig struct {
	t   testing.TB
	st  *store.Store
	tm  *tariff.Model
	sim *znpsim.Sim
	z   *hal.ZNP
	svc *Service
	clk *clock
	log *testutil.SyncBuffer
}

// testInstallCode is an 8-byte install code with its CRC.
func testInstallCode() []byte {
	code := []byte{0x83, 0xfe, 0xd3, 0x40, 0x7a, 0x93, 0x97, 0x23}
	crc := znp.InstallCodeCRC(code)
	return append(code, byte(crc), byte(crc>>8))
}

func startSimRig(t testing.TB, onSend func(uint16, uint16, []byte)) *simRig {
	t.Helper()
	return startSimRigOpts(t, onSend, nil)
}

// startSimRigOpts is startSimRig with the driver's options (logger set here).
func startSimRigOpts(t testing.TB, onSend func(uint16, uint16, []byte), zo *hal.ZNPOptions) *simRig {
	t.Helper()
	testutil.CheckGoroutines(t)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat); it makes the pty pair")
	}
	gw, ncp, stop, err := znpsim.Pair(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	sim, err := znpsim.Start(ncp, &znpsim.Options{SRSPDelay: -1, EventDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	r := &simRig{t: t, sim: sim, clk: &clock{t: t0}, log: &testutil.SyncBuffer{}}
	logger := testLogger(r.log)
	if zo == nil {
		zo = &hal.ZNPOptions{PingInterval: -1, ResetTimeout: 2 * time.Second, FormTimeout: 10 * time.Second}
	}
	zo.Logger = logger
	z, err := hal.OpenZNP(gw, zo)
	if err != nil {
		t.Fatal(err)
	}
	r.z = z
	t.Cleanup(func() { z.Close() })
	r.st = openStore(t)
	seed(t, r.st)
	r.tm, err = tariff.Open(r.st, &tariff.Options{NotFound: store.ErrNotFound, Now: r.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.svc, err = New(r.st, &Options{NCP: z, Network: testNet, Meters: []Meter{{ID: elec}}, Tariff: r.tm,
		Now: r.clk.Now, Log: logger.With("service", "zigbee"), Version: "e2e", Tick: 20 * time.Millisecond, OnSend: onSend})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.svc.Run(ctx) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			r.svc.Close()
		})
		if t.Failed() {
			t.Logf("log:\n%s", r.log.String())
		}
	})
	waitModel(t, "the network up", r.svc.isUp)
	return r
}

// join permits the display's EUI-64 with its install code and puts it in
// range; it returns once the ESI lists it.
func (r *simRig) join(eui uint64, ihd *ihdsim.IHD) {
	r.t.Helper()
	code := testInstallCode()
	if err := r.svc.Permit(context.Background(), eui, code, time.Minute); err != nil {
		r.t.Fatal(err)
	}
	if err := r.sim.AddDevice(eui, code, ihd.Endpoint, ihd.Handle); err != nil {
		r.t.Fatal(err)
	}
	waitModel(r.t, "the display joined", func() bool {
		for _, d := range r.svc.Devices() {
			if d.EUI64 == eui {
				return true
			}
		}
		return false
	})
}

func (r *simRig) deliver(eui uint64, cluster uint16, frame []byte) {
	r.t.Helper()
	if err := r.sim.Deliver(eui, 1, 1, cluster, frame); err != nil {
		r.t.Fatal(err)
	}
}

// TestEndToEndSimulatedIHD: the display joins with an install code,
// reads the Metering attributes (they match the store), configures
// reporting and receives reports of new readings, gets a price (asked and
// pushed), a message (and confirms it) and a DR event (reports it
// received, opts out) — over the ZNP driver and the simulated
// co-processor on a pty.
func TestEndToEndSimulatedIHD(t *testing.T) {
	r := startSimRig(t, nil)
	all := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	if err := r.tm.SetSchedule(context.Background(), tariff.Schedule{ID: "tou", Effective: t0.Add(-time.Hour), Currency: "EUR", Unit: "kWh",
		Tiers:       []tariff.Tier{{ID: 1, Label: "Day", Price: meter.V(3012, -4)}, {ID: 2, Label: "Night", Price: meter.V(1850, -4)}},
		DefaultTier: 2, Periods: []tariff.Period{{Tier: 1, Days: all, Start: "06:00", End: "22:00"}}}); err != nil {
		t.Fatal(err)
	}
	ihd := ihdsim.New()
	ihd.Now = r.clk.Now
	ihd.OptOut = true
	r.join(ihdEUI, ihd)
	wait := func(what string, cond func(v *ihdsim.View) bool) {
		t.Helper()
		if !ihd.Wait(10*time.Second, cond) {
			t.Fatalf("display: no %s within 10 s", what)
		}
	}

	// Read: the values match the store.
	r.deliver(ihdEUI, zcl.ClusterMetering, ihd.ReadAttributes(zcl.MeterCurrentSummationDelivered, zcl.MeterInstantaneousDemand,
		zcl.MeterMultiplier, zcl.MeterDivisor, zcl.MeterUnitOfMeasure, zcl.MeterTierSummationDelivered(1)))
	wait("metering attributes", func(v *ihdsim.View) bool {
		_, ok := v.Attr(zcl.ClusterMetering, zcl.MeterTierSummationDelivered(1))
		return ok
	})
	latest, _ := r.st.Latest(elec, meter.MustOBIS("1-0:1.8.0"))
	sum, _ := latest.Value.Round(0)
	ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterCurrentSummationDelivered); a.U != uint64(sum.M) {
			t.Errorf("summation %v, store %v Wh", a, latest.Value)
		}
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterInstantaneousDemand); a.I != 1300 {
			t.Errorf("demand %v, want 1300 W", a)
		}
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterDivisor); a.U != 1000 {
			t.Errorf("divisor %v", a)
		}
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterTierSummationDelivered(1)); a.U != 6000123 {
			t.Errorf("tier 1 %v", a)
		}
		return true
	})

	// Reporting: a new register reading is reported.
	r.deliver(ihdEUI, zcl.ClusterMetering, ihd.ConfigureReporting(
		zcl.ReportingConfig{ID: zcl.MeterCurrentSummationDelivered, Type: zcl.TypeUint48, MaxInterval: 900, Change: zcl.Uint(zcl.TypeUint48, 1)}))
	wait("the first report", func(v *ihdsim.View) bool { return v.Reports() >= 1 })
	next := sum.M + 1234
	if err := r.st.Append(context.Background(), rd(elec, "1-0:1.8.0", t0.Add(time.Minute), meter.V(next, 0), meter.UnitWattHour)); err != nil {
		t.Fatal(err)
	}
	wait("the report of the new reading", func(v *ihdsim.View) bool {
		a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterCurrentSummationDelivered)
		return a.U == uint64(next)
	})

	// Price: asked, then pushed at the tier change.
	r.deliver(ihdEUI, zcl.ClusterPrice, ihd.GetCurrentPrice())
	wait("a price", func(v *ihdsim.View) bool { ps := v.Prices(); return len(ps) > 0 && ps[len(ps)-1].Price == 3012 })
	r.clk.Set(time.Date(2026, 3, 10, 22, 0, 5, 0, time.UTC))
	wait("the pushed night price", func(v *ihdsim.View) bool { ps := v.Prices(); return ps[len(ps)-1].Price == 185 })

	// A message, confirmed by the display.
	now := r.clk.Now()
	if err := r.tm.PostMessage(context.Background(), tariff.Message{ID: "m1", Text: "Hello from your supplier", Priority: "medium", Start: now, ConfirmationRequired: true}); err != nil {
		t.Fatal(err)
	}
	wait("the message", func(v *ihdsim.View) bool { return len(v.Messages()) == 1 })
	waitModel(t, "the confirmation", func() bool {
		ms := r.tm.AllMessages()
		return len(ms) == 1 && ms[0].Confirmed != nil
	})

	// A DR event: received, opted out.
	if err := r.tm.StartEvent(context.Background(), tariff.Event{ID: "ev1", Start: now.Add(time.Hour), Minutes: 60, Criticality: 3,
		DeviceClasses: []string{"ev-charger"}, OptOutAllowed: true}); err != nil {
		t.Fatal(err)
	}
	wait("the event", func(v *ihdsim.View) bool { return len(v.Events()) == 1 && v.Events()[0].DeviceClass == zcl.ClassEV })
	waitModel(t, "the opt-out", func() bool {
		evs := r.tm.AllEvents()
		return len(evs) == 1 && evs[0].OptedOut(DeviceInfo{EUI64: ihdEUI}.EUI())
	})
	if st := r.svc.Stats(); st.SendErrors != 0 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestEndToEndCoprocessorReset: a watchdog reset of the co-processor is
// survived; the price is pushed again once the driver has recovered.
func TestEndToEndCoprocessorReset(t *testing.T) {
	r := startSimRig(t, nil)
	all := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	if err := r.tm.SetSchedule(context.Background(), tariff.Schedule{ID: "flat", Effective: t0.Add(-time.Hour), Currency: "EUR", Unit: "kWh",
		Tiers: []tariff.Tier{{ID: 1, Label: "Flat", Price: meter.V(25, -2)}}, DefaultTier: 1,
		Periods: []tariff.Period{{Tier: 1, Days: all, Start: "00:00", End: "24:00"}}}); err != nil {
		t.Fatal(err)
	}
	ihd := ihdsim.New()
	r.join(ihdEUI, ihd)
	r.deliver(ihdEUI, zcl.ClusterBasic, ihd.ReadAttributes(zcl.BasicModel))
	if !ihd.Wait(10*time.Second, func(v *ihdsim.View) bool { return len(v.Prices()) == 1 }) {
		t.Fatal("no price pushed after the display spoke")
	}
	r.sim.Kick()
	waitModel(t, "a reset seen", func() bool { return r.svc.Stats().Resets >= 1 })
	if !ihd.Wait(15*time.Second, func(v *ihdsim.View) bool { return len(v.Prices()) >= 2 }) {
		t.Fatal("no price pushed again after the reset")
	}
}

// TestEndToEndSilentCoprocessor: a co-processor that stops answering is
// reset by the driver; the ESI is not stuck: it sends the price again and
// answers the display afterwards.
func TestEndToEndSilentCoprocessor(t *testing.T) {
	r := startSimRigOpts(t, nil, &hal.ZNPOptions{SREQTimeout: 100 * time.Millisecond, ConfirmTimeout: 300 * time.Millisecond,
		MaxTimeouts: 2, PingInterval: 100 * time.Millisecond, RetryDelay: 50 * time.Millisecond, ResetTimeout: 2 * time.Second, FormTimeout: 10 * time.Second})
	all := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	if err := r.tm.SetSchedule(context.Background(), tariff.Schedule{ID: "flat", Effective: t0.Add(-time.Hour), Currency: "GBP", Unit: "kWh",
		Tiers: []tariff.Tier{{ID: 1, Label: "Standard", Price: meter.V(2486, -4)}}, DefaultTier: 1,
		Periods: []tariff.Period{{Tier: 1, Days: all, Start: "00:00", End: "24:00"}}}); err != nil {
		t.Fatal(err)
	}
	ihd := ihdsim.New()
	r.join(ihdEUI, ihd)
	r.deliver(ihdEUI, zcl.ClusterBasic, ihd.ReadAttributes(zcl.BasicModel))
	if !ihd.Wait(10*time.Second, func(v *ihdsim.View) bool { return len(v.Prices()) == 1 && v.Prices()[0].Currency == 826 }) {
		t.Fatal("no price")
	}
	r.sim.Silence(700 * time.Millisecond)
	waitModel(t, "a reset after the silence", func() bool { return r.svc.Stats().Resets >= 1 })
	if !ihd.Wait(15*time.Second, func(v *ihdsim.View) bool { return len(v.Prices()) >= 2 }) {
		t.Fatal("no price sent again after the co-processor came back")
	}
	// Still serving.
	for i := 0; ; i++ {
		if err := r.sim.Deliver(ihdEUI, 1, 1, zcl.ClusterMetering, ihd.ReadAttributes(zcl.MeterDivisor)); err == nil {
			break
		} else if i > 100 {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ihd.Wait(10*time.Second, func(v *ihdsim.View) bool { _, ok := v.Attr(zcl.ClusterMetering, zcl.MeterDivisor); return ok }) {
		t.Fatal("the ESI does not answer after the recovery")
	}
}
