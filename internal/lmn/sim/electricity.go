package sim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// OBIS codes of the electricity profile not named in package meter.
var (
	obisImportT1 = meter.OBIS{1, 0, 1, 8, 1, 255}  // 1-0:1.8.1*255
	obisImportT2 = meter.OBIS{1, 0, 1, 8, 2, 255}  // 1-0:1.8.2*255
	obisVoltL1   = meter.OBIS{1, 0, 32, 7, 0, 255} // 1-0:32.7.0*255
)

// Electricity channels, in W·s.
const (
	chT1     = 0 // import in tariff T1
	chT2     = 1 // import in tariff T2
	chExport = 2
)

// Household load without appliance events, W, by local hour.
var (
	elecWeekday = [24]int64{170, 155, 150, 150, 150, 165, 300, 480, 420, 300, 280, 290,
		330, 310, 280, 280, 310, 420, 560, 620, 580, 480, 340, 230}
	elecWeekend = [24]int64{200, 170, 155, 150, 150, 150, 170, 250, 420, 520, 480, 460,
		500, 440, 380, 360, 380, 450, 580, 640, 600, 520, 400, 280}
	// Seasonal factor of the load, ‰, by month (lighting, being indoors).
	elecSeason = [12]int64{1150, 1100, 1030, 970, 920, 880, 870, 880, 930, 1000, 1080, 1160}
)

// Appliance events: probability per 15-minute slot (‰) by local hour.
var (
	evKettle = [24]int64{0, 0, 0, 0, 0, 0, 60, 120, 100, 40, 25, 25,
		25, 25, 25, 25, 40, 50, 40, 40, 50, 40, 20, 0}
	evCook = [24]int64{0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 60,
		120, 40, 0, 0, 0, 80, 200, 150, 30, 0, 0, 0}
	evAppliance = [24]int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 40, 40,
		40, 40, 40, 40, 40, 0, 0, 40, 40, 40, 0, 0}
)

// Balcony PV (800 Wp) by month: clear-sky power at solar noon (W), half
// the day length (minutes), and the mean clearness (‰).
var (
	pvPeak  = [12]int64{200, 290, 380, 460, 520, 540, 530, 490, 410, 320, 230, 180}
	pvHalf  = [12]int64{250, 300, 350, 400, 440, 470, 460, 420, 370, 310, 260, 240}
	pvClear = [12]int64{350, 400, 500, 550, 600, 620, 640, 620, 550, 450, 350, 300}
)

// Grid voltage offset from 230.0 V (0.1 V) by local hour: high at night,
// low at the evening peak.
var voltHour = [24]int64{25, 28, 30, 30, 28, 20, 5, -5, -5, 0, 5, 10,
	12, 10, 5, 0, -5, -15, -25, -30, -25, -15, 0, 15}

// electricity is a household with a balcony PV system behind a two-tariff
// meter.
type electricity struct {
	r       rng
	scale   int64 // household load, ‰ of the table
	pvScale int64 // PV output, ‰ of the table (orientation, shading)
	vOff    int64 // voltage offset at this grid point, 0.1 V
	start   [maxCh]int64
}

func newElectricity(r rng) *electricity {
	t1 := r.uniform(kStart, 0, 0, 2_000_000, 15_000_000) // Wh
	return &electricity{
		r:       r,
		scale:   r.uniform(kHousehold, 0, 0, 1000, 1250),
		pvScale: r.uniform(kHousehold, 1, 0, 700, 1100),
		vOff:    r.uniform(kHousehold, 2, 0, -25, 25),
		start: [maxCh]int64{
			chT1:     t1 * 3600,
			chT2:     t1 * r.uniform(kStart, 1, 0, 25, 40) / 100 * 3600,
			chExport: r.uniform(kStart, 2, 0, 0, 300_000) * 3600,
		},
	}
}

// eSlot is one slot of the electricity model. The power of minute k is
// n0 + a(k) − a(k−1) (+ the event's power), where a vanishes at both ends
// of the slot, so the minute noise sums to zero and the slot's energy is
// n0 × 15 min plus the event's.
type eSlot struct {
	r      rng
	n      int64 // slot index
	tariff int
	n0     int64 // mean net power without the event, W (negative: export)
	evK    int64 // event power, W
	ev0    int64 // event start, minute of the slot
	evD    int64 // event duration, minutes (0: no event)
	absN0  int64
}

