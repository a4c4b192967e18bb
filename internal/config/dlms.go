package config

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/meter"
	dlmsprofiles "github.com/smgw/smgw/profiles/meters/dlms"
)

// DriverDLMS reads DLMS/COSEM meters over HDLC (RS-485) or TCP.
const DriverDLMS = "dlms"

// DLMS defaults.
const (
	DefaultDLMSObjects     = "generic-iec"
	DefaultDLMSLoadProfile = "1.0.99.1.0.255"
	DefaultDLMSSystemTitle = "534D475700000001"
)

// DLMSObjectLists lists the built-in object lists.
func DLMSObjectLists() []string {
	ents, _ := dlmsprofiles.FS.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".objects"); ok {
			out = append(out, n)
		}
	}
	return out
}

// DLMSLine is one line of dlms meters.
type DLMSLine struct {
	Port, TCP string
	Baud      int
	Meters    []Meter
}

// Name returns the port or tcp address.
func (l DLMSLine) Name() string {
	if l.Port != "" {
		return l.Port
	}
	return l.TCP
}

// DLMSLines groups the dlms meters by line (port or tcp), 9600 baud
// unless a meter says otherwise.
func (c *Config) DLMSLines() []DLMSLine {
	var lines []DLMSLine
	idx := map[string]int{}
	for _, m := range c.Meters {
		if m.Driver != DriverDLMS {
			continue
		}
		k := lineKey(m.Port, m.TCP)
		i, ok := idx[k]
		if !ok {
			i = len(lines)
			idx[k] = i
			lines = append(lines, DLMSLine{Port: m.Port, TCP: m.TCP})
		}
		if lines[i].Baud == 0 {
			lines[i].Baud = m.Baud
		}
		lines[i].Meters = append(lines[i].Meters, m)
	}
	for i := range lines {
		if lines[i].Baud == 0 {
			lines[i].Baud = 9600
		}
	}
	return lines
}

