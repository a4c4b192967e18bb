package sep2

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// meters returns the meters r may see, by id.
func (h *Handler) meters(r *http.Request) []store.MeterInfo {
	var out []store.MeterInfo
	for _, m := range h.src.Meters() {
		if len(h.o.Meters) > 0 && !slices.Contains(h.o.Meters, m.ID) {
			continue
		}
		if h.o.Visible != nil && !h.o.Visible(r, m.ID) {
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b store.MeterInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

func (h *Handler) metering(r *http.Request, seg []string, pg Page) (any, string, error) {
	ms := h.meters(r)
	if len(seg) == 0 {
		l := &usagePointList{PollRate: h.poll}
		l.Href, l.All = h.href("upt"), clampAll(len(ms))
		lo, hi := pg.window(len(ms), nil)
		for _, m := range ms[lo:hi] {
			l.Items = append(l.Items, h.usagePoint(m))
		}
		l.Results = uint32(len(l.Items))
		return l, "UsagePointList", nil
	}
	i := slices.IndexFunc(ms, func(m store.MeterInfo) bool { return url.PathEscape(string(m.ID)) == seg[0] || string(m.ID) == seg[0] })
	if i < 0 {
		return nil, "", errNotFound
	}
	m := ms[i]
	if len(seg) == 1 {
		return h.usagePoint(m), "UsagePoint", nil
	}
	if seg[1] != "mr" {
		return nil, "", errNotFound
	}
	up := h.href("upt", url.PathEscape(string(m.ID)))
	if len(seg) == 2 {
		l := &meterReadingList{}
		l.Href, l.All = up+"/mr", clampAll(len(m.Series))
		lo, hi := pg.window(len(m.Series), nil)
		for _, s := range m.Series[lo:hi] {
			l.Items = append(l.Items, h.meterReading(m.ID, s))
		}
		l.Results = uint32(len(l.Items))
		return l, "MeterReadingList", nil
	}
	j := slices.IndexFunc(m.Series, func(s store.SeriesInfo) bool { return obisSeg(s.OBIS) == seg[2] })
	if j < 0 {
		return nil, "", errNotFound
	}
	s := m.Series[j]
	base := up + "/mr/" + obisSeg(s.OBIS)
	mult := s.Latest.Value.E
	switch {
	case len(seg) == 3:
		return h.meterReading(m.ID, s), "MeterReading", nil
	case len(seg) == 4 && seg[3] == "rt":
		rt := seriesType(s.OBIS, s.Unit, mult)
		rt.Href = base + "/rt"
		return &rt, "ReadingType", nil
	case len(seg) == 4 && seg[3] == "r":
		rd, ok := h.src.Latest(m.ID, s.OBIS)
		if !ok {
			return nil, "", errNotFound
		}
		x := toReading(rd, mult)
		x.Href = base + "/r"
		return &readingDoc{reading: x}, "Reading", nil
	case len(seg) >= 4 && seg[3] == "rs":
		return h.readingSets(r.Context(), m.ID, s, base, seg[4:], pg)
	}
	return nil, "", errNotFound
}

func obisSeg(o meter.OBIS) string {
	return fmt.Sprintf("%02x%02x%02x%02x%02x%02x", o[0], o[1], o[2], o[3], o[4], o[5])
}

func (h *Handler) usagePoint(m store.MeterInfo) usagePoint {
	up := h.href("upt", url.PathEscape(string(m.ID)))
	kind := uint8(serviceElectricity)
	for _, s := range m.Series {
		if k, ok := serviceKind(s.OBIS.Medium()); ok {
			kind = k
			break
		}
	}
	return usagePoint{
		Href:                 up,
		identified:           identified{MRID: mRID("UsagePoint", string(m.ID)), Description: clip(string(m.ID), 32)},
		RoleFlags:            "01", // isMirror: the gateway is not the measuring device
		ServiceCategoryKind:  kind,
		Status:               1, // on
		MeterReadingListLink: &listLink{Href: up + "/mr", All: u32p(clampAll(len(m.Series)))},
	}
}

func (h *Handler) meterReading(id meter.MeterID, s store.SeriesInfo) meterReading {
	base := h.href("upt", url.PathEscape(string(id)), "mr", obisSeg(s.OBIS))
	return meterReading{
		Href:               base,
		identified:         identified{MRID: mRID("MeterReading", string(id)+"\x00"+s.OBIS.String()), Description: s.OBIS.String()},
		ReadingLink:        &link{Href: base + "/r"},
		ReadingSetListLink: &listLink{Href: base + "/rs"},
		ReadingTypeLink:    link{Href: base + "/rt"},
	}
}

// toReading converts a stored reading at the series' multiplier. A value
// that does not fit Int48 at it is left out.
func toReading(rd meter.Reading, mult int8) reading {
	x := reading{
		QualityFlags: qualityFlags(rd.Quality),
		TimePeriod:   &dateTimeInterval{Start: rd.Time.Unix()},
	}
	if t := touTier(rd.OBIS); t != 0 {
		x.TouTier = &t
	}
	if v, ok := scaled(rd.Value, mult); ok {
		x.Value = &v
	}
	return x
}

// days returns the starts of the local days from first to last, newest first.
func (h *Handler) days(first, last time.Time) []time.Time {
	var out []time.Time
	d := dayStart(last, h.loc)
	stop := dayStart(first, h.loc)
	for !d.Before(stop) && len(out) < maxAll {
		out = append(out, d)
		d = dayStart(d.Add(-time.Hour), h.loc)
	}
	return out
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
}

func nextDay(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, d.Location())
}

// readingSets serves the series' reading sets: one per local day,
// newest first, each listing that day's readings, oldest first.
func (h *Handler) readingSets(ctx context.Context, id meter.MeterID, s store.SeriesInfo, base string, seg []string, pg Page) (any, string, error) {
	mult := s.Latest.Value.E
	days := h.days(s.First, s.Latest.Time)
	set := func(d time.Time) readingSet {
		href := fmt.Sprintf("%s/rs/%d", base, d.Unix())
		return readingSet{
			Href:            href,
			identified:      identified{MRID: mRID("ReadingSet", fmt.Sprintf("%s\x00%s\x00%d", id, s.OBIS, d.Unix()))},
			TimePeriod:      dateTimeInterval{Start: d.Unix(), Duration: uint32(nextDay(d).Sub(d) / time.Second)},
			ReadingListLink: &listLink{Href: href + "/r"},
		}
	}
	if len(seg) == 0 {
		l := &readingSetList{}
		l.Href, l.All = base+"/rs", clampAll(len(days))
		// Newest first: a selects the sets from a on, still newest first.
		n := len(days)
		if pg.HasA {
			n = 0
			for n < len(days) && days[n].Unix() >= pg.After {
				n++
			}
			if n < len(days) && nextDay(days[n]).Unix() > pg.After {
				n++ // the set that contains a
			}
		}
		q := pg
		q.HasA = false
		lo, hi := q.window(n, nil)
		for _, d := range days[lo:hi] {
			l.Items = append(l.Items, set(d))
		}
		l.Results = uint32(len(l.Items))
		return l, "ReadingSetList", nil
	}
	ds, err := strconv.ParseInt(seg[0], 10, 64)
	if err != nil {
		return nil, "", errNotFound
	}
	k := slices.IndexFunc(days, func(d time.Time) bool { return d.Unix() == ds })
	if k < 0 {
		return nil, "", errNotFound
	}
	d := days[k]
	if len(seg) == 1 {
		x := set(d)
		return &x, "ReadingSet", nil
	}
	if len(seg) != 2 || seg[1] != "r" {
		return nil, "", errNotFound
	}
	var rs []meter.Reading
	err = h.src.Query(ctx, store.Query{Meter: id, OBIS: s.OBIS, From: d, To: nextDay(d), Limit: maxDayReadings}, func(rd meter.Reading) error {
		rs = append(rs, rd)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("sep2: readings of %s %s: %w", id, s.OBIS, err)
	}
	l := &readingList{}
	l.Href, l.All = fmt.Sprintf("%s/rs/%d/r", base, d.Unix()), clampAll(len(rs))
	lo, hi := pg.window(len(rs), func(i int) int64 { return rs[i].Time.Unix() })
	for _, rd := range rs[lo:hi] {
		l.Items = append(l.Items, toReading(rd, mult))
	}
	l.Results = uint32(len(l.Items))
	return l, "ReadingList", nil
}
