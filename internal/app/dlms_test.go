package app

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/testutil"
)

// TestDLMSMeter runs the gateway with one DLMS meter (LLS) on a pty
// served by the simulator: registers and the load profile reach the
// store with Source dlms, and the disconnect control answers through the
// line.
func TestDLMSMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	far, err := serial.Open(&serial.Config{Name: b, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := dlmssim.New(&dlmssim.Options{Password: []byte("pw123456"), Since: time.Now().Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); sim.Serve(ctx, far) }()
	defer func() { cancel(); far.Close(); <-served }()

	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.WMBus.Kind = ""
	m := config.DefaultMeter()
	m.ID, m.Driver, m.Port = "dlms-1", config.DriverDLMS, a
	m.Auth, m.Password = "low", "pw123456"
	m.Interval = config.Duration(time.Second)
	cfg.Meters = []config.Meter{m}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	app, stop := startApp(t, cfg, &ns, 0)
	if len(app.dlms) != 1 {
		stop()
		t.Fatalf("%d dlms lines", len(app.dlms))
	}
	wait := func(what string, cond func() bool) {
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s: not within 20 s", what)
			}
		}
	}
	wait("1.8.0 stored", func() bool { _, ok := app.st.Latest("dlms-1", meter.OBISActiveEnergyImport); return ok })
	r, _ := app.st.Latest("dlms-1", meter.OBISActiveEnergyImport)
	if r.Source != meter.SourceDLMS || r.Unit != meter.UnitWattHour {
		t.Errorf("stored %v", r)
	}
	// The profile's last quarter, exactly.
	q := time.Now().UTC().Truncate(15 * time.Minute)
	wait("profile stored", func() bool {
		r, ok := app.st.Latest("dlms-1", meter.MustOBIS("1.0.4.8.0.255"))
		return ok && !r.Time.Before(q)
	})
	r, _ = app.st.Latest("dlms-1", meter.MustOBIS("1.0.4.8.0.255"))
	if r.Value != meter.V(dlmssim.ReactiveExportVarh(r.Time), 0) {
		t.Errorf("4.8.0 at %v = %v, want %d", r.Time, r.Value, dlmssim.ReactiveExportVarh(r.Time))
	}
	dc := app.dlmsMeter("dlms-1")
	if dc == nil {
		stop()
		t.Fatal("no disconnector for dlms-1")
	}
	if err := dc.Disconnect(context.Background()); err != nil || sim.Connected() {
		t.Errorf("disconnect: %v, connected %v", err, sim.Connected())
	}
	if h := app.dlms[0].Health(); len(h) != 1 || h[0].Successes == 0 {
		t.Errorf("health %+v", h)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
