package dlmssim

import (
	"testing"
	"time"
)

// The closed forms agree with summing quarter by quarter.
func TestSeriesClosedForm(t *testing.T) {
	for _, s := range []series{seriesImport, seriesExport, seriesReactiveImport, seriesReactiveExport} {
		var sum int64
		for q := int64(0); q < 200; q++ {
			if got := s.upTo(q); got != sum {
				t.Fatalf("%v upTo(%d) = %d, want %d", s, q, got, sum)
			}
			sum += s.quarter(q)
		}
	}
	base := time.Unix(1_790_000_000/900*900, 0)
	for i := 0; i < 50; i++ {
		tm := base.Add(time.Duration(i) * 7 * time.Minute)
		t1, t2 := TariffWh(tm)
		if t1+t2 != ImportWh(tm) {
			t.Fatalf("%v: tariffs %d + %d != %d", tm, t1, t2, ImportWh(tm))
		}
	}
	var odd int64
	for q := int64(0); q < 40; q++ {
		_, t2 := TariffWh(time.Unix(q*900, 0))
		if t2 != odd {
			t.Fatalf("T2 at quarter %d = %d, want %d", q, t2, odd)
		}
		if q%2 == 1 {
			odd += seriesImport.quarter(q)
		}
	}
}
