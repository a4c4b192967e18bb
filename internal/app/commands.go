package app

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smgw/smgw/hal/modem"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/lmn/sim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/version"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/link"
)

// The command path. Every command from the HES (today: over MQTT, see
// CommandPath.Handle) passes through here once: it is verified (signature,
// key, gateway, validity, role: command.Policy), checked against replay
// (command.Guard, durable), recorded in the event log, dispatched to the
// service that carries it out, and answered with a response signed by the
// gateway's key. A refused command runs nothing.
//
// Event log entries (docs/commands.md): every command gets
// "command-rejected" (refused before it ran) or "command-accepted" and
// then "command-done" / "command-failed" in the system log. Commands that
// touch billing data (tariff, price, meters, meter keys, poll intervals,
// disconnect and reconnect) are also logged, once done, in the metrology
// log; those the household sees (tariff, price, message, demand response,
// disconnect and reconnect) in the consumer log.

// Disconnector is a meter driver with a remote disconnect switch. The
// simulated electricity meter implements it; for other drivers commands
// answer "not supported by this meter's driver".
type Disconnector interface {
	Disconnect(ctx context.Context) error
	Reconnect(ctx context.Context) error
}

// Store records of the command path (kind "meter"): runtime meter
// overrides (added, removed or re-timed meters, applied over the
// configuration at start) and the breaker outages of simulated meters.
const (
	meterRecordKind = "meter"
	overridePrefix  = "override/"
	outagesPrefix   = "outages/"
)

// meterOverride is a runtime change to a meter, stored as JSON under
// meter/override/<id>.
type meterOverride struct {
	ID           meter.MeterID   `json:"id"`
	Removed      bool            `json:"removed,omitempty"`
	Added        *config.Meter   `json:"added,omitempty"`    // a meter the configuration does not have
	Interval     config.Duration `json:"interval,omitempty"` // a new poll interval
	LiveInterval config.Duration `json:"live_interval,omitempty"`
}

// CommandPath verifies, logs, dispatches and answers HES commands.
type CommandPath struct {
	a      *App
	policy command.Policy
	guard  *command.Guard
	signer crypto.Signer
	log    *slog.Logger

	keysMu sync.Mutex // guards hes
	hes    hesState   // commands_keys.go

	fwMu sync.Mutex    // guards fw
	fw   firmwareState // commands_firmware.go

	mu      sync.Mutex // serialises commands that change meters
	pending chan *meterService
	byID    map[meter.MeterID]*meterService
	runtime []*meterService // meters added by command while running
	// effective are the configured meters with the stored overrides
	// applied, as the gateway started with them.
	effective []config.Meter
	// Meters of drivers with services of their own (commands_meters.go).
	gone     map[meter.MeterID]bool // removed by command since the start
	deferred []config.Meter         // added by command, read from the next start
	lines    map[string]*runtimeLine
	runCtx   context.Context // set once runRuntimeMeters runs

	rejMu         sync.Mutex
	rejMinute     int64 // the minute (Unix) the count is for
	rejCount      int   // rejections logged in it
	rejSuppressed int   // rejections not logged since the last logged one
}

// maxRejectLogs bounds the command-rejected entries a minute, so that a
// flood of bad commands does not wear the flash with log entries; the
// next entry logged says how many were left out.
const maxRejectLogs = 60

// Commands returns the command path: its Handle is the MQTT client's
// Commands function.
func (a *App) Commands() *CommandPath { return a.cmds }

// Tariff returns the household's tariff model (for the HAN services).
func (a *App) Tariff() *tariff.Model { return a.tariff }

// Link returns the uplink monitor (the MQTT uplink's Link).
func (a *App) Link() *link.Monitor { return a.link }

