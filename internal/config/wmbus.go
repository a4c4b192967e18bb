package config

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// WMBus is the [wmbus] table: the wireless M-Bus receiver that the
// [[meter]] tables with driver "wmbus" are heard through
// (docs/wmbus-receivers.md).
type WMBus struct {
	// Kind (kind) is the receiver: "im871a" (IMST iM871A/iM170A),
	// "amb8465" (Amber AMB8465 or AMB8665), "lines" (hex telegrams, one a
	// line, from File: rtl-wmbus output or plain hex), "sim" (the demo:
	// every wmbus meter is simulated and sends encrypted telegrams through
	// the line reader) or "" for none. Default "".
	Kind string `toml:"kind"`
	// Device (device) is the dongle's serial device, an absolute path;
	// required for im871a and amb8465. Default "".
	Device string `toml:"device"`
	// LinkMode (link_mode) is what the dongle listens to: S1, T1, C1 or
	// C1/T1 (both; iM871A firmware 0x14 or later). Default "C1/T1".
	LinkMode string `toml:"link_mode"`
	// File (file) is where "lines" reads: a file, a FIFO (kept open while
	// writers come and go) or "-" for stdin. Required for lines.
	// Default "".
	File string `toml:"file"`
	// MaxClockSkew (max_clock_skew): a telegram whose meter clock is
	// further than this from the gateway's is rejected as a replay
	// (CVE-2021-34572); 0 disables the check, otherwise 1m…7d.
	// Default "1h".
	MaxClockSkew Duration `toml:"max_clock_skew"`
	// DupWindow (dup_window): a telegram with the same access number and
	// payload as one within this window is a repeat and dropped; 1s…1h.
	// Default "2m".
	DupWindow Duration `toml:"dup_window"`
}

// wM-Bus receiver kinds and the meter driver.
const (
	DriverWMBus = "wmbus"

	WMBusIM871A  = "im871a"
	WMBusAMB8465 = "amb8465"
	WMBusLines   = "lines"
	WMBusSim     = "sim"
)

var (
	wmbusKinds     = []string{WMBusIM871A, WMBusAMB8465, WMBusLines, WMBusSim}
	wmbusLinkModes = []string{"S1", "T1", "C1", "C1/T1"}
	wmbusMedia     = []string{"electricity", "gas", "heat", "cooling", "water", "cold water", "warm water", "hot water", "heat cost allocator"}

	rangeClockSkew = durRange{time.Minute, 7 * 24 * time.Hour}
	rangeDupWindow = durRange{time.Second, time.Hour}
)

func defaultWMBus() WMBus {
	return WMBus{LinkMode: "C1/T1", MaxClockSkew: Duration(time.Hour), DupWindow: Duration(2 * time.Minute)}
}

// WMBusAddress returns a wmbus meter's identification number: Address,
// or the id when Address is empty.
func (m Meter) WMBusAddress() string {
	if m.Address != "" {
		return m.Address
	}
	return string(m.ID)
}

// WMBusKey returns the meter's key from the configuration (nil if none).
// Validation has checked it.
func (m Meter) WMBusKey() []byte {
	if m.Key == "" {
		return nil
	}
	k, _ := hex.DecodeString(m.Key)
	return k
}

