package sep2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// fixture is a store with two meters' readings and a tariff model with a
// schedule, dynamic prices, events and messages.
type fixture struct {
	st  *store.Store
	tm  *tariff.Model
	clk *clock
	src Source
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{Keys: keys.Static{Key: bytes.Repeat([]byte{0x5a}, 32)}, NoSync: true, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: testNow}
	tm, err := tariff.Open(st, &tariff.Options{NotFound: store.ErrNotFound, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var rs []meter.Reading
	add := func(id, obis string, at time.Time, v meter.Value, u meter.Unit, q meter.Quality) {
		rs = append(rs, meter.Reading{Meter: meter.MeterID(id), OBIS: meter.MustOBIS(obis), Time: at, Value: v, Unit: u, Quality: q})
	}
	// Two days of 15-minute registers up to now.
	start := testNow.Add(-36 * time.Hour)
	for i := 0; i <= 36*4; i++ {
		at := start.Add(time.Duration(i) * 15 * time.Minute)
		add("elec-1", "1-0:1.8.0*255", at, meter.V(int64(1234000+i*250), -1), meter.UnitWattHour, 0)
		add("elec-1", "1-0:1.8.1*255", at, meter.V(int64(800000+i*100), -1), meter.UnitWattHour, 0)
		add("elec-1", "1-0:2.8.0*255", at, meter.V(int64(5000+i), 0), meter.UnitWattHour, 0)
		add("elec-1", "1-0:16.7.0*255", at, meter.V(int64(500+i%7*10), 0), meter.UnitWatt, 0)
		add("elec-1", "1-0:32.7.0*255", at, meter.V(int64(2301+i%3), -1), meter.UnitVolt, 0)
		if i%4 == 0 {
			q := meter.Quality(0)
			if i == 8 {
				q = meter.QualityEstimated
			}
			add("gas-1", "7-0:3.0.0*255", at, meter.V(int64(123456+i), -3), meter.UnitCubicMetre, q)
			add("water-1", "8-0:1.0.0*255", at, meter.V(int64(45000+i*3), -3), meter.UnitCubicMetre, 0)
		}
	}
	if err := st.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	sched := tariff.Schedule{
		ID: "home-2026", Effective: testNow.Add(-30 * 24 * time.Hour), Currency: "EUR", Unit: "kWh", TimeZone: "UTC",
		Tiers:       []tariff.Tier{{ID: 1, Label: "off-peak", Price: meter.V(2150, -4)}, {ID: 2, Label: "peak", Price: meter.V(3875, -4)}},
		DefaultTier: 1,
		Periods:     []tariff.Period{{Tier: 2, Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "07:00", End: "20:00"}},
		Blocks:      []tariff.Block{{From: meter.V(250, 0), Adder: meter.V(15, -3)}},
	}
	if err := tm.SetSchedule(ctx, sched); err != nil {
		t.Fatal(err)
	}
	if err := tm.SetPrices(ctx, []tariff.DynamicPrice{{Start: testNow.Add(2 * time.Hour), Price: meter.V(-12, -3)}, {Start: testNow.Add(2*time.Hour + 15*time.Minute), Price: meter.V(98765, -6)}}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []tariff.Event{
		{ID: "dr-active", Start: testNow.Add(-10 * time.Minute), Minutes: 60, Criticality: 3, DeviceClasses: []string{"hvac", "ev-charger"}, LoadReduction: 30, OptOutAllowed: true},
		{ID: "dr-mandatory", Start: testNow.Add(3 * time.Hour), Minutes: 30, Criticality: 9, DeviceClasses: []string{"water-heater"}},
		{ID: "dr-cancelled", Start: testNow.Add(5 * time.Hour), Minutes: 30, Criticality: 2, DeviceClasses: []string{"battery"}, OptOutAllowed: true},
	} {
		if err := tm.StartEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.CancelEvent(ctx, "dr-cancelled", testNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []tariff.Message{
		{ID: "m-1", Text: "Peak prices from 07:00 — Spitzenpreis ab 7 Uhr <&>", Priority: "high", Start: testNow.Add(-time.Hour), ConfirmationRequired: true},
		{ID: "m-2", Text: "Maintenance window tonight", Priority: "low", Start: testNow.Add(-2 * time.Hour), Minutes: 600},
	} {
		if err := tm.PostMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{st: st, tm: tm, clk: clk, src: NewSource(st, tm)}
}

func (f *fixture) handler(o *Options) http.Handler {
	var opts Options
	if o != nil {
		opts = *o
	}
	opts.Now, opts.Location = f.clk.Now, time.UTC
	return NewHandler(f.src, &opts)
}

type result struct {
	code int
	hdr  http.Header
	body []byte
}

// get requests path (under /sep2) from h as H mounts it.
func get(h http.Handler, method, target string, body []byte) result {
	mux := http.StripPrefix("/sep2", h)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return result{rec.Code, rec.Header(), rec.Body.Bytes()}
}

var hrefRE = regexp.MustCompile(`(?:href|replyTo)="([^"]+)"`)

// crawl follows every href from /sep2/dcap and returns each document.
func crawl(t *testing.T, h http.Handler) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}
	queue := []string{"/sep2/dcap"}
	for len(queue) > 0 && len(docs) < 2000 {
		p := queue[0]
		queue = queue[1:]
		if _, seen := docs[p]; seen {
			continue
		}
		r := get(h, "GET", p+"?l=255", nil)
		if r.code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, r.code, r.body)
			docs[p] = nil
			continue
		}
		if ct := r.hdr.Get("Content-Type"); ct != ContentType {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		docs[p] = r.body
		for _, m := range hrefRE.FindAllSubmatch(r.body, -1) {
			u := string(m[1])
			if !strings.HasPrefix(u, "/sep2/") {
				t.Errorf("%s: href %q is not under the prefix", p, u)
				continue
			}
			queue = append(queue, u)
		}
	}
	return docs
}

// validate checks every document against sep.xsd with xmllint.
func validate(t *testing.T, docs map[string][]byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint is not installed (apt-get install libxml2-utils)")
	}
	dir := t.TempDir()
	var files []string
	names := map[string]string{}
	keysSorted := make([]string, 0, len(docs))
	for p := range docs {
		keysSorted = append(keysSorted, p)
	}
	sort.Strings(keysSorted)
	for i, p := range keysSorted {
		if docs[p] == nil {
			continue
		}
		f := filepath.Join(dir, fmt.Sprintf("doc%04d.xml", i))
		if err := os.WriteFile(f, docs[p], 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		names[f] = p
	}
	for len(files) > 0 {
		n := min(len(files), 200)
		args := append([]string{"--noout", "--schema", filepath.Join("testdata", "sep.xsd")}, files[:n]...)
		out, err := exec.Command(xmllint, args...).CombinedOutput()
		if err != nil {
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "validates") || line == "" {
					continue
				}
				for f, p := range names {
					line = strings.ReplaceAll(line, f, p)
				}
				t.Error(line)
			}
		}
		files = files[n:]
	}
}

func TestEveryResourceValidates(t *testing.T) {
	f := newFixture(t)
	docs := crawl(t, f.handler(nil))
	kinds := map[string]bool{}
	rootRE := regexp.MustCompile(`<([A-Za-z]+) xmlns="http://ieee.org/2030.5"`)
	for p, b := range docs {
		m := rootRE.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s: no root element in the 2030.5 namespace", p)
			continue
		}
		kinds[string(m[1])] = true
	}
	for _, k := range []string{"DeviceCapability", "Time", "UsagePointList", "UsagePoint", "MeterReadingList", "MeterReading",
		"ReadingType", "ReadingSetList", "ReadingSet", "ReadingList", "Reading", "TariffProfileList", "TariffProfile",
		"RateComponentList", "RateComponent", "TimeTariffIntervalList", "TimeTariffInterval", "ConsumptionTariffIntervalList",
		"ConsumptionTariffInterval", "MessagingProgramList", "MessagingProgram", "TextMessageList", "TextMessage",
		"DemandResponseProgramList", "DemandResponseProgram", "EndDeviceControlList", "EndDeviceControl",
		"ResponseSetList", "ResponseSet", "ResponseList"} {
		if !kinds[k] {
			t.Errorf("no %s served", k)
		}
	}
	t.Logf("%d documents of %d kinds", len(docs), len(kinds))
	validate(t, docs)
}

