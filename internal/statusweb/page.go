package statusweb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// pageData is what the page template shows; every string is final.
type pageData struct {
	NowISO    string
	Status    *statusView
	StatusErr string
	Live      []valueView
	Meters    []meterView
	MetersErr string
}

type statusView struct {
	GatewayID, Version, KeyProvider, WAN string
	Insecure                             bool
	Started                              timeView
	Uptime                               string
	MetersSeen                           int
	ReadingsLastMinute                   uint64
	Stats                                []statView
	Services                             []serviceView
	LMN                                  []lmnBusView // lmn.go
}

type statView struct {
	Key, Label, Value, Title string
}

type serviceView struct {
	Name         string
	Healthy      bool
	LastProgress timeView
	Err          string
}

// timeView is a time as the page shows it; ISO feeds the script.
type timeView struct {
	ISO, Text, Title, Ago string
}

// valueView is one quantity's value: exact decimal and unit symbol.
type valueView struct {
	Key     string // "meter|obis", the script's handle
	Meter   string
	OBIS    string
	Name    string
	Value   string
	Unit    string
	Quality string // "" when ok
	Time    timeView
}

type meterView struct {
	ID     string
	Series []valueView
	Chart  *chartView
}

// chartView is an SVG bar chart of consumption per interval.
type chartView struct {
	Title     string // what is charted
	Unit      string
	W, H      int
	Left      string // x of the plot area
	Right     string
	YLabelX   string // x of the value labels (right-aligned)
	XLabelY   string // y of the time labels
	Base      string // y of the zero line
	Bars      []barView
	Grid      []gridView
	XLabels   []xLabelView
	Total     string // exact consumption over the window, "" if unknown
	Empty     bool
	Note      string // e.g. why it is empty or incomplete
	AriaLabel string
}

type barView struct{ X, Y, W, H, Title string }
type gridView struct{ Y, Label string }
type xLabelView struct{ X, Label string }

// Chart geometry.
const (
	chartW, chartH         = 720, 200
	padL, padR, padT, padB = 52, 8, 22, 24
	interval               = 15 * time.Minute
	window                 = 24 * time.Hour
	buckets                = int(window / interval)
	maxChartReadings       = 400_000 // ≈ 4.6 readings a second for a day
	chartTimeFmt           = "15:04"
)

func (h *handler) pageData(ctx context.Context) pageData {
	now := h.now()
	d := pageData{NowISO: now.UTC().Format(time.RFC3339Nano)}
	st, err := h.b.Status(ctx)
	if err != nil {
		h.log.Warn("statusweb: status", "err", err)
		d.StatusErr = err.Error()
	} else {
		sv := &statusView{
			GatewayID: st.GatewayID, Version: st.Version, KeyProvider: st.KeyProvider, WAN: st.WAN,
			Insecure: st.Insecure, Started: h.timeView(st.Started, now), Uptime: fmtDuration(st.Uptime),
			MetersSeen: st.MetersSeen, ReadingsLastMinute: st.ReadingsLastMinute,
		}
		s := st.Store
		lastCommit := "never"
		if !s.LastCommit.IsZero() {
			lastCommit = h.timeView(s.LastCommit, now).Ago + " (took " + fmtMillis(s.LastCommitTook) + ")"
		}
		sv.Stats = []statView{
			{"appended", "Readings stored since start", strconv.FormatUint(s.Appended, 10), ""},
			{"deferred", "Awaiting commit", strconv.FormatUint(s.Deferred, 10), ""},
			{"commits", "Commits", strconv.FormatUint(s.Commits, 10), ""},
			{"last_commit", "Last commit", lastCommit, h.timeView(s.LastCommit, now).Title},
			{"compactions", "Compactions", strconv.FormatUint(s.Compactions, 10), ""},
			{"journal_bytes", "Journal", fmtBytes(int64(s.JournalBytes)), strconv.Itoa(s.JournalBytes) + " bytes"},
			{"file_bytes", "Database file", fmtBytes(s.FileBytes), strconv.FormatInt(s.FileBytes, 10) + " bytes"},
			{"series", "Meters / series", fmt.Sprintf("%d / %d", s.Meters, s.Series), ""},
		}
		for _, svc := range st.Services {
			sv.Services = append(sv.Services, serviceView{Name: svc.Name, Healthy: svc.Healthy,
				LastProgress: h.timeView(svc.LastProgress, now), Err: svc.Err})
		}
		for _, r := range st.Live {
			d.Live = append(d.Live, h.valueView(r, now))
		}
		sv.LMN = h.lmnView(st.LMN, now)
		d.Status = sv
	}

	ms, err := h.b.Meters(ctx)
	if err != nil {
		h.log.Warn("statusweb: meters", "err", err)
		d.MetersErr = err.Error()
		return d
	}
	for _, m := range ms {
		mv := meterView{ID: string(m.ID)}
		var chartSeries *store.SeriesInfo
		for i, s := range m.Series {
			v := h.valueView(s.Latest, now)
			v.Key, v.Meter, v.OBIS, v.Name = key(m.ID, s.OBIS), string(m.ID), s.OBIS.String(), obisName(s.OBIS, s.Unit)
			if s.Latest.Time.IsZero() {
				v.Value, v.Unit = "–", s.Unit.Symbol()
			}
			mv.Series = append(mv.Series, v)
			if chartSeries == nil && cumulative(s.OBIS, s.Unit) {
				chartSeries = &m.Series[i]
			}
		}
		if chartSeries != nil {
			mv.Chart = h.chart(ctx, m.ID, *chartSeries, now)
		}
		d.Meters = append(d.Meters, mv)
	}
	return d
}

