package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/smgw/smgw/internal/config"
)

func (c *cli) cmdConfig(_ context.Context, args []string) int {
	fs := c.flagSet("config")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 {
		return c.usageErr("config", "want \"check FILE\" or \"default\"")
	}
	switch pos[0] {
	case "check":
		if len(pos) != 2 {
			return c.usageErr("config", "want \"config check FILE\"")
		}
		if err := config.Check(pos[1]); err != nil {
			c.printConfigErr(err)
			return exitConfig
		}
		fmt.Fprintln(c.stdout, "ok")
		return exitOK
	case "default":
		if len(pos) != 1 {
			return c.usageErr("config", "unexpected argument %q", pos[1])
		}
		s, err := defaultConfigText()
		if err != nil {
			return c.fail("config", err)
		}
		fmt.Fprint(c.stdout, s)
		return exitOK
	}
	return c.usageErr("config", "unknown subcommand %q: want check or default", pos[0])
}

// printConfigErr prints a configuration error: each problem as
// FILE:LINE: KEY: MSG on its own line.
func (c *cli) printConfigErr(err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintln(c.stderr, p.String())
		}
		return
	}
	fmt.Fprintln(c.stderr, err)
}

// defaultConfigText is the documented default configuration: every key at
// its default (config.Default), with what it means.
func defaultConfigText() (string, error) {
	var b strings.Builder
	err := defaultConfigTmpl.Execute(&b, config.Default())
	return b.String(), err
}