// initWAN sets up the tariff model, the link monitor (and modem) and the
// command path. It runs in New once the store is open, before the meters.
func (a *App) initWAN(ctx context.Context) error {
	var err error
	a.tariff, err = tariff.Open(a.st, &tariff.Options{NotFound: store.ErrNotFound, Now: a.now})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	wc := a.cfg.WAN
	lo := &link.Options{
		Ethernet: wc.Link.Ethernet, LTE: wc.Link.LTE, DailyBudget: int64(wc.Modem.DailyBudget),
		Probe: a.opts.LinkProbe, Every: wc.Link.ProbeEvery.Std(), Records: a.st, Now: a.now,
		Log: a.log.With("service", "link"),
	}
	if wc.Modem.Device != "" {
		port, err := modem.Open(wc.Modem.Device)
		if err != nil {
			// The gateway runs on Ethernet without its modem; status shows it.
			a.log.Warn("LTE modem not available", "device", wc.Modem.Device, "err", err)
		} else {
			a.modemPort = port
			md := modem.New(port, nil)
			ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := md.Init(ictx, wc.Modem.APN)
			cancel()
			if err != nil {
				a.log.Warn("LTE modem does not initialise", "device", wc.Modem.Device, "err", err)
			}
			lo.Modem = md
		}
	}
	if a.link, err = link.New(lo); err != nil {
		return fmt.Errorf("app: %w", err)
	}

	c := &CommandPath{a: a, log: a.log.With("service", "commands"), pending: make(chan *meterService, 16),
		byID: map[meter.MeterID]*meterService{}, gone: map[meter.MeterID]bool{}, lines: map[string]*runtimeLine{},
		hes: hesState{cfg: map[string]*command.Key{}, stored: map[string]storedHES{}, clashed: map[string]bool{}}}
	c.policy = command.Policy{Gateway: a.cfg.Gateway.ID, Keys: c.hes.cfg,
		MaxSkew: wc.Commands.MaxSkew.Std(), MaxValidity: wc.Commands.MaxValidity.Std()}
	for i, k := range wc.Commands.Keys {
		b, err := os.ReadFile(k.PublicKeyFile)
		if err != nil {
			return fmt.Errorf("%w: wan.commands.key[%d] %s: %w", ErrRefused, i, k.ID, err)
		}
		pub, _, err := command.ParseKeyPEM(b)
		if err != nil {
			return fmt.Errorf("%w: wan.commands.key[%d] %s: %s: %w", ErrRefused, i, k.ID, k.PublicKeyFile, err)
		}
		role, err := command.ParseRole(k.Role)
		if err != nil {
			return fmt.Errorf("%w: wan.commands.key[%d]: %w", ErrRefused, i, err)
		}
		c.policy.Keys[k.ID] = &command.Key{ID: k.ID, Role: role, Public: pub}
	}
	// Keys imported into the key store (commands_keys.go) are read again
	// for every command; this first read logs what is there.
	c.currentPolicy()
	if c.guard, err = command.NewGuard(ctx, a.st, c.policy.MaxSkew, 0, a.now()); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if c.signer, err = a.keys.Signer(ctx); err != nil {
		return fmt.Errorf("app: the gateway's signing key: %w", err)
	}
	a.cmds = c
	return nil
}

// closeWAN releases what initWAN opened.
func (a *App) closeWAN() error {
	if a.modemPort != nil {
		return a.modemPort.Close()
	}
	return nil
}

// wanLine is the WAN part of the status.
func (a *App) wanLine() string {
	if a.link == nil {
		return "none"
	}
	return a.link.String()
}

// linkStatus is the link's part of ctl.Status.
func (a *App) linkStatus() *ctl.LinkStatus {
	if a.link == nil {
		return nil
	}
	s := a.link.Status()
	out := &ctl.LinkStatus{Active: string(s.Active), Ethernet: s.Ethernet.Name, LTE: s.LTE.Name, ModemError: s.ModemErr,
		SentToday: s.Sent, SentTodayLTE: s.SentLTE, DailyBudget: s.Budget, BudgetLeft: s.Left, Throttled: s.Throttle}
	if s.Modem != nil {
		out.Registration, out.Operator, out.SignalDBm = s.Modem.Registration.String(), s.Modem.Operator, s.Modem.RSSI
	}
	return out
}

// withOverrides applies the stored runtime meter overrides to the
// configured meters.
func (a *App) withOverrides(ms []config.Meter) ([]config.Meter, error) {
	names, err := a.st.RecordNames(meterRecordKind, overridePrefix)
	if err != nil {
		return nil, fmt.Errorf("app: meter overrides: %w", err)
	}
	out := slices.Clone(ms)
	for _, name := range names {
		b, err := a.st.Record(meterRecordKind, name)
		if err != nil {
			return nil, fmt.Errorf("app: meter override %s: %w", name, err)
		}
		var o meterOverride
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("app: meter override %s: %w", name, err)
		}
		i := slices.IndexFunc(out, func(m config.Meter) bool { return m.ID == o.ID })
		switch {
		case o.Removed:
			if i >= 0 {
				out = slices.Delete(out, i, i+1)
			}
		case o.Added != nil && i < 0:
			out = append(out, *o.Added)
		case i >= 0 && o.Interval > 0:
			out[i].Interval, out[i].LiveInterval = o.Interval, o.LiveInterval
		}
		a.log.Info("meter override from a command applied", "meter", o.ID)
	}
	if a.cmds != nil {
		a.cmds.effective = out
	}
	return out, nil
}

// restoreOutages gives a simulated meter back its breaker outages.
func (a *App) restoreOutages(ms *meterService) error {
	b, err := a.st.Record(meterRecordKind, outagesPrefix+string(ms.id))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("app: meter %s: outages: %w", ms.id, err)
	}
	var os []sim.Outage
	if err := json.Unmarshal(b, &os); err != nil {
		return fmt.Errorf("app: meter %s: outages: %w", ms.id, err)
	}
	m, err := newSim(ms.mc, a.now, a.log, os)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	ms.m = m
	return nil
}

// newSim makes the simulated meter of a [[meter]] table.
func newSim(mc config.Meter, now func() time.Time, log *slog.Logger, outages []sim.Outage) (*sim.Meter, error) {
	live := mc.LiveInterval.Std()
	if live == 0 {
		live = -1
	}
	return sim.New(&sim.Options{ID: mc.ID, Profile: sim.Profile(mc.Profile), Interval: mc.Interval.Std(),
		LiveInterval: live, Now: now, Log: log.With("service", "meter "+string(mc.ID)), Outages: outages})
}