func key(id meter.MeterID, o meter.OBIS) string { return string(id) + "|" + o.String() }

func (h *handler) valueView(r meter.Reading, now time.Time) valueView {
	v := valueView{
		Key: key(r.Meter, r.OBIS), Meter: string(r.Meter), OBIS: r.OBIS.String(), Name: obisName(r.OBIS, r.Unit),
		Value: r.Value.String(), Unit: r.Unit.Symbol(), Time: h.timeView(r.Time, now),
	}
	if r.Quality != 0 {
		v.Quality = r.Quality.String()
	}
	return v
}

func (h *handler) timeView(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Text: "–", Ago: "never"}
	}
	lt, ln := t.In(h.loc), now.In(h.loc)
	tv := timeView{ISO: t.UTC().Format(time.RFC3339Nano), Title: lt.Format("Mon 2 Jan 2006 15:04:05.000 MST"), Ago: fmtAgo(now.Sub(t))}
	switch {
	case lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year():
		tv.Text = lt.Format("15:04:05")
	case lt.Year() == ln.Year():
		tv.Text = lt.Format("2 Jan 15:04")
	default:
		tv.Text = lt.Format("2 Jan 2006 15:04")
	}
	return tv
}

// fmtAgo says how long ago: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago".
func fmtAgo(d time.Duration) string {
	switch {
	case d < 0:
		return "in " + strings.TrimSuffix(fmtAgo(-d), " ago")
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
}

// fmtDuration is an uptime: "3 d 4 h", "4 h 5 min", "5 min 3 s", "3 s".
func fmtDuration(d time.Duration) string {
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%d min %d s", mins, secs)
	}
	return fmt.Sprintf("%d s", secs)
}

func fmtMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// fmtBytes is a size in binary units: "812 B", "64.0 KiB", "3.2 MiB".
func fmtBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || u == "TiB" {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return "" // not reached
}

// cumulative reports whether a series is a register that only grows
// (energy, volume), whose differences are consumption.
func cumulative(o meter.OBIS, u meter.Unit) bool {
	if o.Instantaneous() {
		return false
	}
	switch u {
	case meter.UnitWattHour, meter.UnitVarHour, meter.UnitVoltAmpHour, meter.UnitJoule,
		meter.UnitCubicMetre, meter.UnitCubicMetreCor, meter.UnitLitre:
		return true
	}
	return false
}

// obisName names the common quantities; others by their unit.
func obisName(o meter.OBIS, u meter.Unit) string {
	a, c, d, e := o[0], o[2], o[3], o[4]
	tariff := ""
	if e > 0 {
		tariff = " T" + strconv.Itoa(int(e))
	}
	switch a {
	case 1:
		switch {
		case d == 8 && c == 1:
			return "Energy import" + tariff
		case d == 8 && c == 2:
			return "Energy export" + tariff
		case d == 8 && c == 3:
			return "Reactive energy import" + tariff
		case d == 8 && c == 4:
			return "Reactive energy export" + tariff
		case d == 8 && c == 16:
			return "Energy, net" + tariff
		case d == 7:
			switch c {
			case 1:
				return "Power import"
			case 2:
				return "Power export"
			case 3:
				return "Reactive power import"
			case 4:
				return "Reactive power export"
			case 16:
				return "Power, net"
			case 13:
				return "Power factor"
			case 14:
				return "Frequency"
			case 21, 41, 61:
				return "Power import L" + strconv.Itoa(int(c-1)/20)
			case 31, 51, 71:
				return "Current L" + strconv.Itoa(int(c-11)/20)
			case 32, 52, 72:
				return "Voltage L" + strconv.Itoa(int(c-12)/20)
			}
		}
	case 6:
		switch c {
		case 1:
			return "Heat energy" + tariff
		case 2:
			return "Heat volume"
		case 8:
			return "Heat power"
		case 9:
			return "Flow rate"
		case 10:
			return "Flow temperature"
		case 11:
			return "Return temperature"
		case 12:
			return "Temperature difference"
		}
	case 7:
		if c == 3 || c == 1 {
			return "Gas volume"
		}
	case 8:
		if c == 1 {
			return "Water volume"
		}
	case 9:
		if c == 1 {
			return "Hot water volume"
		}
	}
	if u == meter.UnitNone || !u.Known() {
		return "Quantity"
	}
	n := u.Name()
	return strings.ToUpper(n[:1]) + n[1:]
}

