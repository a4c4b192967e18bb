package web

import (
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

// Resolutions of GET /api/v1/history.
const (
	ResRaw  = "raw"
	Res15m  = "15m"
	ResHour = "hour"
	ResDay  = "day"
)

// Bounds of history queries.
const (
	maxRawReadings = 10_000
	maxBuckets     = 5_000
	// maxTotalsIntervals bounds a totals query: 400 days of 15 minutes.
	maxTotalsIntervals = 400 * 96
	// lookback is how far before a range's start the register value at
	// the start is looked for.
	lookback = 2 * 24 * time.Hour
)

// historyParams are the parsed parameters of a history or totals query.
type historyParams struct {
	meter    meter.MeterID
	obis     meter.OBIS
	from, to time.Time
	res      string
}

func (s *Service) parseHistory(w http.ResponseWriter, r *http.Request, needRes bool) (historyParams, bool) {
	var hp historyParams
	id, ok := meterParam(w, r, true)
	if !ok {
		return hp, false
	}
	hp.meter = id
	q := r.URL.Query()
	o := q.Get("obis")
	if o == "" {
		o = meter.OBISActiveEnergyImport.String()
	}
	var err error
	if hp.obis, err = meter.ParseOBIS(o); err != nil {
		badRequest(w, "parameter obis: "+err.Error())
		return hp, false
	}
	now := s.now()
	hp.to = now
	hp.from = now.Add(-24 * time.Hour)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &hp.from}, {"to", &hp.to}} {
		if v := q.Get(f.name); v != "" {
			// A "+" of an offset that was not URL-encoded arrives as a space.
			t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
			if err != nil {
				badRequest(w, "parameter "+f.name+": not an RFC 3339 time")
				return hp, false
			}
			*f.dst = t
		}
	}
	if !hp.from.Before(hp.to) {
		badRequest(w, "parameter from: must be before to")
		return hp, false
	}
	if hp.to.Sub(hp.from) > 400*24*time.Hour {
		badRequest(w, "range: at most 400 days")
		return hp, false
	}
	hp.res = q.Get("resolution")
	if hp.res == "" {
		hp.res = Res15m
	}
	if needRes {
		switch hp.res {
		case ResRaw, Res15m, ResHour, ResDay:
		default:
			badRequest(w, "parameter resolution: one of raw, 15m, hour, day")
			return hp, false
		}
		if hp.res != ResRaw && hp.obis.Instantaneous() {
			badRequest(w, "resolution "+hp.res+": consumption applies to registers; instantaneous values have resolution raw")
			return hp, false
		}
	}
	if _, ok := s.st.Latest(hp.meter, hp.obis); !ok {
		notFound(w)
		return hp, false
	}
	return hp, true
}

// boundaries returns the bucket boundaries covering [from, to), aligned
// in loc: b[0] <= from < b[1] … b[n-1] < to <= b[n].
func boundaries(from, to time.Time, res string, loc *time.Location, limit int) ([]time.Time, error) {
	lf := from.In(loc)
	var start time.Time
	var next func(time.Time) time.Time
	switch res {
	case Res15m, ResHour:
		step := 15 * time.Minute
		if res == ResHour {
			step = time.Hour
		}
		// Aligned to the local wall clock: from the local hour's start
		// (zones with half-hour offsets included), in absolute steps so
		// that a repeated hour at the end of summer time is two buckets.
		start = time.Date(lf.Year(), lf.Month(), lf.Day(), lf.Hour(), 0, 0, 0, loc)
		if start.After(from) { // a gap (start of summer time)
			start = from.Truncate(time.Hour)
		}
		for !start.Add(step).After(from) {
			start = start.Add(step)
		}
		next = func(t time.Time) time.Time { return t.Add(step) }
	case ResDay:
		start = time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc)
		next = func(t time.Time) time.Time {
			lt := t.In(loc)
			return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
		}
	default:
		return nil, fmt.Errorf("resolution %q", res)
	}
	b := []time.Time{start}
	for t := start; t.Before(to); {
		t = next(t)
		b = append(b, t)
		if len(b) > limit+1 {
			return nil, errors.New("too many buckets: choose a coarser resolution or a shorter range")
		}
	}
	return b, nil
}

// registerAt returns, for each boundary, the register's value at it: the
// last reading at or before it (ok false when there is none).
func (s *Service) registerAt(r *http.Request, id meter.MeterID, o meter.OBIS, b []time.Time) ([]meter.Reading, []bool, error) {
	vals := make([]meter.Reading, len(b))
	have := make([]bool, len(b))
	var last meter.Reading
	var haveLast bool
	i := 0
	q := store.Query{Meter: id, OBIS: o, From: b[0].Add(-lookback), To: b[len(b)-1].Add(time.Millisecond)}
	err := s.st.Query(r.Context(), q, func(rd meter.Reading) error {
		for i < len(b) && b[i].Before(rd.Time) {
			vals[i], have[i] = last, haveLast
			i++
		}
		last, haveLast = rd, true
		return nil
	})
	for ; i < len(b); i++ {
		vals[i], have[i] = last, haveLast
	}
	return vals, have, err
}

