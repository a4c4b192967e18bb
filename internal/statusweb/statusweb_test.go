package statusweb_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/smgw/smgw/internal/testutil"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/statusweb"
	"github.com/smgw/smgw/internal/store"
)

// now is the test clock: 12:07 UTC, so the chart's window is
// [03-01 12:15, 03-02 12:15) in 15-minute intervals.
var now = time.Date(2026, 3, 2, 12, 7, 0, 0, time.UTC)

var (
	obisE = meter.OBISActiveEnergyImport
	obisP = meter.OBISActivePowerImport
)

// energyAt is elec-1's register: 1000 Wh at 03-01 11:00, +0.250 Wh every
// 5 minutes.
func energyAt(t time.Time) meter.Value {
	k := int64(t.Sub(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)) / (5 * time.Minute))
	return meter.V(1000000+250*k, -3)
}

func backend(insecure bool) *ctltest.Backend {
	b := &ctltest.Backend{}
	var rs []meter.Reading
	for t := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC); !t.After(now); t = t.Add(5 * time.Minute) {
		rs = append(rs, meter.Reading{Meter: "elec-1", OBIS: obisE, Time: t, Value: energyAt(t), Unit: meter.UnitWattHour, Source: meter.SourceSim})
	}
	rs = append(rs,
		meter.Reading{Meter: "elec-1", OBIS: obisP, Time: now.Add(-time.Second), Value: meter.V(4321, -1), Unit: meter.UnitWatt, Source: meter.SourceSim},
		meter.Reading{Meter: "water-1", OBIS: meter.OBISVolumeWater, Time: now.Add(-3 * time.Hour), Value: meter.V(12340, -3), Unit: meter.UnitCubicMetre,
			Quality: meter.QualityEstimated, Source: meter.SourceWMBus},
		meter.Reading{Meter: "heat-1", OBIS: meter.OBISFlowTemperature, Time: now.Add(-time.Minute), Value: meter.V(655, -1), Unit: meter.UnitCelsius, Source: meter.SourceMBus},
	)
	b.Add(rs...)
	b.SetStatus(ctl.Status{
		GatewayID: "gw-test-7", Version: "0.9.1", Started: now.Add(-26 * time.Hour), Uptime: 26*time.Hour + 5*time.Minute,
		KeyProvider: "tpm", Insecure: insecure, MetersSeen: 3, ReadingsLastMinute: 17, WAN: "up",
		Store: store.Stats{Appended: 123456, Commits: 789, JournalBytes: 4096, FileBytes: 3 << 20, Meters: 3, Series: 4,
			LastCommit: now.Add(-2 * time.Second), LastCommitTook: 1500 * time.Microsecond},
		Services: []ctl.ServiceStatus{
			{Name: "store", LastProgress: now.Add(-time.Second), Healthy: true},
			{Name: "wmbus-receiver", LastProgress: now.Add(-10 * time.Minute), Healthy: false, Err: "dongle <unplugged>"},
		},
		Live: []meter.Reading{{Meter: "elec-1", OBIS: obisP, Time: now.Add(-time.Second), Value: meter.V(4321, -1), Unit: meter.UnitWatt, Source: meter.SourceSim}},
	})
	return b
}

func newHandler(t *testing.T, b ctl.Backend, hosts ...string) http.Handler {
	return statusweb.New(b, &statusweb.Options{
		Log:      slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:      func() time.Time { return now },
		Location: time.UTC,
		Hosts:    hosts,
	})
}

func do(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:8080"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("%s: CSP allows too much: %q", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: headers %v", what, h)
	}
}