// DLMSRegisters returns a dlms meter's register OBIS codes (the default
// when none are configured); call it on a validated configuration.
func (m Meter) DLMSRegisters() []meter.OBIS {
	if len(m.Registers) == 0 {
		return []meter.OBIS{meter.MustOBIS("1.0.1.8.0.255"), meter.MustOBIS("1.0.2.8.0.255")}
	}
	var out []meter.OBIS
	for _, s := range m.Registers {
		if o, err := meter.ParseOBIS(s); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// DLMSLoadProfile returns the load profile's OBIS code, ok false for none.
func (m Meter) DLMSLoadProfile() (meter.OBIS, bool) {
	s := m.LoadProfile
	switch s {
	case "none":
		return meter.OBIS{}, false
	case "":
		s = DefaultDLMSLoadProfile
	}
	o, err := meter.ParseOBIS(s)
	return o, err == nil
}

func (c *Config) dlmsProblems() []problem {
	var ps []problem
	add := func(key string, deps []string, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}, deps: deps})
	}
	type addr struct {
		line              string
		logical, physical int
	}
	seen := map[addr]int{}
	bauds := map[string]int{}
	for i, m := range c.Meters {
		if m.Driver != DriverDLMS {
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		switch {
		case m.Port == "" && m.TCP == "":
			add(key("port"), []string{key("driver")}, "is required for a dlms meter: the serial device (e.g. \"/dev/ttyUSB0\"), or set tcp = \"host:port\"")
		case m.Port != "" && m.TCP != "":
			add(key("tcp"), nil, "set either port or tcp, not both")
		case m.Port != "":
			if why := checkDir(m.Port); why != "" {
				add(key("port"), nil, "%s", why)
			}
		default:
			if why := checkTCPAddr(m.TCP); why != "" {
				add(key("tcp"), nil, "%s", why)
			}
		}
		if m.Baud != 0 && !slices.Contains(serial.Bauds(), m.Baud) {
			add(key("baud"), nil, "%d is not a standard baud rate (custom rates are not supported)", m.Baud)
		}
		lk := lineKey(m.Port, m.TCP)
		if m.Baud != 0 {
			if j, ok := bauds[lk]; ok && c.Meters[j].Baud != m.Baud {
				add(key("baud"), nil, "%d differs from %d of meter[%d] on the same line (one line has one speed)", m.Baud, c.Meters[j].Baud, j)
			} else if !ok {
				bauds[lk] = i
			}
		}
		if m.Wrapper && m.TCP == "" {
			add(key("wrapper"), nil, "the wrapper (IEC 62056-47) is a TCP transport; this meter has no tcp")
		}
		if m.Parity != "" {
			add(key("parity"), []string{key("driver")}, "applies to driver \"modbus\" only (DLMS HDLC lines are 8N1)")
		}
		if m.Unit != 0 {
			add(key("unit"), []string{key("driver")}, "applies to driver \"modbus\" only")
		}
		if m.ClientSAP < 0 || m.ClientSAP > 127 {
			add(key("client_sap"), nil, "%d is out of range: must be 1…127 (16 public client, 1 management)", m.ClientSAP)
		}
		if m.ServerLogical < 0 || m.ServerLogical > 0x3FFF {
			add(key("server_logical"), nil, "%d is out of range: must be 1…16383", m.ServerLogical)
		}
		if m.ServerPhysical < -1 || m.ServerPhysical > 0x3FFF {
			add(key("server_physical"), nil, "%d is out of range: must be 1…16383 (or -1 for none)", m.ServerPhysical)
		}
		a := addr{lk, m.ServerLogical, m.ServerPhysical}
		if j, dup := seen[a]; dup && m.Enabled && c.Meters[j].Enabled {
			add(key("server_physical"), nil, "server address %d/%d on %s is also meter[%d]", m.ServerLogical, m.ServerPhysical, strings.TrimPrefix(lk, "tcp:"), j)
		} else if !dup {
			seen[a] = i
		}
		switch m.Auth {
		case "", "none":
		case "low":
		case "high":
			for _, k := range []struct{ name, v string }{{"ak", m.AK}, {"ek", m.EK}} {
				if k.v == "" {
					continue
				}
				if b, err := hex.DecodeString(k.v); err != nil || len(b) != 16 {
					add(key(k.name), nil, "must be 32 hex digits (an AES-128 key)")
				}
			}
			if m.SystemTitle != "" {
				if b, err := hex.DecodeString(m.SystemTitle); err != nil || len(b) != 8 {
					add(key("system_title"), nil, "must be 16 hex digits (8 bytes)")
				}
			}
		default:
			add(key("auth"), nil, "unknown authentication %q; known: none, low, high", m.Auth)
		}
		if m.Password != "" && m.Auth != "low" {
			add(key("password"), []string{key("auth")}, "applies to auth = \"low\" only")
		}
		if (m.AK != "" || m.EK != "") && m.Auth != "high" {
			add(key("ak"), []string{key("auth")}, "ak and ek apply to auth = \"high\" only")
		}
		if m.Objects != "" && !contains(DLMSObjectLists(), m.Objects) {
			add(key("objects"), nil, "unknown object list %q; known: %s", m.Objects, strings.Join(DLMSObjectLists(), ", "))
		}
		for j, r := range m.Registers {
			if _, err := meter.ParseOBIS(r); err != nil {
				add(key("registers"), nil, "registers[%d]: %v", j, err)
			}
		}
		if m.LoadProfile != "" && m.LoadProfile != "none" {
			if o, err := meter.ParseOBIS(m.LoadProfile); err != nil {
				add(key("load_profile"), nil, "%v (or \"none\")", err)
			} else if o[2] != 99 {
				add(key("load_profile"), nil, "%s is not a profile (OBIS C = 99, e.g. 1.0.99.1.0.255)", m.LoadProfile)
			}
		}
		if m.ClockLimit != 0 && (m.ClockLimit < Duration(time.Second) || m.ClockLimit > Duration(time.Hour)) {
			add(key("clock_limit"), nil, "%s is out of range: must be 1s…1h", m.ClockLimit)
		}
		if m.ClockMode != "" && !contains([]string{"set", "shift", "off"}, m.ClockMode) {
			add(key("clock_mode"), nil, "unknown clock mode %q; known: set, shift, off", m.ClockMode)
		}
		if m.MaxInfo != 0 && (m.MaxInfo < 32 || m.MaxInfo > 2030) {
			add(key("max_info"), nil, "%d is out of range: must be 32…2030 (bytes)", m.MaxInfo)
		}
		if m.Window != 0 && (m.Window < 1 || m.Window > 7) {
			add(key("window"), nil, "%d is out of range: must be 1…7", m.Window)
		}
		if m.TimeoutMS != 0 && (m.TimeoutMS < 50 || m.TimeoutMS > 10000) {
			add(key("timeout_ms"), nil, "%d is out of range: must be 50…10000 (milliseconds)", m.TimeoutMS)
		}
	}
	for i, m := range c.Meters {
		if m.Driver == DriverDLMS {
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		d := m
		for _, f := range []struct {
			k   string
			set bool
		}{{"client_sap", d.ClientSAP != 0}, {"server_logical", d.ServerLogical != 0}, {"server_physical", d.ServerPhysical != 0},
			{"wrapper", d.Wrapper}, {"auth", d.Auth != ""}, {"password", d.Password != ""}, {"ak", d.AK != ""}, {"ek", d.EK != ""},
			{"system_title", d.SystemTitle != ""}, {"objects", d.Objects != ""}, {"registers", len(d.Registers) > 0},
			{"load_profile", d.LoadProfile != ""}, {"clock_limit", d.ClockLimit != 0}, {"clock_mode", d.ClockMode != ""},
			{"max_info", d.MaxInfo != 0}, {"window", d.Window != 0}, {"timeout_ms", d.TimeoutMS != 0}} {
			if f.set {
				add(key(f.k), []string{key("driver")}, "applies to driver \"dlms\" only")
			}
		}
	}
	return ps
}
