package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes (docs/cli.md). 78 is sysexits' EX_CONFIG: the unit file lists
// it in RestartPreventExitStatus=, so systemd does not restart a gateway
// whose configuration, key or database needs a person.
const (
	exitOK     = 0
	exitFail   = 1  // a runtime failure; retrying may help
	exitUsage  = 2  // bad command line
	exitConfig = 78 // bad configuration, wrong key, corrupt database: don't restart
)

// cli holds what every command writes to and reads the time from.
type cli struct {
	stdout, stderr io.Writer
	now            func() time.Time
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	hidden  bool // left out of the main help (documented in docs/cli.md)
	run     func(c *cli, ctx context.Context, args []string) int
}

func commands() []command {
	return []command{
		{"run", "-c FILE [--check]", "run the gateway daemon", false, (*cli).cmdRun},
		{"demo", "[--data DIR] [--listen ADDR] [--han ADDR] [--mqtt URL [--mqtt-ca FILE]]", "run the gateway with simulated meters, no configuration needed", false, (*cli).cmdDemo},
		{"readings", "[--data DIR | -c FILE] [--meter M] [--obis O] [--from T] [--to T] [--limit N] [--format table|json|csv]", "print stored readings", false, (*cli).cmdReadings},
		{"meters", "[--data DIR | -c FILE] [--format table|json] [--nearby]", "list meters, their quantities and latest values; --nearby: wM-Bus health and meters heard nearby", false, (*cli).cmdMeters},
		{"log", "[system|metrology|consumer] [--data DIR | -c FILE] [--verify] [--after N] [--format table|json]", "print or verify an event log", false, (*cli).cmdLog},
		{"status", "[--data DIR | -c FILE] [--format text|json]", "show the running daemon's status", false, (*cli).cmdStatus},
		{"config", "check FILE | default", "check a configuration file, or print the default one", false, (*cli).cmdConfig},
		{"update", "install [-c FILE] UPDATE | pack --key KEY --version V -o UPDATE BUNDLE | status [-c FILE]", "install a signed software update (RAUC), sign one, or show the update state", false, (*cli).cmdUpdate},
		{"probe", "modbus|dlms|mbus [flags]", "read a meter once and print what it answers as JSON (installer's check)", false, (*cli).cmdProbe},
		{"decode", "HEX [--key HEX] [--format json|table] | --file F", "decode wireless or wired M-Bus telegrams offline", false, (*cli).cmdDecode},
		{"version", "", "print the version", false, (*cli).cmdVersion},
		{"han", "pair [--meter ID]... | clients [revoke ID]", "in-home displays: a one-time pairing code, the paired displays, revoke one", false, (*cli).cmdHAN},
		{"keys", "list | rotate | csr --subject S [--out F] | cert install FILE | import-meter-key METER [HEX] [--file F] [--kind K]", "the gateway's keys: data keys, signing key and certificate, meter keys", false, (*cli).cmdKeys},
		{"verify", "FILE [--pubkey PEM | --cert PEM | --no-verify] [--format text|json]", "decode an MQTT uplink message saved to FILE, check its signature, print its readings", false, (*cli).cmdVerify},
		{"stress", "--data DIR [--producers P] [--batch K] [--batches N] [--events-every E]", "storage stress and crash-test tool", true, (*cli).cmdStress},
		{"help", "[COMMAND]", "show help", false, (*cli).cmdHelp},
	}
}

func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd.run(c, ctx, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "smgw: unknown command %q\n\n", name)
	c.usage(c.stderr)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: smgw COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, cmd := range commands() {
		if !cmd.hidden {
			fmt.Fprintf(w, "  %-9s %s\n", cmd.name, cmd.summary)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands that read the store take --data DIR or -c FILE and work while the")
	fmt.Fprintln(w, "daemon runs. \"smgw help COMMAND\" shows a command's flags; docs/cli.md has it all.")
}

func (c *cli) cmdHelp(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] && cmd.name != "help" {
			return cmd.run(c, ctx, []string{"-h"})
		}
	}
	fmt.Fprintf(c.stderr, "smgw help: unknown command %q\n", args[0])
	return exitUsage
}

// flagSet returns a flag set for command name whose usage prints the
// synopsis and the flags to stderr.
func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("smgw "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var synopsis, summary string
	for _, cmd := range commands() {
		if cmd.name == name {
			synopsis, summary = cmd.args, cmd.summary
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: smgw %s %s\n\n%s.\n", name, synopsis, upperFirst(summary))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseFlags parses args with fs, allowing flags after positional
// arguments ("smgw log system --verify"); it returns the positional
// arguments. An argument "--" ends the flags. The int is the exit code when
// parsing ended the command (help or a usage error), else -1.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		rest := fs.Args()
		// flag stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), -1
		}
		if len(rest) == 0 {
			return pos, -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageErr prints a usage error for command name and returns exitUsage.
func (c *cli) usageErr(name, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "smgw %s: %s\n", name, fmt.Sprintf(format, args...))
	fmt.Fprintf(c.stderr, "run \"smgw help %s\" for usage\n", name)
	return exitUsage
}

// fail prints an error of command name and returns exitFail.
func (c *cli) fail(name string, err error) int {
	fmt.Fprintf(c.stderr, "smgw %s: %v\n", name, err)
	return exitFail
}

// checkFormat reports whether format is one of allowed.
func checkFormat(format string, allowed ...string) bool {
	for _, a := range allowed {
		if format == a {
			return true
		}
	}
	return false
}
