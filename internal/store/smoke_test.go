package store

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

func TestSmoke(t *testing.T) {
	s, path := openTest(t, nil)
	ctx := context.Background()
	var rs []meter.Reading
	for i := range 200 {
		rs = append(rs, rd("m1", "1-0:1.8.0", t0.Add(time.Duration(i)*15*time.Minute), int64(1000+i*7), 0, meter.UnitWattHour))
	}
	if err := s.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, Query{})
	if len(got) != 200 {
		t.Fatalf("got %d", len(got))
	}
	s.Compact(ctx)
	got = collect(t, s, Query{})
	if len(got) != 200 || got[199].Value != rs[199].Value || !got[5].Time.Equal(rs[5].Time) {
		t.Fatalf("after compact got %d %v", len(got), got[199])
	}
	s.Close()
	s2, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got = collect(t, s2, Query{From: t0.Add(24 * time.Hour), To: t0.Add(48 * time.Hour)})
	if len(got) != 96 {
		t.Fatalf("day query after reopen got %d", len(got))
	}
}
