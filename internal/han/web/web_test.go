package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/tariff"
)

// The authorisation matrix: unpaired, paired, revoked, malformed, a
// token for another household's meter, expired and reused codes.
func TestAuthorisationMatrix(t *testing.T) {
	noLeaks(t)
	e := start(t, nil)
	now := e.clk.Now()
	seed(t, e.st, now.Add(-3*time.Hour), now, "home-a", "home-b")

	tokA := e.pair("home-a")
	tokAll := e.pair()
	tokRevoked := e.pair("home-a")
	var revokedID string
	for _, c := range e.svc.Clients() {
		if strings.HasPrefix(tokRevoked, c.ID+".") {
			revokedID = c.ID
		}
	}
	if _, err := e.svc.Revoke(context.Background(), revokedID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Revoke(context.Background(), "c000000000000"); !errors.Is(err, ErrNoClient) {
		t.Errorf("Revoke(unknown) = %v, want ErrNoClient", err)
	}
	forged := strings.SplitN(tokA, ".", 2)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

	paths := []string{
		"/api/v1/status", "/api/v1/meters", "/api/v1/readings/latest", "/api/v1/price", "/api/v1/messages", "/api/v1/events",
		"/api/v1/history?meter=home-a", "/api/v1/totals?meter=home-a", "/api/v1/no-such-route", "/sep2/dcap",
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"unpaired", "", 401}, {"revoked", tokRevoked, 401}, {"forged", forged, 401}, {"garbage", "x", 401},
	} {
		for _, p := range paths {
			code, body, hd := e.do("GET", p, tc.token, nil)
			if code != tc.want || len(body) != 0 || hd.Get("WWW-Authenticate") == "" {
				t.Errorf("%s GET %s = %d %q, want %d and no body", tc.name, p, code, body, tc.want)
			}
		}
		// Writes too, and unknown methods: 401 before anything else.
		for _, p := range []string{"/api/v1/messages/m1/ack", "/api/v1/events/e1/opt-out", "/api/v1/meters"} {
			if code, body, _ := e.do("POST", p, tc.token, map[string]string{}); code != 401 || len(body) != 0 {
				t.Errorf("%s POST %s = %d %q, want 401", tc.name, p, code, body)
			}
		}
	}

	// Paired: 200 on the reads; writes only where allowed.
	for _, p := range paths[:8] {
		if code, body, _ := e.do("GET", p, tokA, nil); code != 200 {
			t.Errorf("paired GET %s = %d %s", p, code, body)
		}
	}
	if code, _, _ := e.do("GET", "/api/v1/no-such-route", tokA, nil); code != 404 {
		t.Errorf("paired unknown route = %d, want 404", code)
	}
	if code, _, _ := e.do("POST", "/api/v1/meters", tokA, map[string]string{}); code != 405 {
		t.Errorf("paired POST /api/v1/meters = %d, want 405", code)
	}
	if code, _, _ := e.do("DELETE", "/api/v1/status", tokA, nil); code != 405 {
		t.Errorf("paired DELETE = %d, want 405", code)
	}

	// Another household's meter: 404 exactly like a meter that does not exist.
	_, nx, _ := e.do("GET", "/api/v1/history?meter=nosuch", tokA, nil)
	for _, p := range []string{"/api/v1/history?meter=home-b", "/api/v1/totals?meter=home-b",
		"/api/v1/readings/latest?meter=home-b", "/api/v1/live?meter=home-b"} {
		code, body, _ := e.do("GET", p, tokA, nil)
		if code != 404 || string(body) != string(nx) {
			t.Errorf("GET %s with home-a's token = %d %s, want 404 %s", p, code, body, nx)
		}
	}
	_, body, _ := e.do("GET", "/api/v1/meters", tokA, nil)
	if !contains(body, "home-a") || contains(body, "home-b") {
		t.Errorf("home-a's meters: %s", body)
	}
	_, body, _ = e.do("GET", "/api/v1/readings/latest", tokA, nil)
	if contains(body, "home-b") {
		t.Errorf("home-a's latest readings show home-b: %s", body)
	}
	_, body, _ = e.do("GET", "/api/v1/meters", tokAll, nil)
	if !contains(body, "home-a") || !contains(body, "home-b") {
		t.Errorf("every meter: %s", body)
	}

	// Codes: an expired one and a reused one are refused (401, nothing else).
	pc, _ := e.svc.NewPairingCode(nil)
	if code, _, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"code": pc.Code}); code != 200 {
		t.Fatalf("first use of a code = %d", code)
	}
	if code, body, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"code": pc.Code}); code != 401 || len(body) != 0 {
		t.Errorf("reused code = %d %q, want 401", code, body)
	}
	pc, _ = e.svc.NewPairingCode(nil)
	e.clk.Add(5*time.Minute + time.Second)
	if code, _, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"code": pc.Code}); code != 401 {
		t.Errorf("expired code = %d, want 401", code)
	}
	if code, _, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"code": "0000-0000"}); code != 401 {
		t.Errorf("unknown code = %d, want 401", code)
	}
	if code, _, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"bogus": "x"}); code != 400 {
		t.Errorf("malformed pairing body = %d, want 400", code)
	}
	// The page is public (its pairing screen).
	if code, _, hd := e.do("GET", "/", "", nil); code != 200 || !strings.Contains(hd.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("GET / = %d, CSP %q", code, hd.Get("Content-Security-Policy"))
	}
}

