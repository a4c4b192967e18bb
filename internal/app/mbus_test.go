package app

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/mbus/mbussim"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
	"github.com/smgw/smgw/internal/testutil"
)

// TestMBusMeters runs the gateway with two wired M-Bus meters on a pty
// served by the simulator, one by primary and one by secondary address:
// their registers reach the store with Source mbus and exact values.
func TestMBusMeters(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	far, err := serial.Open(&serial.Config{Name: b, Baud: 2400, Parity: serial.ParityEven})
	if err != nil {
		t.Fatal(err)
	}
	heat, err := mbussim.New(&mbussim.Options{Primary: 3, ID: 0x44440003, History: 12, PerTelegram: 6})
	if err != nil {
		t.Fatal(err)
	}
	water, err := mbussim.New(&mbussim.Options{Primary: 0, ID: 0x55550000, Medium: pmbus.DevWater})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); mbussim.ServeLine(ctx, far, heat, water) }()
	defer func() { cancel(); far.Close(); <-served }()

	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.WMBus.Kind = ""
	m1 := config.DefaultMeter()
	m1.ID, m1.Driver, m1.Port, m1.Address = "heat-1", config.DriverMBus, a, "3"
	m1.Interval = config.Duration(time.Second)
	m2 := config.DefaultMeter()
	m2.ID, m2.Driver, m2.Port, m2.Address, m2.Manufacturer = "water-1", config.DriverMBus, a, "55550000", "SMG"
	m2.Interval = config.Duration(time.Second)
	cfg.Meters = []config.Meter{m1, m2}
	cfg.Buses = []config.Bus{{Port: a, TimeoutMS: 300}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	app, stop := startApp(t, cfg, &ns, 0)
	if len(app.mbus) != 1 {
		stop()
		t.Fatalf("%d mbus lines", len(app.mbus))
	}
	wait := func(what string, cond func() bool) {
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s: not within 30 s; health %v", what, app.mbus[0].Health())
			}
		}
	}
	energy := meter.MustOBIS("6-0:1.0.0*255")
	volume := meter.MustOBIS("8-0:1.0.0*255")
	wait("heat energy stored", func() bool { _, ok := app.st.Latest("heat-1", energy); return ok })
	wait("water volume stored", func() bool { _, ok := app.st.Latest("water-1", volume); return ok })
	r, _ := app.st.Latest("heat-1", energy)
	if r.Source != meter.SourceMBus || r.Unit != meter.UnitWattHour {
		t.Errorf("stored %v", r)
	}
	// The value is the simulator's register at a time between the
	// meter's start and now, exactly (kWh: exponent 3).
	if r.Value.E != 3 || r.Value.M < heat.EnergyWh(time.Now().Add(-time.Minute)) || r.Value.M > heat.EnergyWh(time.Now()) {
		t.Errorf("heat energy %v", r.Value)
	}
	w, _ := app.st.Latest("water-1", volume)
	if w.Unit != meter.UnitCubicMetre || w.Value.E != -3 || w.Value.M > water.VolumeL(time.Now()) {
		t.Errorf("water volume %v", w)
	}
	wait("both meters healthy", func() bool {
		h := app.mbus[0].Health()
		return len(h) == 2 && h[0].Successes > 0 && h[1].Successes > 0
	})
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