func (e *electricity) slot(si *slotInfo) eSlot {
	h := si.hour()
	mid := si.wall + 7
	tab := &elecWeekday
	if si.weekend() {
		tab = &elecWeekend
	}
	base := interpHour(tab, mid)
	season := interpYear(&elecSeason, si.day)
	dayF := e.r.uniform(kDay, si.day, 0, 880, 1120)
	hs := e.r.h(kSlot, si.n, 0) // load noise, event, event parameters
	noise := field(hs, 0, 241) - 120
	load := base * season * dayF * e.scale * (1000 + noise) / 1_000_000_000_000

	s := eSlot{r: e.r, n: si.n, tariff: si.tariff(), n0: load - e.pv(si)}
	s.absN0 = max(s.n0, -s.n0)

	u := field(hs, 1, 1000)
	pk, pc, pa := evKettle[h], evCook[h], evAppliance[h]
	switch {
	case u < pk: // kettle
		s.evK = 1800 + field(hs, 2, 401)
		s.evD = 2 + field(hs, 3, 3)
	case u < pk+pc: // cooking
		s.evK = 1200 + field(hs, 2, 1301)
		s.evD = 6 + field(hs, 3, 9)
	case u < pk+pc+pa: // washing machine, dishwasher, dryer heating
		s.evK = 1800 + field(hs, 2, 401)
		s.evD = 8 + field(hs, 3, 7)
	}
	if s.evD > 0 {
		s.ev0 = e.r.uniform(kEvent, si.n, 0, 0, 15-s.evD)
	}
	return s
}

// pv is the PV output of the slot, W.
func (e *electricity) pv(si *slotInfo) int64 {
	noon := int64(735) // 12:15 local standard time
	if si.dst {
		noon += 60
	}
	x := si.wall + 7 - noon
	half := interpYear(&pvHalf, si.day)
	if x <= -half || x >= half {
		return 0
	}
	clear := interpYear(&pvPeak, si.day) * (half*half - x*x) / (half * half)
	c := min(max(interpYear(&pvClear, si.day)+weather.uniform(kCloudDay, si.day, 0, -300, 300), 100), 1000)
	f := int64(1000)
	if int64(weather.h(kCloudSlot, si.n, 0)%1000) >= c {
		f = 150 // a cloud
	}
	return clear * f * e.pvScale / 1_000_000
}

// a is the minute-noise accumulator: zero before the first minute and
// after the last.
func (s *eSlot) a(k int64) int64 {
	if k < 0 || k >= 14 || s.absN0 == 0 {
		return 0
	}
	return s.absN0 * s.r.uniform(kMinute, s.n, k, -100, 100) / 1000
}

// minute returns the import and export power of minute k, W; at most one
// of them is not zero.
func (s *eSlot) minute(k int64) (imp, exp int64) {
	p := s.n0 + s.a(k) - s.a(k-1)
	if k >= s.ev0 && k < s.ev0+s.evD {
		p += s.evK
	}
	if p >= 0 {
		return p, 0
	}
	return 0, -p
}

// jitter is the second-noise accumulator of minute k at second j for a
// minute power p: zero at both ends of the minute, so the 1-second powers
// p + jitter(j+1) − jitter(j) sum to 60·p.
func (s *eSlot) jitter(k, j, p int64) int64 {
	if j <= 0 || j >= 60 || p == 0 {
		return 0
	}
	return p * s.r.uniform(kSecond, s.n*15+k, j, -15, 15) / 1000
}

func (e *electricity) full(si *slotInfo, out *[maxCh]int64) {
	s := e.slot(si)
	if s.n0 >= 0 {
		out[s.tariff] += s.n0*900 + s.evK*s.evD*60
		return
	}
	exp := -s.n0 * 900
	for k := s.ev0; k < s.ev0+s.evD; k++ {
		imp, ex := s.minute(k)
		out[s.tariff] += imp * 60
		exp += ex*60 - (-s.n0-s.a(k)+s.a(k-1))*60
	}
	out[chExport] += exp
}

