package sep2

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/tariff"
)

// ttiEntry is one time tariff interval of a schedule.
type ttiEntry struct {
	start, end time.Time
	price      tariff.Price
}

// priceMult is the pricePowerOfTenMultiplier of a schedule: the finest
// exponent of its prices and adders (and the dynamic prices while it is
// in effect), at least -9.
func priceMult(s tariff.Schedule, ivs []ttiEntry) int8 {
	e := int8(0)
	see := func(v meter.Value) {
		if v.M != 0 {
			e = min(e, v.Normalize().E)
		}
	}
	for _, t := range s.Tiers {
		see(t.Price)
	}
	for _, b := range s.Blocks {
		see(b.Adder)
	}
	for _, iv := range ivs {
		see(iv.price.Price)
	}
	return max(e, -9)
}

// intervals returns schedule id's time tariff intervals from the start
// of today (local) to tariffHorizon ahead, as the tariff model prices them.
func (h *Handler) intervals(id string) []ttiEntry {
	now := h.now()
	t := dayStart(now, h.loc)
	horizon := now.Add(tariffHorizon)
	var out []ttiEntry
	for t.Before(horizon) && len(out) < maxIntervals {
		p, ok := h.src.PriceAt(t)
		next, _, more := h.src.NextChange(t)
		if !more || next.After(horizon) {
			next = horizon
		}
		if !next.After(t) {
			break
		}
		if ok && p.Schedule == id {
			out = append(out, ttiEntry{start: t, end: next, price: p})
		}
		t = next
	}
	return out
}

func scheduleKind(unit string) uint8 {
	switch unit {
	case "m3":
		return serviceGas
	case "l":
		return serviceWater
	}
	return serviceElectricity
}

// priceReadingType is the ReadingType a schedule's prices are per.
func priceReadingType(s tariff.Schedule) readingType {
	rt := readingType{}
	switch s.Unit {
	case "kWh", "MWh":
		m := int8(3)
		if s.Unit == "MWh" {
			m = 6
		}
		rt.Commodity, rt.Kind, rt.FlowDirection = p8(1), p8(kindEnergy), p8(flowForward)
		rt.AccumulationBehaviour, rt.UOM, rt.PowerOfTenMultiplier = p8(accumDeltaData), p8(72), &m
	case "m3":
		m := int8(0)
		rt.Commodity, rt.AccumulationBehaviour, rt.UOM, rt.PowerOfTenMultiplier = p8(7), p8(accumDeltaData), p8(42), &m
	case "l":
		m := int8(0)
		rt.Commodity, rt.AccumulationBehaviour, rt.UOM, rt.PowerOfTenMultiplier = p8(9), p8(accumDeltaData), p8(134), &m
	}
	if n := len(s.Blocks); n > 0 {
		rt.NumberOfConsumptionBlocks = p8(uint8(n + 1))
		tiered := false
		rt.TieredConsumptionBlocks = &tiered
	}
	rt.NumberOfTouTiers = p8(uint8(len(s.Tiers)))
	return rt
}

