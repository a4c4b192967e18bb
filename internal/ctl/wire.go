package ctl

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smgw/smgw/internal/meter"
)

// The JSON form of a reading, one object per line of the NDJSON streams and
// of the CLI's --format json output:
//
//	{"meter":"elec-1","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05.5Z",
//	 "value":"123.456","unit":"Wh","unit_code":30,"quality":"ok","source":"sim"}
//
// The time is RFC 3339 with nanoseconds, in UTC; the value is the exact
// decimal (meter.Value.Append), never a JSON number; unit_code is the DLMS
// unit code and wins over the symbol when decoding; quality is
// meter.Quality.String (flag names joined by commas, "ok" for none) and
// source meter.Source.String.

// EncodeReadingJSON appends the JSON form of r to dst (no newline). It
// does not validate r; a time outside the years 0…9999 cannot be read back.
func EncodeReadingJSON(dst []byte, r meter.Reading) []byte {
	dst = append(dst, `{"meter":`...)
	dst = appendJSONString(dst, string(r.Meter))
	dst = append(dst, `,"obis":"`...)
	dst = r.OBIS.Append(dst)
	dst = append(dst, `","time":"`...)
	dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","value":"`...)
	dst = r.Value.Append(dst)
	dst = append(dst, `","unit":`...)
	dst = appendJSONString(dst, r.Unit.Symbol())
	dst = append(dst, `,"unit_code":`...)
	dst = strconv.AppendUint(dst, uint64(r.Unit), 10)
	dst = append(dst, `,"quality":`...)
	if r.Quality == 0 {
		dst = append(dst, `"ok"`...)
	} else {
		dst = appendJSONString(dst, r.Quality.String())
	}
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, r.Source.String())
	return append(dst, '}')
}

// DecodeReadingJSON reads the JSON form of a reading. Keys may come in any
// order and unknown keys are ignored; meter, obis, time and value are
// required. Surrounding white space (the NDJSON newline) is allowed,
// anything else after the object is an error. Errors wrap ErrSyntax.
func DecodeReadingJSON(p []byte) (meter.Reading, error) {
	var r meter.Reading
	s := scanner{p: p}
	s.skipWS()
	if err := s.expect('{'); err != nil {
		return r, err
	}
	const (
		haveMeter = 1 << iota
		haveOBIS
		haveTime
		haveValue
		haveUnitCode
		all = haveMeter | haveOBIS | haveTime | haveValue
	)
	have := 0
	var unitSym []byte
	hasUnitSym := false
	s.skipWS()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			s.skipWS()
			key, err := s.str()
			if err != nil {
				return r, err
			}
			s.skipWS()
			if err := s.expect(':'); err != nil {
				return r, err
			}
			s.skipWS()
			switch string(key) {
			case "meter":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				r.Meter = meter.MeterID(v)
				have |= haveMeter
			case "obis":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				o, ok := parseCanonicalOBIS(v)
				if !ok {
					if o, err = meter.ParseOBIS(string(v)); err != nil {
						return r, fmt.Errorf("%w: obis: %w", ErrSyntax, err)
					}
				}
				r.OBIS = o
				have |= haveOBIS
			case "time":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				t, err := time.Parse(time.RFC3339Nano, string(v))
				if err != nil {
					return r, fmt.Errorf("%w: time: %w", ErrSyntax, err)
				}
				r.Time = t.UTC()
				have |= haveTime
			case "value":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				x, err := parseWireValue(string(v))
				if err != nil {
					return r, fmt.Errorf("%w: value: %w", ErrSyntax, err)
				}
				r.Value = x
				have |= haveValue
			case "unit":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				unitSym, hasUnitSym = v, true
			case "unit_code":
				n, err := s.uint(math.MaxUint8)
				if err != nil {
					return r, fmt.Errorf("%w (unit_code)", err)
				}
				r.Unit = meter.Unit(n)
				have |= haveUnitCode
			case "quality":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				q, err := parseQuality(string(v))
				if err != nil {
					return r, err
				}
				r.Quality = q
			case "source":
				v, err := s.str()
				if err != nil {
					return r, err
				}
				src, err := parseSource(v)
				if err != nil {
					return r, err
				}
				r.Source = src
			default:
				if err := s.skipValue(0); err != nil {
					return r, err
				}
			}
			s.skipWS()
			c, err := s.next()
			if err != nil {
				return r, err
			}
			if c == '}' {
				break
			}
			if c != ',' {
				return r, s.errAt(s.i-1, "expected ',' or '}'")
			}
		}
	}
	s.skipWS()
	if s.i != len(s.p) {
		return r, s.errAt(s.i, "data after the object")
	}
	if have&all != all {
		for _, f := range []struct {
			bit  int
			name string
		}{{haveMeter, "meter"}, {haveOBIS, "obis"}, {haveTime, "time"}, {haveValue, "value"}} {
			if have&f.bit == 0 {
				return r, fmt.Errorf("%w: reading has no %q", ErrSyntax, f.name)
			}
		}
	}
	if have&haveUnitCode == 0 && hasUnitSym {
		u, err := meter.ParseUnit(string(unitSym))
		if err != nil {
			return r, fmt.Errorf("%w: unit: %w", ErrSyntax, err)
		}
		r.Unit = u
	}
	return r, nil
}

