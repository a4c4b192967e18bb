package statusweb

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

// lmnBusView is one RS-485 line of the status (ctl.LMNStatus).
type lmnBusView struct {
	Driver, Port string
	State        string // "open" or "not open"
	Occupancy    string // "12 %", "" when not open
	Meters       []lmnMeterView
}

// lmnMeterView is one meter's health row.
type lmnMeterView struct {
	Meter, Address, State     string
	OK                        bool
	LastSuccess               timeView
	Failing                   string
	Timeouts, Frames, Retries string
	Refused                   string // protocol errors by kind
	LastError, LastErrorAt    string
}

func (h *handler) lmnView(st *ctl.LMNStatus, now time.Time) []lmnBusView {
	if st == nil {
		return nil
	}
	var out []lmnBusView
	for _, b := range st.Buses {
		bv := lmnBusView{Driver: b.Driver, Port: b.Port, State: "not open"}
		if b.Open {
			bv.State = "open"
			bv.Occupancy = fmtPercent(b.Occupancy)
		}
		for _, m := range b.Meters {
			bv.Meters = append(bv.Meters, h.lmnMeterView(m, now))
		}
		out = append(out, bv)
	}
	return out
}

func (h *handler) lmnMeterView(m ctl.LMNMeter, now time.Time) lmnMeterView {
	v := lmnMeterView{
		Meter: m.Meter, Address: m.Address, State: m.State, OK: m.State == ctl.LMNOK || m.State == ctl.LMNWaiting,
		LastSuccess: h.timeView(m.LastSuccess, now), Failing: strconv.Itoa(m.ConsecutiveFailures),
		Timeouts: strconv.FormatUint(m.Timeouts, 10), Frames: strconv.FormatUint(m.FrameErrors, 10),
		Retries: strconv.FormatUint(m.Retries, 10), Refused: fmtKinds(m.Protocol, m.Other), LastError: m.LastError,
	}
	if !m.LastErrorAt.IsZero() {
		v.LastErrorAt = h.timeView(m.LastErrorAt, now).Ago
	}
	return v
}

// fmtKinds lists protocol errors by kind ("exception:illegal data
// address 2, other 1"), "0" for none.
func fmtKinds(kinds map[string]uint64, other uint64) string {
	ks := make([]string, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("other %d", other))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

func fmtPercent(f float64) string {
	p := f * 100
	if p > 0 && p < 1 {
		return "<1 %"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + " %"
}
