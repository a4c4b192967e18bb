package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// fakeStore records what the ingest pipeline hands to the store.
type fakeStore struct {
	mu       sync.Mutex
	appended []meter.Reading
	deferred []meter.Reading
	err      error
	failures int // the next Appends that fail with err
}

func (f *fakeStore) Append(_ context.Context, rs ...meter.Reading) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return f.err
	}
	f.appended = append(f.appended, rs...)
	return nil
}

func (f *fakeStore) AppendDeferred(rs ...meter.Reading) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deferred = append(f.deferred, rs...)
	return nil
}

func (f *fakeStore) takeDeferred() []meter.Reading {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deferred
	f.deferred = nil
	return d
}

var (
	t0    = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	power = meter.OBISActivePowerImport
)

func sample(id meter.MeterID, at time.Time, v meter.Value) meter.Reading {
	return meter.Reading{Meter: id, OBIS: power, Time: at, Value: v, Unit: meter.UnitWatt, Source: meter.SourceSim}
}

func TestDownsamplerExactMeans(t *testing.T) {
	tests := []struct {
		name    string
		samples []meter.Value
		want    meter.Value
	}{
		{"one sample", []meter.Value{meter.V(1234, -1)}, meter.V(1234, -1)},
		{"exact", []meter.Value{meter.V(1, 0), meter.V(2, 0), meter.V(3, 0)}, meter.V(2, 0)},
		{"rounds down", []meter.Value{meter.V(1, 0), meter.V(1, 0), meter.V(2, 0)}, meter.V(1, 0)}, // 1.333
		{"rounds up", []meter.Value{meter.V(1, 0), meter.V(2, 0), meter.V(2, 0)}, meter.V(2, 0)},   // 1.667
		{"half away from zero", []meter.Value{meter.V(1, 0), meter.V(2, 0)}, meter.V(2, 0)},        // 1.5
		{"negative half", []meter.Value{meter.V(-1, 0), meter.V(-2, 0)}, meter.V(-2, 0)},           // -1.5
		{"negative", []meter.Value{meter.V(-10, 0), meter.V(-11, 0), meter.V(-11, 0)}, meter.V(-11, 0)},
		{"mixed sign", []meter.Value{meter.V(-5, 0), meter.V(2, 0)}, meter.V(-2, 0)}, // -1.5
		// Exponents differ: the mean is at the finest (-3): (1500+2000+2550)/3 = 2016.667.
		{"mixed exponents", []meter.Value{meter.V(1500, -3), meter.V(2, 0), meter.V(255, -2)}, meter.V(2017, -3)},
		{"positive exponent", []meter.Value{meter.V(12, 2), meter.V(13, 2)}, meter.V(13, 2)}, // 12.5e2
		{"large", []meter.Value{meter.V(math.MaxInt64/4, 0), meter.V(math.MaxInt64/4, 0), meter.V(math.MaxInt64/4+2, 0)},
			meter.V(math.MaxInt64/4+1, 0)}, // too large for the ×10 path
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeStore{}
			in := NewIngest(fs, &IngestOptions{Resolution: time.Minute, Now: func() time.Time { return t0 }})
			for i, v := range tt.samples {
				in.Live(sample("elec-1", t0.Add(time.Duration(i)*time.Second), v))
			}
			if d := fs.takeDeferred(); len(d) != 0 {
				t.Fatalf("stored %v before the window closed", d)
			}
			// The first sample of the next window closes this one.
			in.Live(sample("elec-1", t0.Add(time.Minute), meter.V(7, 0)))
			d := fs.takeDeferred()
			want := meter.Reading{Meter: "elec-1", OBIS: power, Time: t0, Value: tt.want,
				Unit: meter.UnitWatt, Quality: meter.QualityAggregated, Source: meter.SourceSim}
			if len(d) != 1 || d[0] != want {
				t.Fatalf("stored %v, want [%v]", d, want)
			}
		})
	}
}

// ratMean is the reference: the exact rational mean rounded half away from
// zero to exponent e.
func ratMean(ms []int64, e int8) meter.Value {
	sum := new(big.Int)
	for _, m := range ms {
		sum.Add(sum, big.NewInt(m))
	}
	n := big.NewInt(int64(len(ms)))
	q, r := new(big.Int).QuoRem(sum, n, new(big.Int))
	r.Abs(r).Mul(r, big.NewInt(2))
	if r.Cmp(n) >= 0 {
		q.Add(q, big.NewInt(int64(sum.Sign())))
	}
	return meter.V(q.Int64(), e)
}