// TestGolden compares selected documents with testdata/golden/*.xml
// (regenerate with -update).
func TestGolden(t *testing.T) {
	f := newFixture(t)
	h := f.handler(nil)
	for name, p := range map[string]string{
		"dcap":       "/sep2/dcap",
		"time":       "/sep2/tm",
		"upt":        "/sep2/upt?l=255",
		"rt-import":  "/sep2/upt/elec-1/mr/0100010800ff/rt",
		"rt-export":  "/sep2/upt/elec-1/mr/0100020800ff/rt",
		"rt-power":   "/sep2/upt/elec-1/mr/0100100700ff/rt",
		"rt-voltage": "/sep2/upt/elec-1/mr/0100200700ff/rt",
		"rt-gas":     "/sep2/upt/gas-1/mr/0700030000ff/rt",
		"latest":     "/sep2/upt/elec-1/mr/0100010800ff/r",
		"tier":       "/sep2/upt/elec-1/mr/0100010801ff/r",
		"tp":         "/sep2/tp?l=255",
		"rc-rt":      "/sep2/tp/home-2026/rc/0/rt",
		"acttti":     "/sep2/tp/home-2026/rc/0/acttti?l=255",
		"cti":        "/sep2/tp/home-2026/rc/0/tti/" + fmt.Sprint(testNow.Add(-5*time.Hour).Unix()) + "/cti?l=255",
		"edc":        "/sep2/drp/0/edc?l=255",
		"tm":         "/sep2/msg/0/tm?l=255",
	} {
		r := get(h, "GET", p, nil)
		if r.code != 200 {
			t.Errorf("%s: %d %s", p, r.code, r.body)
			continue
		}
		golden(t, filepath.Join("testdata", "golden", name+".xml"), r.body)
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	h := f.handler(nil)
	count := func(b []byte) (all, results, items string) {
		m := regexp.MustCompile(`all="(\d+)" results="(\d+)"`).FindSubmatch(b)
		if m == nil {
			return "", "", ""
		}
		return string(m[1]), string(m[2]), fmt.Sprint(bytes.Count(b, []byte("<Reading>")) + bytes.Count(b, []byte("<Reading ")))
	}
	day := testNow.Truncate(24 * time.Hour).Unix()
	base := fmt.Sprintf("/sep2/upt/elec-1/mr/0100010800ff/rs/%d/r", day)
	for _, c := range []struct {
		q                   string
		all, results, items string
	}{
		{"", "49", "1", "1"},        // l defaults to 1
		{"?l=10", "49", "10", "10"}, // 00:00 … 12:00 at 15 min
		{"?l=1000", "49", "49", "49"},
		{"?s=45&l=10", "49", "4", "4"},
		{"?s=100&l=10", "49", "0", "0"},
		{"?a=" + fmt.Sprint(testNow.Add(-time.Hour).Unix()) + "&l=255", "49", "5", "5"},
		{"?a=" + fmt.Sprint(testNow.Add(-time.Hour).Unix()) + "&s=1&l=2", "49", "2", "2"},
	} {
		r := get(h, "GET", base+c.q, nil)
		if r.code != 200 {
			t.Fatalf("%s: %d %s", c.q, r.code, r.body)
		}
		all, results, items := count(r.body)
		if all != c.all || results != c.results || items != c.results {
			t.Errorf("%q: all=%s results=%s items=%s, want %s %s", c.q, all, results, items, c.all, c.results)
		}
	}
	// Reading sets: two days (36 h back from 12:00 is 00:00 the day before), newest first.
	r := get(h, "GET", "/sep2/upt/elec-1/mr/0100010800ff/rs?l=255", nil)
	if all, results, _ := count(r.body); all != "2" || results != "2" {
		t.Errorf("reading sets: all=%s results=%s, want 2 2\n%s", all, results, r.body)
	}
	if i, j := bytes.Index(r.body, fmt.Appendf(nil, "<start>%d<", day)), bytes.Index(r.body, fmt.Appendf(nil, "<start>%d<", day-86400)); i < 0 || j < 0 || i > j {
		t.Errorf("reading sets not newest first:\n%s", r.body)
	}
	for _, q := range []string{"?s=-1", "?l=x", "?a=1.5", "?s=99999999999"} {
		if r := get(h, "GET", "/sep2/upt"+q, nil); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, r.code)
		}
	}
}

