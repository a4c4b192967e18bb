package dlms

import (
	"fmt"
	"time"
)

// Not-specified markers of the date and time fields (IEC 62056-6-2 4.1.6.1).
const (
	NotSpecified         = 0xFF   // a one-octet field
	YearNotSpecified     = 0xFFFF // year
	DeviationUnspecified = -32768 // 0x8000
)

// Clock status bits.
const (
	ClockInvalid        = 0x01
	ClockDoubtful       = 0x02
	ClockDifferentBase  = 0x04
	ClockInvalidStatus  = 0x08
	ClockDaylightSaving = 0x80
	ClockStatusUnknown  = 0xFF // not specified
)

// DateTime is the COSEM date-time: 12 octets, as the typed date-time
// (tag 25) and, far more often, as an octet-string of 12 octets. Fields
// keep their wire values, including the not-specified markers (0xFF,
// 0xFFFF for the year, 0x8000 for the deviation) and the special months
// (0xFD, 0xFE daylight saving end and begin) and days (0xFD, 0xFE second
// last and last day of the month).
type DateTime struct {
	Year       uint16
	Month      uint8
	Day        uint8
	Weekday    uint8 // 1 Monday … 7 Sunday, 0xFF not specified
	Hour       uint8
	Minute     uint8
	Second     uint8
	Hundredths uint8
	// Deviation is minutes of local time to UTC as IEC 62056-6-2 defines
	// it: UTC = local time + Deviation (so CET is -60), or
	// DeviationUnspecified.
	Deviation   int16
	ClockStatus uint8
}

// ParseDateTime reads the 12 octets of a date-time.
func ParseDateTime(b []byte) (DateTime, error) {
	if len(b) != 12 {
		return DateTime{}, fmt.Errorf("%w: date-time of %d octets, want 12", ErrInvalid, len(b))
	}
	return DateTime{
		Year: uint16(b[0])<<8 | uint16(b[1]), Month: b[2], Day: b[3], Weekday: b[4],
		Hour: b[5], Minute: b[6], Second: b[7], Hundredths: b[8],
		Deviation: int16(uint16(b[9])<<8 | uint16(b[10])), ClockStatus: b[11],
	}, nil
}

// Append appends the 12 octets.
func (t DateTime) Append(dst []byte) []byte {
	return append(dst, byte(t.Year>>8), byte(t.Year), t.Month, t.Day, t.Weekday,
		t.Hour, t.Minute, t.Second, t.Hundredths, byte(uint16(t.Deviation)>>8), byte(t.Deviation), t.ClockStatus)
}

// Octets returns d as the octet-string form of a date-time.
func (t DateTime) Octets() Data { return OctetString(t.Append(make([]byte, 0, 12))) }

// Typed returns d as the typed date-time (tag 25).
func (t DateTime) Typed() Data { return Data{tag: TagDateTime, bytes: t.Append(make([]byte, 0, 12))} }

// DateTimeOf returns the date-time of a time.Time with its zone's offset as
// the deviation, the weekday filled in, and the daylight-saving status
// bit set when dst is true.
func DateTimeOf(tm time.Time, dst bool) DateTime {
	_, off := tm.Zone()
	d := DateTime{
		Year: uint16(tm.Year()), Month: uint8(tm.Month()), Day: uint8(tm.Day()),
		Weekday: uint8((int(tm.Weekday())+6)%7 + 1),
		Hour:    uint8(tm.Hour()), Minute: uint8(tm.Minute()), Second: uint8(tm.Second()),
		Hundredths: uint8(tm.Nanosecond() / 10_000_000),
		Deviation:  int16(-off / 60),
	}
	if dst {
		d.ClockStatus |= ClockDaylightSaving
	}
	return d
}

