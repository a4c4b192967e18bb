package sim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// The simulated time range (read-only): registers start at epoch with a
// seed-derived value; times outside [epoch, end) are refused with
// ErrTimeRange.
var (
	epoch   = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	endTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	slotDur     = 15 * time.Minute
	slotSec     = int64(slotDur / time.Second)
	slotsPerDay = 96
	daySec      = 86400
	// maxCh is the most cumulative channels a model keeps.
	maxCh = 3
)

var epochUnix = epoch.Unix()

// slotInfo is what the models know of a slot: its index since Epoch and
// where it falls on the local wall clock.
type slotInfo struct {
	n     int64 // slot index since epoch
	start int64 // Unix seconds of its start
	wall  int64 // local wall-clock minute of day of its start, 0…1439
	day   int64 // local day number (days since 1970-01-01 on the wall clock)
	dst   bool  // local daylight-saving time in effect
}

// hour is the local hour of the slot's start.
func (si *slotInfo) hour() int { return int(si.wall / 60) }

// weekend reports whether the slot is on a local Saturday or Sunday.
func (si *slotInfo) weekend() bool {
	wd := floorMod(si.day+4, 7) // 1970-01-01 was a Thursday; 0 is Sunday
	return wd == 0 || wd == 6
}

// tariff is 0 (T1, 06:00–22:00 local) or 1 (T2, the rest).
func (si *slotInfo) tariff() int {
	if si.wall >= 6*60 && si.wall < 22*60 {
		return 0
	}
	return 1
}

// zone returns the UTC offset (seconds) and daylight-saving flag of loc at
// the Unix time sec.
func zone(loc *time.Location, sec int64) (int64, bool) {
	t := time.Unix(sec, 0).In(loc)
	_, off := t.Zone()
	return int64(off), t.IsDST()
}

