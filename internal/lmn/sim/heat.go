package sim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Outdoor temperature (0.1 °C): monthly means of a central European
// climate, and the daily swing by local hour.
var (
	toutMonth = [12]int64{5, 15, 45, 90, 135, 165, 185, 180, 145, 100, 55, 20}
	toutHour  = [24]int64{-15, -20, -25, -30, -33, -35, -33, -25, -15, -3, 10, 20,
		28, 33, 35, 35, 30, 22, 12, 5, 0, -5, -8, -12}
	// Hot-water charging: probability per slot (‰) by local hour.
	dhwHour = [24]int64{10, 10, 10, 10, 10, 10, 150, 150, 40, 10, 10, 10,
		10, 10, 10, 10, 10, 40, 100, 100, 100, 100, 10, 10}
)

// Heat channels: energy in W·s, volume in ml.
const (
	chHeat   = 0
	chVolume = 1
)

// heat is the heat meter of a single-family house on district heating.
type heat struct {
	r       rng
	ua      int64 // heat loss, W/K
	standby int64 // circulation and storage losses, W
	start   [maxCh]int64
}

func newHeat(r rng) *heat {
	return &heat{
		r:       r,
		ua:      r.uniform(kHousehold, 0, 0, 150, 220),
		standby: r.uniform(kHousehold, 1, 0, 80, 120),
		start: [maxCh]int64{
			chHeat:   r.uniform(kStart, 0, 0, 5_000, 200_000) * 3_600_000, // kWh
			chVolume: r.uniform(kStart, 1, 0, 100_000, 5_000_000) * 1000,  // l
		},
	}
}

// hSlot is one slot of the heat model: constant power and temperatures.
type hSlot struct {
	p      int64 // heat power, W
	tFlow  int64 // 0.1 °C
	dt     int64 // flow − return, 0.1 K
	tOut   int64 // outdoor, 0.1 °C
	charge bool  // hot-water charging
}

// outdoor is the outdoor temperature (0.1 °C) at the slot: season, time of
// day and the weather of the day, blended into the next day's.
func outdoor(si *slotInfo) int64 {
	mid := si.wall + 7
	a0 := weather.uniform(kTempDay, si.day, 0, -60, 60)
	a1 := weather.uniform(kTempDay, si.day+1, 0, -60, 60)
	return interpYear(&toutMonth, si.day) + interpHour(&toutHour, mid) +
		(a0*(1440-mid)+a1*mid)/1440 + weather.uniform(kTempNoise, si.n, 0, -3, 3)
}

func (hm *heat) slot(si *slotInfo) hSlot {
	h := si.hour()
	s := hSlot{tOut: outdoor(si)}
	hs := hm.r.h(kHeatNoise, si.n, 0) // power noise, hot water, temperature noise
	var space int64
	if s.tOut < 150 { // heating limit 15 °C, indoor 20 °C
		space = hm.ua * (200 - s.tOut) / 10
		if h >= 22 || h < 5 {
			space = space * 75 / 100 // night set-back
		}
		space = space * (1000 + field(hs, 0, 161) - 80) / 1000
	}
	var dhw int64
	if field(hs, 1, 1000) < dhwHour[h] {
		dhw = 4000 + field(hs, 2, 4001)
		s.charge = true
	}
	s.p = space + dhw + hm.standby
	noise := field(hs, 3, 17) - 8
	design := hm.ua * 32 // at −12 °C
	switch {
	case space > 0:
		s.tFlow = min(max(550+(200-s.tOut), 550), 800) + noise
		s.dt = 150 + 150*min(space, design)/design
	default:
		s.tFlow = 600 + noise
		s.dt = 100
	}
	if s.charge {
		s.tFlow = max(s.tFlow, 700+noise)
		s.dt = 300
	}
	return s
}

func (hm *heat) full(si *slotInfo, out *[maxCh]int64) {
	s := hm.slot(si)
	out[chHeat] += s.p * 900
	// m = Q / (c·ΔT), c = 4.186 J/(g·K), ΔT in 0.1 K.
	out[chVolume] += s.p * 9_000_000 / (4186 * s.dt)
}

func (hm *heat) partial(si *slotInfo, d time.Duration, out *[maxCh]int64) {
	s := hm.slot(si)
	ms := d.Milliseconds()
	out[chHeat] += s.p * ms / 1000
	out[chVolume] += s.p * ms * 10 / (4186 * s.dt)
}

func (hm *heat) registers(dst []meter.Reading, t time.Time, si *slotInfo, _ time.Duration, cum *[maxCh]int64) []meter.Reading {
	s := hm.slot(si)
	kwh := (hm.start[chHeat] + cum[chHeat]) / 3_600_000
	vol := (hm.start[chVolume] + cum[chVolume]) / 10_000
	return append(dst,
		reading(t, meter.OBISHeatEnergy, meter.V(kwh, 3), meter.UnitWattHour),
		reading(t, meter.OBISHeatVolume, meter.V(vol, -2), meter.UnitCubicMetre),
		reading(t, meter.OBISHeatPower, meter.V(s.p, 0), meter.UnitWatt),
		reading(t, meter.OBISFlowTemperature, meter.V(s.tFlow, -1), meter.UnitCelsius),
		reading(t, meter.OBISReturnTemperature, meter.V(s.tFlow-s.dt, -1), meter.UnitCelsius),
	)
}

func (hm *heat) live(dst []meter.Reading, _ time.Time, _ *slotInfo, _ time.Duration) []meter.Reading {
	return dst
}

func (hm *heat) quantities() []Quantity {
	return []Quantity{
		{meter.OBISHeatEnergy, meter.UnitWattHour, 3, false, true, "heat energy, total (1 kWh resolution)"},
		{meter.OBISHeatVolume, meter.UnitCubicMetre, -2, false, true, "heat volume, total (10 l resolution)"},
		{meter.OBISHeatPower, meter.UnitWatt, 0, false, false, "heat power, mean of the current quarter hour"},
		{meter.OBISFlowTemperature, meter.UnitCelsius, -1, false, false, "flow temperature"},
		{meter.OBISReturnTemperature, meter.UnitCelsius, -1, false, false, "return temperature"},
	}
}
