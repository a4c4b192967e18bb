package tariff

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

type memRecords struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts int
}

var errNotFound = errors.New("not found")

func (r *memRecords) PutRecord(_ context.Context, kind, name string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[kind+"/"+name] = append([]byte(nil), v...)
	r.puts++
	return nil
}

func (r *memRecords) Record(kind, name string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[kind+"/"+name]
	if !ok {
		return nil, errNotFound
	}
	return v, nil
}

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) // a Monday

func open(t *testing.T, recs *memRecords, now time.Time) *Model {
	t.Helper()
	m, err := Open(recs, &Options{NotFound: errNotFound, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func v(s string) meter.Value {
	x, err := meter.ParseValue(s)
	if err != nil {
		panic(err)
	}
	return x
}

// touSchedule: HT 06:00–22:00 on weekdays, NT otherwise, Berlin time.
func touSchedule() Schedule {
	return Schedule{
		ID: "tou-2026", Effective: t0, Currency: "EUR", Unit: "kWh", TimeZone: "Europe/Berlin",
		Tiers:       []Tier{{ID: 1, Label: "NT", Price: v("0.2500")}, {ID: 2, Label: "HT", Price: v("0.3500")}},
		DefaultTier: 1,
		Periods:     []Period{{Tier: 2, Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "06:00", End: "22:00"}},
		Blocks:      []Block{{From: v("0"), Adder: v("0")}, {From: v("300"), Adder: v("0.0200")}},
	}
}

func TestPrices(t *testing.T) {
	ctx := context.Background()
	recs := &memRecords{m: map[string][]byte{}}
	m := open(t, recs, t0)
	if _, ok := m.PriceAt(t0); ok {
		t.Fatal("a price without a schedule")
	}
	if err := m.SetSchedule(ctx, touSchedule()); err != nil {
		t.Fatal(err)
	}
	// Monday 2026-11-23 07:00 Berlin (UTC+1) is 06:00 UTC: HT.
	p, ok := m.PriceAt(t0.Add(6 * time.Hour))
	if !ok || p.Label != "HT" || p.Price.Cmp(v("0.35")) != 0 || p.Currency != "EUR" {
		t.Errorf("PriceAt 07:00 local = %+v", p)
	}
	// 04:59 UTC is 05:59 local: NT, next change at 05:00 UTC to HT.
	at := t0.Add(4*time.Hour + 59*time.Minute)
	if p, _ := m.PriceAt(at); p.Label != "NT" {
		t.Errorf("PriceAt 05:59 local = %+v", p)
	}
	next, np, ok := m.NextChange(at)
	if !ok || !next.Equal(t0.Add(5*time.Hour)) || np.Label != "HT" {
		t.Errorf("NextChange = %s %+v %v", next, np, ok)
	}
	// Block adder.
	if add, i := p.BlockAdder(v("350.5")); i != 1 || add.Cmp(v("0.02")) != 0 {
		t.Errorf("BlockAdder = %s %d", add, i)
	}
	// Dynamic prices override the tier for their 15 minutes.
	dyn := []DynamicPrice{{Start: t0.Add(6 * time.Hour), Price: v("0.1234")}, {Start: t0.Add(6*time.Hour + 15*time.Minute), Price: v("-0.0100")}}
	if err := m.SetPrices(ctx, dyn); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.PriceAt(t0.Add(6*time.Hour + 20*time.Minute)); !p.Dynamic || p.Price.Cmp(v("-0.01")) != 0 {
		t.Errorf("dynamic price = %+v", p)
	}
	next, np, _ = m.NextChange(t0.Add(6 * time.Hour))
	if !next.Equal(t0.Add(6*time.Hour+15*time.Minute)) || np.Price.Cmp(v("-0.01")) != 0 {
		t.Errorf("NextChange in dynamic = %s %+v", next, np)
	}
	next, np, _ = m.NextChange(t0.Add(6*time.Hour + 15*time.Minute))
	if !next.Equal(t0.Add(6*time.Hour+30*time.Minute)) || np.Label != "HT" {
		t.Errorf("NextChange after dynamic = %s %+v", next, np)
	}
	// A restart reads the same model.
	m2 := open(t, recs, t0)
	if p, _ := m2.PriceAt(t0.Add(6*time.Hour + 20*time.Minute)); !p.Dynamic || p.Price.Cmp(v("-0.01")) != 0 {
		t.Errorf("after reopen: %+v", p)
	}
	if p, _ := m2.PriceAt(t0.Add(12 * time.Hour)); p.Label != "HT" {
		t.Errorf("after reopen: %+v", p)
	}
	// A later schedule takes over at its effective time.
	s2 := touSchedule()
	s2.ID, s2.Effective = "flat-2027", t0.Add(48*time.Hour)
	s2.Periods, s2.Blocks = nil, nil
	if err := m.SetSchedule(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if next, np, _ := m.NextChange(t0.Add(47 * time.Hour)); !next.Equal(t0.Add(48*time.Hour)) || np.Schedule != "flat-2027" {
		t.Errorf("NextChange to the new schedule = %s %+v", next, np)
	}
	if _, _, ok := m.NextChange(t0.Add(49 * time.Hour)); ok {
		t.Error("a flat tariff has a next change")
	}
}

func TestScheduleValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Schedule)
		want string
	}{
		{"overlap", func(s *Schedule) {
			s.Periods = append(s.Periods, Period{Tier: 1, Days: []string{"fri"}, Start: "21:00", End: "23:00"})
		}, "overlaps periods[0] on fri"},
		{"reversed", func(s *Schedule) { s.Periods[0].End = "05:00" }, "ends (05:00) at or before it starts"},
		{"bad clock", func(s *Schedule) { s.Periods[0].Start = "6:00" }, "not HH:MM"},
		{"bad day", func(s *Schedule) { s.Periods[0].Days = []string{"monday"} }, "day \"monday\": unknown"},
		{"unknown unit", func(s *Schedule) { s.Unit = "kW" }, "unit \"kW\": unknown"},
		{"currency", func(s *Schedule) { s.Currency = "eur" }, "currency"},
		{"tz", func(s *Schedule) { s.TimeZone = "Mars/Olympus" }, "not a known IANA time zone"},
		{"default tier", func(s *Schedule) { s.DefaultTier = 3 }, "default_tier 3"},
		{"period tier", func(s *Schedule) { s.Periods[0].Tier = 9 }, "tier 9 is not one of the tiers"},
		{"dup tier", func(s *Schedule) { s.Tiers[1].ID = 1 }, "listed twice"},
		{"blocks order", func(s *Schedule) { s.Blocks[1].From = v("0") }, "is not above"},
		{"negative block", func(s *Schedule) { s.Blocks[0].From = v("-1") }, "negative"},
		{"no effective", func(s *Schedule) { s.Effective = time.Time{} }, "effective"},
	}
	m := open(t, &memRecords{m: map[string][]byte{}}, t0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := touSchedule()
			tt.edit(&s)
			err := m.SetSchedule(context.Background(), s)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SetSchedule: %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
	if len(m.Schedules()) != 0 {
		t.Error("an invalid schedule was installed")
	}
	bad := [][]DynamicPrice{
		nil,
		{{Start: t0.Add(time.Minute), Price: v("1")}},
		{{Start: t0, Price: v("1")}, {Start: t0, Price: v("2")}},
	}
	for i, ps := range bad {
		if err := m.SetPrices(context.Background(), ps); !errors.Is(err, ErrInvalid) {
			t.Errorf("prices %d: %v", i, err)
		}
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	recs := &memRecords{m: map[string][]byte{}}
	m := open(t, recs, t0)
	ev := Event{ID: "dr-1", Start: t0.Add(time.Hour), Minutes: 60, Criticality: 5, DeviceClasses: []string{"hvac", "ev-charger"}, OptOutAllowed: true}
	if err := m.StartEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	act, pend := m.Events(t0)
	if len(act) != 0 || len(pend) != 1 {
		t.Errorf("Events before = %v %v", act, pend)
	}
	act, _ = m.Events(t0.Add(90 * time.Minute))
	if len(act) != 1 {
		t.Errorf("Events during = %v", act)
	}
	if err := m.OptOut(ctx, "dr-1", "ihd-kitchen"); err != nil {
		t.Fatal(err)
	}
	if err := m.OptOut(ctx, "dr-1", "ihd-kitchen"); err != nil {
		t.Fatal(err)
	}
	if err := m.CancelEvent(ctx, "dr-1", t0.Add(80*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m2 := open(t, recs, t0)
	all := m2.AllEvents()
	if len(all) != 1 || !all[0].OptedOut("ihd-kitchen") || len(all[0].OptOuts) != 1 || all[0].End() != t0.Add(80*time.Minute) {
		t.Errorf("after reopen: %+v", all)
	}
	if act, _ := m2.Events(t0.Add(90 * time.Minute)); len(act) != 0 {
		t.Errorf("cancelled event active: %v", act)
	}
	if err := m.CancelEvent(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	for _, bad := range []func(*Event){
		func(e *Event) { e.Minutes = -5 },
		func(e *Event) { e.Minutes = 0 },
		func(e *Event) { e.Criticality = 10 },
		func(e *Event) { e.DeviceClasses = []string{"toaster"} },
		func(e *Event) { e.DeviceClasses = nil },
		func(e *Event) { e.ID = "a/b" },
	} {
		e := ev
		e.ID = "dr-2"
		bad(&e)
		if err := m.StartEvent(ctx, e); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad event %+v: %v", e, err)
		}
	}
}

func TestMessages(t *testing.T) {
	ctx := context.Background()
	recs := &memRecords{m: map[string][]byte{}}
	m := open(t, recs, t0)
	msg := Message{ID: "m-1", Text: "Wartung am Zähler morgen 10–12 Uhr", Priority: "high", Start: t0, ConfirmationRequired: true}
	if err := m.PostMessage(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if got := m.Messages(t0.Add(time.Hour)); len(got) != 1 || got[0].Text != msg.Text {
		t.Errorf("Messages = %+v", got)
	}
	if err := m.Confirm(ctx, "m-1", "ihd-1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := m.Messages(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Errorf("confirmed message still shown: %+v", got)
	}
	m2 := open(t, recs, t0)
	if all := m2.AllMessages(); len(all) != 1 || all[0].ConfirmedBy != "ihd-1" {
		t.Errorf("after reopen: %+v", all)
	}
	if err := m.Confirm(ctx, "m-9", "x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("confirm unknown: %v", err)
	}
	for _, bad := range []Message{
		{ID: "m-2", Text: "", Priority: "low", Start: t0},
		{ID: "m-2", Text: "x", Priority: "urgent", Start: t0},
		{ID: "m-2", Text: "x", Priority: "low", Start: t0, Minutes: -1},
		{ID: "m-2", Text: strings.Repeat("x", 501), Priority: "low", Start: t0},
		{ID: "m-2", Text: "\xff", Priority: "low", Start: t0},
	} {
		if err := m.PostMessage(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad message %+v: %v", bad, err)
		}
	}
}

func TestChanged(t *testing.T) {
	m := open(t, &memRecords{m: map[string][]byte{}}, t0)
	ch := m.Changed()
	if err := m.SetSchedule(context.Background(), touSchedule()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Error("Changed not closed by a change")
	}
}

// FuzzSchedule: any JSON either fails validation with ErrInvalid (or a
// JSON error) or installs a schedule whose price can be asked at any time.
func FuzzSchedule(f *testing.F) {
	good, _ := json.Marshal(touSchedule())
	f.Add(good, int64(0))
	f.Add([]byte(`{"id":"x","effective":"2026-01-01T00:00:00Z","currency":"EUR","unit":"kWh","tiers":[{"id":1,"price":"1"}],"default_tier":1,"periods":[{"tier":1,"days":["sun"],"start":"23:59","end":"24:00"}]}`), int64(1e9))
	f.Fuzz(func(t *testing.T, b []byte, at int64) {
		var s Schedule
		if json.Unmarshal(b, &s) != nil {
			return
		}
		m := open(t, &memRecords{m: map[string][]byte{}}, t0)
		if err := m.SetSchedule(context.Background(), s); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("SetSchedule: %v", err)
			}
			return
		}
		when := s.Effective.Add(time.Duration(at))
		if _, ok := m.PriceAt(when); !ok && !when.Before(s.Effective) {
			t.Fatalf("no price at %s", when)
		}
		m.NextChange(when)
	})
}
