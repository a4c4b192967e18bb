package config

import (
	"fmt"
	"strings"
	"time"
)

// WAN is the [wan] table: what faces the utility's head-end system. Its
// subtables are owned by the WAN services: [wan.link] and [wan.modem]
// (link state, the LTE modem and its data budget) and [wan.commands] (the
// HES command path: its verification keys and their roles).
type WAN struct {
	Link     Link     `toml:"link"`
	Modem    Modem    `toml:"modem"`
	Commands Commands `toml:"commands"`
	// MQTT is the [wan.mqtt] table (mqtt.go): the uplink to the broker.
	MQTT MQTT `toml:"mqtt"`
}

// Link is the [wan.link] table: which uplink is active.
type Link struct {
	// Ethernet (ethernet) is the wired uplink's interface; preferred when
	// it has carrier and a default route. Default "eth0".
	Ethernet string `toml:"ethernet"`
	// LTE (lte) is the LTE modem's network interface, the fallback.
	// Default "wwan0".
	LTE string `toml:"lte"`
	// ProbeEvery (probe_every) is how often the interfaces and the modem
	// are looked at; 1s…10m. Default "10s".
	ProbeEvery Duration `toml:"probe_every"`
}

// Modem is the [wan.modem] table: the LTE modem's AT command port.
type Modem struct {
	// Device (device) is the modem's AT command serial port, e.g.
	// "/dev/ttyUSB2"; "" for no modem (status then shows no signal or
	// operator). An absolute path. Default "".
	Device string `toml:"device"`
	// APN (apn) is set as PDP context 1 (AT+CGDCONT) when the modem is
	// opened; "" leaves the modem's setting. Default "".
	APN string `toml:"apn"`
	// DailyBudget (daily_budget) is the LTE data the uplink may spend on
	// bulk uploads a day (local midnight to midnight); over it bulk
	// uploads wait for the next day or for Ethernet. "0" is unlimited.
	// Default "0".
	DailyBudget Size `toml:"daily_budget"`
}

// Commands is the [wan.commands] table: the HES command path.
type Commands struct {
	// MaxSkew (max_skew) is the clock difference tolerated between the
	// HES and the gateway when checking a command's issued-at and expiry;
	// 0…1h. Default "5m".
	MaxSkew Duration `toml:"max_skew"`
	// MaxValidity (max_validity) is the longest a command may be valid
	// (expiry less issued-at); longer ones are refused. It bounds how long
	// command ids are remembered against replay; 1m…7d. Default "1d".
	MaxValidity Duration `toml:"max_validity"`
	// Keys (the [[wan.commands.key]] tables) are the HES keys commands
	// are verified with; more can be imported into the key store
	// (docs/commands.md). Default none.
	Keys []HESKey `toml:"key"`
}

// HESKey is one [[wan.commands.key]] table.
type HESKey struct {
	// ID (id) is the key id commands name (COSE kid); 1…64 bytes of
	// letters, digits and . _ -; unique. Required.
	ID string `toml:"id"`
	// Role (role) is what commands signed with it may do: reader,
	// operator or admin (docs/commands.md). Required.
	Role string `toml:"role"`
	// PublicKeyFile (public_key_file) is a PEM file with the key's ECDSA
	// P-256 public key ("PUBLIC KEY" block); an absolute path. Required.
	PublicKeyFile string `toml:"public_key_file"`
}

// HES command roles.
const (
	RoleReader   = "reader"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

var (
	hesRoles            = []string{RoleReader, RoleOperator, RoleAdmin}
	rangeProbeEvery     = durRange{time.Second, 10 * time.Minute}
	rangeMaxSkew        = durRange{0, time.Hour}
	rangeMaxValidity    = durRange{time.Minute, 7 * 24 * time.Hour}
	defaultWANLinkEth   = "eth0"
	defaultWANLinkLTE   = "wwan0"
	defaultProbeEvery   = Duration(10 * time.Second)
	defaultMaxSkew      = Duration(5 * time.Minute)
	defaultMaxValidity  = Duration(24 * time.Hour)
	maxInterfaceNameLen = 15 // IFNAMSIZ less the NUL
)

// defaultWAN returns the [wan] defaults documented on the fields.
func defaultWAN() WAN {
	return WAN{
		Link:     Link{Ethernet: defaultWANLinkEth, LTE: defaultWANLinkLTE, ProbeEvery: defaultProbeEvery},
		Commands: Commands{MaxSkew: defaultMaxSkew, MaxValidity: defaultMaxValidity},
		MQTT:     defaultMQTT(),
	}
}

// wanProblems returns the problems of the [wan.link], [wan.modem] and
// [wan.commands] tables.
func (c *Config) wanProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	check := func(key, why string) {
		if why != "" {
			add(key, "%s", why)
		}
	}
	l := c.WAN.Link
	check("wan.link.ethernet", checkInterface(l.Ethernet, true))
	check("wan.link.lte", checkInterface(l.LTE, true))
	if l.Ethernet != "" && l.Ethernet == l.LTE {
		add("wan.link.lte", "%q is also wan.link.ethernet; the two uplinks need different interfaces", l.LTE)
	}
	check("wan.link.probe_every", rangeProbeEvery.check(l.ProbeEvery))

	m := c.WAN.Modem
	if m.Device != "" {
		check("wan.modem.device", checkDir(m.Device))
	}
	if strings.ContainsAny(m.APN, "\"\r\n\x00") || len(m.APN) > 100 {
		add("wan.modem.apn", "%q: an APN is at most 100 bytes without quotes or line breaks", m.APN)
	}
	if m.DailyBudget < 0 {
		add("wan.modem.daily_budget", "must not be negative")
	}

	cm := c.WAN.Commands
	check("wan.commands.max_skew", rangeMaxSkew.check(cm.MaxSkew))
	check("wan.commands.max_validity", rangeMaxValidity.check(cm.MaxValidity))
	ids := map[string]int{}
	for i, k := range cm.Keys {
		key := func(s string) string { return fmt.Sprintf("wan.commands.key[%d].%s", i, s) }
		if why := checkName(k.ID); why != "" {
			add(key("id"), "key id %s", why)
		} else if j, dup := ids[k.ID]; dup {
			add(key("id"), "duplicate key id %q (also wan.commands.key[%d])", k.ID, j)
		} else {
			ids[k.ID] = i
		}
		if k.Role == "" {
			add(key("role"), "is required: one of %s", strings.Join(hesRoles, ", "))
		} else {
			check(key("role"), oneOf("role", k.Role, hesRoles))
		}
		if k.PublicKeyFile == "" {
			add(key("public_key_file"), "is required: a PEM file with the key's ECDSA P-256 public key")
		} else {
			check(key("public_key_file"), checkDir(k.PublicKeyFile))
		}
	}
	return ps
}

// checkInterface returns "" or why s is not a network interface name.
func checkInterface(s string, optional bool) string {
	if s == "" {
		if optional {
			return ""
		}
		return "must not be empty"
	}
	if len(s) > maxInterfaceNameLen {
		return fmt.Sprintf("%q is longer than an interface name may be (%d bytes)", s, maxInterfaceNameLen)
	}
	if strings.ContainsAny(s, "/ \t\n\x00:") || s == "." || s == ".." {
		return fmt.Sprintf("%q is not an interface name", s)
	}
	return ""
}