func (e *electricity) partial(si *slotInfo, d time.Duration, out *[maxCh]int64) {
	s := e.slot(si)
	m := min(int64(d/time.Minute), 15)
	for k := range m {
		imp, ex := s.minute(k)
		out[s.tariff] += imp * 60
		out[chExport] += ex * 60
	}
	rem := d % time.Minute
	if m >= 15 || rem == 0 {
		return
	}
	imp, ex := s.minute(m)
	p, ch := imp, s.tariff
	if ex > 0 {
		p, ch = ex, chExport
	}
	j, frac := int64(rem/time.Second), int64(rem%time.Second)
	b0, b1 := s.jitter(m, j, p), s.jitter(m, j+1, p)
	out[ch] += p*j + b0 + (p+b1-b0)*frac/int64(time.Second)
}

func (e *electricity) registers(dst []meter.Reading, t time.Time, _ *slotInfo, _ time.Duration, cum *[maxCh]int64) []meter.Reading {
	t1 := (e.start[chT1] + cum[chT1]) / 3600
	t2 := (e.start[chT2] + cum[chT2]) / 3600
	ex := (e.start[chExport] + cum[chExport]) / 3600
	return append(dst,
		reading(t, meter.OBISActiveEnergyImport, meter.V(t1+t2, 0), meter.UnitWattHour),
		reading(t, obisImportT1, meter.V(t1, 0), meter.UnitWattHour),
		reading(t, obisImportT2, meter.V(t2, 0), meter.UnitWattHour),
		reading(t, meter.OBISActiveEnergyExport, meter.V(ex, 0), meter.UnitWattHour),
	)
}

// power returns the import and export power in the second holding offset
// d of the slot, W.
func (s *eSlot) power(d time.Duration) (imp, exp int64) {
	m := min(int64(d/time.Minute), 14)
	j := int64(d%time.Minute) / int64(time.Second)
	imp, exp = s.minute(m)
	p := max(imp, exp)
	p += s.jitter(m, j+1, p) - s.jitter(m, j, p)
	if imp > 0 {
		return p, 0
	}
	if exp > 0 {
		return 0, p
	}
	return 0, 0
}

func (e *electricity) live(dst []meter.Reading, t time.Time, si *slotInfo, d time.Duration) []meter.Reading {
	s := e.slot(si)
	imp, exp := s.power(d)
	v := 2300 + e.vOff + interpHour(&voltHour, si.wall+int64(d/time.Minute)) +
		e.r.uniform(kVoltDay, si.day, 0, -15, 15) +
		e.r.uniform(kVoltSecond, t.Unix(), 0, -4, 4) -
		imp/250 + exp/300
	return append(dst,
		reading(t, meter.OBISActivePowerImport, meter.V(imp, 0), meter.UnitWatt),
		reading(t, meter.OBISActivePowerExport, meter.V(exp, 0), meter.UnitWatt),
		reading(t, obisVoltL1, meter.V(v, -1), meter.UnitVolt),
	)
}

func (e *electricity) quantities() []Quantity {
	return []Quantity{
		{meter.OBISActiveEnergyImport, meter.UnitWattHour, 0, false, true, "active energy import (+A), total: T1 + T2"},
		{obisImportT1, meter.UnitWattHour, 0, false, true, "active energy import (+A), tariff T1 (06:00–22:00 local)"},
		{obisImportT2, meter.UnitWattHour, 0, false, true, "active energy import (+A), tariff T2 (22:00–06:00 local)"},
		{meter.OBISActiveEnergyExport, meter.UnitWattHour, 0, false, true, "active energy export (−A), total"},
		{meter.OBISActivePowerImport, meter.UnitWatt, 0, true, false, "active power import (+P), 1-second value"},
		{meter.OBISActivePowerExport, meter.UnitWatt, 0, true, false, "active power export (−P), 1-second value"},
		{obisVoltL1, meter.UnitVolt, -1, true, false, "voltage L1"},
	}
}

// reading is a simulated reading (the meter id is set by the caller).
func reading(t time.Time, o meter.OBIS, v meter.Value, u meter.Unit) meter.Reading {
	return meter.Reading{OBIS: o, Time: t, Value: v, Unit: u, Source: meter.SourceSim}
}
