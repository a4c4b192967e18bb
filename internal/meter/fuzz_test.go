package meter

import (
	"errors"
	"math/big"
	"testing"
)

// FuzzParseOBIS: ParseOBIS never panics, fails only with ErrOBIS, and
// what it accepts prints in forms that parse back to the same code.
// Seeds: f.Add below and testdata/fuzz/FuzzParseOBIS.
func FuzzParseOBIS(f *testing.F) {
	for _, s := range []string{
		"1-0:1.8.0*255", "1-0:1.8.0", "1-0:1.8.0.255", "1.0.1.8.0.255", "1.0.1.8.0", "0100010800FF",
		"", "256-0:1.8.0", "1-0:1..0", "1-0:1.8.0*", " 6-0:10.0.0 ", "255-255:255.255.255*255",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOBIS(s)
		if err != nil {
			if !errors.Is(err, ErrOBIS) || o != (OBIS{}) {
				t.Fatalf("ParseOBIS(%q) = %v, %v", s, o, err)
			}
			return
		}
		for _, form := range []string{o.String(), o.Dotted(), string(o.Append(nil))} {
			back, err := ParseOBIS(form)
			if err != nil || back != o {
				t.Fatalf("ParseOBIS(%q) = %v; %q parses as %v, %v", s, o, form, back, err)
			}
		}
		if back, _ := ParseOBIS(o.String()); back.String() != o.String() {
			t.Fatalf("String not stable for %q", s)
		}
		_ = o.Validate()
		_ = o.Instantaneous()
	})
}

// rat returns v's exact value.
func rat(v Value) *big.Rat {
	r := new(big.Rat).SetInt64(v.M)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs8(v.E))), nil)
	if v.E >= 0 {
		return r.Mul(r, new(big.Rat).SetInt(p))
	}
	return r.Quo(r, new(big.Rat).SetInt(p))
}

func abs8(e int8) int {
	if e < 0 {
		return -int(e)
	}
	return int(e)
}

// FuzzParseValue: ParseValue never panics and fails only with
// ErrValueSyntax or ErrOverflow; a value it accepts is the exact value of
// the text (as math/big reads it), and its String parses back to an equal
// value, with the same mantissa and exponent when the exponent is ≤ 0.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{
		"12.345", "-0.05", "1200", "+7", "1.5e3", "12.340", "0", "-0", ".5", "5.", "1e127", "1e-128",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e128", "1..2", "",
		"100000000000000000000000000000", "0.000000000000000000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			if !errors.Is(err, ErrValueSyntax) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("ParseValue(%q): unexpected error %v", s, err)
			}
			return
		}
		if want, ok := new(big.Rat).SetString(s); ok && want.Cmp(rat(v)) != 0 {
			t.Fatalf("ParseValue(%q) = %#v = %s, want %s", s, v, rat(v).RatString(), want.RatString())
		}
		str := v.String()
		w, err := ParseValue(str)
		if err != nil {
			t.Fatalf("ParseValue(%q) = %#v, whose String %q does not parse: %v", s, v, str, err)
		}
		if w.Cmp(v) != 0 || rat(w).Cmp(rat(v)) != 0 {
			t.Fatalf("%q → %#v → %q → %#v: not equal", s, v, str, w)
		}
		if v.E <= 0 && w != v {
			t.Fatalf("%q → %#v → %q → %#v: mantissa or exponent changed", s, v, str, w)
		}
		if w.String() != str {
			t.Fatalf("String not stable: %q then %q", str, w.String())
		}
	})
}

