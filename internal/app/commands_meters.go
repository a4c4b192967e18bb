package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/wan/command"
)

// add-meter and remove-meter for every driver (docs/commands.md). A meter
// is checked as the configuration file's [[meter]] table would be, against
// the meters the gateway runs (config.CheckMeter), stored as a runtime
// override (meter/override/<id>, applied at every start), and started:
//
//   - sim: a meter service of its own (commands.go);
//   - dlms, modbus on a line no configured meter uses: a line service of
//     its own built by the same start functions as configured lines
//     (newDLMS, newModbus), rebuilt when a command adds or removes another
//     meter of that line, stopped when its last meter is removed;
//   - dlms, modbus on a line of configured meters, and wmbus: read from
//     the next start (restart_required), when the line's service or the
//     wM-Bus service is built with it. Those services open their device
//     once and build their meter table (and, for wM-Bus, the replay state
//     shared by every meter) at start: a second service on the same
//     device would contend with the first.
//
// Keys given with the command (a wM-Bus meter's key, a DLMS meter's
// password, authentication and encryption keys) go into the key store
// as sealed secrets, never into the override record or a log.

// addArgs are the arguments of add-meter: a [[meter]] table's keys.
type addArgs struct {
	Meter        meter.MeterID `json:"meter"`
	Driver       string        `json:"driver"`
	Profile      string        `json:"profile,omitempty"`
	Interval     string        `json:"interval,omitempty"`      // default 15m
	LiveInterval string        `json:"live_interval,omitempty"` // default 0
	// wmbus
	Manufacturer string `json:"manufacturer,omitempty"`
	Address      string `json:"address,omitempty"`
	Medium       string `json:"medium,omitempty"`
	Key          []byte `json:"key,omitempty"` // AES-128, into the key store
	// modbus and dlms
	Port   string `json:"port,omitempty"`
	TCP    string `json:"tcp,omitempty"`
	Baud   int    `json:"baud,omitempty"`
	Parity string `json:"parity,omitempty"`
	Unit   int    `json:"unit,omitempty"`
	// dlms
	ClientSAP      int      `json:"client_sap,omitempty"`
	ServerLogical  int      `json:"server_logical,omitempty"`
	ServerPhysical int      `json:"server_physical,omitempty"`
	Wrapper        bool     `json:"wrapper,omitempty"`
	Auth           string   `json:"auth,omitempty"`
	Password       []byte   `json:"password,omitempty"` // into the key store
	AK             []byte   `json:"ak,omitempty"`       // into the key store
	EK             []byte   `json:"ek,omitempty"`       // into the key store
	SystemTitle    string   `json:"system_title,omitempty"`
	Objects        string   `json:"objects,omitempty"`
	Registers      []string `json:"registers,omitempty"`
	LoadProfile    string   `json:"load_profile,omitempty"`
	ClockLimit     string   `json:"clock_limit,omitempty"`
	ClockMode      string   `json:"clock_mode,omitempty"`
	TimeoutMS      int      `json:"timeout_ms,omitempty"`
}

// AddResult is the result of add-meter.
type AddResult struct {
	Meter  meter.MeterID `json:"meter"`
	Driver string        `json:"driver"`
	// RestartRequired: the meter is stored and read from the next start
	// (a wM-Bus meter, or a line of configured meters).
	RestartRequired bool `json:"restart_required,omitempty"`
}

// runtimeLine is a dlms or modbus line started by the command path for
// meters added by command.
type runtimeLine struct {
	driver string
	key    string // the line: a cleaned port path or "tcp:host:port"
	meters []config.Meter
	cancel context.CancelFunc
	done   chan struct{}
	dlms   *dlmsService // the running service, for disconnect/reconnect
}

// lineOf names the line of a dlms or modbus meter.
func lineOf(mc config.Meter) string {
	if mc.Port != "" {
		return filepath.Clean(mc.Port)
	}
	return "tcp:" + mc.TCP
}

