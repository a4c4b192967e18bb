package sep2

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkReadingList serves one day of 15-minute readings (49 items).
func BenchmarkReadingList(b *testing.B) {
	h := newFixture(b).handler(nil)
	p := fmt.Sprintf("/sep2/upt/elec-1/mr/0100010800ff/rs/%d/r?l=255", testNow.Truncate(24*time.Hour).Unix())
	b.ReportAllocs()
	for b.Loop() {
		if r := get(h, "GET", p, nil); r.code != 200 {
			b.Fatal(r.code)
		}
	}
}

// BenchmarkTimeTariffIntervals lists a week of time tariff intervals.
func BenchmarkTimeTariffIntervals(b *testing.B) {
	h := newFixture(b).handler(nil)
	b.ReportAllocs()
	for b.Loop() {
		if r := get(h, "GET", "/sep2/tp/home-2026/rc/0/tti?l=255", nil); r.code != 200 {
			b.Fatal(r.code)
		}
	}
}

func BenchmarkLatest(b *testing.B) {
	h := newFixture(b).handler(nil)
	b.ReportAllocs()
	for b.Loop() {
		if r := get(h, "GET", "/sep2/upt/elec-1/mr/0100010800ff/r", nil); r.code != 200 {
			b.Fatal(r.code)
		}
	}
}
