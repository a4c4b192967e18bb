package sim_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata" // Europe/Berlin on any test machine

	"github.com/smgw/smgw/internal/lmn/sim"
	"github.com/smgw/smgw/internal/meter"
)

// fakeSink records what it is given. Append fails with failErr if set.
type fakeSink struct {
	mu      sync.Mutex
	regs    []meter.Reading
	live    []meter.Reading
	appends int
	failErr error
}

func (s *fakeSink) Append(ctx context.Context, rs ...meter.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	if s.failErr != nil {
		return s.failErr
	}
	s.regs = append(s.regs, rs...)
	return nil
}

func (s *fakeSink) Live(rs ...meter.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = append(s.live, rs...)
}

func (s *fakeSink) snapshot() (regs, live []meter.Reading, appends int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regs), slices.Clone(s.live), s.appends
}

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustNew(t testing.TB, o *sim.Options) *sim.Meter {
	t.Helper()
	m, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var ids = map[sim.Profile]meter.MeterID{sim.Electricity: "elec-1", sim.Water: "water-1", sim.Heat: "heat-1"}

// series groups readings by OBIS, in order.
func series(rs []meter.Reading) map[meter.OBIS][]meter.Reading {
	out := make(map[meter.OBIS][]meter.Reading)
	for _, r := range rs {
		out[r.OBIS] = append(out[r.OBIS], r)
	}
	return out
}

// checkReadings checks what every reading must satisfy and that the
// cumulative registers never decrease.
func checkReadings(t *testing.T, m *sim.Meter, rs []meter.Reading, live bool) {
	t.Helper()
	qs := make(map[meter.OBIS]sim.Quantity)
	for _, q := range m.Quantities() {
		qs[q.OBIS] = q
	}
	for _, r := range rs {
		q, ok := qs[r.OBIS]
		switch {
		case !ok:
			t.Fatalf("reading of a quantity not in Quantities: %s", r)
		case q.Live != live:
			t.Fatalf("%s: Live = %v, delivered as live = %v", r, q.Live, live)
		case r.Meter != m.ID() || r.Source != meter.SourceSim || r.Quality != 0:
			t.Fatalf("%s: meter %q source %s quality %s", r, r.Meter, r.Source, r.Quality)
		case r.Unit != q.Unit || r.Value.E != q.Exponent:
			t.Fatalf("%s: unit %s exponent %d, Quantities says %s %d", r, r.Unit, r.Value.E, q.Unit, q.Exponent)
		case r.Time.Location() != time.UTC:
			t.Fatalf("%s: time not in UTC", r)
		case r.Validate() != nil:
			t.Fatalf("%s: %v", r, r.Validate())
		}
	}
	for o, s := range series(rs) {
		if !qs[o].Cumulative {
			continue
		}
		for i := 1; i < len(s); i++ {
			if s[i].Time.Before(s[i-1].Time) {
				t.Fatalf("%s: readings out of order: %s after %s", o, s[i], s[i-1])
			}
			if s[i].Value.Cmp(s[i-1].Value) < 0 {
				t.Fatalf("%s decreases: %s after %s", o, s[i], s[i-1])
			}
		}
	}
}

// checkTariffs checks 1.8.0 = 1.8.1 + 1.8.2 at every time.
func checkTariffs(t *testing.T, rs []meter.Reading) {
	t.Helper()
	total := map[time.Time]meter.Value{}
	sum := map[time.Time]meter.Value{}
	for _, r := range rs {
		switch r.OBIS {
		case meter.OBISActiveEnergyImport:
			total[r.Time] = r.Value
		case meter.MustOBIS("1-0:1.8.1"), meter.MustOBIS("1-0:1.8.2"):
			v, err := sum[r.Time].Add(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			sum[r.Time] = v
		}
	}
	if len(total) == 0 {
		t.Fatal("no 1-0:1.8.0 readings")
	}
	for tm, v := range total {
		if v.Cmp(sum[tm]) != 0 {
			t.Fatalf("%s: 1.8.0 = %s, 1.8.1 + 1.8.2 = %s", tm, v, sum[tm])
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *sim.Options
	}{
		{"nil", nil},
		{"no id", &sim.Options{Profile: sim.Water}},
		{"invalid id", &sim.Options{ID: "elec 1", Profile: sim.Electricity}},
		{"no profile", &sim.Options{ID: "m"}},
		{"unknown profile", &sim.Options{ID: "m", Profile: "gas"}},
		{"negative interval", &sim.Options{ID: "m", Profile: sim.Water, Interval: -time.Minute}},
		{"tiny interval", &sim.Options{ID: "m", Profile: sim.Water, Interval: time.Microsecond}},
		{"interval over a day", &sim.Options{ID: "m", Profile: sim.Water, Interval: 25 * time.Hour}},
		{"tiny live interval", &sim.Options{ID: "m", Profile: sim.Electricity, LiveInterval: time.Microsecond}},
		{"live interval without live quantities", &sim.Options{ID: "m", Profile: sim.Heat, LiveInterval: time.Second}},
		{"negative speed", &sim.Options{ID: "m", Profile: sim.Water, Speed: -1}},
		{"NaN speed", &sim.Options{ID: "m", Profile: sim.Water, Speed: math.NaN()}},
		{"infinite speed", &sim.Options{ID: "m", Profile: sim.Water, Speed: math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := sim.New(tc.opts)
			if !errors.Is(err, sim.ErrOptions) {
				t.Fatalf("New = %v, %v; want ErrOptions", m, err)
			}
		})
	}
	_, err := sim.New(&sim.Options{ID: "elec 1", Profile: sim.Electricity})
	if !errors.Is(err, meter.ErrMeterID) {
		t.Errorf("invalid id: %v does not wrap meter.ErrMeterID", err)
	}
}

func TestQuantities(t *testing.T) {
	want := map[sim.Profile][]string{
		sim.Electricity: {"1-0:1.8.0*255", "1-0:1.8.1*255", "1-0:1.8.2*255", "1-0:2.8.0*255",
			"1-0:1.7.0*255", "1-0:2.7.0*255", "1-0:32.7.0*255"},
		sim.Water: {"8-0:1.0.0*255"},
		sim.Heat:  {"6-0:1.0.0*255", "6-0:2.0.0*255", "6-0:8.0.0*255", "6-0:10.0.0*255", "6-0:11.0.0*255"},
	}
	for _, p := range sim.Profiles() {
		m := mustNew(t, &sim.Options{ID: ids[p], Profile: p})
		if m.ID() != ids[p] || m.Profile() != p {
			t.Errorf("ID, Profile = %s, %s", m.ID(), m.Profile())
		}
		var got []string
		for _, q := range m.Quantities() {
			got = append(got, q.OBIS.String())
			if !q.Unit.Known() || q.Description == "" || q.OBIS.Validate() != nil {
				t.Errorf("%s: %+v", p, q)
			}
			if q.Live && q.Cumulative {
				t.Errorf("%s %s: live and cumulative", p, q.OBIS)
			}
		}
		if !slices.Equal(got, want[p]) {
			t.Errorf("%s quantities %v, want %v", p, got, want[p])
		}
	}
}

// TestBackfillMonth: 30 days of every profile in winter and summer are
// well-formed and plausible.
func TestBackfillMonth(t *testing.T) {
	ctx := context.Background()
	loc := berlin(t)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	jul := time.Date(2026, 7, 1, 0, 0, 0, 0, loc)
	advance := func(t *testing.T, p sim.Profile, from time.Time, o meter.OBIS, e int8) int64 {
		m := mustNew(t, &sim.Options{ID: ids[p], Profile: p, Location: loc})
		var s fakeSink
		if err := m.Backfill(ctx, &s, from, from.AddDate(0, 0, 30)); err != nil {
			t.Fatal(err)
		}
		regs, live, _ := s.snapshot()
		if len(live) != 0 {
			t.Fatalf("Backfill produced %d live readings", len(live))
		}
		if n := len(regs); n != 30*96*len(registerQuantities(m)) {
			t.Fatalf("%s: %d readings, want 30 days × 96 × %d", p, n, len(registerQuantities(m)))
		}
		checkReadings(t, m, regs, false)
		if p == sim.Electricity {
			checkTariffs(t, regs)
		}
		s0 := series(regs)[o]
		d, err := s0[len(s0)-1].Value.Sub(s0[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Round(e)
		if err != nil {
			t.Fatal(err)
		}
		return v.M
	}
	for _, from := range []time.Time{jan, jul} {
		if kwh := advance(t, sim.Electricity, from, meter.OBISActiveEnergyImport, 3); kwh < 200 || kwh > 450 {
			t.Errorf("electricity from %s: %d kWh in 30 days, want 200–450", from.Format("Jan"), kwh)
		}
		if m3 := advance(t, sim.Water, from, meter.OBISVolumeWater, 0); m3 < 5 || m3 > 15 {
			t.Errorf("water from %s: %d m³ in 30 days, want 5–15", from.Format("Jan"), m3)
		}
	}
	winter := advance(t, sim.Heat, jan, meter.OBISHeatEnergy, 3)
	summer := advance(t, sim.Heat, jul, meter.OBISHeatEnergy, 3)
	if winter < 3*summer || summer <= 0 {
		t.Errorf("heat: %d kWh in January, %d kWh in July; want winter > 3 × summer > 0", winter, summer)
	}
	if exp := advance(t, sim.Electricity, jul, meter.OBISActiveEnergyExport, 0); exp <= 0 {
		t.Errorf("electricity: no PV export in July")
	}
}

func registerQuantities(m *sim.Meter) []sim.Quantity {
	var qs []sim.Quantity
	for _, q := range m.Quantities() {
		if !q.Live {
			qs = append(qs, q)
		}
	}
	return qs
}

// TestTariffWindows: T1 advances only from 06:00 to 22:00 local time and
// T2 only outside, across both daylight-saving changes.
func TestTariffWindows(t *testing.T) {
	loc := berlin(t)
	for _, day := range []time.Time{
		time.Date(2026, 3, 29, 0, 0, 0, 0, loc),
		time.Date(2026, 10, 25, 0, 0, 0, 0, loc),
	} {
		m := mustNew(t, &sim.Options{ID: "elec-1", Profile: sim.Electricity, Location: loc, Seed: 4})
		var s fakeSink
		if err := m.Backfill(context.Background(), &s, day.Add(-time.Hour), day.AddDate(0, 0, 2)); err != nil {
			t.Fatal(err)
		}
		regs, _, _ := s.snapshot()
		checkTariffs(t, regs)
		ser := series(regs)
		t1, t2 := ser[meter.MustOBIS("1-0:1.8.1")], ser[meter.MustOBIS("1-0:1.8.2")]
		moved := [2]int{}
		for i := 1; i < len(t1); i++ {
			// The quarter hour [t1[i-1].Time, t1[i].Time) in local time.
			h := t1[i-1].Time.In(loc).Hour()
			inT1 := h >= 6 && h < 22
			d1, d2 := t1[i].Value.Cmp(t1[i-1].Value), t2[i].Value.Cmp(t2[i-1].Value)
			if inT1 && d2 != 0 || !inT1 && d1 != 0 {
				t.Fatalf("%s (local %s): T1 %s→%s, T2 %s→%s", t1[i-1].Time, t1[i-1].Time.In(loc).Format("15:04 MST"),
					t1[i-1].Value, t1[i].Value, t2[i-1].Value, t2[i].Value)
			}
			if d1 > 0 {
				moved[0]++
			}
			if d2 > 0 {
				moved[1]++
			}
		}
		if moved[0] < 40 || moved[1] < 20 {
			t.Errorf("%s: T1 advanced in %d, T2 in %d quarter hours", day.Format(time.DateOnly), moved[0], moved[1])
		}
	}
}

func TestDeterminism(t *testing.T) {
	ctx := context.Background()
	// Early in the simulated range: a new meter integrates from 2020, and
	// this test makes 24 of them.
	from := time.Date(2020, 8, 3, 4, 0, 0, 0, time.UTC)
	run := func(id meter.MeterID, p sim.Profile, seed int64) []meter.Reading {
		m := mustNew(t, &sim.Options{ID: id, Profile: p, Seed: seed, Location: time.UTC, Interval: 5 * time.Minute})
		var s fakeSink
		if err := m.Backfill(ctx, &s, from, from.Add(6*time.Hour)); err != nil {
			t.Fatal(err)
		}
		regs, _, _ := s.snapshot()
		for i := range regs {
			regs[i].Meter = "" // compare values only
		}
		return regs
	}
	for _, p := range sim.Profiles() {
		if !slices.Equal(run("a", p, 7), run("b", p, 7)) {
			t.Errorf("%s: same seed, different readings", p)
		}
		if slices.Equal(run("a", p, 7), run("a", p, 8)) {
			t.Errorf("%s: different seeds, same readings", p)
		}
		if !slices.Equal(run("a", p, 0), run("a", p, 0)) {
			t.Errorf("%s: seed from the same id, different readings", p)
		}
		if slices.Equal(run("a", p, 0), run("b", p, 0)) {
			t.Errorf("%s: seeds from different ids, same readings", p)
		}
	}
}

func TestBackfillRange(t *testing.T) {
	ctx := context.Background()
	m := mustNew(t, &sim.Options{ID: "water-1", Profile: sim.Water, Interval: time.Hour, Location: time.UTC})
	from := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	var s fakeSink
	if err := m.Backfill(ctx, &s, from, time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	regs, _, _ := s.snapshot()
	var got []string
	for _, r := range regs {
		got = append(got, r.Time.Format("15:04"))
	}
	if want := []string{"11:00", "12:00", "13:00"}; !slices.Equal(got, want) {
		t.Errorf("boundaries of [10:30, 14:00) = %v, want %v", got, want)
	}
	// Empty ranges produce nothing and call nothing.
	var empty fakeSink
	for _, r := range [][2]time.Time{{from, from}, {from.Add(time.Hour), from}, {from, from.Add(20 * time.Minute)}} {
		if err := m.Backfill(ctx, &empty, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, n := empty.snapshot(); n != 0 {
		t.Errorf("empty ranges: %d Append calls", n)
	}
	// Outside the simulated range.
	old := time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC)
	if err := m.Backfill(ctx, &s, old, old.AddDate(0, 0, 2)); !errors.Is(err, sim.ErrTimeRange) {
		t.Errorf("Backfill from 2019: %v, want ErrTimeRange", err)
	}
	// A failing sink.
	errDisk := errors.New("disk full")
	if err := m.Backfill(ctx, &fakeSink{failErr: errDisk}, from, from.Add(3*time.Hour)); !errors.Is(err, errDisk) {
		t.Errorf("Backfill into a failing sink: %v, want it to wrap %v", err, errDisk)
	}
	// A cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Backfill(cctx, &s, from, from.Add(3*time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("Backfill with a cancelled context: %v", err)
	}
	// Large backfills are batched.
	var big fakeSink
	if err := m.Backfill(ctx, &big, from, from.AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	if regs, _, n := big.snapshot(); n < 2 || len(regs) < 2000 {
		t.Errorf("3 months hourly: %d readings in %d Append calls", len(regs), n)
	}
}

// waitGoroutines waits for the goroutine count to drop to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRun runs an electricity meter on the real clock with short
// intervals: registers on the 20 ms boundaries, live values on the 5 ms
// ones, the same values Backfill gives, nil on cancel, nothing left
// running.
func TestRun(t *testing.T) {
	before := runtime.NumGoroutine()
	m := mustNew(t, &sim.Options{ID: "elec-1", Profile: sim.Electricity, Interval: 20 * time.Millisecond,
		LiveInterval: 5 * time.Millisecond, Location: berlin(t)})
	var s fakeSink
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, &s) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		regs, live, _ := s.snapshot()
		if len(regs) >= 4*10 && len(live) >= 3*20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d register and %d live readings", len(regs), len(live))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGoroutines(t, before)

	regs, live, _ := s.snapshot()
	checkReadings(t, m, regs, false)
	checkReadings(t, m, live, true)
	checkTariffs(t, regs)
	for _, r := range regs {
		if !r.Time.Equal(r.Time.Truncate(20 * time.Millisecond)) {
			t.Fatalf("register reading off the 20 ms boundary: %s", r)
		}
	}
	for _, r := range live {
		if !r.Time.Equal(r.Time.Truncate(5 * time.Millisecond)) {
			t.Fatalf("live reading off the 5 ms boundary: %s", r)
		}
	}
	// Run and Backfill agree.
	first, last := regs[0].Time, regs[len(regs)-1].Time
	var b fakeSink
	if err := m.Backfill(context.Background(), &b, first, last.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	back, _, _ := b.snapshot()
	want := make(map[[2]any]meter.Value)
	for _, r := range back {
		want[[2]any{r.OBIS, r.Time}] = r.Value
	}
	for _, r := range regs {
		if v, ok := want[[2]any{r.OBIS, r.Time}]; !ok || v != r.Value {
			t.Fatalf("Run gave %s, Backfill %s (found %v)", r, v, ok)
		}
	}
}

// TestRunAppendFails: Run logs a failing Append and goes on.
func TestRunAppendFails(t *testing.T) {
	m := mustNew(t, &sim.Options{ID: "water-1", Profile: sim.Water, Interval: 5 * time.Millisecond})
	s := &fakeSink{failErr: errors.New("disk full")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, s) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, n := s.snapshot(); n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run stopped calling Append after a failure")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := m.Run(ctx, nil); err == nil {
		t.Error("Run with a nil sink: no error")
	}
}

// in2026 is a clock for synctest bubbles (which start at 2000-01-01 UTC,
// before the simulated range) that reads 2026-03-01T00:00Z at the start.
func in2026() func() time.Time {
	off := time.Until(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	return func() time.Time { return time.Now().Add(off) }
}

// TestRunQuarterHours: in a bubble with fake time, an hour of Run gives
// registers at exactly :00, :15, :30, :45 and :00, and a live sample every
// second.
func TestRunQuarterHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustNew(t, &sim.Options{ID: "elec-1", Profile: sim.Electricity, Location: time.UTC, Now: in2026()})
		var s fakeSink
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, &s) }()
		time.Sleep(time.Hour + 500*time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		regs, live, appends := s.snapshot()
		var times []string
		for _, r := range regs {
			if r.OBIS == meter.OBISActiveEnergyImport {
				times = append(times, r.Time.Format("15:04:05.000"))
			}
		}
		if want := []string{"00:00:00.000", "00:15:00.000", "00:30:00.000", "00:45:00.000", "01:00:00.000"}; !slices.Equal(times, want) || appends != 5 {
			t.Errorf("register times %v in %d appends, want %v in 5", times, appends, want)
		}
		if n := len(live) / 3; n != 3601 {
			t.Errorf("%d live samples in an hour, want 3601", n)
		}
		checkReadings(t, m, regs, false)
		checkReadings(t, m, live, true)
	})
}

// TestRunSpeed: at Speed 60 a minute of the clock is an hour of readings.
func TestRunSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustNew(t, &sim.Options{ID: "heat-1", Profile: sim.Heat, Location: time.UTC, Now: in2026(), Speed: 60})
		var s fakeSink
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, &s) }()
		time.Sleep(time.Minute + time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		regs, _, _ := s.snapshot()
		var times []string
		for _, r := range regs {
			if r.OBIS == meter.OBISHeatEnergy {
				times = append(times, r.Time.Format("15:04"))
			}
		}
		if want := []string{"00:00", "00:15", "00:30", "00:45", "01:00"}; !slices.Equal(times, want) {
			t.Errorf("register times %v, want %v", times, want)
		}
	})
}