func TestMeanValueMatchesRational(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 1 + rng.IntN(100)
		ms := make([]int64, n)
		var sum int64
		limit := []int64{10, 1000, 1 << 40, math.MaxInt64 / 200}[rng.IntN(4)]
		for i := range ms {
			ms[i] = rng.Int64N(2*limit) - limit
			sum += ms[i]
		}
		e := int8(rng.IntN(7) - 3)
		got := meanValue(sum, int64(n), e)
		if want := ratMean(ms, e); got != want {
			t.Fatalf("mean of %v at 10^%d = %v, want %v", ms, e, got, want)
		}
	}
}

func TestDownsamplerWindows(t *testing.T) {
	now := t0
	fs := &fakeStore{}
	in := NewIngest(fs, &IngestOptions{Resolution: time.Minute, Now: func() time.Time { return now }})
	// Two meters, interleaved, and a register that is only kept in memory.
	in.Live(sample("a", t0.Add(10*time.Second), meter.V(100, 0)), sample("b", t0.Add(10*time.Second), meter.V(5, 0)))
	in.Live(sample("a", t0.Add(50*time.Second), meter.V(200, 0)))
	reg := meter.Reading{Meter: "a", OBIS: meter.OBISActiveEnergyImport, Time: t0.Add(50 * time.Second),
		Value: meter.V(123456, -1), Unit: meter.UnitWattHour}
	in.Live(reg)
	// A late sample (before the open window) is dropped.
	in.Live(sample("a", t0.Add(2*time.Minute), meter.V(1, 0)))
	in.Live(sample("a", t0.Add(90*time.Second), meter.V(1000, 0)))
	d := fs.takeDeferred()
	if len(d) != 1 || d[0].Meter != "a" || d[0].Value != meter.V(150, 0) || !d[0].Time.Equal(t0) {
		t.Fatalf("stored %v, want a's mean 150 at %v", d, t0)
	}

	// Time passes: closeDue closes windows that ended (plus grace).
	now = t0.Add(time.Minute + time.Second)
	in.closeDue(now)
	if d := fs.takeDeferred(); len(d) != 0 {
		t.Fatalf("closed within the grace period: %v", d)
	}
	now = t0.Add(3*time.Minute + 3*time.Second)
	in.closeDue(now)
	d = fs.takeDeferred()
	slices.SortFunc(d, func(x, y meter.Reading) int { return x.Time.Compare(y.Time) })
	if len(d) != 2 || d[0].Meter != "b" || d[0].Value != meter.V(5, 0) ||
		d[1].Meter != "a" || d[1].Value != meter.V(1, 0) || !d[1].Time.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("stored %v", d)
	}
	// A sample for a window already stored is dropped, not stored twice.
	in.Live(sample("b", t0.Add(30*time.Second), meter.V(9, 0)))
	in.FlushWindows()
	if d := fs.takeDeferred(); len(d) != 0 {
		t.Fatalf("late sample stored: %v", d)
	}

	live := in.LiveValues()
	if len(live) != 3 || live[0].OBIS != power || live[0].Value != meter.V(1, 0) ||
		live[1] != reg || live[2].Meter != "b" || live[2].Value != meter.V(9, 0) {
		t.Errorf("live values %v", live)
	}
	if n := in.ReadingsLastMinute(); n != 2 {
		t.Errorf("ReadingsLastMinute = %d, want 2 (the first mean is 3 minutes old)", n)
	}
}

func TestDownsamplerRestart(t *testing.T) {
	// The mean of 10:00 was stored before a restart; samples of that
	// window arriving again (a backfill) are dropped.
	fs := &fakeStore{}
	in := NewIngest(fs, &IngestOptions{
		Resolution: time.Minute,
		Now:        func() time.Time { return t0.Add(time.Hour) },
		Latest: func(id meter.MeterID, o meter.OBIS) (meter.Reading, bool) {
			return meter.Reading{Meter: id, OBIS: o, Time: t0}, id == "a" && o == power
		},
	})
	in.Live(sample("a", t0.Add(30*time.Second), meter.V(1, 0)), sample("a", t0.Add(70*time.Second), meter.V(2, 0)))
	in.FlushWindows()
	d := fs.takeDeferred()
	if len(d) != 1 || !d[0].Time.Equal(t0.Add(time.Minute)) || d[0].Value != meter.V(2, 0) {
		t.Fatalf("stored %v, want only the 10:01 mean", d)
	}
}

