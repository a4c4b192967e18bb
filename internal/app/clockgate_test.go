package app

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/smgw/smgw/internal/meter"
)

// Readings taken before the clock is trusted are flagged clock-unsynced
// (and the caller's slice is left alone); once it is, they pass as they are.
func TestClockGateFlags(t *testing.T) {
	var trusted atomic.Bool
	fs := &fakeStore{}
	in := NewIngest(fs, &IngestOptions{Clock: &ClockGate{Trusted: trusted.Load}})
	ctx := context.Background()
	r := sample("a", t0, meter.V(5, 0))
	r.OBIS = meter.OBISActiveEnergyImport
	rs := []meter.Reading{r}
	if err := in.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	if rs[0].Quality != 0 {
		t.Fatal("the caller's reading was modified")
	}
	trusted.Store(true)
	r2 := r
	r2.Time = r.Time.Add(15 * 60e9)
	if err := in.Append(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if len(fs.appended) != 2 || fs.appended[0].Quality != meter.QualityClockUnsynced || fs.appended[1].Quality != 0 {
		t.Fatalf("stored %v, want the first flagged clock-unsynced, the second not", fs.appended)
	}
}

// With hold, nothing stamped by an untrusted clock is stored.
func TestClockGateHolds(t *testing.T) {
	var trusted atomic.Bool
	fs := &fakeStore{}
	gate := &ClockGate{Trusted: trusted.Load, Hold: true}
	in := NewIngest(fs, &IngestOptions{Clock: gate})
	in.Live(sample("a", t0, meter.V(1, 0)))
	r := sample("a", t0, meter.V(5, 0))
	r.OBIS = meter.OBISActiveEnergyImport
	if err := in.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(fs.appended) != 0 || len(fs.takeDeferred()) != 0 || gate.Held() != 2 {
		t.Fatalf("stored %v, held %d; want nothing stored, 2 held", fs.appended, gate.Held())
	}
	trusted.Store(true)
	if err := in.Append(context.Background(), r); err != nil || len(fs.appended) != 1 {
		t.Fatalf("after the clock is trusted: %v, stored %v", err, fs.appended)
	}
	var none *ClockGate
	if none.Held() != 0 || len(none.apply([]meter.Reading{r})) != 1 {
		t.Fatal("a nil gate must pass everything")
	}
}