func TestVisibility(t *testing.T) {
	f := newFixture(t)
	h := f.handler(&Options{Visible: func(r *http.Request, id meter.MeterID) bool { return id == "gas-1" }})
	r := get(h, "GET", "/sep2/upt?l=255", nil)
	if !bytes.Contains(r.body, []byte(`all="1" results="1"`)) || bytes.Contains(r.body, []byte("elec-1")) {
		t.Errorf("usage points of a client bound to gas-1:\n%s", r.body)
	}
	for _, p := range []string{"/sep2/upt/elec-1", "/sep2/upt/elec-1/mr", "/sep2/upt/elec-1/mr/0100010800ff/r", "/sep2/upt/nope", "/sep2/nope", "/sep2/upt/gas-1/mr/0100010800ff"} {
		if r := get(h, "GET", p, nil); r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.code)
		}
	}
	if r := get(h, "GET", "/sep2/upt/gas-1/mr/0700030000ff/r", nil); r.code != 200 {
		t.Errorf("gas-1 latest: %d", r.code)
	}
	h = f.handler(&Options{Meters: []meter.MeterID{"water-1"}})
	if r := get(h, "GET", "/sep2/upt/gas-1", nil); r.code != http.StatusNotFound {
		t.Errorf("a meter outside Options.Meters: %d, want 404", r.code)
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		if r := get(h, m, "/sep2/dcap", nil); r.code != http.StatusMethodNotAllowed {
			t.Errorf("%s /dcap: %d, want 405", m, r.code)
		}
	}
	if r := get(h, "POST", "/sep2/dcap", []byte("x")); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /dcap: %d, want 405", r.code)
	}
	if r := get(h, "HEAD", "/sep2/dcap", nil); r.code != 200 || len(r.body) != 0 {
		t.Errorf("HEAD /dcap: %d with %d bytes", r.code, len(r.body))
	}
}