func (h *Handler) pricing(seg []string, pg Page) (any, string, error) {
	ss := h.src.Schedules()
	profile := func(s tariff.Schedule) tariffProfile {
		href := h.href("tp", url.PathEscape(s.ID))
		tp := tariffProfile{
			Href:                  href,
			identified:            identified{MRID: mRID("TariffProfile", s.ID), Description: clip(s.ID, 32)},
			Primacy:               1, // contracted premises service provider
			RateCode:              clip(s.ID, 20),
			RateComponentListLink: &listLink{Href: href + "/rc", All: u32p(1)},
			ServiceCategoryKind:   scheduleKind(s.Unit),
		}
		if c, ok := currencies[s.Currency]; ok {
			tp.Currency = &c
		}
		m := priceMult(s, h.intervals(s.ID))
		tp.PricePowerOfTenMultiplier = &m
		return tp
	}
	if len(seg) == 0 {
		l := &tariffProfileList{PollRate: h.poll}
		l.Href, l.All = h.href("tp"), clampAll(len(ss))
		lo, hi := pg.window(len(ss), nil)
		for _, s := range ss[lo:hi] {
			l.Items = append(l.Items, profile(s))
		}
		l.Results = uint32(len(l.Items))
		return l, "TariffProfileList", nil
	}
	i := slices.IndexFunc(ss, func(s tariff.Schedule) bool { return url.PathEscape(s.ID) == seg[0] || s.ID == seg[0] })
	if i < 0 {
		return nil, "", errNotFound
	}
	s := ss[i]
	base := h.href("tp", url.PathEscape(s.ID))
	if len(seg) == 1 {
		x := profile(s)
		return &x, "TariffProfile", nil
	}
	if seg[1] != "rc" {
		return nil, "", errNotFound
	}
	rcHref := base + "/rc/0"
	ivs := h.intervals(s.ID)
	now := h.now()
	rc := func() rateComponent {
		return rateComponent{
			Href:                             rcHref,
			identified:                       identified{MRID: mRID("RateComponent", s.ID), Description: "consumption"},
			ActiveTimeTariffIntervalListLink: &listLink{Href: rcHref + "/acttti"},
			ReadingTypeLink:                  link{Href: rcHref + "/rt"},
			RoleFlags:                        "00",
			TimeTariffIntervalListLink:       listLink{Href: rcHref + "/tti", All: u32p(clampAll(len(ivs)))},
		}
	}
	switch {
	case len(seg) == 2:
		l := &rateComponentList{}
		l.Href, l.All = base+"/rc", 1
		if lo, hi := pg.window(1, nil); hi > lo {
			l.Items = append(l.Items, rc())
		}
		l.Results = uint32(len(l.Items))
		return l, "RateComponentList", nil
	case seg[2] != "0":
		return nil, "", errNotFound
	case len(seg) == 3:
		x := rc()
		return &x, "RateComponent", nil
	case len(seg) == 4 && seg[3] == "rt":
		rt := priceReadingType(s)
		rt.Href = rcHref + "/rt"
		return &rt, "ReadingType", nil
	case seg[3] == "tti" || seg[3] == "acttti":
		mult := priceMult(s, ivs)
		active := seg[3] == "acttti"
		if active {
			ivs = slices.DeleteFunc(ivs, func(iv ttiEntry) bool { return now.Before(iv.start) || !now.Before(iv.end) })
		}
		if len(seg) == 4 {
			l := &timeTariffIntervalList{}
			l.Href, l.All = rcHref+"/"+seg[3], clampAll(len(ivs))
			lo, hi := pg.window(len(ivs), func(i int) int64 { return ivs[i].start.Unix() })
			for _, iv := range ivs[lo:hi] {
				l.Items = append(l.Items, h.tti(s, rcHref, iv, now))
			}
			l.Results = uint32(len(l.Items))
			return l, "TimeTariffIntervalList", nil
		}
		if active {
			return nil, "", errNotFound
		}
		ts, err := strconv.ParseInt(seg[4], 10, 64)
		if err != nil {
			return nil, "", errNotFound
		}
		k := slices.IndexFunc(ivs, func(iv ttiEntry) bool { return iv.start.Unix() == ts })
		if k < 0 {
			return nil, "", errNotFound
		}
		iv := ivs[k]
		if len(seg) == 5 {
			x := h.tti(s, rcHref, iv, now)
			return &x, "TimeTariffInterval", nil
		}
		if seg[5] != "cti" || len(seg) > 7 {
			return nil, "", errNotFound
		}
		ctis := ctiList(s, iv, mult)
		ctiBase := fmt.Sprintf("%s/tti/%d/cti", rcHref, ts)
		for j := range ctis {
			ctis[j].Href = fmt.Sprintf("%s/%d", ctiBase, j)
		}
		if len(seg) == 7 {
			j, err := strconv.Atoi(seg[6])
			if err != nil || j < 0 || j >= len(ctis) {
				return nil, "", errNotFound
			}
			return &ctis[j], "ConsumptionTariffInterval", nil
		}
		l := &consumptionTariffIntervalList{}
		l.Href, l.All = ctiBase, clampAll(len(ctis))
		lo, hi := pg.window(len(ctis), nil)
		l.Items = ctis[lo:hi]
		l.Results = uint32(len(l.Items))
		return l, "ConsumptionTariffIntervalList", nil
	}
	return nil, "", errNotFound
}

func (h *Handler) tti(s tariff.Schedule, rcHref string, iv ttiEntry, now time.Time) timeTariffInterval {
	href := fmt.Sprintf("%s/tti/%d", rcHref, iv.start.Unix())
	status, at := uint8(0), s.Effective // scheduled
	if !now.Before(iv.start) && now.Before(iv.end) {
		status, at = 1, iv.start // active
	}
	tier := uint8(iv.price.Tier)
	desc := iv.price.Label
	if iv.price.Dynamic {
		tier, desc = 0, "dynamic"
	}
	nBlocks := uint32(max(len(s.Blocks)+1, 1))
	return timeTariffInterval{
		Href: href,
		event: event{
			identified:   identified{MRID: mRID("TimeTariffInterval", fmt.Sprintf("%s\x00%d\x00%s", s.ID, iv.start.Unix(), iv.price.Price)), Description: clip(desc, 32)},
			CreationTime: s.Effective.Unix(),
			EventStatus:  eventStatus{CurrentStatus: status, DateTime: at.Unix()},
			Interval:     dateTimeInterval{Start: iv.start.Unix(), Duration: uint32(iv.end.Sub(iv.start) / time.Second)},
		},
		ConsumptionTariffIntervalListLink: &listLink{Href: href + "/cti", All: &nBlocks},
		TouTier:                           tier,
	}
}

// ctiList is an interval's consumption tariff intervals: the price from
// 0 (block 1, or "not applicable" without blocks) and with each block's
// adder from its threshold on. Prices are in units of
// 10^pricePowerOfTenMultiplier of the currency; a price that does not fit
// an Int32 is left out.
func ctiList(s tariff.Schedule, iv ttiEntry, mult int8) []consumptionTariffInterval {
	price := func(v meter.Value) *int32 {
		n, ok := scaled(v, mult)
		if !ok || n > 1<<31-1 || n < -(1<<31) {
			return nil
		}
		p := int32(n)
		return &p
	}
	if len(s.Blocks) == 0 {
		return []consumptionTariffInterval{{ConsumptionBlock: 0, Price: price(iv.price.Price), StartValue: 0}}
	}
	out := []consumptionTariffInterval{{ConsumptionBlock: 1, Price: price(iv.price.Price), StartValue: 0}}
	for i, b := range s.Blocks {
		v, err := iv.price.Price.Add(b.Adder)
		var p *int32
		if err == nil {
			p = price(v)
		}
		start, ok := scaled(b.From, 0)
		if !ok || start < 0 {
			start = 0
		}
		if i == 0 && start == 0 {
			out[0].Price = p // a block from 0 replaces the base price
			continue
		}
		out = append(out, consumptionTariffInterval{ConsumptionBlock: uint8(len(out) + 1), Price: p, StartValue: uint64(start)})
	}
	return out
}