// Tokens survive a restart (sealed records); a revoked one stays revoked.
func TestTokensPersist(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	e := start(t, st)
	tok := e.pair()
	tok2 := e.pair()
	id2 := strings.SplitN(tok2, ".", 2)[0]
	if _, err := e.svc.Revoke(context.Background(), id2); err != nil {
		t.Fatal(err)
	}
	e.stop()
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	e = start(t, st)
	if code, _, _ := e.do("GET", "/api/v1/status", tok, nil); code != 200 {
		t.Errorf("token after restart = %d", code)
	}
	if code, _, _ := e.do("GET", "/api/v1/status", tok2, nil); code != 401 {
		t.Errorf("revoked token after restart = %d", code)
	}
	cs := e.svc.Clients()
	if len(cs) != 2 || cs[1].Revoked == nil && cs[0].Revoked == nil {
		t.Errorf("clients after restart: %+v", cs)
	}
	// The store holds no token, only its hash.
	names, _ := st.RecordNames(RecordKind, "")
	for _, n := range names {
		b, _ := st.Record(RecordKind, n)
		if strings.Contains(string(b), strings.SplitN(tok, ".", 2)[1]) {
			t.Errorf("record %s holds the token", n)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := start(t, nil, func(o *Options) { o.RatePerMinute, o.Burst = 60, 5 })
	tok := e.pair()
	other := e.pair()
	for i := range 5 {
		if code, _, _ := e.do("GET", "/api/v1/status", tok, nil); code != 200 {
			t.Fatalf("request %d = %d", i, code)
		}
	}
	code, _, hd := e.do("GET", "/api/v1/status", tok, nil)
	if code != 429 || hd.Get("Retry-After") != "1" {
		t.Errorf("6th request = %d Retry-After %q, want 429 and 1", code, hd.Get("Retry-After"))
	}
	// Per client: another one is not limited.
	if code, _, _ := e.do("GET", "/api/v1/status", other, nil); code != 200 {
		t.Errorf("other client = %d", code)
	}
	e.clk.Add(time.Second) // one token back
	if code, _, _ := e.do("GET", "/api/v1/status", tok, nil); code != 200 {
		t.Errorf("after a second = %d", code)
	}
	// Pairing attempts per address are limited too.
	var last int
	for range 10 {
		last, _, _ = e.do("POST", "/api/v1/pair", "", map[string]string{"code": "1111-1111"})
	}
	if last != 429 {
		t.Errorf("10 bad pairing attempts: last %d, want 429", last)
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct{ id, kind, data string }

func readEvents(t testing.TB, sc *bufio.Scanner, out chan<- sseEvent) {
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.kind != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	close(out)
}

func openStream(t testing.TB, e *env, path, token, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go readEvents(t, bufio.NewScanner(resp.Body), ch)
	return ch, func() { cancel(); resp.Body.Close() }
}

func waitEvent(t testing.TB, ch <-chan sseEvent, match func(sseEvent) bool) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no matching event within 10 s")
		}
	}
}

// A reading appended to the store reaches the live stream; a stream of
// one household never sees another's; a revoked client's stream ends.
func TestLiveStream(t *testing.T) {
	noLeaks(t)
	e := start(t, nil)
	now := e.clk.Now()
	seed(t, e.st, now.Add(-time.Hour), now, "home-a", "home-b")
	tokA := e.pair("home-a")
	chA, closeA := openStream(t, e, "/api/v1/live", tokA, "")
	defer closeA()
	chB, closeB := openStream(t, e, "/api/v1/live?meter=home-b", e.pair("home-b"), "")
	defer closeB()

	at := now.Add(time.Minute)
	if err := e.st.Append(context.Background(), reading("home-b", meter.OBISActivePowerImport, at, 999, meter.UnitWatt),
		reading("home-a", meter.OBISActivePowerImport, at, 1234, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, chA, func(ev sseEvent) bool { return ev.kind == "reading" })
	var wr wireReading
	if err := json.Unmarshal([]byte(ev.data), &wr); err != nil {
		t.Fatal(err)
	}
	if wr.Meter != "home-a" || wr.Value != "1234" || wr.Unit != "W" || ev.id != strconv.FormatInt(at.UnixMilli(), 10) {
		t.Errorf("event %+v %+v", ev, wr)
	}
	evB := waitEvent(t, chB, func(ev sseEvent) bool { return ev.kind == "reading" })
	if !strings.Contains(evB.data, `"home-b"`) {
		t.Errorf("home-b's stream: %+v", evB)
	}

	// Resume: a new stream with Last-Event-ID gets what came after it.
	at2 := at.Add(time.Minute)
	if err := e.st.Append(context.Background(), reading("home-a", meter.OBISActivePowerImport, at2, 777, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	chR, closeR := openStream(t, e, "/api/v1/live", tokA, ev.id)
	defer closeR()
	evR := waitEvent(t, chR, func(ev sseEvent) bool { return ev.kind == "reading" })
	if !strings.Contains(evR.data, `"777"`) || strings.Contains(evR.data, "home-b") {
		t.Errorf("resumed: %+v", evR)
	}

	// Revoked: the stream ends.
	id := strings.SplitN(tokA, ".", 2)[0]
	if _, err := e.svc.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case _, ok := <-chA:
			done = !ok
		case <-timeout:
			t.Fatal("revoked client's stream did not end")
		}
	}
}

// A client that does not read is dropped, not waited for.
func TestSlowStreamDropped(t *testing.T) {
	e := start(t, nil, func(o *Options) { o.StreamBuffer = 4 })
	tok := e.pair()
	p := &principal{client: Client{ID: "slow"}}
	st := e.svc.hub.add(p, 4)
	for i := range 10 {
		e.svc.hub.publish(encodeEvent("reading", reading("m", meter.OBISActivePowerImport, e.clk.Now().Add(time.Duration(i)*time.Second), 1, meter.UnitWatt)))
	}
	select {
	case <-st.gone:
	default:
		t.Error("a full stream was not dropped")
	}
	_ = tok
}

func TestLiveSamples(t *testing.T) {
	var mu = make(chan meter.Reading, 1)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	mu <- reading("home-a", meter.OBISActivePowerImport, now, 1, meter.UnitWatt)
	live := func() []meter.Reading {
		r := <-mu
		mu <- r
		return []meter.Reading{r}
	}
	e := start(t, nil, func(o *Options) { o.Live, o.LiveEvery = live, 10*time.Millisecond })
	seed(t, e.st, now.Add(-time.Hour), now, "home-a")
	ch, closeS := openStream(t, e, "/api/v1/live", e.pair(), "")
	defer closeS()
	<-mu
	mu <- reading("home-a", meter.OBISActivePowerImport, now.Add(time.Second), 4321, meter.UnitWatt)
	ev := waitEvent(t, ch, func(ev sseEvent) bool { return ev.kind == "live" && strings.Contains(ev.data, "4321") })
	if ev.id != "" {
		t.Errorf("live event has an id: %+v", ev)
	}
	_, body, _ := e.do("GET", "/api/v1/readings/latest?meter=home-a", e.pair(), nil)
	if !contains(body, `"4321"`) {
		t.Errorf("latest does not show the live sample: %s", body)
	}
}

// History aligns buckets in local time and gives register differences;
// totals split consumption and cost by tariff tier.
func TestHistoryAndTotals(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	e := start(t, nil, func(o *Options) { o.Location = berlin })
	// 2026-03-10 00:00 Berlin is 2026-03-09T23:00Z.
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, berlin)
	seed(t, e.st, day.Add(-2*time.Hour), day.Add(24*time.Hour), "home")
	tok := e.pair()

	get := func(path string, v any) {
		t.Helper()
		code, body, _ := e.do("GET", path, tok, nil)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatal(err)
		}
	}
	var h historyResponse
	get("/api/v1/history?meter=home&resolution=hour&from="+day.Format(time.RFC3339)+"&to="+day.Add(3*time.Hour).Format(time.RFC3339), &h)
	if len(h.Points) != 3 || !h.Points[0].Start.Equal(day) || *h.Points[0].Value != "400" || *h.Total != "1200" || h.Unit != "Wh" {
		t.Errorf("hourly: %+v", h)
	}
	get("/api/v1/history?meter=home&resolution=day&from="+day.Add(time.Hour).Format(time.RFC3339)+"&to="+day.Add(2*time.Hour).Format(time.RFC3339), &h)
	if len(h.Points) != 1 || !h.Points[0].Start.Equal(day) || *h.Points[0].Value != "9600" {
		t.Errorf("daily (local midnight): %+v", h.Points)
	}
	get("/api/v1/history?meter=home&resolution=15m&from="+day.Add(-4*time.Hour).Format(time.RFC3339)+"&to="+day.Format(time.RFC3339), &h)
	if h.Points[0].Value != nil || *h.Points[len(h.Points)-1].Value != "100" {
		t.Errorf("15m before the first reading: first %v, last %v", h.Points[0].Value, h.Points[len(h.Points)-1].Value)
	}
	get("/api/v1/history?meter=home&resolution=raw&from="+day.Format(time.RFC3339)+"&to="+day.Add(time.Hour).Format(time.RFC3339), &h)
	if len(h.Points) != 4 || *h.Points[0].Value != "1000800" {
		t.Errorf("raw: %+v", h.Points)
	}
	for _, bad := range []string{"resolution=week", "from=yesterday", "obis=1-0:1.7.0*255&resolution=hour", "obis=nonsense"} {
		if code, _, _ := e.do("GET", "/api/v1/history?meter=home&"+bad, tok, nil); code != 400 {
			t.Errorf("history %s = %d, want 400", bad, code)
		}
	}

	// A day/night tariff: 0.30 EUR/kWh 06:00–22:00, else 0.20.
	sched := tariff.Schedule{ID: "dn", Effective: day.Add(-48 * time.Hour), Currency: "EUR", Unit: "kWh", TimeZone: "Europe/Berlin",
		Tiers:       []tariff.Tier{{ID: 1, Label: "day", Price: meter.V(30, -2)}, {ID: 2, Label: "night", Price: meter.V(20, -2)}},
		DefaultTier: 2,
		Periods:     []tariff.Period{{Tier: 1, Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Start: "06:00", End: "22:00"}}}
	if err := e.tm.SetSchedule(context.Background(), sched); err != nil {
		t.Fatal(err)
	}
	var tot totalsResponse
	get("/api/v1/totals?meter=home&from="+day.Format(time.RFC3339)+"&to="+day.Add(24*time.Hour).Format(time.RFC3339), &tot)
	// 16 h day × 400 Wh = 6.4 kWh × 0.30 = 1.92; 8 h night = 3.2 kWh × 0.20 = 0.64.
	if tot.Consumption != "9600" || tot.Cost != "2.56" || tot.Currency != "EUR" || len(tot.Tiers) != 2 {
		t.Fatalf("totals: %+v", tot)
	}
	for _, tr := range tot.Tiers {
		if tr.Label == "day" && (tr.Consumption != "6400" || tr.Cost != "1.92") || tr.Label == "night" && (tr.Consumption != "3200" || tr.Cost != "0.64") {
			t.Errorf("tier %+v", tr)
		}
	}
	// Price now (12:00 UTC = 13:00 Berlin: day) and the next change at 22:00 Berlin.
	var pr priceResponse
	get("/api/v1/price", &pr)
	if pr.Current == nil || pr.Current.Price != "0.30" || pr.Next == nil || pr.Next.Price != "0.20" ||
		!pr.NextAt.Equal(time.Date(2026, 3, 10, 22, 0, 0, 0, berlin)) {
		t.Errorf("price: %+v next %+v at %v", pr.Current, pr.Next, pr.NextAt)
	}
}

