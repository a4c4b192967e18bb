package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/modem/modemsim"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/link"
)

// TestCommandKeyFromStoreAndModem: a HES key imported into the key store
// (secret/hes/<id>) verifies commands, and the status command reports the
// LTE link of a modem (the simulator on a pty) with its operator, signal
// and budget.
func TestCommandKeyFromStoreAndModem(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, simPath, stopPair, err := modemsim.Pair(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stopPair()
	sim, err := modemsim.Start(simPath, modemsim.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg.WAN.Modem.Device, cfg.WAN.Modem.APN, cfg.WAN.Modem.DailyBudget = gw, "internet", 1<<20

	// Import the key with the store closed, as `smgw keys` would.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemKey, _ := command.EncodeKeyPEM(&k.PublicKey, command.RoleOperator)
	st, err := store.Open(DBPath(cfg.Gateway.DataDir), &store.Options{Keys: keys.NewDev(cfg.Security.DevKeyFile, testLog(t)), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutRecord(ctx, store.KindSecret, "hes/imported-ops", pemKey); err != nil {
		t.Fatal(err)
	}
	st.Close()

	lteOnly := func(names ...string) ([]link.IfState, error) {
		return []link.IfState{{Name: names[0]}, {Name: names[1], Exists: true, OperUp: true, Carrier: true, DefaultRoute: true}}, nil
	}
	a, err := New(cfg, &Options{Log: testLog(t), Watchdog: -1, NoSync: true, LinkProbe: lteOnly})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	defer func() {
		stop()
		<-done
		a.Close()
	}()
	waitFor(t, "the LTE link", func() bool { return a.Link().Status().Active == link.LTE })
	a.Link().Sent(1000)

	now := time.Now()
	env, err := command.Sign(k, "imported-ops", &command.Payload{Version: 1, ID: "k-1", Gateway: "smgw-demo",
		Issued: now.Unix(), Expires: now.Add(time.Minute).Unix(), Kind: "status"})
	if err != nil {
		t.Fatal(err)
	}
	var res StatusResult
	mustOK(t, send(t, a, env), &res)
	l := res.Link
	if l.Active != link.LTE || l.Modem == nil || l.Modem.Operator != "Telekom.de" || l.Modem.RSSI != -73 ||
		l.SentLTE != 1000 || l.Left != 1<<20-1000 {
		t.Errorf("link in status = %+v (modem %+v)", l, l.Modem)
	}
	st2, _ := a.Status(context.Background())
	if !strings.Contains(st2.WAN, "lte wwan0 (Telekom.de, -73 dBm)") || !strings.Contains(st2.WAN, "budget left") {
		t.Errorf("WAN status line = %q", st2.WAN)
	}
	if l := st2.Link; l == nil || l.Active != "lte" || l.Operator != "Telekom.de" || l.SignalDBm != -73 || l.SentTodayLTE != 1000 || l.BudgetLeft != 1<<20-1000 {
		t.Errorf("ctl link status = %+v", st2.Link)
	}
	var apn string
	sim.Set(func(s *modemsim.State) { apn = s.APN })
	if apn != "internet" {
		t.Errorf("APN set = %q", apn)
	}
}

// TestCommandsOtherDrivers: meters read by their own services (the demo's
// wM-Bus meters) answer disconnect and set-poll-interval with "not
// supported by this meter's driver"; remove-meter takes effect at the
// next start.
func TestCommandsOtherDrivers(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Status.Listen = ""
	var other string
	for _, m := range cfg.Meters {
		if m.Driver != "sim" {
			other = string(m.ID)
		}
	}
	if other == "" {
		t.Skip("the demo has no meter of another driver")
	}
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	r := send(t, a, h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]any{"meter": other}))
	mustFail(t, r, command.ReasonNotSupported)
	if !strings.Contains(r.Error.Message, "not supported by this meter's driver") {
		t.Errorf("message %q", r.Error.Message)
	}
	mustFail(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindSetPollInterval, map[string]any{"meter": other, "interval": "1m"})), command.ReasonNotSupported)
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, map[string]any{"meter": other, "driver": "sim", "profile": "water"})), command.ReasonBadArgs)
	var rr RemoveResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]any{"meter": other})), &rr)
	if !rr.RestartRequired {
		t.Errorf("remove result %+v", rr)
	}
	stop()
	a2, stop2 := startGateway(t, cfg, 0)
	defer stop2()
	mustFail(t, send(t, a2, h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]any{"meter": other})), command.ReasonUnknownMeter)
	cfgMeters, err := a2.withOverrides(cfg.Meters)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfgMeters {
		if string(m.ID) == other {
			t.Errorf("%s still configured after its removal and a restart", other)
		}
	}
}