// runLoop runs the meter until ctx ends, restarting it when a command
// changed it and idling (reporting progress) once it was removed.
func (ms *meterService) runLoop(ctx context.Context) error {
	for {
		ms.ctlMu.Lock()
		if ms.removed {
			ms.ctlMu.Unlock()
			return ms.idle(ctx)
		}
		m := ms.m
		rctx, cancel := context.WithCancel(ctx)
		ms.cancel = cancel
		ms.ctlMu.Unlock()
		err := m.Run(rctx, ms)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// idle keeps a removed meter's watchdog progress moving.
func (ms *meterService) idle(ctx context.Context) error {
	t := time.NewTicker(max(ms.period/2, time.Second))
	defer t.Stop()
	for {
		ms.tick()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// restart swaps in a new simulated meter (or, with nil, removes it) and
// stops the running one so runLoop picks the change up.
func (ms *meterService) restart(m *sim.Meter, mc config.Meter, period time.Duration) {
	ms.ctlMu.Lock()
	defer ms.ctlMu.Unlock()
	if m == nil {
		ms.removed = true
	} else {
		ms.m, ms.mc, ms.period = m, mc, period
	}
	if ms.cancel != nil {
		ms.cancel()
	}
}

// state returns the meter and its configuration as commands left them.
func (ms *meterService) state() (*sim.Meter, config.Meter) {
	ms.ctlMu.Lock()
	defer ms.ctlMu.Unlock()
	return ms.m, ms.mc
}

func (ms *meterService) sim() *sim.Meter {
	ms.ctlMu.Lock()
	defer ms.ctlMu.Unlock()
	return ms.m
}

// runRuntimeMeters runs the meters added by command until ctx ends.
func (c *CommandPath) runRuntimeMeters(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.stopFirmware()    // commands_firmware.go: a running job ends with the gateway
	defer c.startLines(ctx)() // commands_meters.go: lines of meters added by command
	for {
		select {
		case <-ctx.Done():
			return nil
		case ms := <-c.pending:
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := ms.Run(ctx); err != nil && ctx.Err() == nil {
					c.log.Error("meter added by command failed", "meter", ms.id, "err", err)
				}
			}()
		}
	}
}

// meterByID finds a running meter (removed ones are not found).
func (c *CommandPath) meterByID(id meter.MeterID) *meterService {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ms := c.byID[id]; ms != nil {
		ms.ctlMu.Lock()
		removed := ms.removed
		ms.ctlMu.Unlock()
		if !removed {
			return ms
		}
	}
	return nil
}

// otherDriver returns the driver of a configured meter the command path
// does not run itself (wM-Bus, Modbus: their services read them), "" if
// there is none such.
func (c *CommandPath) otherDriver(id meter.MeterID) string {
	for _, m := range c.effective {
		if m.ID == id && m.Driver != config.DriverSim {
			return m.Driver
		}
	}
	for _, l := range c.lines { // commands_meters.go
		for _, m := range l.meters {
			if m.ID == id {
				return m.Driver
			}
		}
	}
	for _, m := range c.deferred {
		if m.ID == id {
			return m.Driver
		}
	}
	return ""
}

// noMeter is the rejection for a meter the command path does not run.
func (c *CommandPath) noMeter(id meter.MeterID, what string) error {
	if d := c.otherDriver(id); d != "" {
		return command.Reject(command.ReasonNotSupported, "%s: not supported by this meter's driver (%s)", what, d)
	}
	return command.Reject(command.ReasonUnknownMeter, "no meter %q", id)
}

// register makes the app's meters known to the command path.
func (c *CommandPath) register(ms ...*meterService) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range ms {
		c.byID[m.id] = m
	}
}

// Handle is the MQTT client's Commands function: it takes a command
// envelope and returns the signed response. It never fails: a command
// that cannot be carried out gets a response saying why.
func (c *CommandPath) Handle(ctx context.Context, payload []byte) []byte {
	now := c.a.now()
	resp := &command.Response{Gateway: c.policy.Gateway}
	asJSON := command.IsJWS(payload) // answered in the form it came in
	policy := c.currentPolicy()      // commands_keys.go: configured and imported keys
	cmd, pl, err := policy.Verify(payload, now)
	if pl != nil {
		resp.ID = clip(pl.ID) // a valid id is never clipped
	}
	if err == nil {
		err = c.guard.Admit(ctx, cmd, now)
	}
	if err != nil {
		c.logRejected(ctx, pl, cmd, payload, err)
		return c.answer(resp, nil, err, asJSON)
	}
	kind := meter.CommandKind(cmd.Kind)
	attrs := map[string]string{"id": cmd.ID, "kind": string(kind), "key": cmd.KeyID, "role": string(cmd.Role),
		"issued": cmd.IssuedAt().Format(time.RFC3339), "expires": cmd.ExpiresAt().Format(time.RFC3339)}
	if _, err := c.a.st.Log(ctx, store.LogSystem, store.Event{Kind: "command-accepted", Attrs: attrs,
		Message: fmt.Sprintf("command %s (%s) from HES key %s accepted", cmd.ID, kind, cmd.KeyID)}); err != nil {
		// Not logged, not run.
		err = command.Reject(command.ReasonFailed, "cannot record the command in the event log: %v", err)
		return c.answer(resp, nil, err, asJSON)
	}
	result, summary, err := c.dispatch(ctx, cmd)
	done := maps(attrs)
	if summary != "" {
		done["detail"] = summary
	}
	ev := store.Event{Kind: "command-done", Attrs: done,
		Message: fmt.Sprintf("command %s (%s) done", cmd.ID, kind)}
	if err != nil {
		done["reason"] = string(command.ReasonOf(err))
		done["error"] = clipN(err.Error(), maxMsg)
		ev.Kind, ev.Message = "command-failed", fmt.Sprintf("command %s (%s) failed: %v", cmd.ID, kind, err)
	}
	c.logEvent(ctx, store.LogSystem, ev)
	if err == nil {
		if metrologyKinds[kind] {
			c.logEvent(ctx, store.LogMetrology, ev)
		}
		if consumerKinds[kind] {
			c.logEvent(ctx, store.LogConsumer, ev)
		}
	}
	return c.answer(resp, result, err, asJSON)
}

var metrologyKinds = map[meter.CommandKind]bool{
	command.KindTariff: true, command.KindPrice: true, command.KindAddMeter: true, command.KindRemoveMeter: true,
	command.KindImportMeterKey: true, command.KindSetPollInterval: true, command.KindDisconnect: true, command.KindReconnect: true,
}

var consumerKinds = map[meter.CommandKind]bool{
	command.KindTariff: true, command.KindPrice: true, command.KindMessage: true, command.KindDemandResponse: true,
	command.KindDisconnect: true, command.KindReconnect: true,
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *CommandPath) logEvent(ctx context.Context, name store.LogName, ev store.Event) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.a.st.Log(lctx, name, ev); err != nil {
		c.log.Error("cannot log a command", "log", name, "kind", ev.Kind, "err", err)
	}
}

// logRejected records a refused command in the system log.
func (c *CommandPath) logRejected(ctx context.Context, pl *command.Payload, cmd *command.Command, raw []byte, err error) {
	reason := command.ReasonOf(err)
	attrs := map[string]string{"reason": string(reason), "error": clipN(err.Error(), maxMsg), "size": strconv.Itoa(len(raw))}
	id := "(unreadable)"
	if pl != nil {
		id = pl.ID
		attrs["id"] = clip(pl.ID)
		attrs["kind"] = clip(pl.Kind)
		attrs["gateway"] = clip(pl.Gateway)
	}
	if cmd != nil {
		attrs["key"] = cmd.KeyID
	}
	c.log.Warn("command rejected", "id", clip(id), "reason", reason, "err", attrs["error"])
	minute := c.a.now().Unix() / 60
	c.rejMu.Lock()
	if minute != c.rejMinute {
		c.rejMinute, c.rejCount = minute, 0
	}
	if c.rejCount >= maxRejectLogs {
		c.rejSuppressed++
		c.rejMu.Unlock()
		return
	}
	c.rejCount++
	if c.rejSuppressed > 0 {
		attrs["suppressed_before"] = strconv.Itoa(c.rejSuppressed)
		c.rejSuppressed = 0
	}
	c.rejMu.Unlock()
	c.logEvent(ctx, store.LogSystem, store.Event{Kind: "command-rejected", Attrs: attrs,
		Message: fmt.Sprintf("command %s rejected: %s", clip(id), reason)})
}

// clip bounds an untrusted string for the log and the response, keeping
// it valid UTF-8.
func clip(s string) string { return clipN(s, command.MaxIDLen) }

// maxMsg bounds error messages in responses and log entries (they may
// quote what the command carried).
const maxMsg = 1024

func clipN(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// answer signs the response. If even that fails, the response goes out
// unsigned (the HES will refuse it, and the log says why).
func (c *CommandPath) answer(r *command.Response, result any, err error, asJSON bool) []byte {
	r.Time = c.a.now().Unix()
	if err != nil {
		var rj *command.Rejection
		if !errors.As(err, &rj) {
			rj = &command.Rejection{Reason: command.ReasonFailed, Msg: err.Error()}
		}
		r.Error = &command.ErrorBody{Reason: rj.Reason, Message: clipN(rj.Msg, maxMsg)}
	} else if asJSON {
		r.OK = true
	} else {
		r.OK = true
		if result != nil {
			b, merr := command.Marshal(result)
			if merr != nil {
				r.OK = false
				r.Error = &command.ErrorBody{Reason: command.ReasonFailed, Message: "encode the result: " + merr.Error()}
			} else {
				r.Result = b
			}
		}
	}
	var b []byte
	var serr error
	if asJSON {
		b, serr = command.SignResponseJWS(c.signer, c.policy.Gateway, r, result)
	} else {
		b, serr = command.SignResponse(c.signer, c.policy.Gateway, r)
	}
	if serr != nil {
		c.log.Error("cannot sign a command response", "err", serr)
		b, _ = command.Marshal(r)
	}
	return b
}

// ---- dispatch ----

// dispatch carries out a verified, admitted command. It returns the
// response's result and a line for the event log.
func (c *CommandPath) dispatch(ctx context.Context, cmd *command.Command) (any, string, error) {
	switch meter.CommandKind(cmd.Kind) {
	case command.KindStatus:
		return c.status(ctx)
	case command.KindReadReadings:
		return c.readReadings(ctx, cmd)
	case command.KindSetPollInterval:
		return c.setPollInterval(ctx, cmd)
	case command.KindAddMeter:
		return c.addMeter(ctx, cmd)
	case command.KindRemoveMeter:
		return c.removeMeter(ctx, cmd)
	case command.KindImportMeterKey:
		return c.importKey(ctx, cmd)
	case command.KindTariff:
		var s tariff.Schedule
		if err := cmd.DecodeArgs(&s); err != nil {
			return nil, "", err
		}
		if err := c.a.tariff.SetSchedule(ctx, s); err != nil {
			return nil, "", tariffErr(err)
		}
		return nil, fmt.Sprintf("schedule %s effective %s", s.ID, s.Effective.UTC().Format(time.RFC3339)), nil
	case command.KindPrice:
		var a struct {
			Prices []tariff.DynamicPrice `json:"prices"`
		}
		if err := cmd.DecodeArgs(&a); err != nil {
			return nil, "", err
		}
		if err := c.a.tariff.SetPrices(ctx, a.Prices); err != nil {
			return nil, "", tariffErr(err)
		}
		return nil, fmt.Sprintf("%d dynamic prices from %s", len(a.Prices), a.Prices[0].Start.UTC().Format(time.RFC3339)), nil
	case command.KindMessage:
		var m tariff.Message
		if err := cmd.DecodeArgs(&m); err != nil {
			return nil, "", err
		}
		if err := c.a.tariff.PostMessage(ctx, m); err != nil {
			return nil, "", tariffErr(err)
		}
		return nil, "message " + m.ID, nil
	case command.KindDemandResponse:
		return c.demandResponse(ctx, cmd)
	case command.KindDisconnect, command.KindReconnect:
		return c.breaker(ctx, cmd)
	case command.KindFirmwareUpdate:
		return c.firmwareUpdate(ctx, cmd) // commands_firmware.go
	}
	return nil, "", command.Reject(command.ReasonUnknownKind, "unknown command kind %q", cmd.Kind)
}

func tariffErr(err error) error {
	if errors.Is(err, tariff.ErrInvalid) {
		return command.Reject(command.ReasonBadArgs, "%v", err)
	}
	if errors.Is(err, tariff.ErrNotFound) {
		return command.Reject(command.ReasonBadArgs, "%v", err)
	}
	return err
}

// StatusResult is the result of a status command.
type StatusResult struct {
	Gateway            string         `json:"gateway"`
	Version            string         `json:"version"`
	Time               time.Time      `json:"time"`
	UptimeSeconds      int64          `json:"uptime_s"`
	Meters             []MeterStatus  `json:"meters"`
	ReadingsLastMinute uint64         `json:"readings_last_minute"`
	StoredReadings     uint64         `json:"stored_since_start"`
	Link               link.Status    `json:"link"`
	Price              *tariff.Price  `json:"price,omitempty"`
	ActiveEvents       []string       `json:"active_events,omitempty"`
	Messages           int            `json:"messages"`
	Services           map[string]any `json:"unhealthy,omitempty"`
	Firmware           *FirmwareJob   `json:"firmware,omitempty"` // the current or last firmware job
}

// MeterStatus is one meter in StatusResult.
type MeterStatus struct {
	ID        meter.MeterID `json:"id"`
	Driver    string        `json:"driver"`
	Profile   string        `json:"profile,omitempty"`
	Interval  int64         `json:"interval_s"`
	Connected bool          `json:"connected"` // breaker closed
	Runtime   bool          `json:"runtime,omitempty"`
}

func (c *CommandPath) status(ctx context.Context) (any, string, error) {
	st, err := c.a.Status(ctx)
	if err != nil {
		return nil, "", err
	}
	now := c.a.now()
	r := StatusResult{Gateway: st.GatewayID, Version: version.Version, Time: now.UTC(), UptimeSeconds: int64(st.Uptime / time.Second),
		ReadingsLastMinute: st.ReadingsLastMinute, StoredReadings: st.Store.Appended, Link: c.a.link.Status()}
	c.mu.Lock()
	runtime := slices.Clone(c.runtime)
	c.mu.Unlock()
	for _, ms := range c.meters() {
		m, mc := ms.state()
		r.Meters = append(r.Meters, MeterStatus{ID: ms.id, Driver: mc.Driver, Profile: mc.Profile,
			Interval: int64(mc.Interval.Std() / time.Second), Connected: m.Connected(), Runtime: slices.Contains(runtime, ms)})
	}
	if p, ok := c.a.tariff.PriceAt(now); ok {
		r.Price = &p
	}
	act, _ := c.a.tariff.Events(now)
	for _, ev := range act {
		r.ActiveEvents = append(r.ActiveEvents, ev.ID)
	}
	r.Messages = len(c.a.tariff.Messages(now))
	r.Firmware = c.firmwareStatus()
	for _, s := range st.Services {
		if !s.Healthy {
			if r.Services == nil {
				r.Services = map[string]any{}
			}
			r.Services[s.Name] = s.Err
		}
	}
	return r, "", nil
}

// meters lists the running meters, by id.
func (c *CommandPath) meters() []*meterService {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*meterService
	for _, ms := range c.byID {
		ms.ctlMu.Lock()
		removed := ms.removed
		ms.ctlMu.Unlock()
		if !removed {
			out = append(out, ms)
		}
	}
	slices.SortFunc(out, func(a, b *meterService) int { return strings.Compare(string(a.id), string(b.id)) })
	return out
}

// Paging of read-readings.
const (
	defaultReadLimit = 500
	maxReadLimit     = 2000
)

// readArgs are the arguments of read-readings.
type readArgs struct {
	Meter meter.MeterID `json:"meter"`
	OBIS  *meter.OBIS   `json:"obis,omitempty"`
	From  time.Time     `json:"from"`
	To    time.Time     `json:"to"`
	Limit int           `json:"limit,omitempty"`
	After *readCursor   `json:"after,omitempty"` // the previous page's next
}

type readCursor struct {
	OBIS meter.OBIS `json:"obis"`
	Time int64      `json:"t"` // Unix ms of the last reading returned
}

// ReadingOut is one reading in a read-readings result.
type ReadingOut struct {
	OBIS    meter.OBIS  `json:"obis"`
	Time    int64       `json:"t"` // Unix ms
	Value   meter.Value `json:"v"`
	Unit    meter.Unit  `json:"unit"`
	Quality uint16      `json:"q,omitempty"`
}

// ReadResult is the result of read-readings.
type ReadResult struct {
	Meter    meter.MeterID `json:"meter"`
	Readings []ReadingOut  `json:"readings"`
	// Next, when set, is the cursor for the next page (args "after").
	Next *readCursor `json:"next,omitempty"`
}

var errPageFull = errors.New("page full")

func (c *CommandPath) readReadings(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a readArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	switch {
	case a.Meter.Validate() != nil:
		return nil, "", command.Reject(command.ReasonBadArgs, "meter: %v", a.Meter.Validate())
	case a.From.IsZero() || a.To.IsZero() || !a.From.Before(a.To):
		return nil, "", command.Reject(command.ReasonBadArgs, "from and to are required, from before to")
	case a.Limit < 0 || a.Limit > maxReadLimit:
		return nil, "", command.Reject(command.ReasonBadArgs, "limit %d is not 0…%d", a.Limit, maxReadLimit)
	}
	limit := a.Limit
	if limit == 0 {
		limit = defaultReadLimit
	}
	var series []meter.OBIS
	for _, mi := range c.a.st.Meters() {
		if mi.ID == a.Meter {
			for _, s := range mi.Series {
				series = append(series, s.OBIS)
			}
		}
	}
	if series == nil && c.meterByID(a.Meter) == nil {
		return nil, "", command.Reject(command.ReasonUnknownMeter, "meter %s has no readings and is not configured", a.Meter)
	}
	res := ReadResult{Meter: a.Meter, Readings: []ReadingOut{}}
	for _, o := range series { // ordered by OBIS
		if a.OBIS != nil && o != *a.OBIS {
			continue
		}
		from := a.From
		if a.After != nil {
			switch cmpOBIS(o, a.After.OBIS) {
			case -1:
				continue
			case 0:
				if t := time.UnixMilli(a.After.Time + 1); t.After(from) {
					from = t
				}
			}
		}
		if !from.Before(a.To) {
			continue
		}
		err := c.a.st.Query(ctx, store.Query{Meter: a.Meter, OBIS: o, From: from, To: a.To, Limit: limit + 1 - len(res.Readings)},
			func(r meter.Reading) error {
				if len(res.Readings) == limit {
					last := res.Readings[len(res.Readings)-1]
					res.Next = &readCursor{OBIS: last.OBIS, Time: last.Time}
					return errPageFull
				}
				res.Readings = append(res.Readings, ReadingOut{OBIS: r.OBIS, Time: r.Time.UnixMilli(), Value: r.Value, Unit: r.Unit, Quality: uint16(r.Quality)})
				return nil
			})
		if errors.Is(err, errPageFull) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if len(res.Readings) == limit {
			// The page is full at a series' end: a next page may still hold more.
			last := res.Readings[len(res.Readings)-1]
			res.Next = &readCursor{OBIS: last.OBIS, Time: last.Time}
			break
		}
	}
	return res, fmt.Sprintf("%d readings of %s", len(res.Readings), a.Meter), nil
}

func cmpOBIS(a, b meter.OBIS) int { return slices.Compare(a[:], b[:]) }

// meterArgs name a meter.
type meterArgs struct {
	Meter meter.MeterID `json:"meter"`
}

type pollArgs struct {
	Meter        meter.MeterID `json:"meter"`
	Interval     string        `json:"interval"`                // duration, e.g. "15m"
	LiveInterval string        `json:"live_interval,omitempty"` // duration, "0" for none; "" keeps it
}

func (c *CommandPath) setPollInterval(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a pollArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.byID[a.Meter]
	if ms == nil || ms.isRemoved() {
		return nil, "", c.noMeter(a.Meter, "set-poll-interval")
	}
	mc := ms.mc
	iv, err := config.ParseDuration(a.Interval)
	if err != nil {
		return nil, "", command.Reject(command.ReasonBadArgs, "interval: %v", err)
	}
	mc.Interval = iv
	if a.LiveInterval != "" {
		if mc.LiveInterval, err = config.ParseDuration(a.LiveInterval); err != nil {
			return nil, "", command.Reject(command.ReasonBadArgs, "live_interval: %v", err)
		}
	} else if mc.LiveInterval > mc.Interval {
		mc.LiveInterval = mc.Interval
	}
	if err := validMeter(c.a.cfg, mc); err != nil {
		return nil, "", err
	}
	m, err := newSim(mc, c.a.now, c.a.log, ms.sim().Outages())
	if err != nil {
		return nil, "", command.Reject(command.ReasonBadArgs, "%v", err)
	}
	if err := c.putOverride(ctx, mc.ID, func(o *meterOverride) {
		if o.Added != nil {
			o.Added = &mc
		} else {
			o.Interval, o.LiveInterval = mc.Interval, mc.LiveInterval
		}
	}); err != nil {
		return nil, "", err
	}
	ms.restart(m, mc, meterPeriod(mc))
	return nil, fmt.Sprintf("meter %s interval %s live %s", mc.ID, mc.Interval, mc.LiveInterval), nil
}

func meterPeriod(mc config.Meter) time.Duration {
	if mc.LiveInterval > 0 {
		return mc.LiveInterval.Std()
	}
	return mc.Interval.Std()
}

func (ms *meterService) isRemoved() bool {
	ms.ctlMu.Lock()
	defer ms.ctlMu.Unlock()
	return ms.removed
}

// validMeter checks a meter as the configuration file would.
func validMeter(cfg *config.Config, mc config.Meter) error {
	probe := *cfg
	probe.Meters = []config.Meter{mc}
	probe.WAN.Commands.Keys = nil
	if err := probe.Validate(); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			// Only the meter's own problems count: the other tables were
			// valid when the gateway started.
			var msgs []string
			for _, p := range ce.Problems {
				if k, ok := strings.CutPrefix(p.Key, "meter[0]"); ok {
					msgs = append(msgs, strings.TrimPrefix(k, ".")+": "+p.Msg)
				}
			}
			if len(msgs) == 0 {
				return nil
			}
			return command.Reject(command.ReasonBadArgs, "%s", strings.Join(msgs, "; "))
		}
		return command.Reject(command.ReasonBadArgs, "%v", err)
	}
	return nil
}