// chart draws the consumption of one cumulative series per 15-minute
// interval over the last 24 hours: the difference between the register's
// last value in an interval and its last value in the interval before
// (or, across a gap, the last interval with a value).
func (h *handler) chart(ctx context.Context, id meter.MeterID, s store.SeriesInfo, now time.Time) *chartView {
	end := now.Truncate(interval).Add(interval) // end of the current interval
	start := end.Add(-window)
	cv := &chartView{
		Title: fmt.Sprintf("%s (%s), consumption per 15 minutes, last 24 hours", obisName(s.OBIS, s.Unit), s.OBIS),
		Unit:  s.Unit.Symbol(), W: chartW, H: chartH,
		Left: ff(padL), Right: ff(chartW - padR), Base: ff(chartH - padB),
		YLabelX: ff(padL - 6), XLabelY: ff(chartH - 7),
	}
	cv.AriaLabel = cv.Title
	// last[0] is the baseline before the window; last[i+1] bucket i's.
	var last [buckets + 1]meter.Value
	var have [buckets + 1]bool
	n := 0
	errFull := errors.New("full")
	err := h.b.Query(ctx, store.Query{Meter: id, OBIS: s.OBIS, From: start.Add(-interval), To: end, Limit: maxChartReadings},
		func(r meter.Reading) error {
			n++
			i := 0
			if !r.Time.Before(start) {
				i = int(r.Time.Sub(start)/interval) + 1
			}
			if i > buckets {
				return nil
			}
			last[i], have[i] = r.Value, true
			if n >= maxChartReadings {
				return errFull
			}
			return nil
		})
	switch {
	case errors.Is(err, errFull):
		cv.Note = fmt.Sprintf("Only the first %d readings of the day are charted.", maxChartReadings)
	case err != nil:
		h.log.Warn("statusweb: chart query", "meter", id, "obis", s.OBIS, "err", err)
		cv.Empty, cv.Note = true, "No chart: "+err.Error()
		return cv
	}

	type diff struct {
		v    meter.Value
		from int // bucket index (in last[]) the difference is taken from
	}
	var diffs [buckets]*diff
	prev, first := -1, -1
	maxF := 0.0
	for i := 0; i <= buckets; i++ {
		if !have[i] {
			continue
		}
		if first < 0 {
			first = i
		}
		if prev >= 0 && i > 0 {
			if dv, err := last[i].Sub(last[prev]); err == nil {
				diffs[i-1] = &diff{dv, prev}
				maxF = math.Max(maxF, dv.Float64())
			}
		}
		prev = i
	}
	if prev < 0 || first == prev {
		cv.Empty = true
		if cv.Note == "" {
			cv.Note = "Not enough readings in the last 24 hours to chart consumption."
		}
		return cv
	}
	// The total is the sum of the intervals' consumption, so that a
	// register that went back (a reset, a meter swap) does not cancel it.
	total, totalOK := meter.Value{}, true
	for _, d := range diffs {
		if d != nil && d.v.M > 0 {
			var err error
			if total, err = total.Add(d.v); err != nil {
				totalOK = false
			}
		}
	}
	if totalOK {
		cv.Total = total.String()
	}

	top := niceCeil(maxF)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	step := plotW / float64(buckets)
	for k := 0; k <= 4; k++ {
		val := top * float64(k) / 4
		cv.Grid = append(cv.Grid, gridView{Y: ff(padT + plotH - plotH*float64(k)/4), Label: strconv.FormatFloat(val, 'g', 4, 64)})
	}
	bucketStart := func(i int) time.Time { return start.Add(time.Duration(i) * interval) } // i: bucket index 0…95
	for i, d := range diffs {
		if d == nil {
			continue
		}
		f := max(d.v.Float64(), 0)
		bh := plotH * f / top
		from := start.Add(-interval) // the baseline interval
		if d.from > 0 {
			from = bucketStart(d.from - 1)
		}
		title := fmt.Sprintf("%s–%s: %s %s", from.Add(interval).In(h.loc).Format(chartTimeFmt),
			bucketStart(i).Add(interval).In(h.loc).Format(chartTimeFmt), d.v, cv.Unit)
		cv.Bars = append(cv.Bars, barView{
			X: ff(padL + step*float64(i) + step*0.1), W: ff(step * 0.8),
			Y: ff(padT + plotH - bh), H: ff(bh), Title: title,
		})
	}
	for i := 0; i <= buckets; i++ {
		t := bucketStart(i).In(h.loc)
		if t.Minute() == 0 && t.Hour()%6 == 0 {
			label := t.Format(chartTimeFmt)
			if t.Hour() == 0 {
				label = t.Format("2 Jan")
			}
			cv.XLabels = append(cv.XLabels, xLabelView{X: ff(padL + step*float64(i)), Label: label})
		}
	}
	return cv
}

// niceCeil rounds up to 1, 2, 2.5 or 5 × 10^k; 1 for nothing positive.
func niceCeil(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if x <= m*p*(1+1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// ff formats a chart coordinate.
func ff(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
