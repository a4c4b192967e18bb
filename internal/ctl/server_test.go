package ctl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/smgw/smgw/internal/testutil"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// sockPath returns a socket path in a fresh directory, short enough for
// the 108-byte limit of unix socket addresses.
func sockPath(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "ctl.sock")
	if len(p) < 100 {
		return p
	}
	d, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "ctl.sock")
}

type fixture struct {
	path   string
	srv    *ctl.Server
	client *ctl.Client
	stop   func() // cancels Run and waits for it
}

// serve starts a server for b on a fresh socket and dials it. Everything
// is stopped at cleanup.
func serve(t testing.TB, b ctl.Backend) *fixture {
	t.Helper()
	path := sockPath(t)
	srv, err := ctl.Listen(path, b, &ctl.ServerOptions{Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		stop()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	c, err := ctl.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &fixture{path: path, srv: srv, client: c, stop: stop}
}

// rawGet does a plain HTTP GET over the socket.
func rawGet(t *testing.T, path, method, target string) (int, http.Header, string) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://smgw"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var (
	obisE = meter.OBISActiveEnergyImport
	obisP = meter.OBISActivePowerImport
)

func sampleBackend() *ctltest.Backend {
	b := &ctltest.Backend{}
	for i := range 10 {
		tm := t0.Add(time.Duration(i) * 15 * time.Minute)
		b.Add(
			meter.Reading{Meter: "elec-1", OBIS: obisE, Time: tm, Value: meter.V(int64(1000000+i*250), -3), Unit: meter.UnitWattHour, Source: meter.SourceSim},
			meter.Reading{Meter: "elec-1", OBIS: obisP, Time: tm, Value: meter.V(int64(400+i), 0), Unit: meter.UnitWatt, Source: meter.SourceSim},
			meter.Reading{Meter: "water-1", OBIS: meter.OBISVolumeWater, Time: tm, Value: meter.V(int64(12345+i), -3), Unit: meter.UnitCubicMetre,
				Quality: meter.QualityEstimated, Source: meter.SourceWMBus},
		)
	}
	b.Log(store.LogSystem, store.Event{Time: t0, Kind: "start", Message: "gateway started", Attrs: map[string]string{"version": "1.2.3"}})
	b.Log(store.LogSystem, store.Event{Time: t0.Add(time.Second), Kind: "meter-added", Message: "meter elec-1 added"})
	b.Log(store.LogSystem, store.Event{Time: t0.Add(2 * time.Second), Kind: "stop", Message: "gateway stopped"})
	b.Log(store.LogMetrology, store.Event{Time: t0, Kind: "clock", Message: "clock set"})
	b.SetStatus(ctl.Status{
		GatewayID: "gw-1", Version: "1.2.3", Started: t0, Uptime: 90*time.Minute + 1500*time.Millisecond,
		KeyProvider: "development key file /var/lib/smgw/dev.keys", Insecure: true, MetersSeen: 2,
		ReadingsLastMinute: 42, WAN: "up",
		Store: store.Stats{Appended: 30, Commits: 7, JournalBytes: 1234, LastCommit: t0.Add(time.Minute),
			LastCommitTook: 3 * time.Millisecond, LastCompactionTook: 40 * time.Millisecond, MaxCompactionStep: 9 * time.Millisecond, Meters: 2, Series: 3, FileBytes: 65536},
		Services: []ctl.ServiceStatus{{Name: "store", LastProgress: t0, Healthy: true}, {Name: "wmbus", Healthy: false, Err: "no receiver"}},
		Live:     []meter.Reading{{Meter: "elec-1", OBIS: obisP, Time: t0, Value: meter.V(409, 0), Unit: meter.UnitWatt, Source: meter.SourceSim}},
	})
	return b
}

func collect(t *testing.T, r ctl.Reader, q store.Query) []meter.Reading {
	t.Helper()
	var got []meter.Reading
	if err := r.Query(context.Background(), q, func(rd meter.Reading) error {
		got = append(got, rd)
		return nil
	}); err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return got
}

func sameReadings(t *testing.T, got, want []meter.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Meter != w.Meter || g.OBIS != w.OBIS || !g.Time.Equal(w.Time) || g.Value != w.Value ||
			g.Unit != w.Unit || g.Quality != w.Quality || g.Source != w.Source {
			t.Fatalf("reading %d:\n got %v\nwant %v", i, g, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := sampleBackend()
	f := serve(t, b)
	ctx := context.Background()
	c := f.client

	t.Run("status", func(t *testing.T) {
		got, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.Status(ctx)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) || !got.Started.Equal(want.Started) || got.Uptime != want.Uptime ||
			got.Store.LastCommitTook != want.Store.LastCommitTook || got.Store.LastCompactionTook != want.Store.LastCompactionTook || got.Store.MaxCompactionStep != want.Store.MaxCompactionStep || len(got.Services) != 2 || got.Services[1].Err != "no receiver" {
			t.Errorf("Status:\n got %s\nwant %s", gj, wj)
		}
		sameReadings(t, got.Live, want.Live)
	})

	t.Run("meters", func(t *testing.T) {
		got, err := c.Meters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.Meters(ctx)
		if len(got) != 2 || len(got[0].Series) != 2 || len(got[1].Series) != 1 {
			t.Fatalf("Meters = %+v", got)
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Errorf("meter %d: %s, want %s", i, got[i].ID, want[i].ID)
			}
			for j, ws := range want[i].Series {
				gs := got[i].Series[j]
				if gs.OBIS != ws.OBIS || gs.Unit != ws.Unit || !gs.First.Equal(ws.First) {
					t.Errorf("series %s/%d: %+v, want %+v", want[i].ID, j, gs, ws)
				}
				sameReadings(t, []meter.Reading{gs.Latest}, []meter.Reading{ws.Latest})
			}
		}
	})

	t.Run("readings", func(t *testing.T) {
		for _, q := range []store.Query{
			{},
			{Meter: "elec-1"},
			{Meter: "elec-1", OBIS: obisE, From: t0.Add(30 * time.Minute), To: t0.Add(90 * time.Minute)},
			{OBIS: meter.OBISVolumeWater, Limit: 3},
			{Meter: "nobody"},
		} {
			var want []meter.Reading
			b.Query(ctx, q, func(r meter.Reading) error { want = append(want, r); return nil })
			sameReadings(t, collect(t, c, q), want)
		}
	})

	t.Run("events", func(t *testing.T) {
		for _, after := range []uint64{0, 1, 3} {
			var got, want []store.Event
			if err := c.Events(ctx, store.LogSystem, after, func(ev store.Event) error { got = append(got, ev); return nil }); err != nil {
				t.Fatal(err)
			}
			b.Events(ctx, store.LogSystem, after, func(ev store.Event) error { want = append(want, ev); return nil })
			if len(got) != len(want) {
				t.Fatalf("after %d: %d events, want %d", after, len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.Seq != w.Seq || !g.Time.Equal(w.Time) || g.Kind != w.Kind || g.Message != w.Message ||
					g.Prev != w.Prev || g.Hash != w.Hash || fmt.Sprint(g.Attrs) != fmt.Sprint(w.Attrs) {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		}
	})

	t.Run("verify", func(t *testing.T) {
		got, err := c.VerifyLog(ctx, store.LogSystem)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.VerifyLog(ctx, store.LogSystem)
		if got != want || got.Entries != 3 {
			t.Errorf("VerifyLog = %+v, want %+v", got, want)
		}
		b.BreakLog(store.LogMetrology)
		b.Log(store.LogMetrology, store.Event{Time: t0, Kind: "x", Message: "y"})
		rep, err := c.VerifyLog(ctx, store.LogMetrology)
		if !errors.Is(err, store.ErrChainBroken) {
			t.Fatalf("VerifyLog of a broken log: %v, want ErrChainBroken", err)
		}
		if rep.Name != store.LogMetrology || rep.Entries != 1 {
			t.Errorf("report of a broken log: %+v", rep)
		}
		var re *ctl.RemoteError
		if !errors.As(err, &re) || re.Code != "chain-broken" || !strings.Contains(err.Error(), "entry 2") {
			t.Errorf("error %v (%#v)", err, re)
		}
	})

	t.Run("unknown-log", func(t *testing.T) {
		_, err := c.VerifyLog(ctx, "nosuch")
		if !errors.Is(err, ctl.ErrNotFound) {
			t.Errorf("VerifyLog(nosuch) = %v, want ErrNotFound", err)
		}
		err = c.Events(ctx, "nosuch", 0, func(store.Event) error { return nil })
		if !errors.Is(err, ctl.ErrNotFound) {
			t.Errorf("Events(nosuch) = %v, want ErrNotFound", err)
		}
	})

	t.Run("backend-error", func(t *testing.T) {
		b.SetErr(fmt.Errorf("store: reading block: %w", store.ErrCorrupt))
		defer b.SetErr(nil)
		if _, err := c.Status(ctx); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Status: %v, want ErrCorrupt", err)
		}
		if _, err := c.Meters(ctx); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Meters: %v, want ErrCorrupt", err)
		}
		if err := c.Query(ctx, store.Query{}, func(meter.Reading) error { return nil }); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Query: %v, want ErrCorrupt", err)
		}
		b.SetErr(errors.New("disk on fire"))
		var re *ctl.RemoteError
		if _, err := c.Meters(ctx); !errors.As(err, &re) || re.Status != 500 || re.Code != "internal" || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("Meters: %v", err)
		}
	})
}