type wirePoint struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Value is the consumption in the bucket (a register's difference),
	// or for raw the reading's value; null when unknown (no reading
	// before the bucket, or the register went backwards: a meter change).
	Value *string `json:"value"`
}

type historyResponse struct {
	Meter      meter.MeterID `json:"meter"`
	OBIS       string        `json:"obis"`
	Unit       string        `json:"unit"`
	Resolution string        `json:"resolution"`
	TZ         string        `json:"tz"`
	From       time.Time     `json:"from"`
	To         time.Time     `json:"to"`
	Points     []wirePoint   `json:"points"`
	Total      *string       `json:"total,omitempty"` // the sum of the known consumption values
	Truncated  bool          `json:"truncated,omitempty"`
}

func (s *Service) apiHistory(w http.ResponseWriter, r *http.Request) {
	hp, ok := s.parseHistory(w, r, true)
	if !ok {
		return
	}
	latest, _ := s.st.Latest(hp.meter, hp.obis)
	resp := historyResponse{Meter: hp.meter, OBIS: hp.obis.String(), Unit: latest.Unit.Symbol(), Resolution: hp.res,
		TZ: s.loc.String(), From: hp.from.UTC(), To: hp.to.UTC(), Points: []wirePoint{}}
	if hp.res == ResRaw {
		q := store.Query{Meter: hp.meter, OBIS: hp.obis, From: hp.from, To: hp.to, Limit: maxRawReadings + 1}
		err := s.st.Query(r.Context(), q, func(rd meter.Reading) error {
			if len(resp.Points) == maxRawReadings {
				resp.Truncated = true
				return nil
			}
			v := rd.Value.String()
			resp.Points = append(resp.Points, wirePoint{Start: rd.Time.UTC(), Value: &v})
			return nil
		})
		if err != nil {
			s.queryFailed(w, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	b, err := boundaries(hp.from, hp.to, hp.res, s.loc, maxBuckets)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	vals, have, err := s.registerAt(r, hp.meter, hp.obis, b)
	if err != nil {
		s.queryFailed(w, err)
		return
	}
	var total meter.Value
	anyKnown := false
	for i := 0; i+1 < len(b); i++ {
		pt := wirePoint{Start: b[i].UTC(), End: b[i+1].UTC()}
		if have[i] && have[i+1] {
			if d, err := vals[i+1].Value.Sub(vals[i].Value); err == nil && d.Cmp(meter.Value{}) >= 0 {
				v := d.String()
				pt.Value = &v
				if t, err := total.Add(d); err == nil {
					total, anyKnown = t, true
				}
			}
		}
		resp.Points = append(resp.Points, pt)
	}
	if anyKnown {
		t := total.String()
		resp.Total = &t
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Service) queryFailed(w http.ResponseWriter, err error) {
	s.log.Error("HAN history query failed", "err", err)
	writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the store could not be read"})
}

// ---- totals per tariff ----

type wireTierTotal struct {
	Tier        int    `json:"tier"`
	Label       string `json:"label"`
	Dynamic     bool   `json:"dynamic"`
	Consumption string `json:"consumption"`
	Cost        string `json:"cost,omitempty"`
}

type totalsResponse struct {
	Meter       meter.MeterID   `json:"meter"`
	OBIS        string          `json:"obis"`
	Unit        string          `json:"unit"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	Consumption string          `json:"consumption"`
	Cost        string          `json:"cost,omitempty"`
	Currency    string          `json:"currency,omitempty"`
	Tiers       []wireTierTotal `json:"tiers"`
	// Unpriced is the consumption in intervals with no schedule in effect
	// (or whose unit does not convert to the price's).
	Unpriced string `json:"unpriced,omitempty"`
}

// unitExp is the power of ten that converts a register unit into a
// price unit (Wh → kWh is -3); ok is false when they do not convert.
func unitExp(u meter.Unit, priceUnit string) (int, bool) {
	switch {
	case u == meter.UnitWattHour && priceUnit == "kWh":
		return -3, true
	case u == meter.UnitWattHour && priceUnit == "MWh":
		return -6, true
	case u == meter.UnitCubicMetre && priceUnit == "m3":
		return 0, true
	case u == meter.UnitCubicMetre && priceUnit == "l":
		return 3, true
	case u == meter.UnitLitre && priceUnit == "l":
		return 0, true
	case u == meter.UnitLitre && priceUnit == "m3":
		return -3, true
	}
	return 0, false
}

// decimal is an exact decimal for sums of costs: m × 10^e.
type decimal struct {
	m *big.Int
	e int
}

func newDecimal() decimal { return decimal{m: new(big.Int)} }

func (d *decimal) addProduct(a, b meter.Value, exp int) {
	m := new(big.Int).Mul(big.NewInt(a.M), big.NewInt(b.M))
	e := int(a.E) + int(b.E) + exp
	d.add(m, e)
}

func (d *decimal) add(m *big.Int, e int) {
	if d.m.Sign() == 0 {
		d.m.Set(m)
		d.e = e
		return
	}
	ten := big.NewInt(10)
	for d.e > e {
		d.m.Mul(d.m, ten)
		d.e--
	}
	m = new(big.Int).Set(m)
	for e > d.e {
		m.Mul(m, ten)
		e--
	}
	d.m.Add(d.m, m)
}

// String renders the decimal exactly ("12.3456", "-0.5").
func (d decimal) String() string {
	if d.m.Sign() == 0 {
		return "0"
	}
	neg := d.m.Sign() < 0
	digits := new(big.Int).Abs(d.m).String()
	if d.e >= 0 {
		for range d.e {
			digits += "0"
		}
	} else {
		k := -d.e
		for len(digits) <= k {
			digits = "0" + digits
		}
		digits = digits[:len(digits)-k] + "." + digits[len(digits)-k:]
		for digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		if digits[len(digits)-1] == '.' {
			digits = digits[:len(digits)-1]
		}
	}
	if neg {
		return "-" + digits
	}
	return digits
}

func (s *Service) apiTotals(w http.ResponseWriter, r *http.Request) {
	hp, ok := s.parseHistory(w, r, false)
	if !ok {
		return
	}
	if hp.obis.Instantaneous() {
		badRequest(w, "totals apply to registers, not instantaneous values")
		return
	}
	b, err := boundaries(hp.from, hp.to, Res15m, s.loc, maxTotalsIntervals)
	if err != nil {
		badRequest(w, "range: "+err.Error())
		return
	}
	vals, have, err := s.registerAt(r, hp.meter, hp.obis, b)
	if err != nil {
		s.queryFailed(w, err)
		return
	}
	latest, _ := s.st.Latest(hp.meter, hp.obis)
	type tierKey struct {
		tier    int
		label   string
		dynamic bool
	}
	type acc struct {
		cons meter.Value
		cost decimal
		n    int // priced intervals
	}
	tiers := map[tierKey]*acc{}
	var order []tierKey
	var total, unpriced meter.Value
	totalCost := newDecimal()
	currency := ""
	priced := false
	for i := 0; i+1 < len(b); i++ {
		if !have[i] || !have[i+1] {
			continue
		}
		d, err := vals[i+1].Value.Sub(vals[i].Value)
		if err != nil || d.Cmp(meter.Value{}) < 0 || d.IsZero() {
			continue
		}
		if t, err := total.Add(d); err == nil {
			total = t
		}
		var p tariff.Price
		var pok bool
		if s.opts.Tariff != nil {
			p, pok = s.opts.Tariff.PriceAt(b[i])
		}
		exp, uok := unitExp(latest.Unit, p.Unit)
		if !pok || !uok || currency != "" && p.Currency != currency {
			if u, err := unpriced.Add(d); err == nil {
				unpriced = u
			}
			continue
		}
		currency, priced = p.Currency, true
		k := tierKey{p.Tier, p.Label, p.Dynamic}
		a := tiers[k]
		if a == nil {
			a = &acc{cost: newDecimal()}
			tiers[k] = a
			order = append(order, k)
		}
		if c, err := a.cons.Add(d); err == nil {
			a.cons = c
		}
		a.cost.addProduct(d, p.Price, exp)
		totalCost.addProduct(d, p.Price, exp)
		a.n++
	}
	resp := totalsResponse{Meter: hp.meter, OBIS: hp.obis.String(), Unit: latest.Unit.Symbol(), From: hp.from.UTC(), To: hp.to.UTC(),
		Consumption: total.String(), Tiers: []wireTierTotal{}}
	if priced {
		resp.Currency, resp.Cost = currency, totalCost.String()
	}
	if !unpriced.IsZero() {
		resp.Unpriced = unpriced.String()
	}
	for _, k := range order {
		a := tiers[k]
		resp.Tiers = append(resp.Tiers, wireTierTotal{Tier: k.tier, Label: k.label, Dynamic: k.dynamic,
			Consumption: a.cons.String(), Cost: a.cost.String()})
	}
	writeJSON(w, http.StatusOK, resp)
}
