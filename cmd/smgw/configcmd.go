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

# Meters: one [[meter]] table each. None by default; for example:
#
# [[meter]]
# id = "elec-1"              # required, unique: letters, digits, . _ - :
# driver = "sim"             # required; "sim" is the built-in simulator
# profile = "electricity"    # sim: electricity, water or heat
# interval = "15m"           # register reading period (1s…24h)
# live_interval = "0"        # instantaneous values period; "0" for none
# enabled = true
`))