// parseCanonicalOBIS is the fast path for the canonical form A-B:C.D.E*F.
func parseCanonicalOBIS(b []byte) (meter.OBIS, bool) {
	var o meter.OBIS
	seps := [...]byte{'-', ':', '.', '.', '*', 0}
	i := 0
	for g := range 6 {
		n, digits := 0, 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' && digits < 3 {
			n = n*10 + int(b[i]-'0')
			i++
			digits++
		}
		if digits == 0 || n > 255 {
			return o, false
		}
		o[g] = byte(n)
		if seps[g] == 0 {
			return o, i == len(b)
		}
		if i >= len(b) || b[i] != seps[g] {
			return o, false
		}
		i++
	}
	return o, false
}

// parseWireValue reads an exact decimal as meter.ParseValue does, and also
// the long forms meter.Value.Append writes for mantissas near the int64
// limits and for large positive exponents ("1" and 30 zeros), which
// meter.ParseValue rejects as too many digits.
func parseWireValue(s string) (meter.Value, error) {
	v, err := meter.ParseValue(s)
	if err == nil || !errors.Is(err, meter.ErrOverflow) {
		return v, err
	}
	t := s
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	digits := intPart + frac
	exp := -len(frac)
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if exp > math.MaxInt8 {
		if exp-math.MaxInt8 > 20 {
			return meter.Value{}, err
		}
		digits += strings.Repeat("0", exp-math.MaxInt8)
		exp = math.MaxInt8
	}
	if exp < math.MinInt8 {
		return meter.Value{}, err
	}
	u, perr := strconv.ParseUint(digits, 10, 64)
	if perr != nil {
		return meter.Value{}, err
	}
	switch {
	case neg && u <= 1<<63:
		return meter.Value{M: int64(-u), E: int8(exp)}, nil // -(1<<63) wraps to MinInt64
	case !neg && u <= math.MaxInt64:
		return meter.Value{M: int64(u), E: int8(exp)}, nil
	}
	return meter.Value{}, err
}

var qualityBits = map[string]meter.Quality{
	"estimated": meter.QualityEstimated, "invalid": meter.QualityInvalid,
	"clock-unsynced": meter.QualityClockUnsynced, "overflow": meter.QualityOverflow,
	"meter-error": meter.QualityMeterError, "aggregated": meter.QualityAggregated,
	"manual": meter.QualityManual, "tampered": meter.QualityTampered,
}

// parseQuality is the inverse of meter.Quality.String.
func parseQuality(s string) (meter.Quality, error) {
	if s == "ok" || s == "" {
		return 0, nil
	}
	var q meter.Quality
	for part := range strings.SplitSeq(s, ",") {
		if b, ok := qualityBits[part]; ok {
			q |= b
			continue
		}
		if rest, ok := strings.CutPrefix(part, "0x"); ok {
			if n, err := strconv.ParseUint(rest, 16, 16); err == nil {
				q |= meter.Quality(n)
				continue
			}
		}
		return 0, fmt.Errorf("%w: unknown quality %q", ErrSyntax, part)
	}
	return q, nil
}