func TestBadRequests(t *testing.T) {
	testutil.CheckGoroutines(t)
	f := serve(t, sampleBackend())
	cases := []struct {
		method, target string
		status         int
		code, mention  string
	}{
		{"GET", "/v1/readings?limit=-1", 400, "bad-request", "limit"},
		{"GET", "/v1/readings?limit=x", 400, "bad-request", "limit"},
		{"GET", "/v1/readings?meter=a%20b", 400, "bad-request", "meter"},
		{"GET", "/v1/readings?obis=1-0:1.8", 400, "bad-request", "obis"},
		{"GET", "/v1/readings?from=yesterday", 400, "bad-request", "from"},
		{"GET", "/v1/readings?to=2026-13-01T00:00:00Z", 400, "bad-request", "to"},
		{"GET", "/v1/readings?metre=elec-1", 400, "bad-request", "metre"},
		{"GET", "/v1/log/system?after=-3", 400, "bad-request", "after"},
		{"GET", "/v1/log/system?before=3", 400, "bad-request", "before"},
		{"GET", "/v1/log/nosuch", 404, "not-found", "nosuch"},
		{"GET", "/v2/status", 404, "not-found", "/v2/status"},
		{"POST", "/v1/status", 405, "method", "POST"},
		{"DELETE", "/v1/readings", 405, "method", "DELETE"},
	}
	for _, c := range cases {
		status, h, body := rawGet(t, f.path, c.method, c.target)
		var e struct{ Error, Code string }
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Errorf("%s %s: body %q: %v", c.method, c.target, body, err)
			continue
		}
		if status != c.status || e.Code != c.code || !strings.Contains(e.Error, c.mention) || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d %s %q, want %d %s mentioning %q", c.method, c.target, status, e.Code, e.Error, c.status, c.code, c.mention)
		}
	}
	// HEAD is allowed and queries nothing.
	if status, _, _ := rawGet(t, f.path, "HEAD", "/v1/readings"); status != 200 {
		t.Errorf("HEAD /v1/readings: %d", status)
	}
	status, h, body := rawGet(t, f.path, "GET", "/v1/readings?meter=water-1&limit=2")
	if status != 200 || h.Get("Content-Type") != "application/x-ndjson" || strings.Count(body, "\n") != 2 ||
		!strings.Contains(body, `"value":"12.345","unit":"m³","unit_code":13,"quality":"estimated","source":"wmbus"}`) {
		t.Errorf("GET readings: %d %v\n%s", status, h, body)
	}
}

