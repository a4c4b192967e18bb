package sim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Hourly weights of water use by local hour.
var (
	wOccupancy = [24]int64{10, 5, 5, 5, 5, 15, 60, 90, 70, 40, 35, 40,
		55, 45, 35, 35, 40, 55, 75, 80, 70, 60, 45, 25}
	wShower = [24]int64{0, 0, 0, 0, 0, 10, 250, 300, 150, 50, 20, 10,
		5, 5, 5, 5, 10, 20, 40, 60, 80, 70, 40, 10}
	wWasher = [24]int64{0, 0, 0, 0, 0, 0, 0, 0, 20, 60, 60, 60,
		50, 40, 40, 40, 30, 20, 10, 0, 0, 0, 0, 0}
	wDishwasher = [24]int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 30, 20, 0, 0, 0, 0, 20, 60, 90, 60, 10}
)

// wClass is a kind of water use: how often a household of 2.5 people has
// it a day (in thousandths), when (hourly weights), its flow (ml/min) and
// duration (minutes).
type wClass struct {
	perDay         int64
	weight         *[24]int64
	flowLo, flowHi int64
	durLo, durHi   int64
}

// About 300 l a day: flushes 94 l, hand washing 28 l, kitchen 45 l,
// showers 105 l, washing machine 22 l, dishwasher 6 l.
var wClasses = [...]wClass{
	{12500, &wOccupancy, 6000, 9000, 1, 1}, // toilet flush
	{10000, &wOccupancy, 1500, 4000, 1, 1}, // hand washing
	{5000, &wOccupancy, 3000, 6000, 1, 3},  // kitchen tap
	{2000, &wShower, 6000, 9000, 5, 9},     // shower
	{450, &wWasher, 4000, 6000, 8, 12},     // washing machine
	{500, &wDishwasher, 1000, 1500, 9, 11}, // dishwasher
}

// water is a household's cold-water meter. Its one channel is in ml.
type water struct {
	r     rng
	p     [len(wClasses)][24]int64 // event probability per slot, in 2⁻²¹
	start int64
}

func newWater(r rng) *water {
	w := &water{r: r}
	scale := r.uniform(kHousehold, 0, 0, 850, 1150) // ‰
	for c := range wClasses {
		cl := &wClasses[c]
		var sum int64
		for _, x := range cl.weight {
			sum += x
		}
		for h, x := range cl.weight {
			// perDay/1000 events × x/sum of them in this hour, spread
			// over its 4 slots, in units of 2⁻²¹.
			w.p[c][h] = cl.perDay * x * scale * (1 << 21) / (sum * 4 * 1000 * 1000)
		}
	}
	w.start = r.uniform(kStart, 0, 0, 50_000, 900_000)*1000 + r.uniform(kStart, 1, 0, 0, 999)
	return w
}

// wEvent is one use of water within a slot.
type wEvent struct {
	flow       int64 // ml/min
	start, dur int64 // minutes
}

// events returns the water uses of a slot.
func (w *water) events(si *slotInfo) (ev [len(wClasses)]wEvent, n int) {
	h := si.hour()
	var hs uint64
	for c := range wClasses {
		// Three 21-bit draws per hash.
		if c%3 == 0 {
			hs = w.r.h(kWater, si.n, int64(c))
		}
		if int64(hs>>(21*(c%3)))&(1<<21-1) >= w.p[c][h] {
			continue
		}
		cl := &wClasses[c]
		k := int64(c) * 4
		e := wEvent{
			flow: w.r.uniform(kWaterParam, si.n, k, cl.flowLo, cl.flowHi),
			dur:  w.r.uniform(kWaterParam, si.n, k+1, cl.durLo, cl.durHi),
		}
		e.start = w.r.uniform(kWaterParam, si.n, k+2, 0, 15-e.dur)
		ev[n] = e
		n++
	}
	return ev, n
}

func (w *water) full(si *slotInfo, out *[maxCh]int64) {
	ev, n := w.events(si)
	for _, e := range ev[:n] {
		out[0] += e.flow * e.dur
	}
}

func (w *water) partial(si *slotInfo, d time.Duration, out *[maxCh]int64) {
	ev, n := w.events(si)
	for _, e := range ev[:n] {
		ov := min(max(d-time.Duration(e.start)*time.Minute, 0), time.Duration(e.dur)*time.Minute)
		out[0] += e.flow * int64(ov) / int64(time.Minute)
	}
}

func (w *water) registers(dst []meter.Reading, t time.Time, _ *slotInfo, _ time.Duration, cum *[maxCh]int64) []meter.Reading {
	litres := (w.start + cum[0]) / 1000
	return append(dst, reading(t, meter.OBISVolumeWater, meter.V(litres, -3), meter.UnitCubicMetre))
}

func (w *water) live(dst []meter.Reading, _ time.Time, _ *slotInfo, _ time.Duration) []meter.Reading {
	return dst
}

func (w *water) quantities() []Quantity {
	return []Quantity{
		{meter.OBISVolumeWater, meter.UnitCubicMetre, -3, false, true, "water volume, total (1 l resolution)"},
	}
}
