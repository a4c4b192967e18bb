package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/testutil"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openStore opens a store in dir (a fresh one for "").
func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{Keys: keys.Static{Key: testKey}, NoSync: true, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// env is a running service over a real store, on 127.0.0.1.
type env struct {
	t    testing.TB
	st   *store.Store
	tm   *tariff.Model
	svc  *Service
	base string
	clk  *clock
	hc   *http.Client
	stop func()
}

type envOpt func(*Options)

// start runs a service over st (a new store when nil) with opts applied.
func start(t testing.TB, st *store.Store, fs ...envOpt) *env {
	t.Helper()
	if st == nil {
		st = openStore(t, "")
		t.Cleanup(func() { st.Close() })
	}
	clk := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	tm, err := tariff.Open(st, &tariff.Options{NotFound: store.ErrNotFound, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Listener: ln, Plain: true, Tariff: tm, Now: clk.Now, Location: time.UTC, GatewayID: "gw-test", Version: "test",
		Heartbeat: 50 * time.Millisecond, RatePerMinute: 6000, Burst: 1000}
	for _, f := range fs {
		f(o)
	}
	if o.Listener != ln {
		ln.Close()
		ln = o.Listener
	}
	svc, err := New(st, o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	e := &env{t: t, st: st, tm: tm, svc: svc, base: "http://" + ln.Addr().String(), clk: clk,
		hc: &http.Client{Timeout: 10 * time.Second}}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			svc.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

// do sends a request with token (none for "") and returns status and body.
func (e *env) do(method, path, token string, body any) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// pair makes a code for meters and exchanges it for a token.
func (e *env) pair(meters ...meter.MeterID) string {
	e.t.Helper()
	pc, err := e.svc.NewPairingCode(meters)
	if err != nil {
		e.t.Fatal(err)
	}
	code, b, _ := e.do("POST", "/api/v1/pair", "", map[string]string{"code": pc.Code, "name": "test display"})
	if code != 200 {
		e.t.Fatalf("pair: %d %s", code, b)
	}
	var pr pairResponse
	if err := json.Unmarshal(b, &pr); err != nil || pr.Token == "" {
		e.t.Fatalf("pair answer %s: %v", b, err)
	}
	return pr.Token
}

func reading(id meter.MeterID, o meter.OBIS, t time.Time, m int64, u meter.Unit) meter.Reading {
	return meter.Reading{Meter: id, OBIS: o, Time: t, Value: meter.V(m, 0), Unit: u, Source: meter.SourceSim}
}

// seed stores 15-minute energy registers for meters from..to and a
// power value, so that every meter exists.
func seed(t testing.TB, st *store.Store, from, to time.Time, ids ...meter.MeterID) {
	t.Helper()
	var rs []meter.Reading
	for _, id := range ids {
		v := int64(1_000_000)
		for tt := from; !tt.After(to); tt = tt.Add(15 * time.Minute) {
			rs = append(rs, reading(id, meter.OBISActiveEnergyImport, tt, v, meter.UnitWattHour))
			v += 100 // 100 Wh a quarter hour: 400 W
		}
		rs = append(rs, reading(id, meter.OBISActivePowerImport, to, 400, meter.UnitWatt))
	}
	if err := st.Append(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
}

func noLeaks(t *testing.T) { testutil.CheckGoroutines(t) }

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
