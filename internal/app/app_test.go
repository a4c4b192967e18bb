package app

import (
	"context"
	"errors"
	"github.com/smgw/smgw/internal/testutil"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// testConfig is the demo configuration in dir with one-second meters and
// the status page on a free port.
func testConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg := config.Demo(dir)
	cfg.Store.LiveResolution = config.Duration(time.Second)
	cfg.Store.DeferredFlush = config.Duration(time.Second)
	for i := range cfg.Meters {
		cfg.Meters[i].Interval = config.Duration(time.Second)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startApp runs an app on cfg; stop cancels it and returns Run's error
// after Close.
func startApp(t *testing.T, cfg *config.Config, ns *notifications, backfill time.Duration) (a *App, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err = New(cfg, &Options{
		StatusListener:  ln,
		Log:             testLog(t),
		InitialBackfill: backfill,
		Notify:          ns.notify,
		Watchdog:        100 * time.Millisecond,
		StatusEvery:     50 * time.Millisecond,
		SelfCheckEvery:  50 * time.Millisecond,
		NoSync:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() error {
		cancel()
		err := <-done
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestAppLifecycle(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	var ns notifications
	a, stop := startApp(t, cfg, &ns, time.Hour)

	ctx := context.Background()
	waitFor(t, "readings of every meter and a live mean", func() bool {
		st, _ := a.Status(ctx)
		return st.MetersSeen == 3 && len(st.Live) > 0 && st.Store.Appended > 3*3600
	})
	waitFor(t, "READY and watchdog pings", func() bool { return ns.count("READY=1") == 1 && ns.count("WATCHDOG=1") >= 2 })
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GatewayID != "smgw-demo" || !st.Insecure || st.ReadingsLastMinute == 0 || st.WAN == "" {
		t.Errorf("status %+v", st)
	}
	for _, s := range st.Services {
		if !s.Healthy {
			t.Errorf("service %s unhealthy: %+v", s.Name, s)
		}
	}
	if !slices.ContainsFunc(st.Live, func(r meter.Reading) bool { return r.OBIS == meter.OBISActivePowerImport }) {
		t.Errorf("no live power in %v", st.Live)
	}
	if ns.count("STATUS=3 meters, ") == 0 {
		t.Errorf("no STATUS line: %q", ns.all())
	}

	// The control socket, through the link in the data directory.
	cl, err := ctl.Dial(ctx, filepath.Join(dir, config.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := cl.Query(ctx, store.Query{Meter: "water-1", Limit: 10}, func(meter.Reading) error { n++; return nil }); err != nil || n != 10 {
		t.Errorf("query through the socket: %d readings, %v", n, err)
	}
	cl.Close()
	// The status page answers.
	resp, err := http.Get("http://" + a.StatusAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	states := ns.all()
	if !strings.HasPrefix(states[len(states)-1], "STOPPING=1") {
		t.Errorf("last notification %q", states[len(states)-1])
	}
	if _, err := os.Lstat(filepath.Join(dir, config.SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket link left behind: %v", err)
	}

	// Restart: the meters resume where they stopped.
	time.Sleep(1500 * time.Millisecond) // an outage of a boundary or two
	a, stop = startApp(t, cfg, &ns, time.Hour)
	before := a.st.Stats().Appended
	waitFor(t, "readings after the restart", func() bool { return a.st.Stats().Appended > before+6 })
	if err := stop(); err != nil {
		t.Fatalf("Run after restart: %v", err)
	}

	// Check what is stored, read-only.
	s, err := store.Open(DBPath(dir), &store.Options{ReadOnly: true, Keys: keys.NewDev(cfg.Security.DevKeyFile, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Registers: one per second, no gap and no duplicate across the restart.
	var times []time.Time
	if err := s.Query(ctx, store.Query{Meter: "water-1", OBIS: meter.OBISVolumeWater}, func(r meter.Reading) error {
		times = append(times, r.Time)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(times) < 3600 {
		t.Fatalf("%d water readings, want the hour of backfill and more", len(times))
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d != time.Second {
			t.Fatalf("water readings %v and %v are %v apart, want 1s", times[i-1], times[i], d)
		}
	}
	// Live means are stored, marked aggregated.
	var means int
	s.Query(ctx, store.Query{Meter: "elec-1", OBIS: meter.OBISActivePowerImport}, func(r meter.Reading) error {
		if r.Quality&meter.QualityAggregated == 0 {
			t.Errorf("live mean not marked aggregated: %v", r)
		}
		means++
		return nil
	})
	if means == 0 {
		t.Error("no live means stored")
	}
	// The event logs: two starts and stops, each meter seen once.
	var kinds []string
	s.Events(ctx, store.LogSystem, 0, func(ev store.Event) error { kinds = append(kinds, ev.Kind); return nil })
	if !slices.Equal(kinds, []string{"start", "stop", "start", "stop"}) {
		t.Errorf("system log kinds %v", kinds)
	}
	var seen []string
	s.Events(ctx, store.LogMetrology, 0, func(ev store.Event) error {
		if ev.Kind == "meter-seen" {
			seen = append(seen, ev.Attrs["meter"])
		}
		return nil
	})
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"elec-1", "heat-1", "water-1"}) {
		t.Errorf("meters seen %v", seen)
	}
	for _, name := range store.Logs {
		if _, err := s.VerifyLog(ctx, name); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
}

func TestAppRefusesToStart(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Status.Listen = ""

	bad := *cfg
	bad.Security.AllowInsecure = false
	_, err := New(&bad, nil)
	if !errors.Is(err, config.ErrInvalid) || !Permanent(err) {
		t.Errorf("dev keys without allow_insecure: %v (permanent %v)", err, Permanent(err))
	}

	tpm := *cfg
	tpm.Security.KeyProvider = config.KeyProviderTPM
	_, err = New(&tpm, nil)
	if !Permanent(err) {
		t.Errorf("tpm provider: %v, want a permanent error", err)
	}

	// A store sealed with another key.
	a, err := New(cfg, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.Security.DevKeyFile); err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, &Options{NoSync: true})
	if !errors.Is(err, store.ErrWrongKey) || !Permanent(err) {
		t.Errorf("wrong key: %v (permanent %v)", err, Permanent(err))
	}
	// Nothing stays bound after a failed New: the socket is free.
	if _, err := os.Stat(cfg.Gateway.SocketPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after a failed New: %v", err)
	}
}

func TestServiceFailureStopsTheApp(t *testing.T) {
	testutil.CheckGoroutines(t)
	a := &App{log: testLog(t), svcErrs: map[string]string{}}
	g, ctx := errgroup.WithContext(context.Background())
	boom := errors.New("boom")
	a.service(g, ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); return nil })
	a.service(g, ctx, "broken", func(ctx context.Context) error { time.Sleep(10 * time.Millisecond); return boom })
	if err := g.Wait(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Wait = %v, want the broken service's error", err)
	}
	if a.svcErrs["broken"] != "boom" {
		t.Errorf("service errors %v", a.svcErrs)
	}

	g, ctx = errgroup.WithContext(context.Background())
	a.service(g, ctx, "quitter", func(ctx context.Context) error { return nil })
	if err := g.Wait(); err == nil || !strings.Contains(err.Error(), "quitter: stopped unexpectedly") {
		t.Errorf("Wait = %v, want an unexpected stop", err)
	}
}

func TestAppRunCancelledAtOnce(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Status.Listen = ""
	var ns notifications
	a, err := New(cfg, &Options{Notify: ns.notify, NoSync: true, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM during start
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run = %v, want a clean stop", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ns.count("READY=1") != 1 || ns.count("STOPPING=1") != 1 {
		t.Errorf("notifications %q", ns.all())
	}
}
