package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/command"
)

// noSecretIn fails if secret appears in any log entry or meter record.
func noSecretIn(t *testing.T, a *App, secret []byte) {
	t.Helper()
	for _, name := range []store.LogName{store.LogSystem, store.LogMetrology, store.LogConsumer} {
		for _, e := range events(t, a, name) {
			s := e.Message
			for k, v := range e.Attrs {
				s += k + v
			}
			if strings.Contains(s, string(secret)) {
				t.Errorf("the secret is in the %s log: %+v", name, e)
			}
		}
	}
	names, _ := a.st.RecordNames(meterRecordKind, "")
	for _, n := range names {
		b, _ := a.st.Record(meterRecordKind, n)
		if bytes.Contains(b, secret) {
			t.Errorf("the secret is in the record meter/%s: %s", n, b)
		}
	}
}

func wantBadArg(t *testing.T, r *command.Response, field string) {
	t.Helper()
	mustFail(t, r, command.ReasonBadArgs)
	if !strings.Contains(r.Error.Message, field) {
		t.Errorf("bad-arguments %q does not name %q", r.Error.Message, field)
	}
}

func TestCommandAddModbusMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	if !modbustest.HavePymodbus() {
		t.Skip("pymodbus is not installed")
	}
	pa, pb := serialtest.PtyPair(t)
	p, err := profile.Builtin("sdm120")
	if err != nil {
		t.Fatal(err)
	}
	img := modbustest.Image{}
	want := img.Fill(t, 3, p, 1)
	modbustest.StartPymodbus(t, pb, img)

	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	add := func(args map[string]any) *command.Response {
		return send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, args))
	}
	good := map[string]any{"meter": "sdm-9", "driver": "modbus", "port": pa, "unit": 3, "profile": "sdm120", "interval": "1s"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	wantBadArg(t, add(with("unit", 0)), "unit")
	wantBadArg(t, add(with("profile", "no-such-meter")), "profile")
	wantBadArg(t, add(with("port", "ttyUSB0")), "port")
	wantBadArg(t, add(with("baud", 12345)), "baud")
	wantBadArg(t, add(with("key", make([]byte, 16))), "key")

	var res AddResult
	mustOK(t, add(good), &res)
	if res.RestartRequired || res.Driver != "modbus" {
		t.Errorf("add-meter = %+v", res)
	}
	wantBadArg(t, add(with("meter", "sdm-10")), "unit") // unit 3 of that line is taken
	mustFail(t, add(good), command.ReasonBadArgs)       // exists
	waitFor(t, "the added Modbus meter's readings", func() bool {
		r, ok := a.st.Latest("sdm-9", meter.OBISActiveEnergyImport)
		return ok && r.Value.Cmp(want[meter.OBISActiveEnergyImport]) == 0 && r.Source == meter.SourceModbus
	})
	stop()

	// After a restart the configured service reads it (the override).
	a, stop = startGateway(t, cfg, 0)
	if len(a.modbus) != 1 || len(a.modbus[0].meters) != 1 || a.modbus[0].meters[0].ID != "sdm-9" {
		t.Fatalf("after the restart: %d modbus lines", len(a.modbus))
	}
	// Removed: it is read from the next start no more.
	var rr RemoveResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]string{"meter": "sdm-9"})), &rr)
	if !rr.RestartRequired {
		t.Errorf("remove of a started line's meter: %+v", rr)
	}
	stop()
	a, stop = startGateway(t, cfg, 0)
	if len(a.modbus) != 0 {
		t.Errorf("after removal and restart: %d modbus lines", len(a.modbus))
	}
	stop()
}

func TestCommandAddDLMSMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	pa, pb := serialtest.PtyPair(t)
	far, err := serial.Open(&serial.Config{Name: pb, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	password := []byte("pw-0815-secret")
	sim, err := dlmssim.New(&dlmssim.Options{Password: password, Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); sim.Serve(ctx, far) }()
	defer func() { cancel(); far.Close(); <-served }()

	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	defer stop()
	add := func(args map[string]any) *command.Response {
		return send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, args))
	}
	wantBadArg(t, add(map[string]any{"meter": "dlms-9", "driver": "dlms", "port": pa, "auth": "medium"}), "auth")
	wantBadArg(t, add(map[string]any{"meter": "dlms-9", "driver": "dlms"}), "port")
	wantBadArg(t, add(map[string]any{"meter": "dlms-9", "driver": "dlms", "port": pa, "ak": []byte{1, 2}}), "ak")
	// auth low without a password anywhere: its driver refuses it, nothing is stored.
	wantBadArg(t, add(map[string]any{"meter": "dlms-9", "driver": "dlms", "port": pa, "auth": "low"}), "password")
	if _, err := a.st.Record(meterRecordKind, overridePrefix+"dlms-9"); err == nil {
		t.Fatal("a refused meter was stored")
	}

	var res AddResult
	mustOK(t, add(map[string]any{"meter": "dlms-9", "driver": "dlms", "port": pa, "auth": "low", "password": password,
		"interval": "1s", "load_profile": "none"}), &res)
	if res.RestartRequired {
		t.Errorf("add-meter = %+v", res)
	}
	if b, err := a.st.Record(store.KindSecret, "dlms/dlms-9/password"); err != nil || !bytes.Equal(b, password) {
		t.Errorf("the password in the key store: %q %v", b, err)
	}
	waitFor(t, "the added DLMS meter's readings", func() bool {
		r, ok := a.st.Latest("dlms-9", meter.OBISActiveEnergyImport)
		return ok && r.Source == meter.SourceDLMS
	})
	// Its breaker works through the command path.
	var br BreakerResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]string{"meter": "dlms-9"})), &br)
	if br.Connected {
		t.Errorf("disconnect: %+v", br)
	}
	// Removed: its line stops at once.
	var rr RemoveResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]string{"meter": "dlms-9"})), &rr)
	if rr.RestartRequired {
		t.Errorf("remove = %+v", rr)
	}
	a.cmds.mu.Lock()
	n := len(a.cmds.lines)
	a.cmds.mu.Unlock()
	if n != 0 {
		t.Errorf("%d runtime lines after the removal", n)
	}
	last, _ := a.st.Latest("dlms-9", meter.OBISActiveEnergyImport)
	time.Sleep(2500 * time.Millisecond)
	if r, _ := a.st.Latest("dlms-9", meter.OBISActiveEnergyImport); r.Time.After(last.Time) {
		t.Errorf("readings of a removed meter: %v after %v", r.Time, last.Time)
	}
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]string{"meter": "dlms-9"})), command.ReasonUnknownMeter)
	noSecretIn(t, a, password)
}

func TestCommandAddWMBusMeter(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	cfg.WMBus.Kind = config.WMBusSim
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	add := func(args map[string]any) *command.Response {
		return send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, args))
	}
	key := []byte("0123456789abcdef")
	wantBadArg(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "K1", "address": "12345678"}), "manufacturer")
	wantBadArg(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "KAM", "address": "123"}), "address")
	wantBadArg(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "KAM", "address": "12345678", "key": key[:5]}), "key")
	wantBadArg(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "KAM", "address": "12345678", "medium": "lava"}), "medium")
	wantBadArg(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "KAM", "address": "12345678", "unit": 3}), "unit")

	var res AddResult
	mustOK(t, add(map[string]any{"meter": "wm-1", "driver": "wmbus", "manufacturer": "KAM", "address": "12345678", "key": key, "medium": "water"}), &res)
	if !res.RestartRequired {
		t.Errorf("add-meter = %+v, want restart_required", res)
	}
	wantBadArg(t, add(map[string]any{"meter": "wm-2", "driver": "wmbus", "manufacturer": "KAM", "address": "12345678"}), "address")
	if b, err := a.st.Record(store.KindSecret, "wmbus/wm-1"); err != nil || !bytes.Equal(b, key) {
		t.Errorf("the key in the key store: %v", err)
	}
	noSecretIn(t, a, key)
	stop()

	a, stop = startGateway(t, cfg, 0)
	defer stop()
	if a.wmbus == nil || len(a.wmbus.svc.Health()) != 1 || a.wmbus.svc.Health()[0].ID != "wm-1" {
		t.Fatalf("after the restart the wM-Bus service does not have wm-1")
	}
}
