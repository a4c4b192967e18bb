package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// BenchmarkReseal re-seals a store of 3,000 reading blocks (10 meters ×
// 300 days of 15-minute data) after a rotation, with fsync; it reports the
// values re-sealed per second and the longest step, the most an append
// waits behind the pass.
func BenchmarkReseal(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	dev := keys.NewDev(filepath.Join(dir, "dev-data-key"), nil)
	s, err := Open(filepath.Join(dir, "smgw.db"), &Options{Keys: dev})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var rs []meter.Reading
	for m := range 10 {
		for i := range 300 * 96 {
			rs = append(rs, rd(fmt.Sprintf("m%d", m), "1-0:1.8.0*255", t0.Add(time.Duration(i)*15*time.Minute), int64(i), 0, meter.UnitWattHour))
		}
	}
	if err := s.Append(ctx, rs...); err != nil {
		b.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	var values uint64
	var maxStep time.Duration
	b.ResetTimer()
	for b.Loop() {
		if _, err := dev.Rotate(ctx, s.Keyring()); err != nil {
			b.Fatal(err)
		}
		last := time.Now()
		p, err := s.Reseal(ctx, func(ResealProgress) {
			maxStep = max(maxStep, time.Since(last))
			last = time.Now()
		})
		if err != nil {
			b.Fatal(err)
		}
		values += p.Resealed
	}
	b.ReportMetric(float64(values)/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(maxStep.Microseconds())/1000, "max-step-ms")
}
