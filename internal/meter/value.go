package meter

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Value is an exact decimal: M × 10^E. It is how every quantity is carried
// and stored. The zero Value is 0.
type Value struct {
	M int64 // mantissa
	E int8  // decimal exponent
}

// Errors of Value arithmetic and parsing.
var (
	// ErrOverflow is returned when a result does not fit an int64 mantissa
	// at the exponent it must be expressed in.
	ErrOverflow = errors.New("meter: value overflow")
	// ErrInexact is returned when a value cannot be expressed at a coarser
	// exponent without losing digits.
	ErrInexact = errors.New("meter: value not exact at that exponent")
	// ErrValueSyntax is returned (wrapped) when text is not a decimal number.
	ErrValueSyntax = errors.New("meter: invalid decimal value")
)

// V returns m × 10^e.
func V(m int64, e int8) Value { return Value{M: m, E: e} }

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// mulPow10 returns m × 10^n for n ≥ 0, or ErrOverflow.
func mulPow10(m int64, n int) (int64, error) {
	if m == 0 {
		return 0, nil
	}
	if n < 0 || n >= len(pow10) {
		return 0, ErrOverflow
	}
	p := pow10[n]
	hi, lo := bits.Mul64(uabs(m), uint64(p))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, ErrOverflow
	}
	if m < 0 {
		return -int64(lo), nil
	}
	return int64(lo), nil
}

func uabs(m int64) uint64 {
	if m < 0 {
		return uint64(-m) // MinInt64 maps to 1<<63, which is right
	}
	return uint64(m)
}

// Rescale returns v expressed with exponent e. Going to a finer exponent
// multiplies the mantissa (ErrOverflow if it does not fit); going to a
// coarser one must drop only zero digits (ErrInexact otherwise).
func (v Value) Rescale(e int8) (Value, error) {
	switch {
	case e == v.E:
		return v, nil
	case e < v.E:
		m, err := mulPow10(v.M, int(v.E)-int(e))
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s at 10^%d", ErrOverflow, v, e)
		}
		return Value{m, e}, nil
	default:
		n := int(e) - int(v.E)
		if n >= len(pow10) {
			if v.M == 0 {
				return Value{0, e}, nil
			}
			return Value{}, fmt.Errorf("%w: %s at 10^%d", ErrInexact, v, e)
		}
		if v.M%pow10[n] != 0 {
			return Value{}, fmt.Errorf("%w: %s at 10^%d", ErrInexact, v, e)
		}
		return Value{v.M / pow10[n], e}, nil
	}
}

// Round returns v at exponent e, rounding half away from zero when digits
// must be dropped. It is for display and derived values (means), never for
// stored register values.
func (v Value) Round(e int8) (Value, error) {
	if e <= v.E {
		return v.Rescale(e)
	}
	n := int(e) - int(v.E)
	switch {
	case n > len(pow10):
		// |M| < 10^19, so |v| < 0.1 units of 10^e: rounds to 0.
		return Value{0, e}, nil
	case n == len(pow10):
		// 10^19 does not fit an int64, but |M| may still reach half of it.
		switch {
		case uabs(v.M) < 5e18:
			return Value{0, e}, nil
		case v.M < 0:
			return Value{-1, e}, nil
		}
		return Value{1, e}, nil
	}
	p := pow10[n]
	q, r := v.M/p, v.M%p
	if uabs(r)*2 >= uint64(p) {
		if v.M < 0 {
			q--
		} else {
			q++
		}
	}
	return Value{q, e}, nil
}

// Normalize strips trailing zero digits from the mantissa: 1500e-3 → 15e-1.
func (v Value) Normalize() Value {
	if v.M == 0 {
		return Value{}
	}
	for v.M%10 == 0 && v.E < math.MaxInt8 {
		v.M /= 10
		v.E++
	}
	return v
}

// align returns a and b at a common exponent, the finer of the two.
func align(a, b Value) (Value, Value, error) {
	if a.E == b.E {
		return a, b, nil
	}
	e := min(a.E, b.E)
	var err error
	if a, err = a.Rescale(e); err != nil {
		return a, b, err
	}
	if b, err = b.Rescale(e); err != nil {
		return a, b, err
	}
	return a, b, nil
}