// FuzzValueArith checks Add, Sub, MulInt, Cmp, Rescale, Round and
// Normalize against math/big: every result is exact, every error is an
// overflow or inexact result that really is one, and Add then Sub gives
// back the original.
func FuzzValueArith(f *testing.F) {
	f.Add(int64(12345), int8(-3), int64(-5), int8(-2))
	f.Add(int64(maxM), int8(0), int64(1), int8(0))
	f.Add(int64(minM), int8(0), int64(-1), int8(0))
	f.Add(int64(minM), int8(0), int64(minM), int8(0))
	f.Add(int64(922337203685477581), int8(1), int64(-10), int8(0))
	f.Add(int64(1), int8(127), int64(1), int8(-128))
	f.Add(int64(5e18), int8(0), int64(0), int8(19))
	f.Fuzz(func(t *testing.T, m1 int64, e1 int8, m2 int64, e2 int8) {
		a, b := V(m1, e1), V(m2, e2)
		e := min(e1, e2)
		// at returns x's mantissa at exponent e ≤ x.E.
		at := func(x Value, e int8) *big.Int {
			n := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.E)-int64(e)), nil)
			return n.Mul(n, big.NewInt(x.M))
		}
		// check compares an operation's result with the exact mantissa
		// want at exponent e.
		check := func(op string, got Value, err error, want *big.Int, e int8) bool {
			t.Helper()
			if !want.IsInt64() {
				if !errors.Is(err, ErrOverflow) {
					t.Fatalf("%s = %#v, %v; the result %s×10^%d does not fit, want ErrOverflow", op, got, err, want, e)
				}
				return false
			}
			if err != nil || got != V(want.Int64(), e) {
				t.Fatalf("%s = %#v, %v; want %s×10^%d", op, got, err, want, e)
			}
			return true
		}

		sum := new(big.Int).Add(at(a, e), at(b, e))
		s, err := a.Add(b)
		if check("Add", s, err, sum, e) {
			back, err := s.Sub(b)
			if check("Add then Sub", back, err, at(a, e), e) && back.Cmp(a) != 0 {
				t.Fatalf("%#v + %#v − %#v = %#v, not the original", a, b, b, back)
			}
		}
		d, err := a.Sub(b)
		if check("Sub", d, err, new(big.Int).Sub(at(a, e), at(b, e)), e) {
			back, err := d.Add(b)
			if check("Sub then Add", back, err, at(a, e), e) && back.Cmp(a) != 0 {
				t.Fatalf("%#v − %#v + %#v = %#v, not the original", a, b, b, back)
			}
		}
		p, err := a.MulInt(m2)
		check("MulInt", p, err, new(big.Int).Mul(big.NewInt(m1), big.NewInt(m2)), e1)

		if got, want := a.Cmp(b), rat(a).Cmp(rat(b)); got != want {
			t.Fatalf("%#v.Cmp(%#v) = %d, want %d", a, b, got, want)
		}

		r, err := a.Rescale(e2)
		if e2 <= e1 {
			check("Rescale", r, err, at(a, e2), e2)
		} else {
			q, rem := new(big.Int).QuoRem(big.NewInt(m1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e2)-int64(e1)), nil), new(big.Int))
			if rem.Sign() != 0 {
				if !errors.Is(err, ErrInexact) {
					t.Fatalf("%#v.Rescale(%d) = %#v, %v; want ErrInexact", a, e2, r, err)
				}
			} else {
				check("Rescale", r, err, q, e2)
			}
		}

		rd, err := a.Round(e2)
		if e2 <= e1 {
			check("Round", rd, err, at(a, e2), e2)
		} else {
			p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e2)-int64(e1)), nil)
			mag := new(big.Int).Abs(big.NewInt(m1))
			q, rem := new(big.Int).QuoRem(mag, p, new(big.Int))
			if rem.Lsh(rem, 1).Cmp(p) >= 0 {
				q.Add(q, big.NewInt(1))
			}
			if m1 < 0 {
				q.Neg(q)
			}
			check("Round", rd, err, q, e2)
		}

		n := a.Normalize()
		if n.Cmp(a) != 0 || rat(n).Cmp(rat(a)) != 0 {
			t.Fatalf("%#v.Normalize() = %#v, a different value", a, n)
		}
		if n.M != 0 && n.M%10 == 0 && n.E != 127 || n.M == 0 && n != (Value{}) {
			t.Fatalf("%#v.Normalize() = %#v, not normal", a, n)
		}

		str, err := ParseValue(a.String())
		if err != nil || str.Cmp(a) != 0 {
			t.Fatalf("ParseValue(%#v.String()) = %#v, %v", a, str, err)
		}
	})
}