// Time returns the instant d names. It fails when a field it needs is not
// specified or out of range, or the deviation is not specified (local
// time without a known offset names no instant).
func (t DateTime) Time() (time.Time, error) {
	if t.Year == YearNotSpecified || t.Month < 1 || t.Month > 12 || t.Day < 1 || t.Day > 31 ||
		t.Hour > 23 || t.Minute > 59 || t.Second > 59 || (t.Hundredths > 99 && t.Hundredths != NotSpecified) {
		return time.Time{}, fmt.Errorf("%w: date-time %v names no instant", ErrInvalid, t)
	}
	if t.Deviation == DeviationUnspecified || t.Deviation < -720 || t.Deviation > 840 {
		return time.Time{}, fmt.Errorf("%w: date-time %v has no usable deviation", ErrInvalid, t)
	}
	ns := 0
	if t.Hundredths != NotSpecified {
		ns = int(t.Hundredths) * 10_000_000
	}
	zone := time.FixedZone("", -int(t.Deviation)*60)
	tm := time.Date(int(t.Year), time.Month(t.Month), int(t.Day), int(t.Hour), int(t.Minute), int(t.Second), ns, zone)
	if tm.Day() != int(t.Day) {
		return time.Time{}, fmt.Errorf("%w: date-time %v: no such day", ErrInvalid, t)
	}
	return tm, nil
}

// String prints the date-time as 2026-11-22 02:42:59.00 dev=0 st=0x00,
// with * for not-specified fields.
func (t DateTime) String() string {
	f := func(v uint8, w int) string {
		if v == NotSpecified {
			return "*"
		}
		return fmt.Sprintf("%0*d", w, v)
	}
	y := "*"
	if t.Year != YearNotSpecified {
		y = fmt.Sprintf("%04d", t.Year)
	}
	dev := "*"
	if t.Deviation != DeviationUnspecified {
		dev = fmt.Sprint(t.Deviation)
	}
	return fmt.Sprintf("%s-%s-%s %s:%s:%s.%s dev=%s st=0x%02X", y, f(t.Month, 2), f(t.Day, 2),
		f(t.Hour, 2), f(t.Minute, 2), f(t.Second, 2), f(t.Hundredths, 2), dev, t.ClockStatus)
}

// DateTime returns the date-time of a typed date-time or a 12-octet
// octet-string.
func (d Data) DateTime() (DateTime, bool) {
	if (d.tag == TagDateTime || d.tag == TagOctetString) && len(d.bytes) == 12 {
		t, err := ParseDateTime(d.bytes)
		return t, err == nil
	}
	return DateTime{}, false
}

// Date is the COSEM date: year, month, day, weekday (5 octets).
type Date struct {
	Year    uint16
	Month   uint8
	Day     uint8
	Weekday uint8
}

// Typed returns the typed date (tag 26).
func (d Date) Typed() Data {
	return Data{tag: TagDate, bytes: []byte{byte(d.Year >> 8), byte(d.Year), d.Month, d.Day, d.Weekday}}
}

// Octets returns the octet-string form of the date (5 octets).
func (d Date) Octets() Data {
	return OctetString([]byte{byte(d.Year >> 8), byte(d.Year), d.Month, d.Day, d.Weekday})
}

// TimeOfDay is the COSEM time: hour, minute, second, hundredths (4 octets).
type TimeOfDay struct {
	Hour, Minute, Second, Hundredths uint8
}

// Typed returns the typed time (tag 27).
func (t TimeOfDay) Typed() Data {
	return Data{tag: TagTime, bytes: []byte{t.Hour, t.Minute, t.Second, t.Hundredths}}
}

// Octets returns the octet-string form of the time (4 octets).
func (t TimeOfDay) Octets() Data {
	return OctetString([]byte{t.Hour, t.Minute, t.Second, t.Hundredths})
}

// Date returns the date of a typed date or a 5-octet octet-string.
func (d Data) Date() (Date, bool) {
	if (d.tag == TagDate || d.tag == TagOctetString) && len(d.bytes) == 5 {
		b := d.bytes
		return Date{Year: uint16(b[0])<<8 | uint16(b[1]), Month: b[2], Day: b[3], Weekday: b[4]}, true
	}
	return Date{}, false
}

// TimeOfDay returns the time of a typed time or a 4-octet octet-string.
func (d Data) TimeOfDay() (TimeOfDay, bool) {
	if (d.tag == TagTime || d.tag == TagOctetString) && len(d.bytes) == 4 {
		b := d.bytes
		return TimeOfDay{b[0], b[1], b[2], b[3]}, true
	}
	return TimeOfDay{}, false
}
