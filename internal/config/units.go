package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a span of time written as a string of whole numbers with the
// units d (24h), h, m and s, largest first, each at most once: "90d",
// "15m", "1h30m", "1d12h". "0" (or "0s") is zero. There are no fractions
// and no negative durations.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

var durationUnits = []struct {
	unit string
	d    time.Duration
}{
	{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
}

// ParseDuration parses the Duration syntax. Errors wrap ErrDuration.
func ParseDuration(s string) (Duration, error) {
	d, why := parseDuration(s)
	if why != "" {
		return 0, fmt.Errorf("%w %q: %s", ErrDuration, s, why)
	}
	return d, nil
}

// parseDuration returns the duration or the reason s is not one.
func parseDuration(s string) (Duration, string) {
	if s == "" {
		return 0, "empty (write \"0\" for none)"
	}
	if s == "0" {
		return 0, ""
	}
	var total time.Duration
	next := 0 // index into durationUnits of the largest unit still allowed
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		if j == i {
			return 0, fmt.Sprintf("expected a number at %q (durations look like \"15m\" or \"1h30m\")", s[i:])
		}
		num := s[i:j]
		k := j
		for k < len(s) && (s[k] < '0' || s[k] > '9') {
			k++
		}
		unit := s[j:k]
		if unit == "" {
			return 0, fmt.Sprintf("%s has no unit (use d, h, m or s)", num)
		}
		u := -1
		for x, du := range durationUnits {
			if du.unit == unit {
				u = x
			}
		}
		if u < 0 {
			return 0, fmt.Sprintf("unknown unit %q (use d, h, m or s)", unit)
		}
		if u < next {
			return 0, fmt.Sprintf("unit %q repeated or out of order (write the largest unit first, e.g. \"1h30m\")", unit)
		}
		next = u + 1
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(durationUnits[u].d) {
			return 0, "too long"
		}
		add := time.Duration(n) * durationUnits[u].d
		if total > math.MaxInt64-add {
			return 0, "too long"
		}
		total += add
		i = k
	}
	return Duration(total), ""
}

// String formats d in the syntax ParseDuration reads ("1h30m", "90d",
// "0"). A duration that is not a whole number of seconds, which only code
// can build, is formatted by time.Duration.String.
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "0"
	}
	if t < 0 || t%time.Second != 0 {
		return t.String()
	}
	var b []byte
	for _, du := range durationUnits {
		if n := t / du.d; n > 0 {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, du.unit...)
			t -= n * du.d
		}
	}
	return string(b)
}

// MarshalText implements encoding.TextMarshaler. It fails for a duration
// ParseDuration could not read back (negative or with a fraction of a
// second).
func (d Duration) MarshalText() ([]byte, error) {
	if d < 0 || time.Duration(d)%time.Second != 0 {
		return nil, fmt.Errorf("%w: %s is not a whole, non-negative number of seconds", ErrDuration, time.Duration(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	x, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// Size is a number of bytes written as a string with a unit: B, the
// binary KiB, MiB, GiB, TiB (powers of 1024) or the decimal kB, MB, GB, TB
// (powers of 1000): "512MiB", "4096B", "10MB". "0" is zero. Only whole
// numbers; a space between number and unit is allowed.
type Size int64

var sizeUnits = []struct {
	unit string
	n    int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3},
	{"B", 1},
}

// Sizes used in validation messages.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

// ParseSize parses the Size syntax. Errors wrap ErrSize.
func ParseSize(s string) (Size, error) {
	n, why := parseSize(s)
	if why != "" {
		return 0, fmt.Errorf("%w %q: %s", ErrSize, s, why)
	}
	return n, nil
}

// parseSize returns the size or the reason s is not one.
func parseSize(s string) (Size, string) {
	if s == "" {
		return 0, "empty (write \"0\" for none)"
	}
	if s == "0" {
		return 0, ""
	}
	j := 0
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, "expected a number first (sizes look like \"512MiB\")"
	}
	num := s[:j]
	unit := s[j:]
	if len(unit) > 0 && unit[0] == ' ' {
		unit = unit[1:]
	}
	if unit == "" {
		return 0, fmt.Sprintf("%s has no unit (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)", num)
	}
	var mult int64
	for _, su := range sizeUnits {
		if su.unit == unit {
			mult = su.n
		}
	}
	if mult == 0 {
		return 0, fmt.Sprintf("unknown unit %q (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)", unit)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, "too large"
	}
	return Size(n * mult), ""
}

// String formats s in the syntax ParseSize reads, with the largest unit
// that divides it exactly: "512MiB", "10MB", "1TB", "1000B".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + "B"
	}
	best := sizeUnits[len(sizeUnits)-1] // B
	for _, su := range sizeUnits {
		if int64(s)%su.n == 0 && su.n > best.n {
			best = su
		}
	}
	return strconv.FormatInt(int64(s)/best.n, 10) + best.unit
}

// MarshalText implements encoding.TextMarshaler; it fails for a negative
// size, which only code can build.
func (s Size) MarshalText() ([]byte, error) {
	if s < 0 {
		return nil, fmt.Errorf("%w: %d is negative", ErrSize, int64(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	x, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = x
	return nil
}
