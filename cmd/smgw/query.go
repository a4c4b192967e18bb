package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/version"
)

func (c *cli) cmdMeters(ctx context.Context, args []string) int {
	fs := c.flagSet("meters")
	var sf storeFlags
	sf.register(fs)
	format := fs.String("format", "table", "output `format`: table or json")
	nearby := fs.Bool("nearby", false, "show the wireless M-Bus meters' health and the unknown meters heard nearby (needs the running daemon)")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("meters", "unexpected argument %q", pos[0])
	}
	if !checkFormat(*format, "table", "json") {
		return c.usageErr("meters", "--format %q: want table or json", *format)
	}
	loc, err := sf.locate()
	if err != nil {
		return c.storeErr("meters", err)
	}
	if *nearby {
		return c.metersNearby(ctx, loc, *format)
	}
	r, closeFn, err := loc.open(ctx)
	if err != nil {
		return c.storeErr("meters", err)
	}
	defer closeFn()
	ms, err := r.Meters(ctx)
	if err != nil {
		return c.fail("meters", err)
	}
	if *format == "json" {
		b, err := ctl.MarshalMeters(ms)
		if err != nil {
			return c.fail("meters", err)
		}
		c.stdout.Write(append(b, '\n'))
		return exitOK
	}
	if len(ms) == 0 {
		fmt.Fprintln(c.stdout, "no meters")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METER\tOBIS\tLATEST\tUNIT\tAT\tSINCE")
	for _, m := range ms {
		for _, s := range m.Series {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, s.OBIS, s.Latest.Value, s.Unit.Symbol(),
				fmtTableTime(s.Latest.Time), fmtTableTime(s.First))
		}
	}
	tw.Flush()
	return exitOK
}

func (c *cli) cmdLog(ctx context.Context, args []string) int {
	fs := c.flagSet("log")
	var sf storeFlags
	sf.register(fs)
	verify := fs.Bool("verify", false, "check the log's hash chain (every log when none is named); exit 1 on a break")
	after := fs.Uint64("after", 0, "print only entries with a sequence number above `N`")
	format := fs.String("format", "table", "output `format`: table or json (one object per line)")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 1 {
		return c.usageErr("log", "unexpected argument %q", pos[1])
	}
	if !checkFormat(*format, "table", "json") {
		return c.usageErr("log", "--format %q: want table or json", *format)
	}
	names := []store.LogName{store.LogSystem}
	if *verify {
		names = store.Logs
	}
	if len(pos) == 1 {
		n := store.LogName(pos[0])
		if !slices.Contains(store.Logs, n) {
			return c.usageErr("log", "unknown log %q: want system, metrology or consumer", pos[0])
		}
		names = []store.LogName{n}
	}
	loc, err := sf.locate()
	if err != nil {
		return c.storeErr("log", err)
	}
	r, closeFn, err := loc.open(ctx)
	if err != nil {
		return c.storeErr("log", err)
	}
	defer closeFn()
	if *verify {
		code := c.verifyLogs(ctx, r, names)
		return max(code, c.verifyCheckpoints(ctx, r, loc.dataDir, names)) // keys.go: the signed heads
	}
	w := bufio.NewWriter(c.stdout)
	var buf []byte
	n := 0
	err = r.Events(ctx, names[0], *after, func(ev store.Event) error {
		n++
		if *format == "json" {
			buf = ctl.EncodeEventJSON(buf[:0], ev)
			buf = append(buf, '\n')
			_, err := w.Write(buf)
			return err
		}
		_, err := w.WriteString(fmtEvent(ev))
		return err
	})
	if n == 0 && err == nil && *format == "table" {
		fmt.Fprintf(w, "no entries in the %s log", names[0])
		if *after > 0 {
			fmt.Fprintf(w, " after %d", *after)
		}
		fmt.Fprintln(w)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return c.fail("log", err)
	}
	return exitOK
}

