package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/clock"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/update"
	"github.com/smgw/smgw/internal/version"
)

// At start the daemon moves the update steps the CLI spooled into the
// system log, in order, and reports the outcome of the pending update:
// the running version is the installed one, so it succeeded.
func TestAppReportsUpdateAfterReboot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	state := cfg.Gateway.UpdateStateDir()
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	sp := &update.Spool{Path: filepath.Join(state, update.SpoolFile)}
	ctx := context.Background()
	sp.LogEvent(ctx, update.EventVerify, "checking update file u.smgwu", nil)
	sp.LogEvent(ctx, update.EventInstalled, "version "+version.Version+" installed", nil)
	pending := `{"version":"` + version.Version + `","from_version":"0.9.0","installed":"2026-11-22T06:00:00Z"}`
	if err := os.WriteFile(filepath.Join(state, "pending.json"), []byte(pending), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Update.Installer = "command"
	cfg.Update.Rauc = filepath.Join(dir, "no-rauc") // the booted slot is unknown here

	var ns notifications
	a, stop := startApp(t, cfg, &ns, 0)
	var kinds []string
	waitFor(t, "the update events in the system log", func() bool {
		kinds = kinds[:0]
		a.Events(ctx, store.LogSystem, 0, func(e store.Event) error { kinds = append(kinds, e.Kind); return nil })
		return slices.Contains(kinds, update.EventSuccess)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	i := slices.Index(kinds, update.EventVerify)
	if i < 0 || i+2 >= len(kinds) || kinds[i+1] != update.EventInstalled || kinds[i+2] != update.EventSuccess {
		t.Fatalf("system log kinds %v, want %s, %s, %s in order", kinds, update.EventVerify, update.EventInstalled, update.EventSuccess)
	}
	for _, f := range []string{update.SpoolFile, "pending.json"} {
		if _, err := os.Stat(filepath.Join(state, f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
}

// The clock monitor's events reach the system log: a jump of the wall
// clock against the monotonic one, and the clock becoming trusted.
func TestAppLogsClockEvents(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	var ns notifications
	a, stop := startApp(t, cfg, &ns, 0)
	ctx := context.Background()
	wall := time.Date(1970, 1, 1, 0, 1, 0, 0, time.UTC)
	synced := false
	o := a.clockOptions()
	o.Source = "ntp"
	o.Wall = func() time.Time { return wall }
	o.Mono = func() time.Duration { return 0 }
	o.NTPSynced = func() bool { return synced }
	m, err := clock.New(o)
	if err != nil {
		t.Fatal(err)
	}
	wall, synced = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), true // NTP's first correction
	m.Check(ctx)
	var evs []store.Event
	waitFor(t, "clock-jump and clock-trusted events", func() bool {
		evs = evs[:0]
		a.Events(ctx, store.LogSystem, 0, func(e store.Event) error { evs = append(evs, e); return nil })
		return slices.ContainsFunc(evs, func(e store.Event) bool { return e.Kind == "clock-jump" }) &&
			slices.ContainsFunc(evs, func(e store.Event) bool { return e.Kind == "clock-trusted" && e.Attrs["source"] == "ntp" })
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
