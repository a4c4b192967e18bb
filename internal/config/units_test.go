package config

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		str  string // String of the result; "" means in
	}{
		{"0", 0, ""},
		{"0s", 0, "0"},
		{"1s", time.Second, ""},
		{"90s", 90 * time.Second, "1m30s"},
		{"15m", 15 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"24h", 24 * time.Hour, "1d"},
		{"90d", 90 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1d2h3m4s", 26*time.Hour + 3*time.Minute + 4*time.Second, ""},
		{"007m", 7 * time.Minute, "7m"},
		{"106751d", 106751 * 24 * time.Hour, ""},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err != nil || d.Std() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, d.Std(), err, tt.want)
			continue
		}
		want := tt.str
		if want == "" {
			want = tt.in
		}
		if got := d.String(); got != want {
			t.Errorf("ParseDuration(%q).String() = %q, want %q", tt.in, got, want)
		}
		var u Duration
		if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != d {
			t.Errorf("UnmarshalText(%q) = %v, %v", tt.in, u, err)
		}
		b, err := d.MarshalText()
		if err != nil || string(b) != want {
			t.Errorf("MarshalText(%v) = %q, %v", d, b, err)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "1", "15", "m", "-1s", "+1s", "1.5h", "1ms", "1us", "1y", "1w", "1 m", "1m ", " 1m",
		"1m1h", "1h1h", "1m30", "1hh", "1H", "1d1d", "h1", "106752d", "9223372036854775807s",
		"99999999999999999999s", "106751d23h47m17s",
	} {
		d, err := ParseDuration(in)
		if !errors.Is(err, ErrDuration) {
			t.Errorf("ParseDuration(%q) = %v, %v; want ErrDuration", in, d, err)
		}
		var u Duration
		if err := u.UnmarshalText([]byte(in)); !errors.Is(err, ErrDuration) {
			t.Errorf("UnmarshalText(%q) = %v", in, err)
		}
	}
}

func TestDurationMarshalNotWhole(t *testing.T) {
	for _, d := range []Duration{Duration(1500 * time.Millisecond), Duration(-time.Second)} {
		if _, err := d.MarshalText(); !errors.Is(err, ErrDuration) {
			t.Errorf("MarshalText(%v) = %v, want ErrDuration", time.Duration(d), err)
		}
		if d.String() != time.Duration(d).String() {
			t.Errorf("String(%v) = %q", time.Duration(d), d.String())
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		str  string
	}{
		{"0", 0, "0"},
		{"0B", 0, "0"},
		{"1B", 1, "1B"},
		{"4096B", 4096, "4KiB"},
		{"1000B", 1000, "1kB"},
		{"1001B", 1001, "1001B"},
		{"1KiB", 1 << 10, "1KiB"},
		{"512MiB", 512 << 20, "512MiB"},
		{"512 MiB", 512 << 20, "512MiB"},
		{"1024MiB", 1 << 30, "1GiB"},
		{"2GiB", 2 << 30, "2GiB"},
		{"3TiB", 3 << 40, "3TiB"},
		{"100kB", 100_000, "100kB"},
		{"10MB", 10_000_000, "10MB"},
		{"1GB", 1_000_000_000, "1GB"},
		{"1TB", 1_000_000_000_000, "1TB"},
		{"1000KiB", 1_024_000, "1000KiB"},
		{"8388607TiB", 8388607 << 40, "8388607TiB"},
	}
	for _, tt := range tests {
		s, err := ParseSize(tt.in)
		if err != nil || int64(s) != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, s, err, tt.want)
			continue
		}
		if got := s.String(); got != tt.str {
			t.Errorf("ParseSize(%q).String() = %q, want %q", tt.in, got, tt.str)
		}
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSize(String()) of %q = %d, %v", tt.in, back, err)
		}
		var u Size
		if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != s {
			t.Errorf("UnmarshalText(%q) = %v, %v", tt.in, u, err)
		}
		if b, err := s.MarshalText(); err != nil || string(b) != tt.str {
			t.Errorf("MarshalText = %q, %v", b, err)
		}
	}
	if got := Size(math.MaxInt64).String(); got != "9223372036854775807B" {
		t.Errorf("MaxInt64 String = %q", got)
	}
	if _, err := Size(-1).MarshalText(); !errors.Is(err, ErrSize) {
		t.Errorf("MarshalText(-1) = %v, want ErrSize", err)
	}
}

func TestParseSizeErrors(t *testing.T) {
	for _, in := range []string{
		"", "1", "512", "MiB", "-1MiB", "+1MiB", "1.5GiB", "1KB", "1kb", "1mb", "1 ", "1  MiB", " 1MiB",
		"1MiB ", "1b", "1K", "1M", "1Mi", "8388608TiB", "99999999999999999999B", "1MiB1KiB",
	} {
		s, err := ParseSize(in)
		if !errors.Is(err, ErrSize) {
			t.Errorf("ParseSize(%q) = %d, %v; want ErrSize", in, s, err)
		}
		var u Size
		if err := u.UnmarshalText([]byte(in)); !errors.Is(err, ErrSize) {
			t.Errorf("UnmarshalText(%q) = %v", in, err)
		}
	}
}