// meterFromArgs maps add-meter's arguments onto a [[meter]] table.
func meterFromArgs(a *addArgs) (config.Meter, error) {
	mc := config.DefaultMeter()
	mc.ID, mc.Driver, mc.Profile = a.Meter, a.Driver, a.Profile
	var err error
	if a.Interval != "" {
		if mc.Interval, err = config.ParseDuration(a.Interval); err != nil {
			return mc, command.Reject(command.ReasonBadArgs, "interval: %v", err)
		}
	}
	if a.LiveInterval != "" {
		if mc.LiveInterval, err = config.ParseDuration(a.LiveInterval); err != nil {
			return mc, command.Reject(command.ReasonBadArgs, "live_interval: %v", err)
		}
	}
	if a.ClockLimit != "" {
		if mc.ClockLimit, err = config.ParseDuration(a.ClockLimit); err != nil {
			return mc, command.Reject(command.ReasonBadArgs, "clock_limit: %v", err)
		}
	}
	mc.Manufacturer, mc.Address, mc.Medium = a.Manufacturer, a.Address, a.Medium
	mc.Port, mc.TCP, mc.Baud, mc.Parity, mc.Unit = a.Port, a.TCP, a.Baud, a.Parity, a.Unit
	mc.ClientSAP, mc.ServerLogical, mc.ServerPhysical, mc.Wrapper = a.ClientSAP, a.ServerLogical, a.ServerPhysical, a.Wrapper
	mc.Auth, mc.SystemTitle, mc.Objects, mc.Registers = a.Auth, a.SystemTitle, a.Objects, a.Registers
	mc.LoadProfile, mc.ClockMode, mc.TimeoutMS = a.LoadProfile, a.ClockMode, a.TimeoutMS
	// Keys that only some drivers take.
	only := func(field string, set bool, drivers ...string) error {
		if set && !slices.Contains(drivers, mc.Driver) {
			return command.Reject(command.ReasonBadArgs, "%s: not a key of driver %q", field, mc.Driver)
		}
		return nil
	}
	for _, c := range []struct {
		f   string
		set bool
		d   []string
	}{
		{"key", a.Key != nil, []string{config.DriverWMBus}},
		{"password", a.Password != nil, []string{config.DriverDLMS}},
		{"ak", a.AK != nil, []string{config.DriverDLMS}},
		{"ek", a.EK != nil, []string{config.DriverDLMS}},
	} {
		if err := only(c.f, c.set, c.d...); err != nil {
			return mc, err
		}
	}
	switch {
	case a.Key != nil && len(a.Key) != 16:
		return mc, command.Reject(command.ReasonBadArgs, "key: %d bytes; a wM-Bus key (AES-128) is 16", len(a.Key))
	case a.AK != nil && len(a.AK) != 16:
		return mc, command.Reject(command.ReasonBadArgs, "ak: %d bytes; want 16 (AES-128)", len(a.AK))
	case a.EK != nil && len(a.EK) != 16:
		return mc, command.Reject(command.ReasonBadArgs, "ek: %d bytes; want 16 (AES-128)", len(a.EK))
	case a.Password != nil && (len(a.Password) == 0 || len(a.Password) > 64):
		return mc, command.Reject(command.ReasonBadArgs, "password: 1…64 bytes")
	}
	return mc, nil
}

// checkMeter validates mc as the configuration file would, against the
// meters the gateway runs; the rejection names each field.
func (c *CommandPath) checkMeter(mc config.Meter) error {
	ps := c.a.cfg.CheckMeter(c.allMeters(), mc)
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Key + ": " + p.Msg
		if p.Key == "" {
			msgs[i] = p.Msg
		}
	}
	return command.Reject(command.ReasonBadArgs, "%s", strings.Join(msgs, "; "))
}

// allMeters are the meters the gateway runs or will run after a restart:
// the configured ones with the overrides of the start, less those removed
// since, plus those added since. Called with c.mu held.
func (c *CommandPath) allMeters() []config.Meter {
	var out []config.Meter
	for _, m := range c.effective {
		if !c.gone[m.ID] && m.Enabled {
			out = append(out, m)
		}
	}
	for _, ms := range c.runtime {
		if !ms.isRemoved() {
			out = append(out, ms.mc)
		}
	}
	for _, l := range c.lines {
		out = append(out, l.meters...)
	}
	return append(out, c.deferred...)
}

// driverOf returns the driver of a meter the command path knows, "" if
// none: configured (and not removed), added by command.
func (c *CommandPath) driverOf(id meter.MeterID) string {
	for _, m := range c.allMeters() {
		if m.ID == id {
			return m.Driver
		}
	}
	return ""
}