// Add returns v + w exactly, at the finer of the two exponents;
// ErrOverflow if the sum does not fit an int64 mantissa there.
func (v Value) Add(w Value) (Value, error) {
	a, b, err := align(v, w)
	if err != nil {
		// One operand does not fit at the finer exponent, but the sum
		// still may (9223372036854775810 + -10).
		if s, ok := bigSum(v, w, 1); ok {
			return s, nil
		}
		return Value{}, fmt.Errorf("%w: %s + %s", ErrOverflow, v, w)
	}
	s := a.M + b.M
	if (s > a.M) != (b.M > 0) {
		return Value{}, fmt.Errorf("%w: %s + %s", ErrOverflow, v, w)
	}
	return Value{s, a.E}, nil
}

// Sub returns v − w exactly, at the finer of the two exponents;
// ErrOverflow if the difference does not fit an int64 mantissa there.
func (v Value) Sub(w Value) (Value, error) {
	a, b, err := align(v, w)
	if err != nil {
		if d, ok := bigSum(v, w, -1); ok {
			return d, nil
		}
		return Value{}, fmt.Errorf("%w: %s − %s", ErrOverflow, v, w)
	}
	d := a.M - b.M
	if (d < a.M) != (b.M > 0) {
		return Value{}, fmt.Errorf("%w: %s − %s", ErrOverflow, v, w)
	}
	return Value{d, a.E}, nil
}

// bigSum returns v + sign×w at the finer exponent, computed with big
// integers, and whether it fits an int64 mantissa. It is the slow path for
// operands that do not align.
func bigSum(v, w Value, sign int) (Value, bool) {
	e := min(v.E, w.E)
	x := bigAt(v, e)
	y := bigAt(w, e)
	if sign < 0 {
		x.Sub(x, y)
	} else {
		x.Add(x, y)
	}
	if !x.IsInt64() {
		return Value{}, false
	}
	return Value{x.Int64(), e}, true
}

// bigAt returns v's mantissa at exponent e ≤ v.E.
func bigAt(v Value, e int8) *big.Int {
	x := big.NewInt(v.M)
	if n := int64(v.E) - int64(e); n > 0 {
		x.Mul(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil))
	}
	return x
}

// MulInt returns v × n exactly.
func (v Value) MulInt(n int64) (Value, error) {
	if v.M == 0 || n == 0 {
		return Value{0, v.E}, nil
	}
	hi, lo := bits.Mul64(uabs(v.M), uabs(n))
	neg := (v.M < 0) != (n < 0)
	if hi != 0 || lo > math.MaxInt64+uint64(b2i(neg)) {
		return Value{}, fmt.Errorf("%w: %s × %d", ErrOverflow, v, n)
	}
	if neg {
		return Value{int64(-lo), v.E}, nil
	}
	return Value{int64(lo), v.E}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Cmp compares v and w by value: -1, 0 or +1. 15e-1 equals 1500e-3.
// Values too far apart to align are compared by sign and magnitude.
func (v Value) Cmp(w Value) int {
	a, b, err := align(v, w)
	if err == nil {
		switch {
		case a.M < b.M:
			return -1
		case a.M > b.M:
			return 1
		}
		return 0
	}
	// Alignment overflowed: the one with the larger magnitude at the finer
	// exponent dominates; compare by sign first.
	sv, sw := sign(v.M), sign(w.M)
	if sv != sw {
		if sv < sw {
			return -1
		}
		return 1
	}
	// Same sign, one of them huge: the one with the larger exponent (that
	// overflowed when rescaled) has the larger magnitude.
	bigger := 1
	if v.E < w.E {
		bigger = -1
	}
	return bigger * sv
}

func sign(m int64) int {
	switch {
	case m < 0:
		return -1
	case m > 0:
		return 1
	}
	return 0
}

// IsZero reports whether v is zero at any exponent.
func (v Value) IsZero() bool { return v.M == 0 }

// Float64 returns v as a float64, for display and plotting only.
func (v Value) Float64() float64 {
	f, _ := strconv.ParseFloat(v.String(), 64)
	return f
}

// String returns the exact decimal: 12345e-3 → "12.345", 12e2 → "1200",
// -5e-2 → "-0.05". No exponent notation, no rounding.
func (v Value) String() string { return string(v.Append(nil)) }

// Append appends v's exact decimal form to dst.
func (v Value) Append(dst []byte) []byte {
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], uabs(v.M), 10)
	if v.M < 0 {
		dst = append(dst, '-')
	}
	switch {
	case v.E >= 0:
		dst = append(dst, digits...)
		if v.M != 0 {
			for range int(v.E) {
				dst = append(dst, '0')
			}
		}
	default:
		frac := -int(v.E)
		if len(digits) > frac {
			dst = append(dst, digits[:len(digits)-frac]...)
			dst = append(dst, '.')
			dst = append(dst, digits[len(digits)-frac:]...)
		} else {
			dst = append(dst, '0', '.')
			for range frac - len(digits) {
				dst = append(dst, '0')
			}
			dst = append(dst, digits...)
		}
	}
	return dst
}