func drResponse(subject string, status int) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<DrResponse xmlns="http://ieee.org/2030.5" href="/sep2/rsps/0/rsp">
  <createdDateTime>%d</createdDateTime>
  <endDeviceLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</endDeviceLFDI>
  <status>%d</status>
  <subject>%s</subject>
</DrResponse>`, testNow.Unix(), status, subject)
}

func TestOptOut(t *testing.T) {
	f := newFixture(t)
	var dev string
	h := f.handler(&Options{Device: func(r *http.Request) string { return dev }})
	body := drResponse(mRID("EndDeviceControl", "dr-active"), StatusOptOut)
	// The example response validates against the schema too.
	validate(t, map[string][]byte{"DrResponse": body})
	r := get(h, "POST", "/sep2/rsps/0/rsp", body)
	if r.code != http.StatusCreated {
		t.Fatalf("opt-out: %d %s", r.code, r.body)
	}
	dev = "han:display-1"
	if r := get(h, "POST", "/sep2/rsps/0/rsp", body); r.code != http.StatusCreated {
		t.Fatalf("opt-out: %d %s", r.code, r.body)
	}
	var got []string
	for _, ev := range f.tm.AllEvents() {
		if ev.ID == "dr-active" {
			got = ev.OptOuts
		}
	}
	if want := []string{"sep2:3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", "han:display-1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("opt-outs %q, want %q", got, want)
	}
	for _, c := range []struct {
		body []byte
		code int
	}{
		{drResponse(mRID("EndDeviceControl", "dr-mandatory"), StatusOptOut), http.StatusConflict},
		{drResponse(mRID("EndDeviceControl", "dr-cancelled"), StatusOptOut), http.StatusConflict},
		{drResponse(mRID("EndDeviceControl", "unknown"), StatusOptOut), http.StatusNotFound},
		{drResponse(mRID("EndDeviceControl", "dr-mandatory"), 1), http.StatusCreated}, // received: acknowledged only
		{[]byte("<DrResponse/>"), http.StatusBadRequest},
		{[]byte(`<!DOCTYPE x [<!ENTITY a "b">]><DrResponse xmlns="http://ieee.org/2030.5"/>`), http.StatusBadRequest},
		{bytes.Repeat([]byte("x"), maxBody+1), http.StatusRequestEntityTooLarge},
	} {
		if r := get(h, "POST", "/sep2/rsps/0/rsp", c.body); r.code != c.code {
			t.Errorf("POST %.60q: %d %s, want %d", c.body, r.code, r.body, c.code)
		}
	}
}

func textResponse(subject string, status int) []byte {
	return fmt.Appendf(nil, `<TextResponse xmlns="http://ieee.org/2030.5"><endDeviceLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</endDeviceLFDI><status>%d</status><subject>%s</subject></TextResponse>`, status, subject)
}

func TestConfirmMessage(t *testing.T) {
	f := newFixture(t)
	h := f.handler(&Options{Device: func(r *http.Request) string { return "han:display-1" }})
	validate(t, map[string][]byte{"TextResponse": textResponse(mRID("TextMessage", "m-1"), StatusAcknowledged)})
	if r := get(h, "POST", "/sep2/rsps/0/rsp", textResponse(mRID("TextMessage", "m-1"), StatusAcknowledged)); r.code != http.StatusCreated {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	for _, m := range f.tm.AllMessages() {
		if m.ID == "m-1" && (m.Confirmed == nil || m.ConfirmedBy != "han:display-1" || !m.Confirmed.Equal(testNow)) {
			t.Errorf("m-1 not confirmed by the client: %+v", m)
		}
	}
	// A confirmed message that needed confirmation is no longer shown.
	if r := get(h, "GET", "/sep2/msg/0/acttm?l=255", nil); bytes.Contains(r.body, []byte("/tm/m-1")) {
		t.Errorf("confirmed message still active:\n%s", r.body)
	}
	for _, c := range []struct {
		body []byte
		code int
	}{
		{textResponse(mRID("TextMessage", "m-1"), StatusAcknowledged), http.StatusConflict}, // no longer shown
		{textResponse(mRID("TextMessage", "nope"), StatusAcknowledged), http.StatusNotFound},
		{textResponse(mRID("TextMessage", "m-2"), 1), http.StatusCreated},                // received: logged only
		{drResponse(mRID("TextMessage", "m-2"), StatusAcknowledged), http.StatusCreated}, // a DrResponse does not confirm
	} {
		if r := get(h, "POST", "/sep2/rsps/0/rsp", c.body); r.code != c.code {
			t.Errorf("POST %.80q: %d %s, want %d", c.body, r.code, r.body, c.code)
		}
	}
	for _, m := range f.tm.AllMessages() {
		if m.ID == "m-2" && m.Confirmed != nil {
			t.Errorf("m-2 confirmed by a DrResponse or a received status")
		}
	}
}

func TestParseResponse(t *testing.T) {
	subj := mRID("EndDeviceControl", "x")
	got, err := ParseResponse(drResponse(strings.ToLower(subj), 4))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "DrResponse" || got.Status != 4 || got.Subject != subj || got.Created != testNow.Unix() || len(got.EndDeviceLFDI) != 40 {
		t.Errorf("got %+v", got)
	}
	for _, b := range []string{
		``, `<x/>`, `<Response xmlns="urn:other"/>`,
		`<Response xmlns="http://ieee.org/2030.5"><endDeviceLFDI>AB</endDeviceLFDI></Response>`,
		`<Response xmlns="http://ieee.org/2030.5"><endDeviceLFDI>ABC</endDeviceLFDI><subject>AB</subject></Response>`,
		`<Response xmlns="http://ieee.org/2030.5"><endDeviceLFDI>AB</endDeviceLFDI><subject>` + strings.Repeat("A", 34) + `</subject></Response>`,
		`<Response xmlns="http://ieee.org/2030.5"><endDeviceLFDI>AB</endDeviceLFDI><subject>AB</subject><status>256</status></Response>`,
		`<Response xmlns="http://ieee.org/2030.5"><createdDateTime>x</createdDateTime><endDeviceLFDI>AB</endDeviceLFDI><subject>AB</subject></Response>`,
	} {
		if _, err := ParseResponse([]byte(b)); !errors.Is(err, ErrResponse) {
			t.Errorf("%q: err %v, want ErrResponse", b, err)
		}
	}
}

func TestParseQuery(t *testing.T) {
	for q, want := range map[string]Page{
		"":                 {Limit: 1},
		"s=3&l=20":         {Start: 3, Limit: 20},
		"l=9999":           {Limit: MaxResults},
		"a=1700000000&l=0": {After: 1700000000, HasA: true},
		"a=-5&x=y":         {After: -5, HasA: true, Limit: 1},
	} {
		v, _ := url.ParseQuery(q)
		got, err := ParseQuery(v)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", q, got, err, want)
		}
	}
	for _, q := range []string{"s=", "s=-1", "l=-1", "a=", "a=1e3", "s=2147483648"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseQuery(v); !errors.Is(err, ErrQuery) {
			t.Errorf("%q: err %v, want ErrQuery", q, err)
		}
	}
}

func TestTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	std, s, e, off := zoneRule(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), berlin)
	if std != 3600 || off != 3600 || s != time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC).Unix() || e != time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("Europe/Berlin 2026: std %d off %d start %s end %s", std, off, time.Unix(s, 0).UTC(), time.Unix(e, 0).UTC())
	}
	if std, s, e, off := zoneRule(testNow, time.UTC); std != 0 || s != 0 || e != 0 || off != 0 {
		t.Errorf("UTC: %d %d %d %d", std, s, e, off)
	}
}

// TestSchemaRejects is the negative control of the schema validation:
// xmllint must refuse a document with elements out of the schema's order.
func TestSchemaRejects(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint is not installed (apt-get install libxml2-utils)")
	}
	f := filepath.Join(t.TempDir(), "bad.xml")
	bad := `<ReadingType xmlns="http://ieee.org/2030.5"><uom>72</uom><kind>12</kind></ReadingType>`
	if err := os.WriteFile(f, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "sep.xsd"), f).CombinedOutput(); err == nil {
		t.Errorf("xmllint accepted an invalid document: %s", out)
	}
}