// Messages can be confirmed and events opted out of; nothing else writes.
func TestMessagesAndEvents(t *testing.T) {
	e := start(t, nil)
	tok := e.pair()
	now := e.clk.Now()
	ctx := context.Background()
	if err := e.tm.PostMessage(ctx, tariff.Message{ID: "m1", Text: "Maintenance <b>tomorrow</b>", Priority: "high", Start: now.Add(-time.Minute), ConfirmationRequired: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.tm.StartEvent(ctx, tariff.Event{ID: "e1", Start: now.Add(-time.Minute), Minutes: 60, Criticality: 3, DeviceClasses: []string{"hvac"}, OptOutAllowed: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.tm.StartEvent(ctx, tariff.Event{ID: "e9", Start: now.Add(time.Hour), Minutes: 60, Criticality: 9, DeviceClasses: []string{"ev-charger"}}); err != nil {
		t.Fatal(err)
	}
	_, body, _ := e.do("GET", "/api/v1/messages", tok, nil)
	if !contains(body, `"m1"`) || !contains(body, `"confirmation_required":true`) {
		t.Errorf("messages: %s", body)
	}
	if code, body, _ := e.do("POST", "/api/v1/messages/m1/ack", tok, map[string]string{}); code != 200 {
		t.Errorf("ack = %d %s", code, body)
	}
	if m := e.tm.Messages(now.Add(-30 * time.Second)); len(m) != 1 || m[0].Confirmed == nil || !strings.HasPrefix(m[0].ConfirmedBy, "han:c") {
		t.Errorf("message after ack: %+v", m)
	}
	if code, _, _ := e.do("POST", "/api/v1/messages/nope/ack", tok, map[string]string{}); code != 404 {
		t.Errorf("ack unknown = %d", code)
	}
	if code, body, _ := e.do("POST", "/api/v1/events/e1/opt-out", tok, nil); code != 200 {
		t.Errorf("opt-out = %d %s", code, body)
	}
	_, body, _ = e.do("GET", "/api/v1/events", tok, nil)
	var evs map[string][]wireEvent
	json.Unmarshal(body, &evs)
	if len(evs["active"]) != 1 || !evs["active"][0].OptedOut || len(evs["pending"]) != 1 || evs["pending"][0].OptedOut {
		t.Errorf("events: %s", body)
	}
	if code, _, _ := e.do("POST", "/api/v1/events/e9/opt-out", tok, nil); code != 409 {
		t.Errorf("opt-out of a mandatory event = %d, want 409", code)
	}
	if code, _, _ := e.do("POST", "/api/v1/events/nope/opt-out", tok, nil); code != 404 {
		t.Errorf("opt-out unknown = %d", code)
	}
}

// The page's cookie works for reads and for same-origin JSON writes only.
func TestCookieAuth(t *testing.T) {
	e := start(t, nil)
	pc, _ := e.svc.NewPairingCode(nil)
	req, _ := http.NewRequest("POST", e.base+"/api/v1/pair", strings.NewReader(`{"code":"`+pc.Code+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cks := resp.Cookies()
	if len(cks) != 1 || !cks[0].HttpOnly || cks[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v", cks)
	}
	get, _ := http.NewRequest("GET", e.base+"/api/v1/status", nil)
	get.AddCookie(cks[0])
	if resp, err := e.hc.Do(get); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cookie GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	e.tm.StartEvent(context.Background(), tariff.Event{ID: "e1", Start: e.clk.Now(), Minutes: 60, Criticality: 3, DeviceClasses: []string{"hvac"}, OptOutAllowed: true})
	for _, tc := range []struct {
		ct, site string
		want     int
	}{{"text/plain", "", 403}, {"application/json", "cross-site", 403}, {"application/json", "same-origin", 200}} {
		req, _ := http.NewRequest("POST", e.base+"/api/v1/events/e1/opt-out", strings.NewReader("{}"))
		req.Header.Set("Content-Type", tc.ct)
		if tc.site != "" {
			req.Header.Set("Sec-Fetch-Site", tc.site)
		}
		req.AddCookie(cks[0])
		resp, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("cookie POST %s %s = %d, want %d", tc.ct, tc.site, resp.StatusCode, tc.want)
		}
	}
}

// The demo needs no pairing, and refuses foreign host names.
func TestDemo(t *testing.T) {
	e := start(t, nil, func(o *Options) { o.Demo = true })
	code, body, _ := e.do("GET", "/api/v1/status", "", nil)
	if code != 200 || !contains(body, `"demo":true`) {
		t.Errorf("demo status = %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", e.base+"/api/v1/status", nil)
	req.Host = "evil.example"
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign host = %d", resp.StatusCode)
	}
}

func TestNewRefuses(t *testing.T) {
	st := openStore(t, "")
	defer st.Close()
	if _, err := New(st, &Options{Binding: &Binding{Addresses: nil, Interface: "lo", Port: 1}}); !errors.Is(err, ErrBind) {
		t.Errorf("plain HTTP without Plain: %v", err)
	}
	if _, err := New(st, &Options{Plain: true}); !errors.Is(err, ErrBind) {
		t.Errorf("no binding: %v", err)
	}
}

func TestPageWeight(t *testing.T) {
	raw, gz := PageWeight()
	t.Logf("page: %d bytes, %d gzipped", raw, gz)
	if gz > 150<<10 {
		t.Errorf("page weight %d bytes gzipped, budget 150 KiB", gz)
	}
	e := start(t, nil)
	for _, p := range []string{"/static/app.js", "/static/style.css", "/static/icon.svg"} {
		if code, _, _ := e.do("GET", p, "", nil); code != 200 {
			t.Errorf("GET %s = %d", p, code)
		}
	}
	if code, _, _ := e.do("GET", "/static/index.html", "", nil); code != 404 {
		t.Errorf("GET /static/index.html = %d", code)
	}
}

// The SEP2 handler is mounted at /sep2/ behind the client authentication,
// and sees the client's meters and device name.
func TestSEP2Mount(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.URL.Path + " " + Device(r) + " " + strconv.FormatBool(Visible(r, "home-a")) + strconv.FormatBool(Visible(r, "home-b"))))
	})
	e := start(t, nil, func(o *Options) { o.SEP2 = h })
	if code, body, _ := e.do("GET", "/sep2/dcap", "", nil); code != 401 || len(body) != 0 {
		t.Errorf("unpaired /sep2/dcap = %d %q", code, body)
	}
	tok := e.pair("home-a")
	code, body, _ := e.do("GET", "/sep2/dcap", tok, nil)
	if code != 200 || !strings.HasPrefix(string(body), "/dcap han:c") || !strings.HasSuffix(string(body), " truefalse") {
		t.Errorf("paired /sep2/dcap = %d %q", code, body)
	}
	if Visible(&http.Request{}, "home-a") || Device(&http.Request{}) != "" {
		t.Error("Visible or Device outside the service")
	}
}
