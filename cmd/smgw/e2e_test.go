package main

import (
	"context"
	"github.com/smgw/smgw/internal/testutil"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// TestEndToEnd runs the demo gateway in-process with one-second meters and
// reads it with the CLI, through the daemon while it runs and from the
// store after it stopped.
func TestEndToEnd(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	cfg := config.Demo(dir)
	cfg.AddDemoWMBus() // two simulated wM-Bus meters through the line reader
	cfg.Store.LiveResolution = config.Duration(time.Second)
	cfg.Store.DeferredFlush = config.Duration(time.Second)
	for i := range cfg.Meters {
		cfg.Meters[i].Interval = config.Duration(time.Second)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Status.Listen = ln.Addr().String()
	a, err := app.New(cfg, &app.Options{
		Log:             slog.New(slog.DiscardHandler),
		StatusListener:  ln,
		InitialBackfill: 10 * time.Minute,
		Notify:          func(string) error { return nil },
		NoSync:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var runErr error
	stop := sync.OnceFunc(func() {
		cancel()
		runErr = <-done
		if err := a.Close(); err != nil && runErr == nil {
			runErr = err
		}
	})
	defer stop()

	// While it runs, through the socket.
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var code int
		var errOut string
		code, out, errOut = runCLI(t, "readings", "--data", dir, "--meter", "water-1", "--format", "json")
		if code != exitOK {
			t.Fatalf("readings while running: exit %d: %s", code, errOut)
		}
		if strings.Count(out, "\n") >= 600 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("too few readings while running:\n%s", out)
		}
	}
	first, _, _ := strings.Cut(out, "\n")
	r, err := ctl.DecodeReadingJSON([]byte(first))
	if err != nil || r.Meter != "water-1" || r.Unit.Symbol() != "m³" {
		t.Errorf("first line %q: %v, %v", first, r, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, out, errOut := runCLI(t, "meters", "--data", dir)
		if code != exitOK {
			t.Fatalf("meters: %d\n%s%s", code, out, errOut)
		}
		if strings.Contains(out, "elec-1") && strings.Contains(out, "heat-1") && strings.Contains(out, "water-1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meters missing:\n%s", out)
		}
	}
	// The simulated wM-Bus meters' encrypted telegrams were decoded and stored.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, out, errOut := runCLI(t, "meters", "--nearby", "--data", dir)
		if code != exitOK {
			t.Fatalf("meters --nearby: %d\n%s%s", code, out, errOut)
		}
		if strings.Contains(out, "wmbus-water-1") && strings.Contains(out, "mode 5") && !strings.Contains(out, "never") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meters --nearby:\n%s", out)
		}
	}
	if code, out, errOut := runCLI(t, "status", "--data", dir); code != exitOK || !strings.Contains(out, "smgw-demo") ||
		!strings.Contains(out, "INSECURE") {
		t.Errorf("status: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "log", "--data", dir, "--verify"); code != exitOK || strings.Count(out, ": ok") != 3 {
		t.Errorf("log --verify: %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "log", "metrology", "--data", dir); code != exitOK || strings.Count(out, "meter-seen") != len(cfg.Meters) {
		t.Errorf("log metrology: %d\n%s", code, out)
	}
	// Live power is stored as means over a second, made durable within a second.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, out, errOut := runCLI(t, "readings", "--data", dir, "--meter", "elec-1", "--obis", "1-0:1.7.0", "--limit", "3")
		if code != exitOK {
			t.Fatalf("live means: %d\n%s%s", code, out, errOut)
		}
		if strings.Count(out, "\n") == 4 && strings.Count(out, "aggregated") == 3 && strings.HasPrefix(out, "METER") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live means:\n%s", out)
		}
	}

	// Stopped: read-only from the store.
	if stop(); runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	code, after, errOut := runCLI(t, "readings", "--data", dir, "--meter", "water-1", "--format", "json")
	if code != exitOK || !strings.HasPrefix(after, out) || len(after) < len(out) {
		t.Errorf("readings after the stop: exit %d (%s); %d bytes, %d while running", code, errOut, len(after), len(out))
	}
	if code, _, errOut := runCLI(t, "status", "--data", dir); code != exitFail || !strings.Contains(errOut, "not running") {
		t.Errorf("status with no daemon: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "log", "--data", dir); code != exitOK || !strings.Contains(out, "stop") {
		t.Errorf("system log after the stop:\n%s", out)
	}

	// The store held by a process whose socket is unreachable.
	st, err := store.Open(app.DBPath(dir), &store.Options{Keys: keys.NewDev(filepath.Join(dir, config.DevKeyFileName), nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, _, errOut = runCLI(t, "readings", "--data", dir)
	if code != exitFail || !strings.Contains(errOut, "control socket is unreachable") {
		t.Errorf("locked store: exit %d, %q", code, errOut)
	}
}
