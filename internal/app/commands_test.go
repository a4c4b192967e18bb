package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/link"
)

// hes is a test head-end system: keys by role, and the commands it sent.
type hes struct {
	keys map[command.Role]*ecdsa.PrivateKey
	n    atomic.Int64
}

func newHES(t *testing.T, cfg *config.Config) *hes {
	t.Helper()
	h := &hes{keys: map[command.Role]*ecdsa.PrivateKey{}}
	for _, r := range []command.Role{command.RoleReader, command.RoleOperator, command.RoleAdmin} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h.keys[r] = k
		b, err := command.EncodeKeyPEM(&k.PublicKey, r)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(cfg.Gateway.DataDir, "hes-"+string(r)+".pem")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.WAN.Commands.Keys = append(cfg.WAN.Commands.Keys, config.HESKey{ID: "hes-" + string(r), Role: string(r), PublicKeyFile: path})
	}
	return h
}

// envelope signs a command of kind with args by the key of role.
func (h *hes) envelope(t *testing.T, role command.Role, kind meter.CommandKind, args any, edit ...func(*command.Payload)) []byte {
	t.Helper()
	now := time.Now()
	p := &command.Payload{Version: 1, ID: fmt.Sprintf("cmd-%d", h.n.Add(1)), Gateway: "smgw-demo",
		Issued: now.Unix(), Expires: now.Add(10 * time.Minute).Unix(), Kind: string(kind)}
	if args != nil {
		b, err := command.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		p.Args = b
	}
	for _, e := range edit {
		e(p)
	}
	b, err := command.Sign(h.keys[role], "hes-"+string(role), p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startGateway runs an app with the HES keys and a link probe that says
// Ethernet is up.
func startGateway(t *testing.T, cfg *config.Config, backfill time.Duration) (*App, func()) {
	t.Helper()
	probe := func(names ...string) ([]link.IfState, error) {
		return []link.IfState{{Name: names[0], Exists: true, OperUp: true, Carrier: true, DefaultRoute: true}, {Name: names[1]}}, nil
	}
	a, err := New(cfg, &Options{Log: testLog(t), InitialBackfill: backfill, Watchdog: -1, NoSync: true, LinkProbe: probe})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func commandConfig(t *testing.T) *config.Config {
	cfg := testConfig(t, t.TempDir())
	cfg.Status.Listen = ""
	var sims []config.Meter // the demo's simulated meters only
	for _, m := range cfg.Meters {
		if m.Driver == config.DriverSim {
			sims = append(sims, m)
		}
	}
	cfg.Meters = sims
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// send passes an envelope through the command path and verifies the
// signed response.
func send(t *testing.T, a *App, env []byte) *command.Response {
	t.Helper()
	out := a.Commands().Handle(context.Background(), env)
	signer, err := a.keys.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := command.ParseResponse(out, signer.Public().(*ecdsa.PublicKey))
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	return r
}

func mustOK(t *testing.T, r *command.Response, v any) {
	t.Helper()
	if !r.OK {
		t.Fatalf("command %s failed: %+v", r.ID, r.Error)
	}
	if v != nil {
		if err := command.Unmarshal(r.Result, v); err != nil {
			t.Fatalf("result of %s: %v", r.ID, err)
		}
	}
}

func mustFail(t *testing.T, r *command.Response, reason command.Reason) {
	t.Helper()
	if r.OK || r.Error == nil || r.Error.Reason != reason {
		t.Fatalf("command %s: %+v (error %+v), want %s", r.ID, r, r.Error, reason)
	}
}

// events returns the kinds and attributes of a log's entries.
func events(t *testing.T, a *App, name store.LogName) []store.Event {
	t.Helper()
	var out []store.Event
	if err := a.st.Events(context.Background(), name, 0, func(e store.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// countRejected counts the system log's command-rejected entries of a
// command id with a reason.
func countRejected(t *testing.T, a *App, id string, reason command.Reason) int {
	n := 0
	for _, e := range events(t, a, store.LogSystem) {
		if e.Kind == "command-rejected" && e.Attrs["id"] == id && e.Attrs["reason"] == string(reason) {
			n++
		}
	}
	return n
}

func findEvent(evs []store.Event, kind, id string) *store.Event {
	for i := range evs {
		if evs[i].Kind == kind && evs[i].Attrs["id"] == id {
			return &evs[i]
		}
	}
	return nil
}

func TestCommandsEndToEnd(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 5*time.Minute)
	ctx := context.Background()
	waitFor(t, "backfilled readings", func() bool { st, _ := a.Status(ctx); return st.MetersSeen == 3 })

	// status
	var st StatusResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleReader, command.KindStatus, nil)), &st)
	if st.Gateway != "smgw-demo" || len(st.Meters) != 3 || st.Link.Active != link.Ethernet {
		t.Errorf("status = %+v", st)
	}

	// read-readings, in pages
	var want int
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	a.st.Query(ctx, store.Query{Meter: "elec-1", From: from, To: to}, func(meter.Reading) error { want++; return nil })
	if want < 200 {
		t.Fatalf("only %d readings of elec-1", want)
	}
	got := 0
	args := map[string]any{"meter": "elec-1", "from": from, "to": to, "limit": 97}
	for page := 0; ; page++ {
		var rr ReadResult
		mustOK(t, send(t, a, h.envelope(t, command.RoleReader, command.KindReadReadings, args)), &rr)
		if len(rr.Readings) > 97 {
			t.Fatalf("page of %d", len(rr.Readings))
		}
		got += len(rr.Readings)
		if rr.Next == nil {
			break
		}
		args["after"] = rr.Next
		if page > 1000 {
			t.Fatal("paging does not end")
		}
	}
	if got < want { // more may have arrived meanwhile, never fewer
		t.Errorf("read %d readings in pages, the store has %d", got, want)
	}
	mustFail(t, send(t, a, h.envelope(t, command.RoleReader, command.KindReadReadings, map[string]any{"meter": "nope", "from": from, "to": to})), command.ReasonUnknownMeter)
	mustFail(t, send(t, a, h.envelope(t, command.RoleReader, command.KindReadReadings, map[string]any{"meter": "elec-1"})), command.ReasonBadArgs)

	// set-poll-interval
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindSetPollInterval, map[string]any{"meter": "water-1", "interval": "2s"})), nil)
	mustFail(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindSetPollInterval, map[string]any{"meter": "water-1", "interval": "0s"})), command.ReasonBadArgs)

	// add-meter and remove-meter
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, map[string]any{"meter": "elec-2", "driver": "sim", "profile": "electricity", "interval": "1s"})), nil)
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, map[string]any{"meter": "elec-2", "driver": "sim", "profile": "electricity"})), command.ReasonBadArgs)
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindAddMeter, map[string]any{"meter": "x-1", "driver": "sim", "profile": "gas"})), command.ReasonBadArgs)
	waitFor(t, "readings of the added meter", func() bool { _, ok := a.st.Latest("elec-2", meter.OBISActiveEnergyImport); return ok })
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]any{"meter": "heat-1"})), nil)
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindRemoveMeter, map[string]any{"meter": "heat-1"})), command.ReasonUnknownMeter)

	// import-meter-key
	key := bytes.Repeat([]byte{0xa5}, 16)
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindImportMeterKey, map[string]any{"meter": "KAM-12345678", "key": key})), nil)
	if b, err := a.st.Record(store.KindSecret, "wmbus/KAM-12345678"); err != nil || !bytes.Equal(b, key) {
		t.Errorf("imported key = %x, %v", b, err)
	}
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindImportMeterKey, map[string]any{"meter": "KAM-1", "key": []byte{1, 2}})), command.ReasonBadArgs)

	// tariff, price, message, demand response
	now := time.Now().UTC().Truncate(time.Second)
	sched := map[string]any{"id": "tou-1", "effective": now.Add(-time.Hour), "currency": "EUR", "unit": "kWh", "tz": "Europe/Berlin",
		"tiers": []map[string]any{{"id": 1, "label": "NT", "price": "0.25"}, {"id": 2, "label": "HT", "price": "0.35"}}, "default_tier": 1,
		"periods": []map[string]any{{"tier": 2, "days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "start": "00:00", "end": "24:00"}}}
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindTariff, sched)), nil)
	if p, ok := a.Tariff().PriceAt(time.Now()); !ok || p.Label != "HT" || p.Price.String() != "0.35" {
		t.Errorf("price after the tariff command = %+v", p)
	}
	sched["periods"] = []map[string]any{{"tier": 2, "days": []string{"mon"}, "start": "10:00", "end": "12:00"}, {"tier": 1, "days": []string{"mon"}, "start": "11:00", "end": "13:00"}}
	r := send(t, a, h.envelope(t, command.RoleOperator, command.KindTariff, sched))
	mustFail(t, r, command.ReasonBadArgs)
	if !strings.Contains(r.Error.Message, "overlaps") {
		t.Errorf("overlap message: %q", r.Error.Message)
	}
	slot := now.Truncate(15 * time.Minute)
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindPrice, map[string]any{"prices": []map[string]any{{"start": slot, "price": "0.1111"}}})), nil)
	if p, _ := a.Tariff().PriceAt(time.Now()); !p.Dynamic || p.Price.String() != "0.1111" {
		t.Errorf("dynamic price = %+v", p)
	}
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindMessage, map[string]any{"id": "m-1", "text": "Hallo", "priority": "low", "start": now})), nil)
	if ms := a.Tariff().Messages(time.Now()); len(ms) != 1 || ms[0].Text != "Hallo" {
		t.Errorf("messages = %+v", ms)
	}
	ev := map[string]any{"id": "dr-1", "start": now.Add(time.Hour), "minutes": 30, "criticality": 3, "device_classes": []string{"hvac"}, "opt_out_allowed": true}
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindDemandResponse, map[string]any{"action": "start", "event": ev})), nil)
	if _, pend := a.Tariff().Events(time.Now()); len(pend) != 1 {
		t.Errorf("pending events = %+v", pend)
	}
	mustOK(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindDemandResponse, map[string]any{"action": "cancel", "id": "dr-1"})), nil)
	if _, pend := a.Tariff().Events(time.Now()); len(pend) != 0 {
		t.Errorf("pending events after cancel = %+v", pend)
	}
	ev["minutes"] = -5
	ev["id"] = "dr-2"
	mustFail(t, send(t, a, h.envelope(t, command.RoleOperator, command.KindDemandResponse, map[string]any{"action": "start", "event": ev})), command.ReasonBadArgs)

	// disconnect and reconnect
	var br BreakerResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]any{"meter": "elec-1"})), &br)
	if br.Connected || a.cmds.meterByID("elec-1").sim().Connected() {
		t.Errorf("after disconnect: %+v", br)
	}
	waitFor(t, "power 0 while disconnected", func() bool {
		for _, r := range a.ingest.LiveValues() {
			if r.Meter == "elec-1" && r.OBIS == meter.OBISActivePowerImport && r.Time.After(time.Now().Add(-500*time.Millisecond)) {
				return r.Value.IsZero()
			}
		}
		return false
	})
	mustFail(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]any{"meter": "water-1"})), command.ReasonNotSupported)
	mustOK(t, send(t, a, h.envelope(t, command.RoleAdmin, command.KindReconnect, map[string]any{"meter": "elec-1"})), &br)
	if !br.Connected {
		t.Errorf("after reconnect: %+v", br)
	}

	// The logs.
	sys := events(t, a, store.LogSystem)
	for i := int64(1); i <= h.n.Load(); i++ {
		id := fmt.Sprintf("cmd-%d", i)
		if findEvent(sys, "command-accepted", id) == nil {
			t.Errorf("no command-accepted for %s", id)
		}
		if findEvent(sys, "command-done", id) == nil && findEvent(sys, "command-failed", id) == nil {
			t.Errorf("no outcome for %s", id)
		}
	}
	metro := events(t, a, store.LogMetrology)
	for _, k := range []string{"tariff", "price", "add-meter", "remove-meter", "import-meter-key", "set-poll-interval", "disconnect", "reconnect"} {
		found := false
		for _, e := range metro {
			found = found || e.Kind == "command-done" && e.Attrs["kind"] == k
		}
		if !found {
			t.Errorf("no %s in the metrology log", k)
		}
	}
	for _, e := range sys {
		for _, v := range e.Attrs {
			if strings.Contains(v, "a5a5a5") || strings.Contains(v, "\xa5\xa5") {
				t.Errorf("the imported key leaked into the log: %+v", e)
			}
		}
	}
	stop()

	// After a restart: the meter overrides and the breaker state hold.
	a, stop = startGateway(t, cfg, 0)
	defer stop()
	mustOK(t, send(t, a, h.envelope(t, command.RoleReader, command.KindStatus, nil)), &st)
	ids := map[meter.MeterID]int64{}
	for _, m := range st.Meters {
		ids[m.ID] = m.Interval
	}
	if _, ok := ids["heat-1"]; ok || ids["elec-2"] != 1 || ids["water-1"] != 2 || len(ids) != 3 {
		t.Errorf("meters after restart = %+v", st.Meters)
	}
	if p, _ := a.Tariff().PriceAt(time.Now()); p.Schedule != "tou-1" {
		t.Errorf("tariff after restart = %+v", p)
	}
	if os := a.cmds.meterByID("elec-1").sim().Outages(); len(os) != 1 || os[0].To.IsZero() {
		t.Errorf("outages after restart = %+v", os)
	}
}

