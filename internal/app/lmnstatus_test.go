package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/testutil"
)

// TestLMNStatus runs the gateway with two Modbus meters on one pty line
// served by pymodbus, one of which (unit 4) does not answer, and checks
// the status's RS-485 part: the answering meter ok, the silent one
// unreachable with its timeouts and retries counted and its last error.
func TestLMNStatus(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	p, err := profile.Builtin("sdm120")
	if err != nil {
		t.Fatal(err)
	}
	img := modbustest.Image{}
	img.Fill(t, 3, p, 1)
	modbustest.StartPymodbus(t, b, img)

	cfg := testConfig(t, t.TempDir())
	cfg.WMBus.Kind = ""
	ok, gone := config.DefaultMeter(), config.DefaultMeter()
	ok.ID, ok.Driver, ok.Port, ok.Unit, ok.Profile = "sdm120-1", config.DriverModbus, a, 3, "sdm120"
	gone.ID, gone.Driver, gone.Port, gone.Unit, gone.Profile = "sdm120-2", config.DriverModbus, a, 4, "sdm120"
	ok.Interval, gone.Interval = config.Duration(time.Second), config.Duration(time.Second)
	cfg.Meters = []config.Meter{ok, gone}
	cfg.Buses = []config.Bus{{Port: a, TimeoutMS: 200, Retries: 1}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	app, stopApp := startApp(t, cfg, &ns, 0)
	var once sync.Once
	var stopErr error
	stop := func() error { once.Do(func() { stopErr = stopApp() }); return stopErr }
	defer stop()
	var st ctl.Status
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err = app.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if l := st.LMN; l != nil && len(l.Buses) == 1 && len(l.Buses[0].Meters) == 2 &&
			l.Buses[0].Meters[0].State == ctl.LMNOK && l.Buses[0].Meters[1].Failures >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after 20 s: %+v", st.LMN)
		}
	}
	bus := st.LMN.Buses[0]
	if bus.Driver != "modbus" || bus.Port != a || !bus.Open || bus.Occupancy <= 0 || bus.BusySeconds <= 0 {
		t.Errorf("line %+v", bus)
	}
	m1, m2 := bus.Meters[0], bus.Meters[1]
	if m1.Meter != "sdm120-1" || m1.Address != "unit 3" || m1.LastSuccess.IsZero() || m1.ConsecutiveFailures != 0 || m1.Timeouts != 0 {
		t.Errorf("answering meter %+v", m1)
	}
	if m2.Meter != "sdm120-2" || m2.State != ctl.LMNUnreachable || m2.ConsecutiveFailures < 2 || m2.Timeouts < 4 ||
		m2.Retries < 2 || m2.LastError == "" || !m2.LastSuccess.IsZero() || m2.Driver != "modbus" || m2.Port != a {
		t.Errorf("silent meter %+v", m2)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
