package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

func TestBreaker(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m, err := New(&Options{ID: "e", Profile: Electricity, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	import1 := func(m *Meter, at time.Time) meter.Value {
		rs, err := m.registersAt(nil, at)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].Value
	}
	before := import1(m, now)
	if err := m.Disconnect(ctx); err != nil || m.Connected() {
		t.Fatalf("Disconnect: %v, connected %v", err, m.Connected())
	}
	m.Disconnect(ctx) // twice is fine
	// Registers stand still while open, power is 0.
	if v := import1(m, now.Add(3*time.Hour)); v.Cmp(before) != 0 {
		t.Errorf("import while open = %s, want %s", v, before)
	}
	live, err := m.liveAt(nil, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range live {
		if (r.OBIS == meter.OBISActivePowerImport || r.OBIS == meter.OBISActivePowerExport) && !r.Value.IsZero() {
			t.Errorf("power while open: %+v", r)
		}
		if r.OBIS == obisVoltL1 && r.Value.IsZero() {
			t.Error("voltage 0 while open")
		}
	}
	now = now.Add(time.Hour)
	if err := m.Reconnect(ctx); err != nil || !m.Connected() {
		t.Fatalf("Reconnect: %v", err)
	}
	// After: it counts again, from where it stood, and the same meter
	// restored from its outages agrees.
	raw, _ := New(&Options{ID: "e", Profile: Electricity, Now: clock})
	at := now.Add(2 * time.Hour)
	got := import1(m, at)
	lost, _ := import1(raw, now).Sub(import1(raw, now.Add(-time.Hour)))
	want, _ := import1(raw, at).Sub(lost)
	if d, _ := got.Sub(want); d.M > 1 || d.M < -1 { // Wh rounding of the two parts
		t.Errorf("import after reconnect = %s, want %s", got, want)
	}
	restored, err := New(&Options{ID: "e", Profile: Electricity, Now: clock, Outages: m.Outages()})
	if err != nil {
		t.Fatal(err)
	}
	if v := import1(restored, at); v.Cmp(got) != 0 {
		t.Errorf("restored meter = %s, want %s", v, got)
	}
	// No breaker on water; bad outages refused.
	w, _ := New(&Options{ID: "w", Profile: Water, Now: clock})
	if err := w.Disconnect(ctx); !errors.Is(err, ErrNoBreaker) {
		t.Errorf("water Disconnect: %v", err)
	}
	bad := []Outage{{From: now}, {From: now.Add(time.Hour), To: now.Add(2 * time.Hour)}}
	if _, err := New(&Options{ID: "e", Profile: Electricity, Outages: bad}); !errors.Is(err, ErrOptions) {
		t.Errorf("open outage not last: %v", err)
	}
}