func TestPage(t *testing.T) {
	testutil.CheckGoroutines(t)
	w := do(t, newHandler(t, backend(false)), "GET", "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	checkSecurityHeaders(t, "page", w.Header())
	page := w.Body.String()
	// The latest register value, at 12:05, is 1000 + 0.25 × 301 Wh.
	for _, want := range []string{
		"gw-test-7", "0.9.1", "1 d 2 h", "tpm", ">up<", "123456", "789", "3.0 MiB", "4.0 KiB",
		"store", "wmbus-receiver", "unhealthy", "dongle &lt;unplugged&gt;",
		"elec-1", "water-1", "heat-1",
		`<span class="v">1075.250</span> <span class="u">Wh</span>`,
		`<span class="v">432.1</span> <span class="u">W</span>`,
		`<span class="v">12.340</span> <span class="u">m³</span>`,
		`<span class="v">65.5</span> <span class="u">°C</span>`,
		"estimated", "Energy import", "Power import", "Water volume", "Flow temperature", "1-0:1.8.0*255",
		`data-series="elec-1|1-0:1.8.0*255"`, `data-key="elec-1|1-0:1.7.0*255"`,
		"<svg", "consumption per 15 minutes",
		"12:00–12:15: 0.500 Wh",   // the current interval, so far
		"11:45–12:00: 0.750 Wh",   // a whole interval
		"total <strong>71.750 Wh", // 03-01 12:10 … 03-02 12:05
		`src="/static/app.js"`, `href="/static/style.css"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "INSECURE") {
		t.Error("page shows the insecure badge for a secure key provider")
	}
	// One bar per interval of the window (elec-1 only: water has one
	// reading, the heat meter no cumulative register).
	if n := strings.Count(page, `<rect class="bar"`); n != 96 {
		t.Errorf("%d bars, want 96", n)
	}
	if n := strings.Count(page, "<figure"); n != 2 {
		t.Errorf("%d charts, want 2 (elec-1, and water-1's empty one)", n)
	}
	if !strings.Contains(page, "Not enough readings") {
		t.Error("water-1's chart does not say why it is empty")
	}
	// No inline script or style, which the CSP would block.
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|style="|<style`).MatchString(page) {
		t.Error("page has inline script or style")
	}
	// The chart query covered the window and one interval before.
	var chartQ *store.Query
	b := backend(false)
	h := newHandler(t, b)
	do(t, h, "GET", "/")
	for _, q := range b.Queries() {
		if q.Meter == "elec-1" && q.OBIS == obisE {
			chartQ = &q
		}
	}
	if chartQ == nil || !chartQ.From.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) || !chartQ.To.Equal(time.Date(2026, 3, 2, 12, 15, 0, 0, time.UTC)) {
		t.Errorf("chart query %+v", chartQ)
	}
}

func TestInsecureBadge(t *testing.T) {
	w := do(t, newHandler(t, backend(true)), "GET", "/")
	if !strings.Contains(w.Body.String(), `class="badge insecure"`) || !strings.Contains(w.Body.String(), "INSECURE development keys") {
		t.Error("no insecure badge")
	}
}

func TestPageBackendDown(t *testing.T) {
	b := backend(false)
	b.SetErr(store.ErrClosed)
	w := do(t, newHandler(t, b), "GET", "/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Status unavailable: store: closed") ||
		!strings.Contains(w.Body.String(), "Meters unavailable") {
		t.Errorf("GET / with the backend down = %d\n%s", w.Code, w.Body)
	}
	w = do(t, newHandler(t, b), "GET", "/api/status")
	var e struct{ Error string }
	if w.Code != 500 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error != "store: closed" {
		t.Errorf("GET /api/status with the backend down = %d %s", w.Code, w.Body)
	}
}

func TestEmptyGateway(t *testing.T) {
	b := &ctltest.Backend{}
	w := do(t, newHandler(t, b), "GET", "/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "No meter has been read yet") || !strings.Contains(w.Body.String(), "No live values yet") {
		t.Errorf("empty gateway page: %d\n%s", w.Code, w.Body)
	}
}

func TestAPIStatus(t *testing.T) {
	b := backend(true)
	w := do(t, newHandler(t, b), "GET", "/api/status")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/status = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	checkSecurityHeaders(t, "api", w.Header())
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"gateway_id", "version", "started", "uptime_seconds", "key_provider", "insecure",
		"meters_seen", "readings_last_minute", "wan", "store", "services", "live"} {
		if _, ok := m[k]; !ok {
			t.Errorf("status JSON lacks %q: %s", k, w.Body)
		}
	}
	if m["uptime_seconds"] != float64(26*3600+300) || m["insecure"] != true {
		t.Errorf("status JSON: %s", w.Body)
	}
	if !strings.Contains(w.Body.String(), `"value":"432.1","unit":"W","unit_code":27`) {
		t.Errorf("live value not exact: %s", w.Body)
	}
	var st ctl.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.GatewayID != "gw-test-7" || len(st.Services) != 2 ||
		st.Store.FileBytes != 3<<20 || len(st.Live) != 1 || st.Live[0].Value != meter.V(4321, -1) {
		t.Errorf("status JSON does not read back: %+v, %v", st, err)
	}
}

