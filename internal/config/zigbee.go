package config

import (
	"fmt"
	"path/filepath"
)

// Zigbee is the [zigbee] table: the Zigbee Smart Energy Energy Service
// Interface for in-home displays (internal/han/zigbee over the co-processor
// driver hal/zigbee; docs/zigbee-esi.md, docs/zigbee.md). The network key
// is not configured here: the gateway makes one at the first start and
// keeps it sealed in the store's secrets; the PAN ids likewise when left 0.
type Zigbee struct {
	// Enabled (enabled) turns the ESI on. Default false.
	Enabled bool `toml:"enabled"`
	// Port (port) is the co-processor's serial device, an absolute path
	// (e.g. "/dev/serial/by-id/usb-…"). Required when enabled.
	Port string `toml:"port"`
	// Driver (driver) is the co-processor's firmware family: "znp" (TI
	// Z-Stack 3.x ZNP at 115200 Bd). Default "znp".
	Driver string `toml:"driver"`
	// Channel (channel) is the 2.4 GHz channel, 11…26; 0 is 15.
	Channel int `toml:"channel"`
	// PANID (pan_id) is the PAN id, 1…0xFFF7; 0 picks one at the first
	// start and keeps it. Default 0.
	PANID int `toml:"pan_id"`
	// ExtendedPANID (extended_pan_id) is the extended PAN id as 16 hex
	// digits; "" picks one at the first start and keeps it. Default "".
	ExtendedPANID string `toml:"extended_pan_id"`
	// Electricity (electricity) is the meter id served on the ESI's
	// Metering cluster. Required when enabled.
	Electricity string `toml:"electricity"`
	// Gas (gas) and Water (water) are meter ids served on mirror
	// endpoints; "" for none. Default "".
	Gas   string `toml:"gas"`
	Water string `toml:"water"`
	// ProviderID (provider_id) is the Price cluster's provider id.
	// Default 0.
	ProviderID int64 `toml:"provider_id"`
}

// zigbeeProblems returns the problems of the [zigbee] table.
func (c *Config) zigbeeProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	z := c.Zigbee
	if z.Port != "" && !filepath.IsAbs(z.Port) {
		add("zigbee.port", "%q is not an absolute path", z.Port)
	}
	if z.Enabled && z.Port == "" {
		add("zigbee.port", "the Zigbee co-processor's serial device is required when zigbee.enabled")
	}
	if z.Driver != "" && z.Driver != "znp" {
		add("zigbee.driver", "%q: unknown; known: znp", z.Driver)
	}
	if z.Channel != 0 && (z.Channel < 11 || z.Channel > 26) {
		add("zigbee.channel", "%d is not a 2.4 GHz channel 11…26", z.Channel)
	}
	if z.PANID < 0 || z.PANID > 0xFFF7 {
		add("zigbee.pan_id", "%d is not 1…65527 (0xFFF7), or 0 to pick one", z.PANID)
	}
	if z.ExtendedPANID != "" {
		if _, err := ParseEUI64Hex(z.ExtendedPANID); err != nil {
			add("zigbee.extended_pan_id", "%v", err)
		}
	}
	if z.ProviderID < 0 || z.ProviderID > 0xFFFFFFFE {
		add("zigbee.provider_id", "%d is not 0…4294967294", z.ProviderID)
	}
	if z.Enabled && z.Electricity == "" {
		add("zigbee.electricity", "the electricity meter to serve is required when zigbee.enabled")
	}
	for _, m := range []struct{ key, id string }{{"electricity", z.Electricity}, {"gas", z.Gas}, {"water", z.Water}} {
		if m.id == "" {
			continue
		}
		known := false
		for _, mt := range c.Meters {
			if string(mt.ID) == m.id {
				known = true
			}
		}
		if !known {
			add("zigbee."+m.key, "meter %q is not one of the [[meter]] tables", m.id)
		}
	}
	return ps
}

// ParseEUI64Hex reads 16 hex digits (with optional ':' or '-' between
// bytes) as a 64-bit id; all zeros and all ones are refused.
func ParseEUI64Hex(s string) (uint64, error) {
	var v uint64
	n := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		var d byte
		switch {
		case ch >= '0' && ch <= '9':
			d = ch - '0'
		case ch >= 'a' && ch <= 'f':
			d = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			d = ch - 'A' + 10
		case (ch == ':' || ch == '-') && n > 0 && n%2 == 0:
			continue
		default:
			return 0, fmt.Errorf("%q: unexpected %q; want 16 hex digits", s, ch)
		}
		v = v<<4 | uint64(d)
		n++
	}
	if n != 16 {
		return 0, fmt.Errorf("%q: %d hex digits, want 16", s, n)
	}
	if v == 0 || v == ^uint64(0) {
		return 0, fmt.Errorf("%q: all zeros or all ones", s)
	}
	return v, nil
}