// putSecrets stores the keys given with add-meter; it returns the names
// stored.
func (c *CommandPath) putSecrets(ctx context.Context, a *addArgs) ([]string, error) {
	var names []string
	for _, s := range []struct {
		name string
		v    []byte
	}{
		{"wmbus/" + string(a.Meter), a.Key},
		{"dlms/" + string(a.Meter) + "/password", a.Password},
		{"dlms/" + string(a.Meter) + "/auth", a.AK},
		{"dlms/" + string(a.Meter) + "/enc", a.EK},
	} {
		if s.v == nil {
			continue
		}
		if err := c.a.st.PutRecord(ctx, store.KindSecret, s.name, s.v); err != nil {
			return names, err
		}
		names = append(names, s.name)
	}
	return names, nil
}

func (c *CommandPath) addMeter(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a addArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	defer func() { clear(a.Key); clear(a.AK); clear(a.EK); clear(a.Password) }()
	mc, err := meterFromArgs(&a)
	if err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := a.Meter.Validate(); err == nil && c.driverOf(a.Meter) != "" {
		return nil, "", command.Reject(command.ReasonBadArgs, "meter: %s exists already", mc.ID)
	}
	if err := c.checkMeter(mc); err != nil {
		return nil, "", err
	}
	res := AddResult{Meter: mc.ID, Driver: mc.Driver}
	switch mc.Driver {
	case config.DriverSim:
		if err := c.addSim(ctx, mc); err != nil {
			return nil, "", err
		}
		return res, fmt.Sprintf("meter %s (%s %s) added", mc.ID, mc.Driver, mc.Profile), nil
	case config.DriverDLMS, config.DriverModbus, config.DriverWMBus:
	default:
		return nil, "", command.Reject(command.ReasonNotSupported, "add-meter: driver %s: meters of this driver are added in the configuration file", mc.Driver)
	}
	stored, err := c.putSecrets(ctx, &a)
	if err != nil {
		return nil, "", err
	}
	undo := func() {
		for _, n := range stored {
			c.a.st.DeleteRecord(context.WithoutCancel(ctx), store.KindSecret, n)
		}
	}
	line := ""
	if mc.Driver != config.DriverWMBus {
		line = lineOf(mc)
	}
	deferred := mc.Driver == config.DriverWMBus || c.configuredLine(mc.Driver, line)
	var rl *runtimeLine
	if !deferred {
		// Built first: a meter its driver refuses (a profile file that
		// does not parse, a DLMS key not in the key store) is refused
		// before anything is stored.
		rl = c.lines[mc.Driver+" "+line]
		var meters []config.Meter
		if rl != nil {
			meters = rl.meters
		}
		meters = append(slices.Clone(meters), mc)
		if _, err := c.buildLine(mc.Driver, meters); err != nil {
			undo()
			return nil, "", command.Reject(command.ReasonBadArgs, "%v", err)
		}
	}
	if err := c.putOverride(ctx, mc.ID, func(o *meterOverride) { *o = meterOverride{ID: mc.ID, Added: &mc} }); err != nil {
		undo()
		return nil, "", err
	}
	delete(c.gone, mc.ID)
	summary := fmt.Sprintf("meter %s (%s) added", mc.ID, mc.Driver)
	if len(stored) > 0 {
		summary += fmt.Sprintf(", %d keys into the key store", len(stored))
	}
	if deferred {
		c.deferred = append(c.deferred, mc)
		res.RestartRequired = true
		return res, summary + "; read from the next start", nil
	}
	if rl == nil {
		rl = &runtimeLine{driver: mc.Driver, key: line}
		c.lines[mc.Driver+" "+line] = rl
	}
	rl.meters = append(rl.meters, mc)
	c.restartLine(rl)
	return res, summary + " and started", nil
}

// configuredLine reports whether a service of the configuration (with
// the overrides of the start) serves the line.
func (c *CommandPath) configuredLine(driver, line string) bool {
	for _, m := range c.effective {
		if m.Enabled && m.Driver == driver && lineOf(m) == line {
			return true
		}
	}
	for _, m := range c.deferred {
		if m.Driver == driver && lineOf(m) == line {
			return true
		}
	}
	return false
}

