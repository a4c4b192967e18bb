package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/tariff"
)

// The HAN display service's commands (docs/han.md): pairing codes and
// paired clients, through the running daemon's control socket.

const hanUsage = `usage: smgw han pair [--meter ID]... [--data DIR | -c FILE] [--format text|json]
       smgw han clients [--data DIR | -c FILE] [--format table|json]
       smgw han clients revoke ID [--data DIR | -c FILE]
       smgw han zigbee permit|devices|remove ...

pair     print a one-time pairing code for an in-home display (valid a few
         minutes, single use), bound to the household's meters or to the
         meters given with --meter
clients  list the paired displays; "revoke ID" revokes one at once
zigbee   Zigbee Smart Energy displays: let one join by its install code,
         list the network, remove one ("smgw han zigbee help")
`

func (c *cli) cmdHAN(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w, code := c.stderr, exitUsage
		if len(args) > 0 {
			w, code = c.stdout, exitOK
		}
		fmt.Fprint(w, hanUsage)
		return code
	}
	switch args[0] {
	case "pair":
		return c.hanPair(ctx, args[1:])
	case "zigbee":
		return c.cmdZigbee(ctx, args[1:]) // zigbee.go
	case "clients":
		if len(args) > 1 && args[1] == "revoke" {
			return c.hanRevoke(ctx, args[2:])
		}
		return c.hanClients(ctx, args[1:])
	}
	return c.usageErr("han", "unknown subcommand %q", args[0])
}

// meterList is a repeatable --meter flag.
type meterList []string

func (m *meterList) String() string     { return strings.Join(*m, ",") }
func (m *meterList) Set(s string) error { *m = append(*m, s); return nil }

// hanDial connects to the daemon; the HAN service lives only there.
func (c *cli) hanDial(ctx context.Context, sf *storeFlags) (*ctl.Client, int) {
	loc, err := sf.locate()
	if err != nil {
		return nil, c.storeErr("han", err)
	}
	cl, err := loc.dial(ctx)
	if errors.Is(err, ctl.ErrNoDaemon) {
		fmt.Fprintln(c.stderr, "smgw han: the daemon is not running; pairing and clients are managed by the running gateway")
		return nil, exitFail
	}
	if err != nil {
		return nil, c.storeErr("han", err)
	}
	return cl, -1
}

func (c *cli) hanErr(err error) int {
	fmt.Fprintf(c.stderr, "smgw han: %v\n", err)
	if errors.Is(err, ctl.ErrBadRequest) || errors.Is(err, ctl.ErrNotFound) {
		return exitUsage
	}
	return exitFail
}