func TestIngestNoResolution(t *testing.T) {
	fs := &fakeStore{}
	in := NewIngest(fs, nil)
	s1, s2 := sample("a", t0, meter.V(1, 0)), sample("a", t0.Add(time.Second), meter.V(2, 0))
	s2.Quality = meter.QualityEstimated
	in.Live(s1, s2)
	if d := fs.takeDeferred(); !slices.Equal(d, []meter.Reading{s1, s2}) {
		t.Fatalf("stored %v, want every sample as is", d)
	}
}

func TestIngestAppendSeen(t *testing.T) {
	fs := &fakeStore{}
	var seen []meter.MeterID
	in := NewIngest(fs, &IngestOptions{
		Seen:   []meter.MeterID{"old"},
		OnSeen: func(_ context.Context, id meter.MeterID) { seen = append(seen, id) },
	})
	reg := func(id meter.MeterID) meter.Reading {
		return meter.Reading{Meter: id, OBIS: meter.OBISActiveEnergyImport, Time: t0, Value: meter.V(1, 0)}
	}
	ctx := context.Background()
	for _, id := range []meter.MeterID{"old", "new", "new", "other"} {
		if err := in.Append(ctx, reg(id), reg(id)); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(seen, []meter.MeterID{"new", "other"}) {
		t.Errorf("seen %v", seen)
	}
	if len(fs.appended) != 8 {
		t.Errorf("appended %d readings, want 8", len(fs.appended))
	}
	if n := in.ReadingsLastMinute(); n != 8 {
		t.Errorf("ReadingsLastMinute = %d, want 8", n)
	}
	if n := in.MetersSeen(); n != 3 {
		t.Errorf("MetersSeen = %d, want 3", n)
	}
}

func TestIngestAppendRetries(t *testing.T) {
	reg := meter.Reading{Meter: "m", OBIS: meter.OBISActiveEnergyImport, Time: t0, Value: meter.V(1, 0)}
	ctx := context.Background()

	fs := &fakeStore{err: errors.New("disk on fire"), failures: 3}
	in := NewIngest(fs, nil)
	in.retry = time.Millisecond
	if err := in.Append(ctx, reg); err != nil || len(fs.appended) != 1 {
		t.Errorf("Append after 3 failures = %v, %d stored", err, len(fs.appended))
	}

	// Permanent errors are not retried.
	fs = &fakeStore{err: fmt.Errorf("%w: bad", store.ErrInvalid), failures: 1}
	in = NewIngest(fs, nil)
	if err := in.Append(ctx, reg); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Append = %v, want ErrInvalid", err)
	}

	// The context ends the retries.
	fs = &fakeStore{err: errors.New("disk on fire"), failures: 1 << 30}
	in = NewIngest(fs, nil)
	in.retry = time.Millisecond
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := in.Append(cctx, reg); err == nil {
		t.Error("Append succeeded on a failing store")
	}
}

func TestRateCounter(t *testing.T) {
	var c rateCounter
	c.add(t0, 5)
	c.add(t0.Add(30*time.Second), 7)
	if n := c.lastMinute(t0.Add(59 * time.Second)); n != 12 {
		t.Errorf("got %d, want 12", n)
	}
	if n := c.lastMinute(t0.Add(61 * time.Second)); n != 7 {
		t.Errorf("got %d, want 7", n)
	}
	c.add(t0.Add(60*time.Second), 1) // the same bucket as t0, a minute later
	if n := c.lastMinute(t0.Add(60 * time.Second)); n != 8 {
		t.Errorf("got %d, want 8", n)
	}
}

// BenchmarkIngestLive feeds one-second samples of 3 instantaneous
// quantities of 10 meters through the 1-minute downsampler.
func BenchmarkIngestLive(b *testing.B) {
	fs := &discardStore{}
	in := NewIngest(fs, &IngestOptions{Resolution: time.Minute})
	obis := []meter.OBIS{power, meter.OBISActivePowerExport, meter.MustOBIS("1-0:32.7.0*255")}
	var batch []meter.Reading
	ids := []meter.MeterID{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * time.Second)
		id := ids[i%len(ids)]
		batch = batch[:0]
		for j, o := range obis {
			batch = append(batch, meter.Reading{Meter: id, OBIS: o, Time: at, Value: meter.V(int64(1000+i%77+j), -1),
				Unit: meter.UnitWatt, Source: meter.SourceSim})
		}
		in.Live(batch...)
		i++
	}
	b.ReportMetric(float64(b.N*len(obis))/b.Elapsed().Seconds(), "samples/s")
}

type discardStore struct{}

func (discardStore) Append(context.Context, ...meter.Reading) error { return nil }
func (discardStore) AppendDeferred(...meter.Reading) error          { return nil }