var defaultConfigTmpl = template.Must(template.New("default").Funcs(template.FuncMap{
	"q": strconv.Quote,
	"list": func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
	"ints": func(ns []int) string {
		q := make([]string, len(ns))
		for i, n := range ns {
			q[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
}).Parse(`# smgw configuration: every key at its default value.
# Durations are written like "15m", "1h30m", "90d" ("0" for none); sizes
# like "512MiB" or "10MB" ("0" for none). Check a file with
#   smgw config check FILE
# and run the gateway with
#   smgw run -c FILE

[gateway]
# The gateway's name in logs, uplink topics and the status page.
id = {{q .Gateway.ID}}
# Where the database and (for the dev key provider) the data key live.
data_dir = {{q .Gateway.DataDir}}
# Where the control socket smgw.sock is created (a link to it is made in
# data_dir, so "smgw readings --data DIR" finds the daemon).
runtime_dir = {{q .Gateway.RuntimeDir}}
# debug, info, warn or error.
log_level = {{q .Gateway.LogLevel}}
# auto (the journal under systemd, text on stderr otherwise), text or json.
log_format = {{q .Gateway.LogFormat}}

[security]
# Where the data key comes from: "tpm", or "dev", a plaintext key file
# that is NOT secure (development and the demo only).
key_provider = {{q .Security.KeyProvider}}
# The dev provider's key file; unset, it is data_dir/dev-data-key.
# dev_key_file = {{q .Security.DevKeyFile}}
# Must be true to run with the dev key provider: with key_provider = "dev"
# this file does not validate until you set it (or choose "tpm").
allow_insecure = {{.Security.AllowInsecure}}
# The TPM of key_provider = "tpm": a device (the kernel's resource manager),
# swtpm://HOST:PORT (an emulated TPM) or "simulator" (tests only).
tpm = {{q .Security.TPM}}
# SHA-256 PCRs new data keys are sealed to, e.g. [0, 2, 4, 7]: a changed
# boot chain can then not unseal them (docs/security.md). None by default.
{{if .Security.PCRs}}pcrs = {{ints .Security.PCRs}}{{else}}# pcrs = [0, 2, 4, 7]{{end}}

[store]
# Maximum age of readings; "0" keeps them until max_size forces them out.
retention = {{q .Store.Retention.String}}
# Bound on the database's live data; "0" is unbounded, else at least 1MiB.
max_size = {{q .Store.MaxSize.String}}
# Longest that reduced-resolution live values wait before they are made
# durable (1s…1h).
deferred_flush = {{q .Store.DeferredFlush.String}}
# How often the commit journal is folded into reading blocks (1m…24h).
compact_every = {{q .Store.CompactEvery.String}}
# Instantaneous values (power, voltage: OBIS D=7) are stored as means over
# this resolution (1s…1h); "0" stores every sample.
live_resolution = {{q .Store.LiveResolution.String}}
# Outbox channels every reading is queued on for the head-end system.
outbox_channels = {{list .Store.OutboxChannels}}

[status]
# The local status page's host:port; "" disables it.
listen = {{q .Status.Listen}}
# Lets listen name an address other than loopback. The page has no
# authentication.
allow_remote = {{.Status.AllowRemote}}

[watchdog]
# A service that shows no progress for this long stops the systemd
# watchdog pings, so systemd restarts the gateway (10s…1h).
progress_timeout = {{q .Watchdog.ProgressTimeout.String}}

[clock]
# What vouches for the clock before readings are timestamped: "ntp"
# (systemd-timesyncd has synchronised it), "rtc" (a battery-backed RTC
# whose data the kernel reports valid), "any", or "none".
source = {{q .Clock.Source}}
# Until then readings are "flag"ged clock-unsynced, or "hold": not stored.
untrusted = {{q .Clock.Untrusted}}
# A wall-clock change larger than this is logged as a jump (1s…1h).
jump_threshold = {{q .Clock.JumpThreshold.String}}

[update]
# PEM public keys update files must be signed with (docs/updates.md).
keyring = {{q .Update.Keyring}}
# How verified bundles reach RAUC: "dbus" or "command" (the rauc tool).
installer = {{q .Update.Installer}}
rauc = {{q .Update.Rauc}}
# RAUC's compatible string of this device; other updates are refused.
compatible = {{q .Update.Compatible}}
# The largest update file the HES firmware command downloads (1MiB…4GiB).
max_size = {{q .Update.MaxSize.String}}

[wmbus]
# The wireless M-Bus receiver (docs/wmbus-receivers.md): "im871a",
# "amb8465" (also AMB8665), "lines" (hex telegrams from file), "sim" or
# "" for none.
kind = {{q .WMBus.Kind}}
# The dongle's serial device (im871a, amb8465).
device = {{q .WMBus.Device}}
# S1, T1, C1 or C1/T1.
link_mode = {{q .WMBus.LinkMode}}
# Where "lines" reads: a file, a FIFO or "-" for stdin.
file = {{q .WMBus.File}}
# A telegram whose meter clock is further than this from the gateway's is
# rejected as a replay; "0" disables the check, else 1m…7d.
max_clock_skew = {{q .WMBus.MaxClockSkew.String}}
# A repeat of a telegram within this window is dropped (1s…1h).
dup_window = {{q .WMBus.DupWindow.String}}

[wan.link]
# The wired uplink, preferred; "" for none.
ethernet = {{q .WAN.Link.Ethernet}}
# The LTE interface, the fallback; "" for none.
lte = {{q .WAN.Link.LTE}}
# How often the link is checked (1s…10m).
probe_every = {{q .WAN.Link.ProbeEvery.String}}

[wan.modem]
# The LTE modem's AT port, e.g. "/dev/ttyUSB2"; "" for no modem.
device = {{q .WAN.Modem.Device}}
# Set as PDP context 1; "" leaves the modem's own.
apn = {{q .WAN.Modem.APN}}
# Bulk bytes a day on LTE; "0" is unlimited (docs/link.md).
daily_budget = {{q .WAN.Modem.DailyBudget.String}}

[wan.commands]
# Signed HES commands (docs/commands.md): the clock skew tolerated and the
# longest validity an envelope may claim.
max_skew = {{q .WAN.Commands.MaxSkew.String}}
max_validity = {{q .WAN.Commands.MaxValidity.String}}
# The HES keys, one table each; roles reader, operator or admin:
# [[wan.commands.key]]
# id = "hes-ops"
# role = "operator"
# public_key_file = "/etc/smgw/hes-ops.pem"

[wan.mqtt]
# The MQTT uplink to the HES (docs/mqtt.md): mqtt://HOST:PORT or
# mqtts://HOST:PORT; "" for no uplink.
url = {{q .WAN.MQTT.URL}}
# Topics <prefix>/<gateway id>/readings, /status, /cmd.
topic_prefix = {{q .WAN.MQTT.TopicPrefix}}
# The outbox channel drained; readings are queued on it.
channel = {{q .WAN.MQTT.Channel}}
# CAs the broker is verified by; "" takes the system's.
ca_file = {{q .WAN.MQTT.CAFile}}
# The client certificate; "" is <data_dir>/identity.crt (smgw keys cert).
client_cert = {{q .WAN.MQTT.ClientCert}}
# Readings per message (1…100000) and the longest wait for a batch.
batch_size = {{.WAN.MQTT.BatchSize}}
max_delay = {{q .WAN.MQTT.MaxDelay.String}}
# MQTT keep-alive (tuned for LTE NAT) and v5 session expiry.
keep_alive = {{q .WAN.MQTT.KeepAlive.String}}
session_expiry = {{q .WAN.MQTT.SessionExpiry.String}}
# cbor (COSE_Sign1-signed), json or jws.
format = {{q .WAN.MQTT.Format}}
qos = {{.WAN.MQTT.QoS}}
# Reconnection backoff, random, growing from backoff_min to backoff_max.
backoff_min = {{q .WAN.MQTT.BackoffMin.String}}
backoff_max = {{q .WAN.MQTT.BackoffMax.String}}
# How often the retained "online" status (version, uptime, backlog) is
# published again while connected (1m…24h); also at every connection.
status_every = {{q .WAN.MQTT.StatusEvery.String}}

[han]
# The in-home display service on the home area network (docs/han.md).
enabled = {{.HAN.Enabled}}
# The HAN's interface (e.g. the HomePlug Green PHY bridge); the service
# listens on its addresses only, never on a WAN interface.
interface = {{q .HAN.Interface}}
# Addresses to listen on besides the interface's; never 0.0.0.0 or ::.
{{if .HAN.Addresses}}addresses = {{list .HAN.Addresses}}{{else}}# addresses = ["192.168.7.1"]{{end}}
# 0 is 8443 with TLS, 8080 without.
port = {{.HAN.Port}}
# HTTPS with the gateway's certificate; false only on a closed network.
tls = {{.HAN.TLS}}
# The household's meters displays are paired to; none is every meter.
# meters = ["elec-1"]
# Each paired client's request rate and burst.
rate_per_minute = {{.HAN.RatePerMinute}}
burst = {{.HAN.Burst}}
# How long a code from "smgw han pair" stays valid (1m…1h).
pairing_code_lifetime = {{q .HAN.PairingCodeLifetime.String}}
max_clients = {{.HAN.MaxClients}}

[mdns]
# DNS-SD (_smartenergy._tcp, _https._tcp) on [han] interface only.
enabled = {{.MDNS.Enabled}}
instance = {{q .MDNS.Instance}}
level = {{q .MDNS.Level}}

[hass]
# Readings to a Home Assistant MQTT broker on the HAN, with discovery
# (docs/home-assistant.md).
enabled = {{.HASS.Enabled}}
broker = {{q .HASS.Broker}}
username = {{q .HASS.Username}}
password = {{q .HASS.Password}}
ca_file = {{q .HASS.CAFile}}
discovery_prefix = {{q .HASS.DiscoveryPrefix}}
base_topic = {{q .HASS.BaseTopic}}
# meters = ["elec-1"]        # none is [han] meters, or every meter

[zigbee]
# The Zigbee Smart Energy ESI for in-home displays (docs/zigbee-esi.md).
enabled = {{.Zigbee.Enabled}}
# The co-processor's serial device, e.g. "/dev/smgw/zigbee".
port = {{q .Zigbee.Port}}
driver = {{q .Zigbee.Driver}}
# 11…26; 0 is 15. PAN ids left 0/"" are picked once and kept.
channel = {{.Zigbee.Channel}}
pan_id = {{.Zigbee.PANID}}
extended_pan_id = {{q .Zigbee.ExtendedPANID}}
# The meter served on the Metering cluster, and gas and water mirrors.
electricity = {{q .Zigbee.Electricity}}
gas = {{q .Zigbee.Gas}}
water = {{q .Zigbee.Water}}
provider_id = {{.Zigbee.ProviderID}}

# RS-485 lines: one [[bus]] table each, for the settings of a line its
# meters share (docs/serial.md). None by default; for example:
#
# [[bus]]
# port = "/dev/smgw/rs485-0"  # or tcp = "host:port" (a converter)
# baud = 9600
# parity = "even"             # none | even | odd
# stop_bits = 1
# rs485 = false               # set the kernel's RS-485 mode (TIOCSRS485)
# timeout_ms = 1000
# retries = 2

# Meters: one [[meter]] table each. None by default; for example:
#
# [[meter]]
# id = "elec-1"              # required, unique: letters, digits, . _ - :
# driver = "sim"             # required; "sim" is the built-in simulator
# profile = "electricity"    # sim: electricity, water or heat
# interval = "15m"           # register reading period (1s…24h)
# live_interval = "0"        # instantaneous values period; "0" for none
# enabled = true
#
# [[meter]]                  # a wireless M-Bus meter: needs [wmbus] kind (docs/wmbus.md)
# id = "water-1"
# driver = "wmbus"
# manufacturer = "KAM"
# address = "12345678"       # its identification number
#                            # its AES key: smgw keys import-meter-key water-1 HEX
#
# [[meter]]                  # a DLMS/COSEM meter on RS-485 (docs/dlms-driver.md)
# id = "elec-2"
# driver = "dlms"
# port = "/dev/smgw/rs485-0"
# client_sap = 16            # 16 public, 1 management
# auth = "none"              # none | low | high
# objects = "generic-iec"
# load_profile = "1.0.99.1.0.255"
#
# [[meter]]                  # a Modbus RTU meter (docs/modbus.md)
# id = "pv-1"
# driver = "modbus"
# port = "/dev/smgw/rs485-1"
# unit = 1
# profile = "sdm630"
`))