// genBackend generates n readings lazily and records how its queries end.
type genBackend struct {
	*ctltest.Backend
	n        int
	pauseAt  int           // wait on resume before producing reading pauseAt (0: never)
	resume   chan struct{} // closed by the test
	produced atomic.Int64
	ended    chan error // receives each Query's result
}

func newGen(n int) *genBackend {
	return &genBackend{Backend: &ctltest.Backend{}, n: n, resume: make(chan struct{}), ended: make(chan error, 10)}
}

func (g *genBackend) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	err := g.query(ctx, fn)
	select {
	case g.ended <- err:
	default:
	}
	return err
}

func (g *genBackend) query(ctx context.Context, fn func(meter.Reading) error) error {
	for i := 0; g.n < 0 || i < g.n; i++ {
		if i == g.pauseAt && g.pauseAt > 0 {
			select {
			case <-g.resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r := meter.Reading{Meter: "elec-1", OBIS: obisE, Time: t0.Add(time.Duration(i) * time.Second),
			Value: meter.V(int64(i), -3), Unit: meter.UnitWattHour, Source: meter.SourceSim}
		if err := fn(r); err != nil {
			return err
		}
		g.produced.Add(1)
	}
	return nil
}

// TestStream100k streams 100,000 readings. The backend stops half way
// until the client has received the first reading: if the server held the
// answer back until the query ended, this would never happen.
func TestStream100k(t *testing.T) {
	testutil.CheckGoroutines(t)
	const n = 100_000
	g := newGen(n)
	g.pauseAt = n / 2
	f := serve(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	count := 0
	var last meter.Reading
	err := f.client.Query(ctx, store.Query{}, func(r meter.Reading) error {
		if count == 0 {
			close(g.resume)
		}
		if r.Value != meter.V(int64(count), -3) {
			return fmt.Errorf("reading %d has value %s", count, r.Value)
		}
		count++
		last = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n || !last.Time.Equal(t0.Add((n-1)*time.Second)) {
		t.Errorf("got %d readings, last %v", count, last)
	}
	if err := <-g.ended; err != nil {
		t.Errorf("server-side query: %v", err)
	}
}

// TestClientCancelStopsQuery: cancelling the client's context mid-stream
// ends the backend's query through its context, also while the backend
// is blocked and nothing is written.
func TestClientCancelStopsQuery(t *testing.T) {
	testutil.CheckGoroutines(t)
	g := newGen(-1) // endless
	g.pauseAt = 100 // and stalls after 100 readings until its context ends
	f := serve(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	count := 0
	err := f.client.Query(ctx, store.Query{}, func(meter.Reading) error {
		if count++; count == 100 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Query after cancel: %v, want context.Canceled", err)
	}
	select {
	case err := <-g.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("server-side query ended with %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server-side query still running after the client cancelled")
	}

	// Without the stall the query ends by its context or by the failed
	// write, whichever comes first; and an error from fn comes back as is.
	g.pauseAt = 0
	errStop := errors.New("enough")
	for _, stopAt := range []int{1, 5000} {
		n := 0
		err = f.client.Query(context.Background(), store.Query{}, func(meter.Reading) error {
			if n++; n == stopAt {
				return errStop
			}
			return nil
		})
		if err != errStop {
			t.Errorf("Query with a failing fn: %v, want errStop", err)
		}
		select {
		case err := <-g.ended:
			if err == nil {
				t.Error("server-side query of an endless stream ended without error")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("server-side query still running after fn failed")
		}
	}
}

// TestRunCancelStopsQuery: ending Run cancels requests in flight.
func TestRunCancelStopsQuery(t *testing.T) {
	testutil.CheckGoroutines(t)
	g := newGen(-1)
	g.pauseAt = 10 // blocks in the backend after 10 readings
	f := serve(t, g)
	qerr := make(chan error, 1)
	got := make(chan struct{})
	go func() {
		n := 0
		qerr <- f.client.Query(context.Background(), store.Query{}, func(meter.Reading) error {
			if n++; n == 1 {
				close(got)
			}
			return nil
		})
	}()
	<-got
	f.stop()
	if err := <-g.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("server-side query: %v, want context.Canceled", err)
	}
	if err := <-qerr; err == nil {
		t.Error("client query ended without error when the server stopped mid-stream")
	}
}

// TestErrorMidStream: a backend error after the stream started reaches the
// client through the trailers, with its code.
func TestErrorMidStream(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := &failAfter{Backend: sampleBackend(), n: 5, err: fmt.Errorf("store: block 7: %w", store.ErrCorrupt)}
	f := serve(t, b)
	count := 0
	err := f.client.Query(context.Background(), store.Query{}, func(meter.Reading) error { count++; return nil })
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "block 7") {
		t.Errorf("Query: %v, want ErrCorrupt", err)
	}
	if count != 5 {
		t.Errorf("got %d readings before the error, want 5", count)
	}
}

type failAfter struct {
	*ctltest.Backend
	n   int
	err error
}

func (f *failAfter) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	i := 0
	err := f.Backend.Query(ctx, q, func(r meter.Reading) error {
		if i++; i > f.n {
			return f.err
		}
		return fn(r)
	})
	return err
}

func TestDialNoDaemon(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := sockPath(t)
	if _, err := ctl.Dial(context.Background(), path); !errors.Is(err, ctl.ErrNoDaemon) {
		t.Errorf("Dial(missing socket) = %v, want ErrNoDaemon", err)
	}
	if _, err := ctl.Dial(context.Background(), filepath.Join(filepath.Dir(path), "no", "dir", "s")); !errors.Is(err, ctl.ErrNoDaemon) {
		t.Errorf("Dial(missing directory) = %v, want ErrNoDaemon", err)
	}
	staleSocket(t, path)
	if _, err := ctl.Dial(context.Background(), path); !errors.Is(err, ctl.ErrNoDaemon) {
		t.Errorf("Dial(stale socket) = %v, want ErrNoDaemon", err)
	}
}

// staleSocket leaves a socket file nobody listens on, as a crashed daemon does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("no stale socket: %v", err)
	}
}

func TestListen(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := sampleBackend()

	t.Run("creates-directory-and-mode", func(t *testing.T) {
		path := filepath.Join(filepath.Dir(sockPath(t)), "run", "smgw", "ctl.sock")
		s, err := ctl.Listen(path, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		di, err := os.Stat(filepath.Dir(path))
		if err != nil || di.Mode().Perm()&^0o750 != 0 {
			t.Errorf("socket directory: %v, %v; want at most 0750", di.Mode(), err)
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
			t.Errorf("socket: %v, %v; want a socket, mode 0660", fi.Mode(), err)
		}
	})

	t.Run("replaces-stale-socket", func(t *testing.T) {
		path := sockPath(t)
		staleSocket(t, path)
		s, err := ctl.Listen(path, b, nil)
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		c, err := ctl.Dial(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Status(ctx); err != nil {
			t.Error(err)
		}
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})

	t.Run("refuses-second-daemon", func(t *testing.T) {
		f := serve(t, b)
		if _, err := ctl.Listen(f.path, b, nil); !errors.Is(err, ctl.ErrDaemonRunning) {
			t.Errorf("second Listen = %v, want ErrDaemonRunning", err)
		}
		// The first still serves.
		if _, err := f.client.Status(context.Background()); err != nil {
			t.Errorf("first daemon after the second tried: %v", err)
		}
	})

	t.Run("keeps-other-files", func(t *testing.T) {
		path := sockPath(t)
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ctl.Listen(path, b, nil); err == nil {
			t.Fatal("Listen over a regular file succeeded")
		}
		if got, _ := os.ReadFile(path); string(got) != "precious" {
			t.Error("Listen removed a regular file")
		}
	})
}

func TestClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := sampleBackend()

	t.Run("without-run", func(t *testing.T) {
		path := sockPath(t)
		s, err := ctl.Listen(path, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
		if err := s.Run(context.Background()); !errors.Is(err, ctl.ErrServerClosed) {
			t.Errorf("Run after Close = %v, want ErrServerClosed", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file after Close: %v", err)
		}
	})

	t.Run("while-running", func(t *testing.T) {
		path := sockPath(t)
		s, err := ctl.Listen(path, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background()) }()
		c, err := ctl.Dial(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Meters(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after Close")
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file after Close: %v", err)
		}
		if _, err := ctl.Dial(context.Background(), path); !errors.Is(err, ctl.ErrNoDaemon) {
			t.Errorf("Dial after Close = %v, want ErrNoDaemon", err)
		}
	})
}

// TestPeerAllowed: the test's own user passes the credentials check.
func TestPeerAllowed(t *testing.T) {
	testutil.CheckGoroutines(t)
	f := serve(t, sampleBackend())
	if _, err := f.client.Status(context.Background()); err != nil {
		t.Fatalf("own user refused: %v", err)
	}
}

func BenchmarkStream(b *testing.B) {
	const n = 100_000
	g := newGen(n)
	f := serve(b, g)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.client.Query(context.Background(), store.Query{}, func(meter.Reading) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
