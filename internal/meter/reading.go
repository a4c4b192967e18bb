package meter

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MeterID names a meter within the gateway: what the configuration calls it,
// or for meters found on a bus, what the driver derives from the meter's
// own identity (e.g. "KAM-12345678" for a wM-Bus meter). 1…64 bytes of
// letters, digits and . _ - : so it is safe in file names, topics and URLs.
type MeterID string

// ErrMeterID is returned (wrapped) for a malformed meter id.
var ErrMeterID = errors.New("meter: invalid meter id")

// MaxMeterIDLen is the longest meter id accepted.
const MaxMeterIDLen = 64

// Validate checks the id's length and characters.
func (id MeterID) Validate() error {
	if len(id) == 0 {
		return fmt.Errorf("%w: empty", ErrMeterID)
	}
	if len(id) > MaxMeterIDLen {
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrMeterID, id, MaxMeterIDLen)
	}
	for i, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-:", c) >= 0) {
			return fmt.Errorf("%w: %q: byte %d (%q) is none of . _ - : and not a letter or digit", ErrMeterID, id, i, c)
		}
	}
	return nil
}

// Quality flags qualify a reading. They are a bit set; 0 is a good,
// measured value. The bit values are persisted.
type Quality uint16

// Quality bits.
const (
	// QualityEstimated: the value was estimated (substituted), not measured.
	QualityEstimated Quality = 0x0001
	// QualityInvalid: the meter flagged the value as invalid.
	QualityInvalid Quality = 0x0002
	// QualityClockUnsynced: the gateway's clock was not yet trusted when
	// the reading was timestamped (see STYLE: don't timestamp before the
	// clock is trusted).
	QualityClockUnsynced Quality = 0x0004
	// QualityOverflow: the register wrapped around since the last reading.
	QualityOverflow Quality = 0x0008
	// QualityMeterError: the meter reported an error status with the value.
	QualityMeterError Quality = 0x0010
	// QualityAggregated: the value is the gateway's mean of finer samples.
	QualityAggregated Quality = 0x0020
	// QualityManual: entered by a person, not read.
	QualityManual Quality = 0x0040
	// QualityTampered: the meter reported tamper or fraud detection.
	QualityTampered Quality = 0x0080
)

var qualityNames = []struct {
	q    Quality
	name string
}{
	{QualityEstimated, "estimated"}, {QualityInvalid, "invalid"},
	{QualityClockUnsynced, "clock-unsynced"}, {QualityOverflow, "overflow"},
	{QualityMeterError, "meter-error"}, {QualityAggregated, "aggregated"},
	{QualityManual, "manual"}, {QualityTampered, "tampered"},
}

// String lists the set flags, "ok" for none.
func (q Quality) String() string {
	if q == 0 {
		return "ok"
	}
	var parts []string
	rest := q
	for _, n := range qualityNames {
		if q&n.q != 0 {
			parts = append(parts, n.name)
			rest &^= n.q
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%04x", uint16(rest)))
	}
	return strings.Join(parts, ",")
}

// Source says which protocol or component produced a reading. The values
// are persisted.
type Source uint8

// Sources.
const (
	SourceUnknown Source = 0
	SourceSim     Source = 1 // the built-in simulator (smgw demo)
	SourceWMBus   Source = 2 // wireless M-Bus (EN 13757-4)
	SourceMBus    Source = 3 // wired M-Bus (EN 13757-2)
	SourceDLMS    Source = 4 // DLMS/COSEM
	SourceModbus  Source = 5 // Modbus RTU/TCP
	SourceManual  Source = 6 // entered by a person or imported
	SourceGateway Source = 7 // derived by the gateway (aggregates)
)

var sourceNames = map[Source]string{
	SourceUnknown: "unknown", SourceSim: "sim", SourceWMBus: "wmbus", SourceMBus: "mbus",
	SourceDLMS: "dlms", SourceModbus: "modbus", SourceManual: "manual", SourceGateway: "gateway",
}

// String returns the source's short name.
func (s Source) String() string {
	if n, ok := sourceNames[s]; ok {
		return n
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// ParseSource maps a short name back to a Source.
func ParseSource(name string) (Source, error) {
	for s, n := range sourceNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("meter: unknown source %q", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Source) UnmarshalText(b []byte) error {
	x, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = x
	return nil
}

// Reading is one value of one quantity of one meter at one time.
type Reading struct {
	Meter   MeterID
	OBIS    OBIS
	Time    time.Time // when the value was valid (the meter's time, or receipt)
	Value   Value
	Unit    Unit
	Quality Quality
	Source  Source
}

// Validate checks what the store needs of a reading: a valid meter id and
// OBIS code, and a time after 1970 (an untrusted clock is flagged with
// QualityClockUnsynced, not faked).
func (r Reading) Validate() error {
	if err := r.Meter.Validate(); err != nil {
		return err
	}
	if err := r.OBIS.Validate(); err != nil {
		return fmt.Errorf("meter %s: %w", r.Meter, err)
	}
	if r.Time.Before(time.Unix(0, 0)) {
		return fmt.Errorf("meter %s %s: time %s is before 1970", r.Meter, r.OBIS, r.Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// String is a one-line human form: "elec-1 1-0:1.8.0*255 2026-01-02T03:04:05Z 123.456 Wh".
func (r Reading) String() string {
	s := fmt.Sprintf("%s %s %s %s %s", r.Meter, r.OBIS, r.Time.UTC().Format(time.RFC3339Nano), r.Value, r.Unit.Symbol())
	if r.Quality != 0 {
		s += " [" + r.Quality.String() + "]"
	}
	return s
}