func TestAPIMeters(t *testing.T) {
	w := do(t, newHandler(t, backend(false)), "GET", "/api/meters")
	if w.Code != 200 {
		t.Fatalf("GET /api/meters = %d", w.Code)
	}
	var ms []struct {
		ID     string `json:"id"`
		Series []struct {
			OBIS     string          `json:"obis"`
			Unit     string          `json:"unit"`
			UnitCode int             `json:"unit_code"`
			First    string          `json:"first"`
			Latest   json.RawMessage `json:"latest"`
		} `json:"series"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].ID != "elec-1" || len(ms[0].Series) != 2 || ms[0].Series[0].OBIS != "1-0:1.7.0*255" ||
		ms[0].Series[1].Unit != "Wh" || ms[0].Series[1].UnitCode != 30 {
		t.Fatalf("meters JSON: %s", w.Body)
	}
	r, err := ctl.DecodeReadingJSON(ms[0].Series[1].Latest)
	if err != nil || r.Value.String() != "1075.250" {
		t.Errorf("latest: %v %v", r, err)
	}
}

func TestAPIReadings(t *testing.T) {
	b := &ctltest.Backend{}
	var rs []meter.Reading
	for i := range statusweb.DefaultLimit + 5 {
		rs = append(rs, meter.Reading{Meter: "elec-1", OBIS: obisE, Time: now.Add(time.Duration(i) * time.Second),
			Value: meter.V(int64(i)*10, -2), Unit: meter.UnitWattHour})
	}
	b.Add(rs...)
	srv := httptest.NewServer(newHandler(t, b))
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	get := func(target string) (*http.Response, []byte) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		return resp, body
	}
	decode := func(body []byte) []json.RawMessage {
		t.Helper()
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			t.Fatalf("not a JSON array: %v\n%.200s", err, body)
		}
		return arr
	}

	resp, body := get("/api/readings")
	if arr := decode(body); len(arr) != statusweb.DefaultLimit || resp.Trailer.Get("Smgw-Truncated") != "true" {
		t.Errorf("default: %d readings, trailer %v", len(arr), resp.Trailer)
	}
	resp, body = get("/api/readings?meter=elec-1&obis=1-0:1.8.0&limit=3&from=" + now.Add(2*time.Second).Format(time.RFC3339))
	arr := decode(body)
	if len(arr) != 3 || resp.Header.Get("Content-Type") != "application/json" || resp.Trailer.Get("Smgw-Truncated") != "true" {
		t.Fatalf("limit 3: %s", body)
	}
	r, err := ctl.DecodeReadingJSON(arr[0])
	if err != nil || r.Value.String() != "0.20" || !r.Time.Equal(now.Add(2*time.Second)) {
		t.Errorf("first reading %v, %v; want 0.20 at +2 s", r, err)
	}
	resp, body = get("/api/readings?limit=100000&from=" + now.Add(10000*time.Second).Format(time.RFC3339))
	if arr := decode(body); len(arr) != 5 || resp.Trailer.Get("Smgw-Truncated") != "" {
		t.Errorf("tail: %d readings, trailer %v", len(arr), resp.Trailer)
	}
	if _, body = get("/api/readings?meter=nobody"); string(body) != "[]\n" {
		t.Errorf("no readings: %q", body)
	}
	for _, bad := range []struct{ q, mention string }{
		{"limit=0", "limit"}, {"limit=100001", "limit"}, {"limit=-1", "limit"}, {"obis=x", "obis"},
		{"from=monday", "from"}, {"meter=a/b", "meter"}, {"color=red", "color"},
	} {
		resp, body := get("/api/readings?" + bad.q)
		var e struct{ Error string }
		if resp.StatusCode != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, bad.mention) {
			t.Errorf("%s: %d %s", bad.q, resp.StatusCode, body)
		}
	}
}

// TestAPIReadingsFails: a backend error before anything was sent is an
// error answer; after the array went out in part, the answer is broken off
// instead of closing the array.
func TestAPIReadingsFails(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := &failing{Backend: backend(false)}
	srv := httptest.NewServer(newHandler(t, b))
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	b.after = 3
	resp, err := srv.Client().Get(srv.URL + "/api/readings?meter=elec-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), "disk on fire") {
		t.Errorf("error after 3 readings: %d %s", resp.StatusCode, body)
	}

	b.after = 300 // more than the answer's buffer holds
	resp, err = srv.Client().Get(srv.URL + "/api/readings?meter=elec-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("answer complete despite the error: %d %v %.300s", resp.StatusCode, err, body)
	}
}

type failing struct {
	*ctltest.Backend
	after int
}

func (f *failing) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	n := 0
	return f.Backend.Query(ctx, q, func(r meter.Reading) error {
		if n++; n > f.after {
			return errors.New("disk on fire")
		}
		return fn(r)
	})
}

func TestMethods(t *testing.T) {
	h := newHandler(t, backend(false))
	for _, target := range []string{"/", "/api/status", "/api/meters", "/api/readings", "/static/app.js"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			w := do(t, h, m, target)
			if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s = %d, Allow %q", m, target, w.Code, w.Header().Get("Allow"))
			}
			checkSecurityHeaders(t, m+" "+target, w.Header())
		}
		if w := do(t, h, "HEAD", target); w.Code != 200 {
			t.Errorf("HEAD %s = %d", target, w.Code)
		}
	}
	w := do(t, h, "GET", "/nosuch")
	if w.Code != 404 {
		t.Errorf("GET /nosuch = %d", w.Code)
	}
	checkSecurityHeaders(t, "404", w.Header())
	if w := do(t, h, "GET", "/api/nosuch"); w.Code != 404 || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /api/nosuch = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestStatic(t *testing.T) {
	h := newHandler(t, backend(false))
	for file, ct := range map[string]string{"app.js": "text/javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"} {
		w := do(t, h, "GET", "/static/"+file)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ct) || w.Body.Len() < 100 {
			t.Errorf("GET /static/%s = %d %s, %d bytes", file, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
	}
	for _, target := range []string{"/static/index.html.tmpl", "/static/", "/static/../statusweb.go"} {
		if w := do(t, h, "GET", target); w.Code == 200 {
			t.Errorf("GET %s = 200", target)
		}
	}
}

func TestHosts(t *testing.T) {
	h := newHandler(t, backend(false), "smgw.local")
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "localhost": 200,
		"smgw.local:8080": 200, "SMGW.LOCAL": 200, "192.168.1.20": 200,
		"evil.example:8080": 421, "127.0.0.1.nip.io": 421,
	} {
		req := httptest.NewRequest("GET", "/api/status", nil)
		req.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
	}
}

// TestChartGapsAndReset: hourly readings give one bar an hour, each
// spanning the gap since the previous value; a register that went back
// (a reset) draws no bar height but says so exactly.
func TestChartGapsAndReset(t *testing.T) {
	b := &ctltest.Backend{}
	var rs []meter.Reading
	reset := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	for tm := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC); !tm.After(now); tm = tm.Add(time.Hour) {
		v := meter.V(int64(tm.Sub(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))/time.Hour)*1500, -3) // 1.500 m³ an hour
		if !tm.Before(reset) {
			v = meter.V(int64(tm.Sub(reset)/time.Hour)*1500, -3)
		}
		rs = append(rs, meter.Reading{Meter: "gap-1", OBIS: meter.OBISVolumeWater, Time: tm, Value: v, Unit: meter.UnitCubicMetre})
	}
	b.Add(rs...)
	page := do(t, newHandler(t, b), "GET", "/").Body.String()
	if n := strings.Count(page, `<rect class="bar"`); n != 24 {
		t.Errorf("%d bars, want 24 (one an hour)", n)
	}
	for _, want := range []string{
		"12:15–13:15: 1.500 m³", // from the end of the baseline interval
		"05:15–06:15: -43.500 m³",
		"11:15–12:15: 1.500 m³",
		"total <strong>34.500 m³", // 23 intervals; the reset does not count
	} {
		if !strings.Contains(page, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(page, `height="-`) {
		t.Error("negative bar height")
	}
}