// parseSource is the inverse of meter.Source.String.
func parseSource(b []byte) (meter.Source, error) {
	switch string(b) {
	case "sim":
		return meter.SourceSim, nil
	case "wmbus":
		return meter.SourceWMBus, nil
	case "dlms":
		return meter.SourceDLMS, nil
	}
	s := string(b)
	if inner, ok := strings.CutPrefix(s, "source("); ok {
		if n, ok := strings.CutSuffix(inner, ")"); ok {
			if x, err := strconv.ParseUint(n, 10, 8); err == nil {
				return meter.Source(x), nil
			}
		}
	}
	src, err := meter.ParseSource(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return src, nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// scanner reads JSON from a byte slice. Every index is bounds-checked;
// errors wrap ErrSyntax and name the offset.
type scanner struct {
	p []byte
	i int
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 32

func (s *scanner) errAt(off int, msg string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, msg, off)
}

func (s *scanner) skipWS() {
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.p) {
		return s.p[s.i]
	}
	return 0
}

func (s *scanner) next() (byte, error) {
	if s.i >= len(s.p) {
		return 0, s.errAt(s.i, "unexpected end")
	}
	c := s.p[s.i]
	s.i++
	return c, nil
}

func (s *scanner) expect(c byte) error {
	if s.i >= len(s.p) {
		return s.errAt(s.i, fmt.Sprintf("unexpected end, expected %q", c))
	}
	if s.p[s.i] != c {
		return s.errAt(s.i, fmt.Sprintf("expected %q", c))
	}
	s.i++
	return nil
}

// str reads a string. Without escapes the result aliases the input.
// Invalid UTF-8 and raw control characters are errors.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	ascii := true
	for j := start; j < len(s.p); j++ {
		c := s.p[j]
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '"':
			s.i = j + 1
			v := s.p[start:j]
			if !ascii && !utf8.Valid(v) {
				return nil, s.errAt(start, "invalid UTF-8 in string")
			}
			return v, nil
		case c == '\\':
			return s.strEscaped(start)
		case c < 0x20:
			return nil, s.errAt(j, "control character in string")
		}
	}
	return nil, s.errAt(start-1, "unterminated string")
}

func (s *scanner) strEscaped(start int) ([]byte, error) {
	out := make([]byte, 0, 32)
	j := start
	for j < len(s.p) {
		c := s.p[j]
		switch {
		case c == '"':
			s.i = j + 1
			if !utf8.Valid(out) {
				return nil, s.errAt(start, "invalid UTF-8 in string")
			}
			return out, nil
		case c < 0x20:
			return nil, s.errAt(j, "control character in string")
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(s.p) {
			return nil, s.errAt(j, "unterminated escape")
		}
		e := s.p[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.p, j)
			if !ok {
				return nil, s.errAt(j-2, `bad \u escape`)
			}
			j += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if j+1 < len(s.p) && s.p[j] == '\\' && s.p[j+1] == 'u' {
					if x, ok := hex4(s.p, j+2); ok {
						r2 = x
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					j += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.errAt(j-2, "bad escape")
		}
	}
	return nil, s.errAt(start-1, "unterminated string")
}

func hex4(p []byte, i int) (rune, bool) {
	if i+4 > len(p) {
		return 0, false
	}
	var r rune
	for _, c := range p[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// uint reads a non-negative JSON integer no greater than max.
func (s *scanner) uint(max uint64) (uint64, error) {
	start := s.i
	end, err := s.number()
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseUint(string(s.p[start:end]), 10, 64)
	if perr != nil || n > max {
		return 0, s.errAt(start, fmt.Sprintf("expected an integer 0…%d", max))
	}
	return n, nil
}

// number checks the JSON number grammar at s.i, advances past it and
// returns its end.
func (s *scanner) number() (int, error) {
	start := s.i
	i := s.i
	digits := func() int {
		n := 0
		for i < len(s.p) && '0' <= s.p[i] && s.p[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s.p) && s.p[i] == '-' {
		i++
	}
	switch {
	case i < len(s.p) && s.p[i] == '0':
		i++
	case digits() == 0:
		return 0, s.errAt(start, "bad number")
	}
	if i < len(s.p) && s.p[i] == '.' {
		i++
		if digits() == 0 {
			return 0, s.errAt(start, "bad number")
		}
	}
	if i < len(s.p) && (s.p[i] == 'e' || s.p[i] == 'E') {
		i++
		if i < len(s.p) && (s.p[i] == '+' || s.p[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, s.errAt(start, "bad number")
		}
	}
	s.i = i
	return i, nil
}

// skipValue skips any JSON value.
func (s *scanner) skipValue(depth int) error {
	if depth > maxDepth {
		return s.errAt(s.i, "nested too deeply")
	}
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.skipWS()
		if s.peek() == end {
			s.i++
			return nil
		}
		for {
			s.skipWS()
			if c == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				s.skipWS()
				if err := s.expect(':'); err != nil {
					return err
				}
				s.skipWS()
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			s.skipWS()
			x, err := s.next()
			if err != nil {
				return err
			}
			if x == end {
				return nil
			}
			if x != ',' {
				return s.errAt(s.i-1, "expected ',' or "+string(end))
			}
		}
	case 't', 'f', 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.p[s.i:], []byte(lit)) {
				s.i += len(lit)
				return nil
			}
		}
		return s.errAt(s.i, "bad literal")
	default:
		_, err := s.number()
		return err
	}
}
