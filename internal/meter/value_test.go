package meter

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

const (
	maxM = math.MaxInt64
	minM = math.MinInt64
)

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{V(12345, -3), "12.345"},
		{V(-5, -2), "-0.05"},
		{V(12, 2), "1200"},
		{V(0, 0), "0"},
		{Value{}, "0"},
		{V(0, 5), "0"},
		{V(0, -3), "0.000"},
		{V(7, 0), "7"},
		{V(-7, 0), "-7"},
		{V(1, -1), "0.1"},
		{V(-1, -1), "-0.1"},
		{V(10, -1), "1.0"},
		{V(123, -3), "0.123"},
		{V(-123, -3), "-0.123"},
		{V(1234, -3), "1.234"},
		{V(12340, -3), "12.340"},
		{V(1, -5), "0.00001"},
		{V(15, 2), "1500"},
		{V(maxM, 0), "9223372036854775807"},
		{V(minM, 0), "-9223372036854775808"},
		{V(minM, -19), "-0.9223372036854775808"},
		{V(minM, -20), "-0.09223372036854775808"},
		{V(maxM, -18), "9.223372036854775807"},
		{V(1, 20), "1" + strings.Repeat("0", 20)},
		{V(-1, 127), "-1" + strings.Repeat("0", 127)},
		{V(1, -128), "0." + strings.Repeat("0", 127) + "1"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.v, got, tt.want)
		}
		if got := string(tt.v.Append([]byte("v="))); got != "v="+tt.want {
			t.Errorf("%#v.Append = %q", tt.v, got)
		}
		b, err := tt.v.MarshalText()
		if err != nil || string(b) != tt.want {
			t.Errorf("%#v.MarshalText = %q, %v", tt.v, b, err)
		}
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"12.345", V(12345, -3)},
		{"-0.05", V(-5, -2)},
		{"1200", V(1200, 0)},
		{"+7", V(7, 0)},
		{"-7", V(-7, 0)},
		{"1.5e3", V(15, 2)},
		{"1.5E3", V(15, 2)},
		{"15e-1", V(15, -1)},
		{"1.5e+3", V(15, 2)},
		{"12.340", V(12340, -3)},
		{"0", V(0, 0)},
		{"-0", V(0, 0)},
		{"0.000", V(0, -3)},
		{"-0.000", V(0, -3)},
		{"00012", V(12, 0)},
		{".5", V(5, -1)},
		{"5.", V(5, 0)},
		{"-.5", V(-5, -1)},
		{"0e127", V(0, 127)},
		{"1e-128", V(1, -128)},
		{"1e127", V(1, 127)},
		{"9223372036854775807", V(maxM, 0)},
		{"-9223372036854775808", V(minM, 0)},
		{"-922337203685477580.8", V(minM, -1)},
		{"0.9223372036854775807", V(maxM, -19)},
		{"000000000000000000000000000001", V(1, 0)},
		{"0.0000000000000000000000000001", V(1, -28)},
		// Trailing zeros beyond an int64 go to the exponent.
		{"1" + strings.Repeat("0", 25), V(1e18, 7)},
		{"1" + strings.Repeat("0", 127), V(1e18, 109)},
		{"-9223372036854775808" + "000", V(minM, 3)},
		{"92233720368547758070", V(maxM, 1)},
		{"1." + strings.Repeat("0", 25), V(1e18, -18)},
		{"10e126", V(10, 126)},
		{"1" + strings.Repeat("0", 128), V(1e18, 110)},
		{"12345678901234567890", V(1234567890123456789, 1)},
		{"0.12345678901234567890", V(1234567890123456789, -19)},
	}
	for _, tt := range tests {
		got, err := ParseValue(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseValue(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
		var u Value
		if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != tt.want {
			t.Errorf("UnmarshalText(%q) = %#v, %v", tt.in, u, err)
		}
	}
}

func TestParseValueErrors(t *testing.T) {
	syntax := []string{
		"", " ", "-", "+", ".", "-.", "e3", "1e", "1e+", "1ee3", "1e3e3", "1e1.5", "1e128", "1e-129",
		"1e999", "1..2", "1.2.3", "--1", "+-1", "-+1", " 1", "1 ", "1,5", "1_000", "0x10", "inf", "NaN",
		"1.5 e3", "١", "1e 3", "12a", "a12",
		"1e-128" + "0", // 10e-129 -> exponent range after moving digits
		"0.1e-128",
		"1" + strings.Repeat("0", 146), // 1e146 = 1e18 × 10^128 cannot be held
		"0." + strings.Repeat("0", 128) + "1",
	}
	for _, in := range syntax {
		if v, err := ParseValue(in); !errors.Is(err, ErrValueSyntax) {
			t.Errorf("ParseValue(%q) = %#v, %v; want ErrValueSyntax", in, v, err)
		}
	}
	overflow := []string{
		"9223372036854775808", "-9223372036854775809", "12345678901234567891", "0.12345678901234567891",
		"92233720368547758071", "1" + strings.Repeat("0", 20) + "1",
	}
	for _, in := range overflow {
		if v, err := ParseValue(in); !errors.Is(err, ErrOverflow) {
			t.Errorf("ParseValue(%q) = %#v, %v; want ErrOverflow", in, v, err)
		}
	}
	v := V(42, 0)
	if err := v.UnmarshalText([]byte("x")); !errors.Is(err, ErrValueSyntax) || v != V(42, 0) {
		t.Errorf("UnmarshalText(x) = %v and changed the value to %v", err, v)
	}
}

// The String of any Value parses back to an equal Value: the same mantissa
// and exponent when the exponent is ≤ 0.
func TestValueStringRoundTrip(t *testing.T) {
	ms := []int64{0, 1, -1, 9, 10, -10, 12345, 1e18, -1e18, maxM, minM, maxM - 1, minM + 1, 1000000, 999999999999999999}
	for _, m := range ms {
		for e := -128; e <= 127; e++ {
			v := V(m, int8(e))
			back, err := ParseValue(v.String())
			if err != nil {
				t.Fatalf("ParseValue(%#v.String()) = %v", v, err)
			}
			if back.Cmp(v) != 0 {
				t.Fatalf("%#v → %q → %#v: not equal", v, v.String(), back)
			}
			if e <= 0 && back != v {
				t.Fatalf("%#v → %q → %#v: mantissa or exponent changed", v, v.String(), back)
			}
		}
	}
}

func TestValueJSON(t *testing.T) {
	in := struct{ V Value }{V(-12345, -3)}
	b, err := json.Marshal(in)
	if err != nil || string(b) != `{"V":"-12.345"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var out struct{ V Value }
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("json.Unmarshal = %+v, %v", out, err)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		a, b, want Value
	}{
		{V(1, 0), V(2, 0), V(3, 0)},
		{V(15, -1), V(25, -2), V(175, -2)},  // 1.5 + 0.25
		{V(1, 3), V(1, -3), V(1000001, -3)}, // 1000 + 0.001
		{V(-5, -2), V(5, -2), V(0, -2)},     // -0.05 + 0.05
		{V(0, 5), V(0, -5), V(0, -5)},       // zeros at far exponents
		{V(maxM, 0), V(0, 0), V(maxM, 0)},
		{V(maxM, 0), V(minM, 0), V(-1, 0)},
		{V(minM, 0), V(maxM, 0), V(-1, 0)},
		{V(maxM-1, 0), V(1, 0), V(maxM, 0)},
		{V(minM+1, 0), V(-1, 0), V(minM, 0)},
		{V(0, 100), V(7, -100), V(7, -100)},
		{V(922337203685477581, 1), V(-10, 0), V(9223372036854775800, 0)}, // an operand does not align, the sum fits
		{V(-922337203685477581, 1), V(10, 0), V(-9223372036854775800, 0)},
	}
	for _, tt := range tests {
		got, err := tt.a.Add(tt.b)
		if err != nil || got != tt.want {
			t.Errorf("%#v.Add(%#v) = %#v, %v; want %#v", tt.a, tt.b, got, err, tt.want)
		}
		got, err = tt.b.Add(tt.a)
		if err != nil || got != tt.want {
			t.Errorf("%#v.Add(%#v) = %#v, %v; want %#v (commuted)", tt.b, tt.a, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ a, b Value }{
		{V(maxM, 0), V(1, 0)},
		{V(minM, 0), V(-1, 0)},
		{V(maxM, 0), V(maxM, 0)},
		{V(minM, 0), V(minM, 0)},
		{V(1, 19), V(1, 0)},     // 10^19 at 10^0
		{V(1, 0), V(1, -19)},    // 1 at 10^-19
		{V(1, 127), V(1, -128)}, // exponents 255 apart
		{V(922337203685477581, 1), V(-1, 0)},
	} {
		if got, err := tt.a.Add(tt.b); !errors.Is(err, ErrOverflow) {
			t.Errorf("%#v.Add(%#v) = %#v, %v; want ErrOverflow", tt.a, tt.b, got, err)
		}
	}
}

func TestSub(t *testing.T) {
	tests := []struct {
		a, b, want Value
	}{
		{V(3, 0), V(2, 0), V(1, 0)},
		{V(1, 0), V(1, -3), V(999, -3)},
		{V(-5, -2), V(-5, -2), V(0, -2)},
		{V(0, 0), V(maxM, 0), V(-maxM, 0)},
		{V(-1, 0), V(maxM, 0), V(minM, 0)},
		{V(-1, 0), V(minM, 0), V(maxM, 0)}, // subtracting MinInt64 can fit
		{V(minM, 0), V(minM, 0), V(0, 0)},
		{V(minM, 0), V(-1, 0), V(minM+1, 0)},
		{V(922337203685477581, 1), V(10, 0), V(9223372036854775800, 0)},
	}
	for _, tt := range tests {
		got, err := tt.a.Sub(tt.b)
		if err != nil || got != tt.want {
			t.Errorf("%#v.Sub(%#v) = %#v, %v; want %#v", tt.a, tt.b, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ a, b Value }{
		{V(0, 0), V(minM, 0)},
		{V(minM, 0), V(1, 0)},
		{V(maxM, 0), V(-1, 0)},
		{V(1, 19), V(1, 0)},
		{V(1, 0), V(-1, -19)},
	} {
		if got, err := tt.a.Sub(tt.b); !errors.Is(err, ErrOverflow) {
			t.Errorf("%#v.Sub(%#v) = %#v, %v; want ErrOverflow", tt.a, tt.b, got, err)
		}
	}
}

func TestMulInt(t *testing.T) {
	tests := []struct {
		v    Value
		n    int64
		want Value
	}{
		{V(15, -1), 3, V(45, -1)},
		{V(15, -1), -3, V(-45, -1)},
		{V(-15, -1), -3, V(45, -1)},
		{V(15, -1), 0, V(0, -1)},
		{V(0, 4), maxM, V(0, 4)},
		{V(1, 0), minM, V(minM, 0)},
		{V(-1, 0), maxM, V(-maxM, 0)},
		{V(minM, 0), 1, V(minM, 0)},
		{V(1<<62, 0), -2, V(minM, 0)},
		{V(-(1 << 62), 0), 2, V(minM, 0)},
		{V(maxM, 0), -1, V(-maxM, 0)},
		{V(3037000499, 0), 3037000499, V(9223372030926249001, 0)},
	}
	for _, tt := range tests {
		got, err := tt.v.MulInt(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("%#v.MulInt(%d) = %#v, %v; want %#v", tt.v, tt.n, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		v Value
		n int64
	}{
		{V(minM, 0), -1}, {V(-1, 0), minM}, {V(1<<62, 0), 2}, {V(maxM, 0), 2}, {V(minM, 0), 2},
		{V(maxM, 0), maxM}, {V(minM, 0), minM}, {V(3037000500, 0), 3037000500},
	} {
		if got, err := tt.v.MulInt(tt.n); !errors.Is(err, ErrOverflow) {
			t.Errorf("%#v.MulInt(%d) = %#v, %v; want ErrOverflow", tt.v, tt.n, got, err)
		}
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		v    Value
		e    int8
		want Value
	}{
		{V(15, -1), -3, V(1500, -3)},
		{V(1500, -3), -1, V(15, -1)},
		{V(15000, -3), 0, V(15, 0)},
		{V(1500, -3), -3, V(1500, -3)},
		{V(12, 2), 0, V(1200, 0)},
		{V(0, 0), 127, V(0, 127)},
		{V(0, 0), -128, V(0, -128)},
		{V(0, -128), 127, V(0, 127)},
		{V(-5, 0), -2, V(-500, -2)},
		{V(1, 18), 0, V(1e18, 0)},
		{V(minM, 0), 0, V(minM, 0)},
	}
	for _, tt := range tests {
		got, err := tt.v.Rescale(tt.e)
		if err != nil || got != tt.want {
			t.Errorf("%#v.Rescale(%d) = %#v, %v; want %#v", tt.v, tt.e, got, err, tt.want)
		}
	}
	inexact := []struct {
		v Value
		e int8
	}{
		{V(12345, -3), -2}, {V(12345, -3), 0}, {V(1, 0), 1}, {V(-1, 0), 1}, {V(1, -128), 127},
		{V(maxM, 0), 19}, {V(minM, 0), 19}, {V(minM, 0), 1},
	}
	for _, tt := range inexact {
		if got, err := tt.v.Rescale(tt.e); !errors.Is(err, ErrInexact) {
			t.Errorf("%#v.Rescale(%d) = %#v, %v; want ErrInexact", tt.v, tt.e, got, err)
		}
	}
	overflow := []struct {
		v Value
		e int8
	}{
		{V(1, 19), 0}, {V(10, 18), 0}, {V(maxM, 0), -1}, {V(minM, 0), -1}, {V(1, 127), -128}, {V(-1, 0), -19},
	}
	for _, tt := range overflow {
		if got, err := tt.v.Rescale(tt.e); !errors.Is(err, ErrOverflow) {
			t.Errorf("%#v.Rescale(%d) = %#v, %v; want ErrOverflow", tt.v, tt.e, got, err)
		}
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		v    Value
		e    int8
		want Value
	}{
		{V(12345, -3), -2, V(1235, -2)}, // 12.345 → 12.35 (half away from zero)
		{V(-12345, -3), -2, V(-1235, -2)},
		{V(12344, -3), -2, V(1234, -2)},
		{V(12346, -3), -2, V(1235, -2)},
		{V(-12346, -3), -2, V(-1235, -2)},
		{V(-12344, -3), -2, V(-1234, -2)},
		{V(15, -1), 0, V(2, 0)},
		{V(25, -1), 0, V(3, 0)},
		{V(-15, -1), 0, V(-2, 0)},
		{V(-25, -1), 0, V(-3, 0)},
		{V(149, -2), 0, V(1, 0)},
		{V(4, -1), 0, V(0, 0)},
		{V(-4, -1), 0, V(0, 0)},
		{V(5, -1), 0, V(1, 0)},
		{V(-5, -1), 0, V(-1, 0)},
		{V(15, -1), -3, V(1500, -3)}, // finer: exact
		{V(15, -1), -1, V(15, -1)},
		{V(maxM, 0), 18, V(9, 18)},
		{V(minM, 0), 18, V(-9, 18)},
		{V(maxM, 0), 19, V(1, 19)}, // 0.92 units of 10^19
		{V(minM, 0), 19, V(-1, 19)},
		{V(5e18, 0), 19, V(1, 19)}, // exactly half
		{V(-5e18, 0), 19, V(-1, 19)},
		{V(4999999999999999999, 0), 19, V(0, 19)},
		{V(maxM, 0), 20, V(0, 20)},
		{V(minM, -128), 127, V(0, 127)},
		{V(0, 0), 5, V(0, 5)},
	}
	for _, tt := range tests {
		got, err := tt.v.Round(tt.e)
		if err != nil || got != tt.want {
			t.Errorf("%#v.Round(%d) = %#v, %v; want %#v", tt.v, tt.e, got, err, tt.want)
		}
	}
	if got, err := V(1, 0).Round(-19); !errors.Is(err, ErrOverflow) {
		t.Errorf("Round to a finer exponent that overflows = %#v, %v", got, err)
	}
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b Value
		want int
	}{
		{V(15, -1), V(1500, -3), 0},
		{V(0, 5), V(0, -5), 0},
		{V(0, 0), Value{}, 0},
		{V(1, 0), V(2, 0), -1},
		{V(2, 0), V(1, 0), 1},
		{V(-1, 0), V(1, 0), -1},
		{V(1, 0), V(-1, 0), 1},
		{V(1, 0), V(999, -3), 1},
		{V(-1, 0), V(-999, -3), -1},
		{V(1, 0), V(1001, -3), -1},
		{V(12, 2), V(1200, 0), 0},
		{V(maxM, 0), V(minM, 0), 1},
		{V(minM, 0), V(maxM, 0), -1},
		// Too far apart to align.
		{V(1, 127), V(maxM, -128), 1},
		{V(maxM, -128), V(1, 127), -1},
		{V(-1, 127), V(minM, -128), -1},
		{V(minM, -128), V(-1, 127), 1},
		{V(1, 127), V(-1, -128), 1},
		{V(-1, 127), V(1, -128), -1},
		{V(1, 19), V(maxM, 0), 1},
		{V(-1, 19), V(minM, 0), -1},
		{V(0, 127), V(1, -128), -1},
		{V(1, 127), V(0, -128), 1},
		{V(922337203685477581, 1), V(maxM, 0), 1},
	}
	for _, tt := range tests {
		if got := tt.a.Cmp(tt.b); got != tt.want {
			t.Errorf("%#v.Cmp(%#v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Cmp(tt.a); got != -tt.want {
			t.Errorf("%#v.Cmp(%#v) = %d, want %d (reversed)", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ v, want Value }{
		{V(1500, -3), V(15, -1)},
		{V(15, -1), V(15, -1)},
		{V(0, -3), V(0, 0)},
		{V(0, 100), V(0, 0)},
		{V(-1000, 0), V(-1, 3)},
		{V(1e18, 0), V(1, 18)},
		{V(100, 126), V(10, 127)}, // stops at the largest exponent
		{V(minM, 0), V(minM, 0)},
		{V(maxM, 5), V(maxM, 5)},
	}
	for _, tt := range tests {
		got := tt.v.Normalize()
		if got != tt.want {
			t.Errorf("%#v.Normalize() = %#v, want %#v", tt.v, got, tt.want)
		}
		if got.Cmp(tt.v) != 0 {
			t.Errorf("%#v.Normalize() changed the value", tt.v)
		}
	}
}

func TestIsZeroFloat64(t *testing.T) {
	if !V(0, -3).IsZero() || !(Value{}).IsZero() || V(1, -128).IsZero() {
		t.Error("IsZero")
	}
	tests := []struct {
		v    Value
		want float64
	}{
		{V(12345, -3), 12.345}, {V(-5, -2), -0.05}, {V(12, 2), 1200}, {V(0, 0), 0}, {V(1, 127), 1e127}, {V(1, -128), 1e-128},
	}
	for _, tt := range tests {
		if got := tt.v.Float64(); got != tt.want {
			t.Errorf("%#v.Float64() = %v, want %v", tt.v, got, tt.want)
		}
	}
}