// putOverride updates the stored override of a meter.
func (c *CommandPath) putOverride(ctx context.Context, id meter.MeterID, fn func(*meterOverride)) error {
	name := overridePrefix + string(id)
	o := meterOverride{ID: id}
	b, err := c.a.st.Record(meterRecordKind, name)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("meter override %s: %w", id, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	fn(&o)
	if b, err = json.Marshal(o); err != nil {
		return err
	}
	return c.a.st.PutRecord(ctx, meterRecordKind, name, b)
}

// addSim adds a simulated meter (add-meter, commands_meters.go): it
// runs at once. Called with c.mu held, mc validated.
func (c *CommandPath) addSim(ctx context.Context, mc config.Meter) error {
	latest, _ := c.a.st.Latest(mc.ID, meter.OBISActiveEnergyImport)
	ms, err := newMeterService(mc, c.a.ingest, latest.Time, 0, c.a.now, c.a.log)
	if err != nil {
		return command.Reject(command.ReasonBadArgs, "%v", err)
	}
	if err := c.putOverride(ctx, mc.ID, func(o *meterOverride) {
		*o = meterOverride{ID: mc.ID, Added: &mc}
		if slices.ContainsFunc(c.a.cfg.Meters, func(m config.Meter) bool { return m.ID == mc.ID }) {
			o.Added = nil // a configured meter that was removed: drop the removal
			o.Interval, o.LiveInterval = mc.Interval, mc.LiveInterval
		}
	}); err != nil {
		return err
	}
	delete(c.gone, mc.ID)
	c.byID[mc.ID] = ms
	c.runtime = append(c.runtime, ms)
	select {
	case c.pending <- ms:
	default:
		return command.Reject(command.ReasonBusy, "too many meters added at once; it runs after a restart")
	}
	return nil
}

func (c *CommandPath) removeMeter(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a meterArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if res, summary, ok, err := c.removeRuntime(ctx, a.Meter); ok { // commands_meters.go
		if err != nil {
			return nil, "", err
		}
		c.gone[a.Meter] = true
		return res, summary, nil
	}
	ms := c.byID[a.Meter]
	if ms == nil || ms.isRemoved() {
		if d := c.otherDriver(a.Meter); d != "" && !c.gone[a.Meter] {
			// Read by its own service: removed from the next start on.
			if err := c.putOverride(ctx, a.Meter, func(o *meterOverride) { *o = meterOverride{ID: a.Meter, Removed: true} }); err != nil {
				return nil, "", err
			}
			c.gone[a.Meter] = true
			return RemoveResult{Meter: a.Meter, RestartRequired: true},
				fmt.Sprintf("meter %s (%s) removed from the next start on", a.Meter, d), nil
		}
		return nil, "", command.Reject(command.ReasonUnknownMeter, "no meter %q", a.Meter)
	}
	if err := c.putOverride(ctx, a.Meter, func(o *meterOverride) { *o = meterOverride{ID: a.Meter, Removed: true} }); err != nil {
		return nil, "", err
	}
	c.gone[a.Meter] = true
	ms.restart(nil, ms.mc, 0)
	return RemoveResult{Meter: a.Meter}, fmt.Sprintf("meter %s removed (its readings stay in the store)", a.Meter), nil
}

// RemoveResult is the result of remove-meter.
type RemoveResult struct {
	Meter meter.MeterID `json:"meter"`
	// RestartRequired: the meter is read by a service of its own (wM-Bus,
	// Modbus) and stops being read at the next start.
	RestartRequired bool `json:"restart_required,omitempty"`
}

type keyArgs struct {
	Meter meter.MeterID `json:"meter"`
	Key   []byte        `json:"key"` // AES-128: 16 bytes
}

func (c *CommandPath) importKey(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a keyArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	if err := a.Meter.Validate(); err != nil {
		return nil, "", command.Reject(command.ReasonBadArgs, "meter: %v", err)
	}
	if len(a.Key) != 16 {
		return nil, "", command.Reject(command.ReasonBadArgs, "key is %d bytes; a wM-Bus key (AES-128) is 16", len(a.Key))
	}
	if err := c.a.st.PutRecord(ctx, store.KindSecret, "wmbus/"+string(a.Meter), a.Key); err != nil {
		return nil, "", err
	}
	clear(a.Key)
	return nil, "key of meter " + string(a.Meter) + " imported", nil
}

type drArgs struct {
	Action string        `json:"action"` // start or cancel
	Event  *tariff.Event `json:"event,omitempty"`
	ID     string        `json:"id,omitempty"` // for cancel
}

func (c *CommandPath) demandResponse(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a drArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	switch a.Action {
	case "start":
		if a.Event == nil {
			return nil, "", command.Reject(command.ReasonBadArgs, "start: no event")
		}
		if err := c.a.tariff.StartEvent(ctx, *a.Event); err != nil {
			return nil, "", tariffErr(err)
		}
		return nil, "demand-response event " + a.Event.ID + " scheduled", nil
	case "cancel":
		if err := c.a.tariff.CancelEvent(ctx, a.ID, c.a.now()); err != nil {
			return nil, "", tariffErr(err)
		}
		return nil, "demand-response event " + a.ID + " cancelled", nil
	}
	return nil, "", command.Reject(command.ReasonBadArgs, "action %q: want start or cancel", a.Action)
}

// BreakerResult is the result of disconnect and reconnect.
type BreakerResult struct {
	Meter     meter.MeterID `json:"meter"`
	Connected bool          `json:"connected"`
}

func (c *CommandPath) breaker(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a meterArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if dc := c.a.dlmsMeter(a.Meter); dc != nil { // dlms.go
		return dlmsBreaker(ctx, dc, a.Meter, meter.CommandKind(cmd.Kind) == command.KindDisconnect)
	}
	if dc := c.runtimeDLMS(a.Meter); dc != nil { // commands_meters.go
		return dlmsBreaker(ctx, dc, a.Meter, meter.CommandKind(cmd.Kind) == command.KindDisconnect)
	}
	ms := c.byID[a.Meter]
	if ms == nil || ms.isRemoved() {
		return nil, "", c.noMeter(a.Meter, cmd.Kind)
	}
	m := ms.sim()
	var d any = m
	dc, ok := d.(Disconnector)
	if !ok {
		return nil, "", command.Reject(command.ReasonNotSupported, "not supported by this meter's driver (%s)", ms.mc.Driver)
	}
	var err error
	if meter.CommandKind(cmd.Kind) == command.KindDisconnect {
		err = dc.Disconnect(ctx)
	} else {
		err = dc.Reconnect(ctx)
	}
	if errors.Is(err, sim.ErrNoBreaker) {
		return nil, "", command.Reject(command.ReasonNotSupported, "not supported by this meter's driver (%s %s: no breaker)", ms.mc.Driver, ms.mc.Profile)
	}
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(m.Outages())
	if err == nil {
		err = c.a.st.PutRecord(ctx, meterRecordKind, outagesPrefix+string(a.Meter), b)
	}
	if err != nil {
		c.log.Error("breaker switched but its state is not stored", "meter", a.Meter, "err", err)
	}
	return BreakerResult{Meter: a.Meter, Connected: m.Connected()}, fmt.Sprintf("meter %s connected=%v", a.Meter, m.Connected()), nil
}

// closer is the modem's port as the App holds it.
type closer = io.Closer