// TestCommandFaults: forged, unsigned, expired, replayed (also after a
// restart), wrong gateway and unauthorised commands are refused with the
// reason in the response and the log, and nothing is executed.
func TestCommandFaults(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	disc := map[string]any{"meter": "elec-1"}
	sched := tariff.Schedule{ID: "evil", Effective: time.Now().Add(-time.Hour), Currency: "EUR", Unit: "kWh",
		Tiers: []tariff.Tier{{ID: 1, Price: meter.V(999, 0)}}, DefaultTier: 1}

	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, _ := command.Sign(forger, "hes-admin", &command.Payload{Version: 1, ID: "f-1", Gateway: "smgw-demo",
		Issued: time.Now().Unix(), Expires: time.Now().Add(time.Minute).Unix(), Kind: "disconnect"})
	unsignedPayload, _ := command.Marshal(&command.Payload{Version: 1, ID: "u-1", Gateway: "smgw-demo",
		Issued: time.Now().Unix(), Expires: time.Now().Add(time.Minute).Unix(), Kind: "disconnect"})
	tampered := h.envelope(t, command.RoleAdmin, command.KindDisconnect, map[string]any{"meter": "elec-9"})
	i := bytes.Index(tampered, []byte("elec-9"))
	tampered[i+5] = '1'
	replayed := h.envelope(t, command.RoleAdmin, command.KindTariff, sched)

	cases := []struct {
		name string
		env  []byte
		want command.Reason
	}{
		{"forged (another key)", forged, command.ReasonBadSignature},
		{"forged (altered)", tampered, command.ReasonBadSignature},
		{"unsigned", unsignedPayload, command.ReasonUnsigned},
		{"expired", h.envelope(t, command.RoleAdmin, command.KindDisconnect, disc, func(p *command.Payload) {
			p.Issued, p.Expires = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}), command.ReasonExpired},
		{"not yet valid", h.envelope(t, command.RoleAdmin, command.KindDisconnect, disc, func(p *command.Payload) {
			p.Issued, p.Expires = time.Now().Add(time.Hour).Unix(), time.Now().Add(2*time.Hour).Unix()
		}), command.ReasonNotYetValid},
		{"wrong gateway", h.envelope(t, command.RoleAdmin, command.KindDisconnect, disc, func(p *command.Payload) { p.Gateway = "gw-other" }), command.ReasonWrongGateway},
		{"unauthorised (reader)", h.envelope(t, command.RoleReader, command.KindDisconnect, disc), command.ReasonForbidden},
		{"unauthorised (operator)", h.envelope(t, command.RoleOperator, command.KindDisconnect, disc), command.ReasonForbidden},
		{"unauthorised tariff (reader)", h.envelope(t, command.RoleReader, command.KindTariff, sched), command.ReasonForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, a, c.env)
			mustFail(t, r, c.want)
			if n := countRejected(t, a, r.ID, c.want); n != 1 {
				t.Errorf("%d command-rejected entries of %s with reason %s, want 1", n, r.ID, c.want)
			}
		})
	}
	// Nothing ran.
	if !a.cmds.meterByID("elec-1").sim().Connected() {
		t.Error("a refused disconnect ran")
	}
	if _, ok := a.Tariff().PriceAt(time.Now()); ok {
		t.Error("a refused tariff was installed")
	}
	for _, e := range events(t, a, store.LogSystem) {
		if e.Kind == "command-accepted" {
			t.Errorf("a refused command was accepted: %+v", e)
		}
	}

	// Replay: the first one runs, the same envelope again does not.
	mustOK(t, send(t, a, replayed), nil)
	sched2 := sched
	sched2.ID = "evil-2"
	mustFail(t, send(t, a, replayed), command.ReasonReplayed)
	stop()

	// After a restart the id is still remembered.
	a, stop = startGateway(t, cfg, 0)
	defer stop()
	r := send(t, a, replayed)
	mustFail(t, r, command.ReasonReplayed)
	if n := countRejected(t, a, r.ID, command.ReasonReplayed); n != 2 {
		t.Errorf("%d replay rejections of %s logged, want 2 (before and after the restart)", n, r.ID)
	}
	evs := events(t, a, store.LogSystem)
	n := 0
	for _, e := range evs {
		if e.Kind == "command-done" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d commands done, want 1 (the first of the replayed)", n)
	}
}