func makeSlot(n, off int64, dst bool) slotInfo {
	start := epochUnix + n*slotSec
	local := start + off
	day := floorDiv(local, daySec)
	return slotInfo{
		n:     n,
		start: start,
		wall:  (local - day*daySec) / 60,
		day:   day,
		dst:   dst,
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// Deterministic randomness: a keyed hash (SplitMix64's finaliser), so any
// value can be drawn for any instant without state.

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a seed; its draws are pure functions of (seed, kind, a, b).
type rng uint64

// Kinds of draws, so independent quantities use independent streams.
const (
	kDay uint64 = iota + 1
	kSlot
	kEvent

	kMinute
	kSecond
	kCloudDay
	kCloudSlot
	kVoltDay
	kVoltSecond
	kWater
	kWaterParam
	kHeatNoise

	kTempDay
	kTempNoise
	kStart
	kHousehold
)

func (r rng) h(kind uint64, a, b int64) uint64 {
	return splitmix(splitmix(uint64(r)^kind*0xd1b54a32d192ed03^uint64(a)*0x8cb92ba72f3d8dd7) ^ uint64(b))
}

// uniform draws an integer in [lo, hi].
func (r rng) uniform(kind uint64, a, b, lo, hi int64) int64 {
	return lo + int64(r.h(kind, a, b)%uint64(hi-lo+1))
}

// field returns the i-th 16-bit field (0…3) of a draw h scaled to [0, n),
// 1 ≤ n ≤ 65536: one hash gives up to four small independent draws.
func field(h uint64, i int, n int64) int64 {
	return int64((h>>(16*i))&0xffff) * n >> 16
}

// weather is the seed of what all meters share (outdoor temperature,
// clouds): a fixed constant, so it depends on the time only.
const weather rng = 0x5eed_c10d_5eed_c10d

// interpHour interpolates a 24-entry table of hourly values (each valid at
// the middle of its hour) at minute of day min.
func interpHour(tab *[24]int64, min int64) int64 {
	p := floorMod(min-30, 1440)
	i, f := p/60, p%60
	return (tab[i]*(60-f) + tab[(i+1)%24]*f) / 60
}

// interpYear interpolates a 12-entry table of monthly values (each valid at
// the middle of its month) at local day number day.
func interpYear(tab *[12]int64, day int64) int64 {
	// Position in the year in units of 1/10,000 day, on the mean Gregorian
	// year (day 0, 1970-01-01, is a 1 January).
	ph := floorMod(day*10000, 3652425)
	p := ph*12000/3652425 - 500 // month position in 1/1000, from mid-January
	if p < 0 {
		p += 12000
	}
	i, f := p/1000, p%1000
	return (tab[i]*(1000-f) + tab[(i+1)%12]*f) / 1000
}

// model is one profile's physics. Channels are cumulative integers in the
// model's own units (W·s, ml); a model adds the start values itself in
// registers.
type model interface {
	// full adds the whole slot's increments to out.
	full(si *slotInfo, out *[maxCh]int64)
	// partial adds the increments of [slot start, slot start+e) to out,
	// 0 ≤ e ≤ 15 min; partial(si, 15*time.Minute) equals full(si).
	partial(si *slotInfo, e time.Duration, out *[maxCh]int64)
	// registers appends the register readings at t, given the cumulative
	// channels at t (without start values) and the slot holding t.
	registers(dst []meter.Reading, t time.Time, si *slotInfo, e time.Duration, cum *[maxCh]int64) []meter.Reading
	// live appends the instantaneous readings at t (none if the profile
	// has none).
	live(dst []meter.Reading, t time.Time, si *slotInfo, e time.Duration) []meter.Reading
	// quantities lists what registers and live produce, in that order.
	quantities() []Quantity
}

// integrator computes cumulative channels at any instant: per-UTC-day
// totals since epoch, cached, plus a cursor so that sequential queries are
// O(1).
type integrator struct {
	m   model
	loc *time.Location

	days [][maxCh]int64 // days[d]: cumulative at the start of UTC day d

	curOK   bool
	curSlot int64
	curCum  [maxCh]int64 // cumulative at the start of curSlot
}

// slotAt returns the slot info of slot n.
func (it *integrator) slotAt(n int64) slotInfo {
	off, dst := zone(it.loc, epochUnix+n*slotSec)
	return makeSlot(n, off, dst)
}

// ensure extends the day cache to hold day d.
func (it *integrator) ensure(d int64) {
	if it.days == nil {
		it.days = make([][maxCh]int64, 1, 4096)
	}
	for int64(len(it.days)) <= d {
		last := int64(len(it.days) - 1)
		cum := it.days[last]
		it.addDay(last, &cum)
		it.days = append(it.days, cum)
	}
}

// addDay adds the totals of UTC day d to cum.
func (it *integrator) addDay(d int64, cum *[maxCh]int64) {
	first := d * slotsPerDay
	s0 := epochUnix + first*slotSec
	off0, dst0 := zone(it.loc, s0)
	off1, dst1 := zone(it.loc, s0+daySec-1)
	same := off0 == off1 && dst0 == dst1
	var si slotInfo // one variable: passing it to the model moves it to the heap
	for n := first; n < first+slotsPerDay; n++ {
		if same {
			si = makeSlot(n, off0, dst0)
		} else {
			si = it.slotAt(n)
		}
		it.m.full(&si, cum)
	}
}

// at returns the cumulative channels at slot n plus e, the slot's info.
func (it *integrator) at(n int64, e time.Duration) ([maxCh]int64, slotInfo) {
	d := n / slotsPerDay
	var from int64
	var cum [maxCh]int64
	if it.curOK && it.curSlot <= n && n-it.curSlot <= slotsPerDay {
		from, cum = it.curSlot, it.curCum
	} else {
		it.ensure(d)
		from, cum = d*slotsPerDay, it.days[d]
	}
	var si slotInfo
	for k := from; k < n; k++ {
		si = it.slotAt(k)
		it.m.full(&si, &cum)
	}
	it.curOK, it.curSlot, it.curCum = true, n, cum
	si = it.slotAt(n)
	if e > 0 {
		it.m.partial(&si, e, &cum)
	}
	return cum, si
}
