package meter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMeterIDValidate(t *testing.T) {
	for _, id := range []MeterID{"a", "elec-1", "KAM-12345678", "x.y_z:0", MeterID(strings.Repeat("a", MaxMeterIDLen))} {
		if err := id.Validate(); err != nil {
			t.Errorf("MeterID(%q).Validate() = %v", id, err)
		}
	}
	for _, id := range []MeterID{"", "a b", "a/b", "ä", "a\x00", "elec-1\n", MeterID(strings.Repeat("a", MaxMeterIDLen+1)), "a*", "a#b"} {
		if err := id.Validate(); !errors.Is(err, ErrMeterID) {
			t.Errorf("MeterID(%q).Validate() = %v, want ErrMeterID", id, err)
		}
	}
}

func TestQualityString(t *testing.T) {
	tests := []struct {
		q    Quality
		want string
	}{
		{0, "ok"},
		{QualityEstimated, "estimated"},
		{QualityInvalid, "invalid"},
		{QualityClockUnsynced, "clock-unsynced"},
		{QualityOverflow, "overflow"},
		{QualityMeterError, "meter-error"},
		{QualityAggregated, "aggregated"},
		{QualityManual, "manual"},
		{QualityTampered, "tampered"},
		{QualityEstimated | QualityClockUnsynced, "estimated,clock-unsynced"},
		{QualityTampered | QualityInvalid, "invalid,tampered"},
		{0x0100, "0x0100"},
		{QualityManual | 0x8100, "manual,0x8100"},
		{0xffff, "estimated,invalid,clock-unsynced,overflow,meter-error,aggregated,manual,tampered,0xff00"},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("Quality(%#x).String() = %q, want %q", uint16(tt.q), got, tt.want)
		}
	}
	// The bit values are persisted.
	bits := []Quality{QualityEstimated, QualityInvalid, QualityClockUnsynced, QualityOverflow, QualityMeterError, QualityAggregated, QualityManual, QualityTampered}
	for i, q := range bits {
		if q != 1<<i {
			t.Errorf("quality %s = %#x, want %#x", q, uint16(q), 1<<i)
		}
	}
}

func TestSource(t *testing.T) {
	for s := range Source(8) {
		name := s.String()
		back, err := ParseSource(name)
		if err != nil || back != s {
			t.Errorf("ParseSource(%q) = %d, %v; want %d", name, back, err, s)
		}
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var u Source
		if err := u.UnmarshalText(b); err != nil || u != s {
			t.Errorf("Source %d → %q → %d, %v", s, b, u, err)
		}
	}
	if SourceSim != 1 || SourceGateway != 7 || SourceSim.String() != "sim" || SourceDLMS.String() != "dlms" {
		t.Error("source codes or names changed (they are persisted)")
	}
	if got := Source(42).String(); got != "source(42)" {
		t.Errorf("Source(42).String() = %q", got)
	}
	if _, err := ParseSource("radio"); err == nil {
		t.Error("ParseSource(radio) succeeded")
	}
	var u Source
	if err := u.UnmarshalText([]byte("radio")); err == nil {
		t.Error("UnmarshalText(radio) succeeded")
	}
}

func TestReadingValidate(t *testing.T) {
	good := Reading{
		Meter: "elec-1",
		OBIS:  OBISActiveEnergyImport,
		Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Value: V(123456, -3),
		Unit:  UnitWattHour,
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	epoch := good
	epoch.Time = time.Unix(0, 0)
	if err := epoch.Validate(); err != nil {
		t.Errorf("a reading at the epoch: %v", err)
	}

	tests := []struct {
		name   string
		modify func(*Reading)
		is     error // nil: any error
	}{
		{"no meter", func(r *Reading) { r.Meter = "" }, ErrMeterID},
		{"bad meter", func(r *Reading) { r.Meter = "a b" }, ErrMeterID},
		{"zero OBIS", func(r *Reading) { r.OBIS = OBIS{} }, ErrOBIS},
		{"reserved medium", func(r *Reading) { r.OBIS = OBIS{16, 0, 1, 8, 0, 255} }, ErrOBIS},
		{"zero time", func(r *Reading) { r.Time = time.Time{} }, nil},
		{"before 1970", func(r *Reading) { r.Time = time.Unix(-1, 0) }, nil},
	}
	for _, tt := range tests {
		r := good
		tt.modify(&r)
		err := r.Validate()
		if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: Validate() = %v, want %v", tt.name, err, tt.is)
		}
	}
}

func TestReadingString(t *testing.T) {
	r := Reading{
		Meter: "elec-1",
		OBIS:  OBISActiveEnergyImport,
		Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
		Value: V(123456, -3),
		Unit:  UnitWattHour,
	}
	if got, want := r.String(), "elec-1 1-0:1.8.0*255 2026-01-02T02:04:05Z 123.456 Wh"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r.Quality = QualityEstimated | QualityClockUnsynced
	if got, want := r.String(), "elec-1 1-0:1.8.0*255 2026-01-02T02:04:05Z 123.456 Wh [estimated,clock-unsynced]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
