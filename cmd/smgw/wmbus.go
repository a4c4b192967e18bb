package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

// metersNearby prints the running daemon's wireless M-Bus report: the
// configured meters' health, the unknown meters heard nearby and the last
// bad telegrams (smgw meters --nearby).
func (c *cli) metersNearby(ctx context.Context, loc location, format string) int {
	cl, err := loc.dial(ctx)
	if errors.Is(err, ctl.ErrNoDaemon) {
		fmt.Fprintf(c.stderr, "smgw meters --nearby: the daemon is not running (no answer on %s); "+
			"meters heard nearby are only known to it\n", joinList(loc.sockets))
		return exitFail
	}
	if err != nil {
		return c.fail("meters", err)
	}
	defer cl.Close()
	st, err := cl.WMBus(ctx)
	if err != nil {
		return c.fail("meters", err)
	}
	if format == "json" {
		b, err := json.Marshal(st)
		if err != nil {
			return c.fail("meters", err)
		}
		c.stdout.Write(append(b, '\n'))
		return exitOK
	}
	c.stdout.Write([]byte(fmtWMBus(st, c.now())))
	return exitOK
}

// fmtWMBus formats the report as tables.
func fmtWMBus(st ctl.WMBusStatus, now time.Time) string {
	var b strings.Builder
	if st.Receiver == "" {
		b.WriteString("no wireless M-Bus receiver configured\n")
		return b.String()
	}
	s := st.Stats
	fmt.Fprintf(&b, "receiver  %s\n", st.Receiver)
	fmt.Fprintf(&b, "telegrams %d received, %d stored (%d readings), %d dropped, %d unreadable, %d of unknown meters, %d bad frames at the receiver\n\n",
		s.Frames, s.Stored, s.Readings, s.Dropped, s.Unreadable, s.Unknown, s.ReceiverBad)
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	}
	rssi := func(r *int) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%d dBm", *r)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METER\tADDRESS\tMEDIUM\tSECURITY\tLAST SEEN\tRSSI\tTELEGRAMS\tSTORED\tDUPLICATES\tREPLAYS\tERRORS")
	for _, m := range st.Meters {
		var errs []string
		for _, k := range slices.Sorted(maps.Keys(m.Errors)) {
			errs = append(errs, fmt.Sprintf("%s %d", k, m.Errors[k]))
		}
		e := strings.Join(errs, ", ")
		if e == "" {
			e = "-"
		}
		fmt.Fprintf(tw, "%s\t%s-%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", m.Meter, m.Manufacturer, m.Address, dash(m.Medium),
			dash(m.Security), ago(m.LastSeen), rssi(m.RSSI), m.Telegrams, m.Stored, m.Duplicates, m.Replays, e)
	}
	tw.Flush()
	for _, m := range st.Meters {
		if m.LastError != "" {
			fmt.Fprintf(&b, "%s: last error: %s\n", m.Meter, m.LastError)
		}
		for _, f := range m.Flags {
			fmt.Fprintf(&b, "%s: WARNING: %s\n", m.Meter, f)
		}
	}
	b.WriteString("\nnearby (heard, not configured):\n")
	if len(st.Nearby) == 0 {
		b.WriteString("  none\n")
	} else {
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MANUFACTURER\tID\tVERSION\tTYPE\tENCRYPTED\tRSSI\tLAST SEEN\tCOUNT")
		for _, n := range st.Nearby {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s (0x%02X)\t%v\t%s\t%s\t%d\n", n.Manufacturer, n.ID, n.Version, n.Medium, n.DeviceType,
				n.Encrypted, rssi(n.RSSI), ago(n.LastSeen), n.Count)
		}
		tw.Flush()
	}
	if len(st.Bad) > 0 {
		fmt.Fprintf(&b, "\nlast %d bad telegrams:\n", len(st.Bad))
		for _, t := range st.Bad {
			fmt.Fprintf(&b, "  %s %s %s: %s\n    %s\n", t.Time.UTC().Format(time.RFC3339), dash(t.Meter), t.Reason, t.Err, t.Hex)
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
