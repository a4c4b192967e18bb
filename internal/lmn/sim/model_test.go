package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on any test machine

	"github.com/smgw/smgw/internal/meter"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func newMeter(t testing.TB, p Profile, seed int64, loc *time.Location) *Meter {
	t.Helper()
	m, err := New(&Options{ID: "m-1", Profile: p, Seed: seed, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// slotOf returns the slot index of t.
func slotOf(t time.Time) int64 { return int64(t.Sub(epoch) / slotDur) }

// sampleSlots returns slots spread over a year, including the days of the
// DST changes in Europe.
func sampleSlots(r *rand.Rand, n int) []int64 {
	first := slotOf(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	var out []int64
	for _, d := range []time.Time{
		time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC),
	} {
		for k := range int64(slotsPerDay) {
			out = append(out, slotOf(d)+k)
		}
	}
	for range n {
		out = append(out, first+r.Int64N(365*slotsPerDay))
	}
	return out
}

// TestFullIsPartialAtEnd: a slot's closed-form total equals its
// minute-by-minute integral, and the integral never decreases within the
// slot.
func TestFullIsPartialAtEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range Profiles() {
		for _, loc := range []*time.Location{time.UTC, berlin(t)} {
			m := newMeter(t, p, 3, loc)
			for _, n := range sampleSlots(r, 800) {
				si := m.it.slotAt(n)
				var full, end [maxCh]int64
				m.model.full(&si, &full)
				m.model.partial(&si, slotDur, &end)
				if full != end {
					t.Fatalf("%s %s slot %d: full %v, partial at 15m %v", p, loc, n, full, end)
				}
				for _, e := range []time.Duration{0, time.Nanosecond, 999 * time.Millisecond, time.Second,
					time.Duration(r.Int64N(int64(slotDur))), 7*time.Minute + 30*time.Second,
					14*time.Minute + 59*time.Second + 999999999*time.Nanosecond, slotDur} {
					var cur [maxCh]int64
					m.model.partial(&si, e, &cur)
					for ch := range cur {
						if cur[ch] < 0 {
							t.Fatalf("%s slot %d at %s: channel %d negative: %d", p, n, e, ch, cur[ch])
						}
					}
				}
				// Monotone over a sorted sweep.
				var prev [maxCh]int64
				for e := time.Duration(0); e <= slotDur; e += 29*time.Second + 300*time.Millisecond {
					var cur [maxCh]int64
					m.model.partial(&si, e, &cur)
					for ch := range cur {
						if cur[ch] < prev[ch] {
							t.Fatalf("%s slot %d: channel %d decreases at %s: %d < %d", p, n, ch, e, cur[ch], prev[ch])
						}
					}
					prev = cur
				}
			}
		}
	}
}

// TestLiveIntegratesToRegisters: the 1-second powers of the electricity
// profile sum, second by second, to exactly the energy the registers
// advance by, and import and export are never both non-zero.
func TestLiveIntegratesToRegisters(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := newMeter(t, Electricity, 5, berlin(t))
	e := m.model.(*electricity)
	exportSlots, eventSlots := 0, 0
	for _, n := range sampleSlots(r, 400) {
		si := m.it.slotAt(n)
		s := e.slot(&si)
		if s.n0 < 0 {
			exportSlots++
		}
		if s.evD > 0 {
			eventSlots++
		}
		var want [maxCh]int64
		e.full(&si, &want)
		var got [maxCh]int64
		for sec := range int64(900) {
			imp, exp := s.power(time.Duration(sec) * time.Second)
			if imp < 0 || exp < 0 || (imp > 0 && exp > 0) {
				t.Fatalf("slot %d second %d: import %d W, export %d W", n, sec, imp, exp)
			}
			got[si.tariff()] += imp
			got[chExport] += exp
		}
		if got != want {
			t.Fatalf("slot %d: sum of 1-second powers %v W·s, register increments %v W·s", n, got, want)
		}
	}
	if exportSlots == 0 || eventSlots == 0 {
		t.Errorf("sample has %d export and %d event slots; want some of each", exportSlots, eventSlots)
	}
}

// TestRandomAccessMatchesSequential: the day cache and the cursor give the
// same registers whatever the order of the queries.
func TestRandomAccessMatchesSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range Profiles() {
		seq := newMeter(t, p, 9, berlin(t))
		rnd := newMeter(t, p, 9, berlin(t))
		from := time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)
		var times []time.Time
		for range 500 {
			times = append(times, from.Add(time.Duration(r.Int64N(int64(5*24*time.Hour)))))
		}
		want := make(map[time.Time][]meter.Reading)
		sorted := append([]time.Time(nil), times...)
		slices.SortFunc(sorted, time.Time.Compare)
		for _, tm := range sorted {
			rs, err := seq.registersAt(nil, tm)
			if err != nil {
				t.Fatal(err)
			}
			want[tm] = rs
		}
		for _, tm := range times {
			rs, err := rnd.registersAt(nil, tm)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rs {
				if rs[i] != want[tm][i] {
					t.Fatalf("%s at %s: random access %s, sequential %s", p, tm, rs[i], want[tm][i])
				}
			}
		}
	}
}

// TestYearTotals holds the profiles to their documented yearly figures.
func TestYearTotals(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	for seed := int64(1); seed <= 4; seed++ {
		// delta returns the register's advance over the year in units of
		// 10^e of its unit.
		delta := func(p Profile, i int, e int8) int64 {
			m := newMeter(t, p, seed, berlin(t))
			a, err := m.registersAt(nil, from)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.registersAt(nil, to)
			if err != nil {
				t.Fatal(err)
			}
			d, err := b[i].Value.Sub(a[i].Value)
			if err != nil {
				t.Fatal(err)
			}
			v, err := d.Round(e)
			if err != nil {
				t.Fatal(err)
			}
			return v.M
		}
		if kwh := delta(Electricity, 0, 3); kwh < 3000 || kwh > 4000 {
			t.Errorf("seed %d: electricity import %d kWh a year, want 3,000–4,000", seed, kwh)
		}
		if kwh := delta(Electricity, 3, 3); kwh < 5 || kwh > 400 {
			t.Errorf("seed %d: electricity export %d kWh a year, want 5–400 (800 Wp balcony PV)", seed, kwh)
		}
		if m3 := delta(Water, 0, 0); m3 < 80 || m3 > 140 {
			t.Errorf("seed %d: water %d m³ a year, want 80–140", seed, m3)
		}
		if mwh := delta(Heat, 0, 6); mwh < 8 || mwh > 25 {
			t.Errorf("seed %d: heat %d MWh a year, want 8–25", seed, mwh)
		}
	}
}
