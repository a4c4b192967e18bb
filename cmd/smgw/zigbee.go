package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

// The Zigbee Smart Energy ESI's commands (docs/zigbee-esi.md): joining a
// device with its install code, listing and removing joined devices,
// through the running daemon's control socket.

const zigbeeUsage = `usage: smgw han zigbee permit --eui64 EUI --install-code CODE [--for 3m] [--data DIR | -c FILE]
       smgw han zigbee devices [--data DIR | -c FILE] [--format table|json]
       smgw han zigbee remove EUI [--data DIR | -c FILE]

permit   open the Zigbee network for the one device EUI (16 hex digits, as
         printed on it) whose install code (hex, with its CRC) is CODE, for
         a while (default 3m, at most 254s per opening: longer is cut)
devices  the co-processor, the network and the joined devices
remove   ask the device EUI to leave the network and forget it
`

func (c *cli) cmdZigbee(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w, code := c.stderr, exitUsage
		if len(args) > 0 {
			w, code = c.stdout, exitOK
		}
		fmt.Fprint(w, zigbeeUsage)
		return code
	}
	switch args[0] {
	case "permit":
		return c.zigbeePermit(ctx, args[1:])
	case "devices":
		return c.zigbeeDevices(ctx, args[1:])
	case "remove":
		return c.zigbeeRemove(ctx, args[1:])
	}
	return c.zigbeeUsageErr("unknown subcommand %q", args[0])
}

// zigbeeUsageErr reports a usage error of a zigbee subcommand.
func (c *cli) zigbeeUsageErr(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "smgw han zigbee: %s\n", fmt.Sprintf(format, args...))
	fmt.Fprintln(c.stderr, `run "smgw han zigbee --help" for usage`)
	return exitUsage
}

// zigbeeDial connects to the daemon; the ESI lives only there.
func (c *cli) zigbeeDial(ctx context.Context, sf *storeFlags) (*ctl.Client, int) {
	loc, err := sf.locate()
	if err != nil {
		return nil, c.storeErr("han zigbee", err)
	}
	cl, err := loc.dial(ctx)
	if errors.Is(err, ctl.ErrNoDaemon) {
		fmt.Fprintln(c.stderr, "smgw han zigbee: the daemon is not running; the Zigbee network is managed by the running gateway")
		return nil, exitFail
	}
	if err != nil {
		return nil, c.storeErr("han zigbee", err)
	}
	return cl, -1
}

func (c *cli) zigbeeErr(err error) int {
	fmt.Fprintf(c.stderr, "smgw han zigbee: %v\n", err)
	if errors.Is(err, ctl.ErrBadRequest) || errors.Is(err, ctl.ErrNotFound) {
		return exitUsage
	}
	return exitFail
}

func (c *cli) zigbeePermit(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han zigbee permit", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	eui := fs.String("eui64", "", "the device's EUI-64 (16 hex digits; : or - between bytes allowed)")
	code := fs.String("install-code", "", "the device's install code with its CRC, in hex (spaces, : or - allowed)")
	dur := fs.Duration("for", 3*time.Minute, "how long joining stays open for the device")
	pos, rc := parseFlags(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 0 {
		return c.zigbeeUsageErr("unexpected argument %q", pos[0])
	}
	if *eui == "" || *code == "" {
		return c.zigbeeUsageErr("permit needs --eui64 and --install-code")
	}
	if *dur < time.Second || *dur > time.Hour {
		return c.zigbeeUsageErr("--for %v: 1s…1h", *dur)
	}
	cl, rc := c.zigbeeDial(ctx, &sf)
	if cl == nil {
		return rc
	}
	defer cl.Close()
	if err := cl.ZigbeePermit(ctx, *eui, *code, *dur); err != nil {
		return c.zigbeeErr(err)
	}
	fmt.Fprintf(c.stdout, "joining open for %s until about %s; watch it join with: smgw han zigbee devices\n",
		*eui, c.now().Add(min(*dur, 254*time.Second)).Local().Format("15:04:05"))
	return exitOK
}

func (c *cli) zigbeeDevices(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han zigbee devices", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	format := fs.String("format", "table", "table or json")
	pos, rc := parseFlags(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 0 {
		return c.zigbeeUsageErr("unexpected argument %q", pos[0])
	}
	if *format != "table" && *format != "json" {
		return c.zigbeeUsageErr("--format: table or json")
	}
	cl, rc := c.zigbeeDial(ctx, &sf)
	if cl == nil {
		return rc
	}
	defer cl.Close()
	n, err := cl.ZigbeeDevices(ctx)
	if err != nil {
		return c.zigbeeErr(err)
	}
	if *format == "json" {
		b, _ := json.MarshalIndent(n, "", "  ")
		fmt.Fprintln(c.stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(c.stdout, "network: %s, channel %d, PAN %s, extended PAN %s\n", n.State, n.Channel, n.PANID, n.ExtendedPANID)
	fmt.Fprintf(c.stdout, "co-processor: %s %s (IEEE %s)\n\n", n.Driver, n.Firmware, n.IEEE)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EUI-64\tNWK\tJOINED\tLAST SEEN\tLQI\tENDPOINT")
	for _, d := range n.Devices {
		last := "-"
		if !d.LastSeen.IsZero() {
			last = d.LastSeen.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", d.EUI64, d.NWK, d.Joined.Local().Format("2006-01-02 15:04"), last, d.LQI, d.Endpoint)
	}
	tw.Flush()
	return exitOK
}

func (c *cli) zigbeeRemove(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han zigbee remove", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	pos, rc := parseFlags(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) != 1 {
		return c.zigbeeUsageErr("want: smgw han zigbee remove EUI")
	}
	cl, rc := c.zigbeeDial(ctx, &sf)
	if cl == nil {
		return rc
	}
	defer cl.Close()
	if err := cl.ZigbeeRemove(ctx, pos[0]); err != nil {
		return c.zigbeeErr(err)
	}
	fmt.Fprintf(c.stdout, "removed %s\n", pos[0])
	return exitOK
}