// buildLine builds the service of a runtime line with the start
// functions of configured lines.
func (c *CommandPath) buildLine(driver string, meters []config.Meter) (func(context.Context) error, error) {
	a := c.a
	switch driver {
	case config.DriverDLMS:
		ss, err := newDLMS(a.cfg, meters, a.ingest, a.st, a.now, a.log)
		if err != nil {
			return nil, err
		}
		if len(ss) != 1 {
			return nil, fmt.Errorf("%d lines, want 1", len(ss))
		}
		return ss[0].Run, nil
	case config.DriverModbus:
		ss, err := newModbus(a.cfg, meters, a.ingest, a.now, a.log)
		if err != nil {
			return nil, err
		}
		if len(ss) != 1 {
			return nil, fmt.Errorf("%d lines, want 1", len(ss))
		}
		return ss[0].Run, nil
	}
	return nil, fmt.Errorf("driver %s has no line service", driver)
}

// restartLine stops rl's running service, if any, and starts it with its
// meters now (or, before the command path's runner started, when it
// starts). Called with c.mu held.
func (c *CommandPath) restartLine(rl *runtimeLine) {
	if rl.cancel != nil {
		rl.cancel()
		<-rl.done
		rl.cancel, rl.done, rl.dlms = nil, nil, nil
	}
	if len(rl.meters) == 0 {
		delete(c.lines, rl.driver+" "+rl.key)
		return
	}
	if c.runCtx == nil {
		return // runRuntimeMeters starts it
	}
	c.startLine(rl)
}

// startLine runs rl's service until it is stopped. Called with c.mu held
// and c.runCtx set.
func (c *CommandPath) startLine(rl *runtimeLine) {
	a := c.a
	var run func(context.Context) error
	var err error
	if rl.driver == config.DriverDLMS {
		var ss []*dlmsService
		if ss, err = newDLMS(a.cfg, rl.meters, a.ingest, a.st, a.now, a.log); err == nil && len(ss) == 1 {
			rl.dlms, run = ss[0], ss[0].Run
		}
	} else {
		run, err = c.buildLine(rl.driver, rl.meters)
	}
	if err != nil || run == nil {
		c.log.Error("a line of meters added by command cannot start", "line", rl.key, "driver", rl.driver, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(c.runCtx)
	done := make(chan struct{})
	rl.cancel, rl.done = cancel, done
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("a line of meters added by command failed", "line", rl.key, "driver", rl.driver, "err", err)
		}
	}()
}

// startLines starts the runtime lines once the runner runs, and stops
// them when ctx ends (the returned function waits for them).
func (c *CommandPath) startLines(ctx context.Context) (stop func()) {
	c.mu.Lock()
	c.runCtx = ctx
	for _, rl := range c.lines {
		c.startLine(rl)
	}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, rl := range c.lines {
			if rl.cancel != nil {
				rl.cancel()
				<-rl.done
				rl.cancel, rl.done = nil, nil
			}
		}
	}
}

// removeRuntime removes a meter added by command to a runtime line or
// deferred to the next start. Called with c.mu held; ok is false if id is
// neither.
func (c *CommandPath) removeRuntime(ctx context.Context, id meter.MeterID) (RemoveResult, string, bool, error) {
	if i := slices.IndexFunc(c.deferred, func(m config.Meter) bool { return m.ID == id }); i >= 0 {
		if err := c.putOverride(ctx, id, func(o *meterOverride) { *o = meterOverride{ID: id, Removed: true} }); err != nil {
			return RemoveResult{}, "", true, err
		}
		c.deferred = slices.Delete(c.deferred, i, i+1)
		return RemoveResult{Meter: id}, fmt.Sprintf("meter %s removed before it started", id), true, nil
	}
	for _, rl := range c.lines {
		i := slices.IndexFunc(rl.meters, func(m config.Meter) bool { return m.ID == id })
		if i < 0 {
			continue
		}
		if err := c.putOverride(ctx, id, func(o *meterOverride) { *o = meterOverride{ID: id, Removed: true} }); err != nil {
			return RemoveResult{}, "", true, err
		}
		rl.meters = slices.Delete(slices.Clone(rl.meters), i, i+1)
		c.restartLine(rl)
		return RemoveResult{Meter: id}, fmt.Sprintf("meter %s (%s) removed and stopped (its readings stay in the store)", id, rl.driver), true, nil
	}
	return RemoveResult{}, "", false, nil
}

// runtimeDLMS returns the driver of a dlms meter on a runtime line.
// Called with c.mu held.
func (c *CommandPath) runtimeDLMS(id meter.MeterID) Disconnector {
	for _, rl := range c.lines {
		if rl.dlms == nil {
			continue
		}
		if l := rl.dlms.cur.Load(); l != nil {
			if m := l.Meter(id); m != nil {
				return m
			}
		}
	}
	return nil
}