// wmbusProblems returns the problems of [wmbus] and of the wmbus meters.
func (c *Config) wmbusProblems() []problem {
	var ps []problem
	add := func(key string, deps []string, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}, deps: deps})
	}
	w := c.WMBus
	if w.Kind != "" && !contains(wmbusKinds, w.Kind) {
		add("wmbus.kind", nil, "unknown receiver %q; known: %s (or \"\" for none)", w.Kind, strings.Join(wmbusKinds, ", "))
	}
	switch w.Kind {
	case WMBusIM871A, WMBusAMB8465:
		if w.Device == "" {
			add("wmbus.device", []string{"wmbus.kind"}, "is required for the %s receiver (e.g. \"/dev/ttyUSB0\")", w.Kind)
		} else if why := checkDir(w.Device); why != "" {
			add("wmbus.device", nil, "%s", why)
		}
	case WMBusLines:
		if w.File == "" {
			add("wmbus.file", []string{"wmbus.kind"}, "is required for the lines receiver (a file, a FIFO, or \"-\" for stdin)")
		} else if w.File != "-" && !filepath.IsAbs(w.File) {
			add("wmbus.file", nil, "%q is not an absolute path (or \"-\" for stdin)", w.File)
		}
	}
	lm := strings.ToUpper(strings.ReplaceAll(w.LinkMode, "T1/C1", "C1/T1"))
	if !contains(wmbusLinkModes, lm) {
		add("wmbus.link_mode", nil, "unknown link mode %q; known: %s", w.LinkMode, strings.Join(wmbusLinkModes, ", "))
	}
	if w.MaxClockSkew != 0 {
		if why := rangeClockSkew.check(w.MaxClockSkew); why != "" {
			add("wmbus.max_clock_skew", nil, "%s (or 0 to disable the check)", why)
		}
	}
	if why := rangeDupWindow.check(w.DupWindow); why != "" {
		add("wmbus.dup_window", nil, "%s", why)
	}

	addrs := map[string]int{}
	for i, m := range c.Meters {
		if m.Driver != DriverWMBus {
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		if w.Kind == "" {
			add(key("driver"), []string{"wmbus.kind"}, "a wmbus meter needs a receiver: set [wmbus] kind")
		}
		man := strings.ToUpper(m.Manufacturer)
		okMan := len(man) == 3
		for j := 0; j < len(man); j++ {
			okMan = okMan && man[j] >= 'A' && man[j] <= 'Z'
		}
		if !okMan {
			if m.Manufacturer == "" {
				add(key("manufacturer"), []string{key("driver")}, "is required for a wmbus meter: the three-letter code (e.g. \"KAM\")")
			} else {
				add(key("manufacturer"), nil, "%q is not a three-letter manufacturer code", m.Manufacturer)
			}
		}
		addr := m.WMBusAddress()
		okAddr := len(addr) == 8
		for j := 0; j < len(addr); j++ {
			c := addr[j]
			okAddr = okAddr && ('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f')
		}
		switch {
		case !okAddr && m.Address == "":
			add(key("address"), []string{key("id"), key("driver")}, "is required for a wmbus meter whose id is not its 8-digit identification number")
		case !okAddr:
			add(key("address"), nil, "%q is not an 8-digit identification number", m.Address)
		case okMan:
			k := man + "-" + strings.ToUpper(addr)
			if j, dup := addrs[k]; dup {
				add(key("address"), nil, "meter %s is also meter[%d]", k, j)
			} else {
				addrs[k] = i
			}
		}
		if m.Key != "" {
			if b, err := hex.DecodeString(m.Key); err != nil || len(b) != 16 {
				add(key("key"), nil, "must be 32 hex digits (an AES-128 key)")
			}
		}
		if m.Medium != "" && !contains(wmbusMedia, strings.ToLower(m.Medium)) {
			add(key("medium"), nil, "unknown medium %q; known: %s", m.Medium, strings.Join(wmbusMedia, ", "))
		}
	}
	return ps
}

// AddDemoWMBus adds to c (the demo's configuration, Demo) two simulated
// wireless M-Bus meters, wmbus-water-1 and wmbus-heat-1, with [wmbus]
// kind "sim": they send mode-5 encrypted telegrams every 30 s through the
// line reader into the real decode path, with these (demo) keys in the
// configuration. `smgw demo` runs with them.
func (c *Config) AddDemoWMBus() {
	c.WMBus.Kind = WMBusSim
	wm := func(id meter.MeterID, address, medium, key string) Meter {
		m := DefaultMeter()
		m.ID, m.Driver, m.Manufacturer, m.Address, m.Medium, m.Key = id, DriverWMBus, "SMG", address, medium, key
		m.Interval = Duration(30 * time.Second)
		return m
	}
	c.Meters = append(c.Meters,
		wm("wmbus-water-1", "10000001", "water", "5cfdc0a4b9d1f4b3a2e6f0c7d8e9a1b2"),
		wm("wmbus-heat-1", "10000002", "heat", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
	)
}
