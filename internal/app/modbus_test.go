package app

import (
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/testutil"
)

// TestModbusMeter runs the gateway with one Modbus meter on a pty served
// by pymodbus and checks that its registers reach the store exactly, with
// Source modbus.
func TestModbusMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	p, err := profile.Builtin("sdm120")
	if err != nil {
		t.Fatal(err)
	}
	img := modbustest.Image{}
	want := img.Fill(t, 3, p, 1)
	modbustest.StartPymodbus(t, b, img)

	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.WMBus.Kind = ""
	m := config.DefaultMeter()
	m.ID, m.Driver, m.Port, m.Unit, m.Profile = "sdm120-1", config.DriverModbus, a, 3, "sdm120"
	m.Interval = config.Duration(time.Second)
	cfg.Meters = []config.Meter{m}
	cfg.Buses = []config.Bus{{Port: a, TimeoutMS: 300}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	app, stop := startApp(t, cfg, &ns, 0)
	if len(app.modbus) != 1 {
		stop()
		t.Fatalf("%d modbus lines", len(app.modbus))
	}
	for _, o := range []meter.OBIS{meter.OBISActiveEnergyImport, meter.OBISActiveEnergyExport, meter.MustOBIS("1-0:15.8.0")} {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, ok := app.st.Latest("sdm120-1", o); ok {
				break
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s not stored in 20 s", o)
			}
		}
		r, _ := app.st.Latest("sdm120-1", o)
		if r.Value.Cmp(want[o]) != 0 || r.Unit != meter.UnitWattHour || r.Source != meter.SourceModbus {
			t.Errorf("%s: stored %s %s (source %s), want %s Wh", o, r.Value, r.Unit.Symbol(), r.Source, want[o])
		}
	}
	st := app.modbus[0].Stats()
	if len(st) != 1 || !st[0].Healthy() {
		t.Errorf("stats %+v", st)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
