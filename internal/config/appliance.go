package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Clock is the [clock] table: when the gateway's clock is trusted to
// timestamp readings (internal/clock).
type Clock struct {
	// Source (source) vouches for the clock: "ntp" (systemd-timesyncd has
	// synchronised it: /run/systemd/timesync/synchronized exists), "rtc"
	// (the real-time clock's data is valid and set the system time at
	// boot), "any" (either), or "none" (the clock is taken as it is: for
	// the demo and development machines). The appliance's file sets
	// "ntp". Default "none".
	Source string `toml:"source"`
	// Untrusted (untrusted) is what happens to readings while the clock
	// is not trusted: "flag" stores them with the quality flag
	// clock-unsynced; "hold" holds the meters (nothing is timestamped;
	// they catch up once the clock is trusted). Default "flag".
	Untrusted string `toml:"untrusted"`
	// JumpThreshold (jump_threshold): a wall-clock change against the
	// monotonic clock larger than this is recorded in the system event
	// log as a time jump; 1s…1h. Default "2s".
	JumpThreshold Duration `toml:"jump_threshold"`
}

// Clock sources and untrusted-clock policies.
const (
	ClockSourceNone = "none"
	ClockSourceNTP  = "ntp"
	ClockSourceRTC  = "rtc"
	ClockSourceAny  = "any"

	ClockFlag = "flag"
	ClockHold = "hold"
)

// Update is the [update] table: software updates (internal/update,
// docs/updates.md).
type Update struct {
	// Keyring (keyring) is the PEM file of the ECDSA public keys (or
	// certificates) update files must be signed with; an absolute path.
	// Default "/etc/smgw/update-keyring.pem".
	Keyring string `toml:"keyring"`
	// Installer (installer) hands verified bundles to RAUC: "dbus" (its
	// D-Bus API, what the daemon uses) or "command" (the rauc tool, which
	// needs root). Default "dbus".
	Installer string `toml:"installer"`
	// Rauc (rauc) is the rauc tool for installer "command"; an absolute
	// path. Default "/usr/bin/rauc".
	Rauc string `toml:"rauc"`
	// Compatible (compatible), if not "", must equal the update's
	// compatible string (RAUC's system.conf compatible). Default "".
	Compatible string `toml:"compatible"`
	// MaxSize (max_size) bounds an update file the HES firmware command
	// downloads (docs/updates.md); 1MiB…4GiB. Default "256MiB".
	MaxSize Size `toml:"max_size"`
}

// UpdateStateDirName is the update state's directory in DataDir: the
// pending-install record, the highest installed version, the event spool.
const UpdateStateDirName = "update"

// UpdateStateDir returns DataDir/update.
func (g Gateway) UpdateStateDir() string { return filepath.Join(g.DataDir, UpdateStateDirName) }

var (
	clockSources   = []string{ClockSourceNone, ClockSourceNTP, ClockSourceRTC, ClockSourceAny}
	clockUntrusted = []string{ClockFlag, ClockHold}
	updInstallers  = []string{"dbus", "command"}

	rangeJumpThreshold = durRange{time.Second, time.Hour}
)

func defaultClock() Clock {
	return Clock{Source: ClockSourceNone, Untrusted: ClockFlag, JumpThreshold: Duration(2 * time.Second)}
}

func defaultUpdate() Update {
	return Update{Keyring: "/etc/smgw/update-keyring.pem", Installer: "dbus", Rauc: "/usr/bin/rauc", MaxSize: 256 << 20}
}

// applianceProblems returns the problems of [clock] and [update].
func (c *Config) applianceProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	check := func(key, why string) {
		if why != "" {
			add(key, "%s", why)
		}
	}
	check("clock.source", oneOf("clock source", c.Clock.Source, clockSources))
	check("clock.untrusted", oneOf("untrusted-clock policy", c.Clock.Untrusted, clockUntrusted))
	check("clock.jump_threshold", rangeJumpThreshold.check(c.Clock.JumpThreshold))
	u := c.Update
	if !filepath.IsAbs(u.Keyring) {
		add("update.keyring", "%q is not an absolute path", u.Keyring)
	}
	check("update.installer", oneOf("installer", u.Installer, updInstallers))
	if !filepath.IsAbs(u.Rauc) {
		add("update.rauc", "%q is not an absolute path", u.Rauc)
	}
	if strings.ContainsAny(u.Compatible, "\x00\n") {
		add("update.compatible", "contains a NUL or newline")
	}
	if u.MaxSize < 1<<20 || u.MaxSize > 4<<30 {
		add("update.max_size", "%d bytes is out of range: must be 1MiB…4GiB", int64(u.MaxSize))
	}
	return ps
}