// ParseValue reads an exact decimal: "12.345", "-0.05", "1200", "+7",
// "1.5e3". The exponent of the result keeps every digit given: "12.340" is
// 12340e-3. Only trailing zeros that do not fit an int64 mantissa are
// moved into the exponent instead, so that the String of every Value
// parses back to an equal Value ("1" and 127 zeros is 1e18 × 10^109).
// Errors wrap ErrValueSyntax, or ErrOverflow for more significant digits
// than an int64 holds.
func ParseValue(s string) (Value, error) {
	t := s
	if t == "" {
		return Value{}, fmt.Errorf("%w: empty", ErrValueSyntax)
	}
	exp := 0
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		x, err := strconv.Atoi(t[i+1:])
		if err != nil || x < -128 || x > 127 {
			return Value{}, fmt.Errorf("%w: %q: bad exponent", ErrValueSyntax, s)
		}
		exp, t = x, t[:i]
	}
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return Value{}, fmt.Errorf("%w: %q: no digits", ErrValueSyntax, s)
	}
	limit := uint64(math.MaxInt64) // the largest magnitude: 2^63-1, or 2^63 if negative
	if neg {
		limit++
	}
	var m uint64
	zeros := 0 // zero digits read but not yet multiplied into m
	for _, part := range []string{intPart, frac} {
		for _, c := range []byte(part) {
			if c < '0' || c > '9' {
				return Value{}, fmt.Errorf("%w: %q: unexpected %q", ErrValueSyntax, s, c)
			}
			if c == '0' {
				zeros++
				continue
			}
			for ; zeros > 0; zeros-- {
				if m > limit/10 {
					return Value{}, fmt.Errorf("%w: %q has too many digits", ErrOverflow, s)
				}
				m *= 10
			}
			d := uint64(c - '0')
			if m > (limit-d)/10 {
				return Value{}, fmt.Errorf("%w: %q has too many digits", ErrOverflow, s)
			}
			m = m*10 + d
		}
	}
	// Keep the trailing zeros that fit; the rest scale the exponent.
	for ; zeros > 0 && m <= limit/10; zeros-- {
		m *= 10
	}
	exp += zeros - len(frac)
	if exp < -128 || exp > 127 {
		return Value{}, fmt.Errorf("%w: %q: exponent out of range", ErrValueSyntax, s)
	}
	if neg {
		return Value{int64(-m), int8(exp)}, nil // -(2^63) wraps to MinInt64, as it should
	}
	return Value{int64(m), int8(exp)}, nil
}

// MarshalText implements encoding.TextMarshaler: the exact decimal string.
// JSON therefore carries values as strings, never as floats.
func (v Value) MarshalText() ([]byte, error) { return v.Append(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseValue.
func (v *Value) UnmarshalText(b []byte) error {
	x, err := ParseValue(string(b))
	if err != nil {
		return err
	}
	*v = x
	return nil
}
