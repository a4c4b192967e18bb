package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Validate checks c as Load checks a file, for configurations built in
// code (Demo, tests). It returns nil or an *Error whose problems have no
// file and line 0.
func (c *Config) Validate() error {
	vps := c.problems()
	if len(vps) == 0 {
		return nil
	}
	ps := make([]Problem, len(vps))
	for i, p := range vps {
		ps[i] = p.Problem
	}
	return &Error{Problems: ps}
}

// problem is a validation Problem and the other keys whose values it
// depends on: Parse drops it when one of those could not be decoded, as
// the default kept in its place says nothing about the file.
type problem struct {
	Problem
	deps []string
}

// Ranges of the durations.
var (
	rangeDeferredFlush   = durRange{time.Second, time.Hour}
	rangeCompactEvery    = durRange{time.Minute, 24 * time.Hour}
	rangeLiveResolution  = durRange{time.Second, time.Hour}
	rangeProgressTimeout = durRange{10 * time.Second, time.Hour}
	rangeMeterInterval   = durRange{time.Second, 24 * time.Hour}
)

// minMaxSize is the smallest store.max_size other than 0.
const minMaxSize = MiB

type durRange struct{ min, max time.Duration }

// check returns "" or why d is outside r.
func (r durRange) check(d Duration) string {
	if t := d.Std(); t < r.min || t > r.max {
		return fmt.Sprintf("%s is out of range: must be %s…%s", d, Duration(r.min), Duration(r.max))
	}
	return ""
}

var (
	logLevels   = []string{"debug", "info", "warn", "error"}
	logFormats  = []string{"auto", "text", "json"}
	keyProvider = []string{KeyProviderDev, KeyProviderTPM}
	drivers     = []string{DriverSim, DriverWMBus, DriverModbus, DriverDLMS, DriverMBus}
	simProfiles = []string{ProfileElectricity, ProfileWater, ProfileHeat}
)

// maxSocketPath is the longest path a unix socket can have (sun_path less
// its terminating NUL on Linux).
const maxSocketPath = 107

