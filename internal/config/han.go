package config

import (
	"fmt"
	"net"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// HAN is the [han] table: the in-home display service on the home area
// network (internal/han/web, docs/han.md).
type HAN struct {
	// Enabled (enabled) turns the service on. Default false.
	Enabled bool `toml:"enabled"`
	// Interface (interface) is the HAN's network interface (e.g. the
	// HomePlug Green PHY bridge "han0"); the service listens on its
	// addresses, followed as they change. Never a WAN interface. Default "".
	Interface string `toml:"interface"`
	// Addresses (addresses) are IP addresses to listen on instead of (or
	// besides) the interface's; never 0.0.0.0 or ::. Default none.
	Addresses []string `toml:"addresses"`
	// Port (port) is the TCP port; 0 is 8443 with TLS, 8080 without.
	// Default 0.
	Port int `toml:"port"`
	// TLS (tls) serves HTTPS with the gateway's certificate (the
	// installed one, else one self-signed by the gateway's key); false
	// serves plain HTTP, for a closed network only. Default true.
	TLS bool `toml:"tls"`
	// Meters (meters) are the household's meters that pairing binds
	// displays to; none is every meter of this gateway. Default none.
	Meters []meter.MeterID `toml:"meters"`
	// RatePerMinute (rate_per_minute) is each paired client's sustained
	// request rate; 1…60000. Default 600.
	RatePerMinute int `toml:"rate_per_minute"`
	// Burst (burst) is how many requests a client may make at once above
	// the rate; 1…10000. Default 60.
	Burst int `toml:"burst"`
	// PairingCodeLifetime (pairing_code_lifetime) is how long a code from
	// `smgw han pair` may be used; 1m…1h. Default "5m".
	PairingCodeLifetime Duration `toml:"pairing_code_lifetime"`
	// MaxClients (max_clients) bounds the paired displays; 1…1000.
	// Default 32.
	MaxClients int `toml:"max_clients"`
}

// HAN defaults and ranges.
var (
	rangeHANPairingLifetime = durRange{time.Minute, time.Hour}
)

// defaultHAN returns the [han] defaults documented on the fields.
func defaultHAN() HAN {
	return HAN{TLS: true, RatePerMinute: 600, Burst: 60, PairingCodeLifetime: Duration(5 * time.Minute), MaxClients: 32}
}

// hanProblems returns the problems of the [han] table.
func (c *Config) hanProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	h := c.HAN
	if why := checkInterface(h.Interface, true); why != "" {
		add("han.interface", "%s", why)
	} else if h.Interface != "" && (h.Interface == c.WAN.Link.Ethernet || h.Interface == c.WAN.Link.LTE) {
		add("han.interface", "%q is a WAN interface (wan.link); the HAN service never listens on the WAN", h.Interface)
	}
	for i, a := range h.Addresses {
		key := fmt.Sprintf("han.addresses[%d]", i)
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
			add(key, "%q is not an IP address", a)
		case ip.IsUnspecified():
			add(key, "%q listens on every interface, the WAN included; name the HAN's address or han.interface", a)
		}
	}
	if h.Enabled && h.Interface == "" && len(h.Addresses) == 0 {
		add("han.enabled", "the HAN service needs han.interface or han.addresses to listen on")
	}
	if h.Port < 0 || h.Port > 65535 {
		add("han.port", "%d is not a port 1…65535 (or 0 for the default)", h.Port)
	}
	if h.RatePerMinute < 1 || h.RatePerMinute > 60000 {
		add("han.rate_per_minute", "%d is out of range: must be 1…60000", h.RatePerMinute)
	}
	if h.Burst < 1 || h.Burst > 10000 {
		add("han.burst", "%d is out of range: must be 1…10000", h.Burst)
	}
	if why := rangeHANPairingLifetime.check(h.PairingCodeLifetime); why != "" {
		add("han.pairing_code_lifetime", "%s", why)
	}
	if h.MaxClients < 1 || h.MaxClients > 1000 {
		add("han.max_clients", "%d is out of range: must be 1…1000", h.MaxClients)
	}
	seen := map[meter.MeterID]int{}
	for i, id := range h.Meters {
		key := fmt.Sprintf("han.meters[%d]", i)
		if err := id.Validate(); err != nil {
			add(key, "%v", err)
		} else if j, dup := seen[id]; dup {
			add(key, "meter %q is listed twice (also han.meters[%d])", id, j)
		} else {
			seen[id] = i
		}
	}
	return ps
}

// HANPort returns the port the HAN service listens on: Port, or the
// default for TLS (8443) or plain HTTP (8080).
func (h HAN) HANPort() int {
	switch {
	case h.Port != 0:
		return h.Port
	case h.TLS:
		return 8443
	}
	return 8080
}