// TestRejectFlood: at most 60 rejections a minute reach the event log;
// the next one logged says how many were left out.
func TestRejectFlood(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	newHES(t, cfg)
	var off atomic.Int64
	real := time.Now()
	off.Store(int64(real.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(real)))
	now := func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	a, err := New(cfg, &Options{Log: testLog(t), Watchdog: -1, NoSync: true, Now: now,
		LinkProbe: func(names ...string) ([]link.IfState, error) { return make([]link.IfState, len(names)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range 65 {
		p, _ := command.Marshal(&command.Payload{Version: 1, ID: fmt.Sprintf("bad-%d", i), Gateway: "smgw-demo", Kind: "status"})
		mustFail(t, send(t, a, p), command.ReasonUnsigned)
	}
	count := func() (n int, last store.Event) {
		for _, e := range events(t, a, store.LogSystem) {
			if e.Kind == "command-rejected" {
				n++
				last = e
			}
		}
		return n, last
	}
	if n, _ := count(); n != 60 {
		t.Errorf("%d rejections logged in a minute, want 60", n)
	}
	off.Add(int64(time.Minute))
	p, _ := command.Marshal(&command.Payload{Version: 1, ID: "bad-last", Gateway: "smgw-demo", Kind: "status"})
	mustFail(t, send(t, a, p), command.ReasonUnsigned)
	if n, last := count(); n != 61 || last.Attrs["suppressed_before"] != "5" {
		t.Errorf("%d rejections logged, the last %+v; want 61, suppressed_before 5", n, last)
	}
}

// TestCommandJWS: the JSON form (a JWS) runs through the same path and is
// answered in the JSON form.
func TestCommandJWS(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 2*time.Minute)
	defer stop()
	waitFor(t, "readings", func() bool { _, ok := a.st.Latest("elec-1", meter.OBISActiveEnergyImport); return ok })
	signer, _ := a.keys.Signer(context.Background())
	gwPub := signer.Public().(*ecdsa.PublicKey)
	now := time.Now()
	send := func(role command.Role, id, kind, args string) *command.JSONResponse {
		t.Helper()
		var aj []byte
		if args != "" {
			aj = []byte(args)
		}
		env, err := command.SignJWS(h.keys[role], "hes-"+string(role), &command.Payload{Version: 1, ID: id, Gateway: "smgw-demo",
			Issued: now.Unix(), Expires: now.Add(time.Minute).Unix(), Kind: kind}, aj)
		if err != nil {
			t.Fatal(err)
		}
		out := a.Commands().Handle(context.Background(), env)
		r, err := command.ParseResponseJWS(out, gwPub)
		if err != nil {
			t.Fatalf("response %q: %v", out, err)
		}
		return r
	}
	from, to := now.Add(-time.Hour).UTC().Format(time.RFC3339), now.Add(time.Hour).UTC().Format(time.RFC3339)
	r := send(command.RoleReader, "j-1", "read-readings", `{"meter":"elec-1","from":"`+from+`","to":"`+to+`","limit":5}`)
	var rr struct {
		Readings []struct {
			OBIS  string `json:"obis"`
			Value string `json:"v"`
			Unit  string `json:"unit"`
		} `json:"readings"`
		Next *struct{} `json:"next"`
	}
	if !r.OK || json.Unmarshal(r.Result, &rr) != nil || len(rr.Readings) != 5 || rr.Next == nil || rr.Readings[0].OBIS == "" || rr.Readings[0].Value == "" {
		t.Errorf("read-readings in JSON: %+v %s", r, r.Result)
	}
	r = send(command.RoleReader, "j-2", "disconnect", `{"meter":"elec-1"}`)
	if r.OK || r.Error == nil || r.Error.Reason != command.ReasonForbidden {
		t.Errorf("forbidden in JSON: %+v", r)
	}
	r = send(command.RoleAdmin, "j-3", "disconnect", `{"meter":"elec-1","colour":"red"}`)
	if r.OK || r.Error == nil || r.Error.Reason != command.ReasonBadArgs {
		t.Errorf("unknown argument in JSON: %+v", r)
	}
}

// TestRejectHuge: a refused command carrying a huge field is still logged
// (its message clipped) and answered.
func TestRejectHuge(t *testing.T) {
	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	defer stop()
	huge := strings.Repeat("é", 100_000)
	r := send(t, a, h.envelope(t, command.RoleAdmin, command.KindStatus, nil, func(p *command.Payload) { p.Gateway = huge }))
	mustFail(t, r, command.ReasonWrongGateway)
	if len(r.Error.Message) > 2000 {
		t.Errorf("response message of %d bytes", len(r.Error.Message))
	}
	if n := countRejected(t, a, r.ID, command.ReasonWrongGateway); n != 1 {
		t.Errorf("%d rejections logged, want 1", n)
	}
}