// problems returns every problem of c, with keys but no file or line.
func (c *Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	// dep marks the last problem added as depending on keys.
	dep := func(keys ...string) { ps[len(ps)-1].deps = keys }
	check := func(key, why string) {
		if why != "" {
			add(key, "%s", why)
		}
	}

	g := c.Gateway
	check("gateway.id", checkName(g.ID))
	check("gateway.data_dir", checkDir(g.DataDir))
	check("gateway.runtime_dir", checkDir(g.RuntimeDir))
	if g.RuntimeDir != "" && filepath.IsAbs(g.RuntimeDir) && len(g.SocketPath()) > maxSocketPath {
		add("gateway.runtime_dir", "the control socket path %q is longer than a unix socket allows (%d bytes)", g.SocketPath(), maxSocketPath)
	}
	check("gateway.log_level", oneOf("log level", g.LogLevel, logLevels))
	check("gateway.log_format", oneOf("log format", g.LogFormat, logFormats))

	s := c.Security
	if why := oneOf("key provider", s.KeyProvider, keyProvider); why != "" {
		add("security.key_provider", "%s", why)
	} else if s.KeyProvider == KeyProviderDev && !s.AllowInsecure {
		add("security.key_provider", "the development key provider keeps keys in plaintext; set allow_insecure = true to run with it")
		dep("security.allow_insecure")
	}
	if s.DevKeyFile != "" && !filepath.IsAbs(s.DevKeyFile) {
		add("security.dev_key_file", "%q is not an absolute path", s.DevKeyFile)
	}
	check("security.tpm", checkTPM(s.TPM))
	pcrSeen := map[int]bool{}
	for i, n := range s.PCRs {
		key := fmt.Sprintf("security.pcrs[%d]", i)
		if n < 0 || n > 23 {
			add(key, "PCR %d is out of range: must be 0…23", n)
		} else if pcrSeen[n] {
			add(key, "PCR %d is listed twice", n)
		}
		pcrSeen[n] = true
	}

	st := c.Store
	if st.Retention < 0 {
		add("store.retention", "must not be negative")
	}
	if st.MaxSize < 0 || st.MaxSize > 0 && st.MaxSize < minMaxSize {
		add("store.max_size", "%s is too small: must be 0 (unbounded) or at least %s", st.MaxSize, minMaxSize)
	}
	check("store.deferred_flush", rangeDeferredFlush.check(st.DeferredFlush))
	check("store.compact_every", rangeCompactEvery.check(st.CompactEvery))
	if st.LiveResolution != 0 {
		check("store.live_resolution", rangeLiveResolution.check(st.LiveResolution))
	}
	seen := map[string]int{}
	for i, ch := range st.OutboxChannels {
		key := fmt.Sprintf("store.outbox_channels[%d]", i)
		if why := checkName(ch); why != "" {
			add(key, "channel %s", why)
		} else if j, dup := seen[ch]; dup {
			add(key, "channel %q is listed twice (also store.outbox_channels[%d])", ch, j)
		} else {
			seen[ch] = i
		}
	}

	if why := checkListen(c.Status); why != "" {
		add("status.listen", "%s", why)
		dep("status.allow_remote")
	}
	check("watchdog.progress_timeout", rangeProgressTimeout.check(c.Watchdog.ProgressTimeout))

	ids := map[string]int{}
	for i, m := range c.Meters {
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		switch {
		case m.ID == "":
			add(key("id"), "is required")
		case m.ID.Validate() != nil:
			add(key("id"), "%v", m.ID.Validate())
		default:
			if j, dup := ids[string(m.ID)]; dup {
				add(key("id"), "duplicate meter id %q (also meter[%d])", m.ID, j)
			} else {
				ids[string(m.ID)] = i
			}
		}
		switch {
		case m.Driver == "":
			add(key("driver"), "is required; known drivers: %s", strings.Join(drivers, ", "))
		case !contains(drivers, m.Driver):
			add(key("driver"), "unknown driver %q; known drivers: %s", m.Driver, strings.Join(drivers, ", "))
		case m.Driver == DriverSim:
			if m.Profile == "" {
				add(key("profile"), "is required for the sim driver: one of %s", strings.Join(simProfiles, ", "))
				dep(key("driver"))
			} else if why := oneOf("sim profile", m.Profile, simProfiles); why != "" {
				add(key("profile"), "%s", why)
				dep(key("driver"))
			}
		}
		check(key("interval"), rangeMeterInterval.check(m.Interval))
		if m.LiveInterval != 0 {
			switch {
			case m.LiveInterval < Duration(time.Second):
				add(key("live_interval"), "%s is out of range: must be 0 (none) or at least 1s", m.LiveInterval)
			case m.LiveInterval > m.Interval:
				add(key("live_interval"), "%s is longer than the interval %s", m.LiveInterval, m.Interval)
				dep(key("interval"))
			}
		}
	}
	ps = append(ps, c.wanProblems()...)
	ps = append(ps, c.mqttProblems()...)
	ps = append(ps, c.wmbusProblems()...)
	ps = append(ps, c.applianceProblems()...)
	ps = append(ps, c.modbusProblems()...)
	ps = append(ps, c.dlmsProblems()...)
	ps = append(ps, c.mbusProblems()...) // mbus.go
	ps = append(ps, c.hanProblems()...)
	ps = append(ps, c.hanExtraProblems()...) // hanextra.go
	ps = append(ps, c.zigbeeProblems()...)   // zigbee.go
	return ps
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// oneOf returns "" or why s is not in the list.
func oneOf(what, s string, list []string) string {
	if contains(list, s) {
		return ""
	}
	return fmt.Sprintf("unknown %s %q; known: %s", what, s, strings.Join(list, ", "))
}

// checkName returns "" or why s is not 1…64 bytes of [A-Za-z0-9._-].
func checkName(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > 64 {
		return fmt.Sprintf("%q is longer than 64 bytes", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Sprintf("%q: byte %d (%q) is not a letter, digit or . _ -", s, i, c)
		}
	}
	return ""
}

// checkDir returns "" or why p is not a usable directory path.
func checkDir(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case strings.IndexByte(p, 0) >= 0:
		return "contains a NUL byte"
	case !filepath.IsAbs(p):
		return fmt.Sprintf("%q is not an absolute path", p)
	}
	return ""
}

// checkListen returns "" or why s.Listen is not acceptable.
func checkListen(s Status) string {
	if s.Listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (e.g. \"127.0.0.1:8080\"; \"\" disables the page)", s.Listen)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Sprintf("%q: port %q is not a number 1…65535", s.Listen, port)
	}
	if !s.AllowRemote && !isLoopback(host) {
		if host == "" {
			host = "all interfaces"
		}
		return fmt.Sprintf("%q listens on %s, which is not a loopback address; the status page has no authentication: set status.allow_remote = true to serve it beyond this host", s.Listen, host)
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkTPM returns "" or why name cannot name a TPM (security.tpm).
func checkTPM(name string) string {
	switch {
	case name == "simulator", strings.HasPrefix(name, "/"):
		return ""
	case strings.HasPrefix(name, "swtpm://"):
		host, port, err := net.SplitHostPort(strings.TrimPrefix(name, "swtpm://"))
		if err != nil || host == "" || port == "" {
			return fmt.Sprintf("%q: want swtpm://HOST:PORT", name)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return fmt.Sprintf("%q: port %q is not a number 0…65535", name, port)
		}
		return ""
	}
	return fmt.Sprintf("%q: want a device path such as /dev/tpmrm0, swtpm://HOST:PORT or \"simulator\"", name)
}