func (c *cli) hanPair(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han pair", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	var meters meterList
	fs.Var(&meters, "meter", "bind the code to meter `ID` (repeatable); default: the household's meters ([han] meters, else every meter)")
	format := fs.String("format", "text", "text or json")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("han", "unexpected argument %q", pos[0])
	}
	if *format != "text" && *format != "json" {
		return c.usageErr("han", "--format: text or json")
	}
	cl, code := c.hanDial(ctx, &sf)
	if cl == nil {
		return code
	}
	defer cl.Close()
	p, err := cl.HANPair(ctx, meters)
	if err != nil {
		return c.hanErr(err)
	}
	if *format == "json" {
		b, _ := json.MarshalIndent(p, "", "  ")
		fmt.Fprintln(c.stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(c.stdout, "pairing code: %s\n", p.Code)
	fmt.Fprintf(c.stdout, "valid until:  %s (%s), once\n", p.Expires.Local().Format("15:04:05"),
		p.Expires.Sub(c.now()).Round(time.Second))
	if len(p.Meters) > 0 {
		fmt.Fprintf(c.stdout, "meters:       %s\n", strings.Join(p.Meters, ", "))
	} else {
		fmt.Fprintln(c.stdout, "meters:       every meter of this gateway")
	}
	for _, u := range p.URLs {
		fmt.Fprintf(c.stdout, "open:         %s\n", u)
	}
	if p.CertSHA256 != "" {
		fmt.Fprintf(c.stdout, "certificate:  SHA-256 %s\n", p.CertSHA256)
	}
	return exitOK
}

func (c *cli) hanClients(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han clients", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	format := fs.String("format", "table", "table or json")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("han", "unexpected argument %q (revoke with: smgw han clients revoke ID)", pos[0])
	}
	if *format != "table" && *format != "json" {
		return c.usageErr("han", "--format: table or json")
	}
	cl, code := c.hanDial(ctx, &sf)
	if cl == nil {
		return code
	}
	defer cl.Close()
	cs, err := cl.HANClients(ctx)
	if err != nil {
		return c.hanErr(err)
	}
	if *format == "json" {
		if cs == nil {
			cs = []ctl.HANClient{}
		}
		b, _ := json.MarshalIndent(cs, "", "  ")
		fmt.Fprintln(c.stdout, string(b))
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPAIRED\tLAST USE\tMETERS\tCERT\tSTATE")
	for _, x := range cs {
		last := "-"
		if !x.LastUse.IsZero() {
			last = x.LastUse.Local().Format("2006-01-02 15:04")
		}
		ms := "all"
		if len(x.Meters) > 0 {
			ms = strings.Join(x.Meters, ",")
		}
		cert := "-"
		if x.CertSHA256 != "" {
			cert = x.CertSHA256[:16]
		}
		state := "active"
		if x.Revoked != nil {
			state = "revoked " + x.Revoked.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Name, x.Paired.Local().Format("2006-01-02 15:04"), last, ms, cert, state)
	}
	tw.Flush()
	return exitOK
}

func (c *cli) hanRevoke(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("smgw han clients revoke", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("han", "want: smgw han clients revoke ID")
	}
	cl, code := c.hanDial(ctx, &sf)
	if cl == nil {
		return code
	}
	defer cl.Close()
	x, err := cl.HANRevoke(ctx, pos[0])
	if err != nil {
		return c.hanErr(err)
	}
	fmt.Fprintf(c.stdout, "revoked %s (%s)\n", x.ID, x.Name)
	return exitOK
}

// defaultDemoHAN is where `smgw demo` serves the in-home display page.
const defaultDemoHAN = "127.0.0.1:8080"

// demoHAN binds the demo's display page: plain HTTP, no pairing. An
// address given with --han must be bound; the default one is skipped
// with a warning when it is taken (another demo runs).
func (c *cli) demoHAN(opts *app.Options, addr string, explicit bool) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if explicit {
			return fmt.Errorf("display page: %w (choose another with --han)", err)
		}
		fmt.Fprintf(c.stderr, "smgw demo: display page not served: %v (choose another address with --han)\n", err)
		return nil
	}
	opts.HANListener = ln
	return nil
}

// demoHANStarted prints where the display page is and, when the demo's
// tariff model is empty, installs a day/night tariff like the simulated
// meter's T1/T2 registers (a HES would send one), so the page shows prices.
func (c *cli) demoHANStarted(a *app.App) {
	addrs := a.HANAddrs()
	for _, ad := range addrs {
		fmt.Fprintf(c.stderr, "smgw demo: in-home display page http://%s/ (demo mode: no pairing)\n", ad)
	}
	tm := a.Tariff()
	if len(addrs) == 0 || tm == nil || len(tm.Schedules()) > 0 {
		return
	}
	tz := os.Getenv("TZ")
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" || strings.HasPrefix(tz, "/") || strings.HasPrefix(tz, ":") {
		tz = ""
	}
	every := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	s := tariff.Schedule{ID: "demo-day-night", Effective: time.Now().AddDate(0, -2, 0), Currency: "EUR", Unit: "kWh", TimeZone: tz,
		Tiers:       []tariff.Tier{{ID: 1, Label: "day (T1)", Price: meter.V(3240, -4)}, {ID: 2, Label: "night (T2)", Price: meter.V(2510, -4)}},
		DefaultTier: 2, Periods: []tariff.Period{{Tier: 1, Days: every, Start: "06:00", End: "22:00"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tm.SetSchedule(ctx, s); err != nil {
		fmt.Fprintf(c.stderr, "smgw demo: no demo tariff: %v\n", err)
		return
	}
	fmt.Fprintln(c.stderr, "smgw demo: installed a demo day/night tariff (0.3240/0.2510 EUR/kWh) for the display page")
}

// flagGiven reports whether a flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
