package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

// fmtLMN is the RS-485 part of `smgw status`: a line per bus, a row per
// meter with its state, last success, consecutive failures and error
// counters, and the last error of a meter that is not ok.
func fmtLMN(st *ctl.LMNStatus, now time.Time) string {
	var b strings.Builder
	b.WriteString("rs-485\n")
	for _, bus := range st.Buses {
		state := "NOT OPEN"
		if bus.Open {
			state = fmt.Sprintf("open, line busy %.0f%% (15 min)", bus.Occupancy*100)
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", bus.Driver, bus.Port, state)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, m := range bus.Meters {
			st := m.State
			if st != ctl.LMNOK && st != ctl.LMNWaiting {
				st = strings.ToUpper(st)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\tlast ok %s\t%d failing\t%d timeouts, %d crc/frame, %s refused, %d retries\n",
				m.Meter, m.Address, st, ago(m.LastSuccess, now), m.ConsecutiveFailures, m.Timeouts, m.FrameErrors, kinds(m), m.Retries)
			if m.LastError != "" && m.State != ctl.LMNOK {
				fmt.Fprintf(tw, "    \t\t\tlast error %s: %s\n", ago(m.LastErrorAt, now), m.LastError)
			}
		}
		tw.Flush()
	}
	return b.String()
}

// kinds sums a meter's protocol errors: "0", or "3 (exception:illegal
// data address 2, other 1)".
func kinds(m ctl.LMNMeter) string {
	n := m.Other
	var ks []string
	for k, v := range m.Protocol {
		n += v
		ks = append(ks, fmt.Sprintf("%s %d", k, v))
	}
	if n == 0 {
		return "0"
	}
	sort.Strings(ks)
	if m.Other > 0 {
		ks = append(ks, fmt.Sprintf("other %d", m.Other))
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(ks, ", "))
}
