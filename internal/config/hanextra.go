package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/smgw/smgw/internal/meter"
)

// MDNS is the [mdns] table: DNS-SD advertisement of the HAN services
// (_smartenergy._tcp for IEEE 2030.5, _https._tcp for the display page)
// on the HAN interface only (internal/han/mdns, docs/sep2.md).
type MDNS struct {
	// Enabled (enabled) turns the advertisement on; it needs [han]
	// enabled with han.interface. Default false.
	Enabled bool `toml:"enabled"`
	// Instance (instance) is the advertised instance name; "" is
	// "smgw <gateway id>". No dots. Default "".
	Instance string `toml:"instance"`
	// Level (level) is the 2030.5 TXT key "level"; "" leaves it out.
	// Default "".
	Level string `toml:"level"`
}

// HASS is the [hass] table: publication of the household's readings to
// a local MQTT broker on the HAN with Home Assistant discovery
// (internal/han/hass, docs/home-assistant.md).
type HASS struct {
	// Enabled (enabled) turns publication on. Default false.
	Enabled bool `toml:"enabled"`
	// Broker (broker) is the HAN broker: mqtt://host:port or
	// mqtts://host:port. Required when enabled. Default "".
	Broker string `toml:"broker"`
	// Username (username) and Password (password) log in; "" for none.
	Username string `toml:"username"`
	Password string `toml:"password"`
	// CAFile (ca_file) is the broker's CA (PEM) for mqtts; "" uses the
	// system roots. Default "".
	CAFile string `toml:"ca_file"`
	// DiscoveryPrefix (discovery_prefix) is Home Assistant's discovery
	// prefix; "" is "homeassistant".
	DiscoveryPrefix string `toml:"discovery_prefix"`
	// BaseTopic (base_topic) prefixes state and availability topics; ""
	// is "smgw".
	BaseTopic string `toml:"base_topic"`
	// Meters (meters) are the meters published; none is han.meters (or
	// every meter).
	Meters []meter.MeterID `toml:"meters"`
}

// hanExtraProblems returns the problems of the [mdns] and [hass] tables.
func (c *Config) hanExtraProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	m := c.MDNS
	if m.Enabled && (!c.HAN.Enabled || c.HAN.Interface == "") {
		add("mdns.enabled", "DNS-SD advertises the HAN service on han.interface: set [han] enabled = true and han.interface")
	}
	if strings.ContainsAny(m.Instance, `.\`) || len(m.Instance) > 63 {
		add("mdns.instance", "%q: at most 63 bytes without . or \\", m.Instance)
	}
	if len(m.Level) > 32 || strings.ContainsAny(m.Level, "= ") {
		add("mdns.level", "%q: a short value without = or spaces, e.g. \"-S1\"", m.Level)
	}
	h := c.HASS
	if h.Enabled || h.Broker != "" {
		u, err := url.Parse(h.Broker)
		switch {
		case h.Enabled && h.Broker == "":
			add("hass.broker", "required when [hass] is enabled: mqtt://host:port or mqtts://host:port of the HAN broker")
		case err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "":
			add("hass.broker", "%q: want mqtt://host:port or mqtts://host:port", h.Broker)
		}
	}
	if h.CAFile != "" && !strings.HasPrefix(h.CAFile, "/") {
		add("hass.ca_file", "%q: want an absolute path", h.CAFile)
	}
	for _, k := range []struct{ key, v string }{{"hass.discovery_prefix", h.DiscoveryPrefix}, {"hass.base_topic", h.BaseTopic}} {
		if strings.ContainsAny(k.v, "#+\x00") || strings.HasPrefix(k.v, "/") || strings.HasSuffix(k.v, "/") {
			add(k.key, "%q: an MQTT topic prefix without wildcards or leading/trailing /", k.v)
		}
	}
	for i, id := range h.Meters {
		if err := id.Validate(); err != nil {
			add(fmt.Sprintf("hass.meters[%d]", i), "%v", err)
		}
	}
	return ps
}