// TestRunUnsyncedClock: with the clock at 1970 (not yet synced) Run
// produces nothing, and still returns nil on cancel.
func TestRunUnsyncedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		off := time.Until(time.Unix(0, 0))
		m := mustNew(t, &sim.Options{ID: "elec-1", Profile: sim.Electricity, Now: func() time.Time { return time.Now().Add(off) }})
		var s fakeSink
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, &s) }()
		time.Sleep(time.Hour)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if regs, live, n := s.snapshot(); len(regs)+len(live)+n != 0 {
			t.Errorf("clock at 1970: %d registers, %d live, %d appends", len(regs), len(live), n)
		}
	})
}

func BenchmarkBackfillDay(b *testing.B) {
	for _, p := range sim.Profiles() {
		b.Run(string(p), func(b *testing.B) {
			m := mustNew(b, &sim.Options{ID: ids[p], Profile: p, Location: berlin(b)})
			ctx := context.Background()
			day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			s := discard{}
			if err := m.Backfill(ctx, s, day.AddDate(0, 0, -1), day); err != nil { // warm the cache
				b.Fatal(err)
			}
			for b.Loop() {
				if err := m.Backfill(ctx, s, day, day.AddDate(0, 0, 1)); err != nil {
					b.Fatal(err)
				}
				day = day.AddDate(0, 0, 1)
			}
		})
	}
}

// BenchmarkFirstReading is the one-off cost of a new meter: integrating
// from 2020 to 2026.
func BenchmarkFirstReading(b *testing.B) {
	for _, p := range sim.Profiles() {
		b.Run(string(p), func(b *testing.B) {
			ctx := context.Background()
			day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				m := mustNew(b, &sim.Options{ID: ids[p], Profile: p, Location: time.UTC})
				if err := m.Backfill(ctx, discard{}, day, day.Add(time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Append(context.Context, ...meter.Reading) error { return nil }
func (discard) Live(...meter.Reading)                          {}