// fmtEvent is one table line: sequence, time, kind, message, attributes.
func fmtEvent(ev store.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6d  %s  %-12s  %s", ev.Seq, fmtTableTime(ev.Time), ev.Kind, ev.Message)
	for _, k := range slices.Sorted(maps.Keys(ev.Attrs)) {
		v := ev.Attrs[k]
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	b.WriteByte('\n')
	return b.String()
}

func (c *cli) verifyLogs(ctx context.Context, r ctl.Reader, names []store.LogName) int {
	code := exitOK
	for _, name := range names {
		rep, err := r.VerifyLog(ctx, name)
		switch {
		case errors.Is(err, store.ErrChainBroken):
			fmt.Fprintf(c.stdout, "%s: BROKEN: %v\n", name, err)
			if rep.Entries > 0 {
				fmt.Fprintf(c.stdout, "%s: %d entries (seq %d…%d) verified before the break\n", name, rep.Entries, rep.First, rep.Last)
			}
			code = exitFail
		case err != nil:
			return c.fail("log", fmt.Errorf("verify %s: %w", name, err))
		case rep.Entries == 0:
			fmt.Fprintf(c.stdout, "%s: ok, empty\n", name)
		default:
			fmt.Fprintf(c.stdout, "%s: ok, %d entries (seq %d…%d), head %s\n", name, rep.Entries, rep.First, rep.Last,
				hex.EncodeToString(rep.Head[:8]))
		}
	}
	return code
}

func (c *cli) cmdStatus(ctx context.Context, args []string) int {
	fs := c.flagSet("status")
	var sf storeFlags
	sf.register(fs)
	format := fs.String("format", "text", "output `format`: text or json")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("status", "unexpected argument %q", pos[0])
	}
	if !checkFormat(*format, "text", "json") {
		return c.usageErr("status", "--format %q: want text or json", *format)
	}
	loc, err := sf.locate()
	if err != nil {
		return c.storeErr("status", err)
	}
	cl, err := loc.dial(ctx)
	if errors.Is(err, ctl.ErrNoDaemon) {
		fmt.Fprintf(c.stderr, "smgw status: the daemon is not running (no answer on %s)\n", joinList(loc.sockets))
		return exitFail
	}
	if err != nil {
		return c.fail("status", err)
	}
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		return c.fail("status", err)
	}
	if *format == "json" {
		b, err := st.MarshalJSON()
		if err != nil {
			return c.fail("status", err)
		}
		c.stdout.Write(append(b, '\n'))
		return exitOK
	}
	c.stdout.Write([]byte(fmtStatus(st, c.now())))
	return exitOK
}

// fmtStatus is the text form of the daemon's status.
func fmtStatus(st ctl.Status, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway    %s, version %s, up %s (since %s)\n", st.GatewayID, st.Version,
		st.Uptime.Round(time.Second), st.Started.Local().Format(time.RFC3339))
	keys := st.KeyProvider
	if st.Insecure {
		keys += " (INSECURE: development keys)"
	}
	fmt.Fprintf(&b, "keys       %s\n", keys)
	fmt.Fprintf(&b, "meters     %d seen, %d readings in the last minute\n", st.MetersSeen, st.ReadingsLastMinute)
	fmt.Fprintf(&b, "WAN        %s\n", st.WAN)
	if st.Uplink != nil {
		fmt.Fprintf(&b, "uplink     %s\n", fmtUplink(st.Uplink, now)) // verify.go
	}
	s := st.Store
	fmt.Fprintf(&b, "store      %d readings stored, %d deferred, %d commits (last %s, took %s), %d meters, %d series, %.1f MiB\n",
		s.Appended, s.Deferred, s.Commits, ago(s.LastCommit, now), s.LastCommitTook.Round(time.Microsecond),
		s.Meters, s.Series, float64(s.FileBytes)/(1<<20))
	if len(st.Services) > 0 {
		b.WriteString("services\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, sv := range st.Services {
			state := "ok"
			if !sv.Healthy {
				state = "STALLED"
			}
			line := fmt.Sprintf("  %s\t%s\tprogress %s", sv.Name, state, ago(sv.LastProgress, now))
			if sv.Err != "" {
				line += "\t" + sv.Err
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	if st.LMN != nil {
		b.WriteString(fmtLMN(st.LMN, now)) // lmnstatus.go
	}
	if len(st.Live) > 0 {
		b.WriteString("live\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, r := range st.Live {
			fmt.Fprintf(tw, "  %s\t%s\t%s %s\t%s\n", r.Meter, r.OBIS, r.Value, r.Unit.Symbol(), ago(r.Time, now))
		}
		tw.Flush()
	}
	return b.String()
}

// ago says how long before now t was, "never" for the zero time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + (-d).Round(time.Second).String()
	}
	return d.Round(time.Second).String() + " ago"
}

func (c *cli) cmdVersion(_ context.Context, args []string) int {
	fs := c.flagSet("version")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("version", "unexpected argument %q", pos[0])
	}
	fmt.Fprintf(c.stdout, "smgw %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
