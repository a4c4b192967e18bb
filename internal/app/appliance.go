package app

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/clock"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/update"
	"github.com/smgw/smgw/internal/version"
)

// The appliance's parts of the gateway: the clock's trust and jumps
// ([clock], internal/clock) and the report of an update after the reboot
// ([update], internal/update).

// initClock creates the clock monitor of [clock]; its events go to the
// system event log once Run has started.
func (a *App) initClock() error {
	m, err := clock.New(a.clockOptions())
	if err != nil {
		return fmt.Errorf("%w: %w", config.ErrInvalid, err)
	}
	a.clock = m
	if !m.Trusted() {
		a.log.Warn("the clock is not trusted yet: readings are "+map[bool]string{true: "held", false: "flagged clock-unsynced"}[a.cfg.Clock.Untrusted == config.ClockHold]+
			" until it is", "source", m.Source())
	}
	return nil
}

// clockOptions are the clock monitor's options from [clock], with events
// into the system log.
func (a *App) clockOptions() *clock.Options {
	return &clock.Options{
		Source:        a.cfg.Clock.Source,
		JumpThreshold: a.cfg.Clock.JumpThreshold.Std(),
		Log:           a.log.With("service", "clock"),
		OnTrusted: func(ctx context.Context, source string) {
			a.logSystem(ctx, "clock-trusted", "the clock is trusted ("+source+"); readings are timestamped from now on",
				map[string]string{"source": source, "time": a.now().UTC().Format(time.RFC3339)})
		},
		OnJump: func(ctx context.Context, j clock.Jump) {
			a.logSystem(ctx, "clock-jump", fmt.Sprintf("the clock jumped by %v", j.Delta().Round(time.Millisecond)),
				map[string]string{"from": j.From.UTC().Format(time.RFC3339Nano), "to": j.To.UTC().Format(time.RFC3339Nano),
					"delta": j.Delta().String()})
		},
	}
}

// clockGate is what the ingest pipeline asks before it stores readings.
func (a *App) clockGate() *ClockGate {
	if a.clock == nil || a.clock.Source() == clock.SourceNone {
		return nil
	}
	return &ClockGate{Trusted: a.clock.Trusted, Hold: a.cfg.Clock.Untrusted == config.ClockHold}
}

// runClock is the clock monitor's service: trust and jumps, every 10 s.
func (a *App) runClock(ctx context.Context) error { return a.clock.Run(ctx) }

// logSystem records an event in the system log; a failure is only logged.
func (a *App) logSystem(ctx context.Context, kind, msg string, attrs map[string]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.ShutdownTimeout)
	defer cancel()
	if _, err := a.st.Log(ctx, store.LogSystem, store.Event{Time: a.now(), Kind: kind, Message: msg, Attrs: attrs}); err != nil {
		a.log.Warn("cannot log an event", "kind", kind, "err", err)
	}
}

// LogEvent implements update.EventLog over the system event log.
func (a *App) LogEvent(ctx context.Context, kind, msg string, attrs map[string]string) error {
	_, err := a.st.Log(ctx, store.LogSystem, store.Event{Time: a.now(), Kind: kind, Message: msg, Attrs: attrs})
	return err
}

// reportUpdate moves the update steps the CLI spooled into the system log
// and reports the outcome of an update installed before this start.
func (a *App) reportUpdate(ctx context.Context) {
	dir := a.cfg.Gateway.UpdateStateDir()
	n, err := update.Drain(filepath.Join(dir, update.SpoolFile), func(e update.SpooledEvent) error {
		_, err := a.st.Log(ctx, store.LogSystem, store.Event{Time: e.Time, Kind: e.Kind, Message: e.Message, Attrs: e.Attrs})
		return err
	})
	if err != nil {
		a.log.Warn("update: cannot move the spooled update events into the system log", "err", err)
	} else if n > 0 {
		a.log.Info("update: spooled update events logged", "events", n)
	}
	inst, err := update.NewInstaller(a.cfg.Update.Installer, a.cfg.Update.Rauc)
	if err != nil {
		a.log.Warn("update: no installer to ask for the booted slot", "err", err)
	}
	u := update.New(update.Options{Installer: inst, StateDir: dir, Running: version.Version, Events: a,
		Log: a.log.With("service", "update"), Now: a.now})
	if _, err := u.Report(ctx); err != nil {
		a.log.Warn("update: cannot report the last update", "err", err)
	}
}

// InstallUpdate installs the update file at path for the HES firmware
// command: the checks of `smgw update install` (signature against
// [update] keyring, compatible, anti-rollback, the bundle's hash), then
// RAUC through [update] installer, each step in the system event log.
func (a *App) InstallUpdate(ctx context.Context, path string) (*update.Manifest, error) {
	keys, err := update.LoadKeyring(a.cfg.Update.Keyring)
	if err != nil {
		a.logSystem(ctx, update.EventRefused, "update "+filepath.Base(path)+" refused: "+err.Error(),
			map[string]string{"file": path, "reason": "keyring"})
		return nil, err
	}
	inst, err := update.NewInstaller(a.cfg.Update.Installer, a.cfg.Update.Rauc)
	if err != nil {
		return nil, err
	}
	u := update.New(update.Options{Keyring: keys, Installer: inst, StateDir: a.cfg.Gateway.UpdateStateDir(),
		Running: version.Version, Compatible: a.cfg.Update.Compatible, Events: a,
		Log: a.log.With("service", "update"), Now: a.now})
	return u.Install(ctx, path)
}
