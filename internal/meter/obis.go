package meter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// OBIS is an object identification code (IEC 62056-61): six value groups
// A (medium), B (channel), C (quantity), D (processing), E (tariff or
// classification) and F (billing period, 255 when unused).
type OBIS [6]byte

// Common OBIS codes the gateway itself refers to.
var (
	OBISActiveEnergyImport = OBIS{1, 0, 1, 8, 0, 255}  // 1-0:1.8.0*255, +A total, Wh
	OBISActiveEnergyExport = OBIS{1, 0, 2, 8, 0, 255}  // 1-0:2.8.0*255, -A total, Wh
	OBISActivePowerImport  = OBIS{1, 0, 1, 7, 0, 255}  // 1-0:1.7.0*255, +P instantaneous, W
	OBISActivePowerExport  = OBIS{1, 0, 2, 7, 0, 255}  // 1-0:2.7.0*255, -P instantaneous, W
	OBISVolumeWater        = OBIS{8, 0, 1, 0, 0, 255}  // 8-0:1.0.0*255, water volume, m³
	OBISHeatEnergy         = OBIS{6, 0, 1, 0, 0, 255}  // 6-0:1.0.0*255, heat energy, Wh
	OBISHeatVolume         = OBIS{6, 0, 2, 0, 0, 255}  // 6-0:2.0.0*255, heat volume, m³
	OBISHeatPower          = OBIS{6, 0, 8, 0, 0, 255}  // 6-0:8.0.0*255, heat power, W
	OBISFlowTemperature    = OBIS{6, 0, 10, 0, 0, 255} // 6-0:10.0.0*255, flow temperature, °C
	OBISReturnTemperature  = OBIS{6, 0, 11, 0, 0, 255} // 6-0:11.0.0*255, return temperature, °C
)

// Value groups by index, for readable code.
const (
	obisA = iota
	obisB
	obisC
	obisD
	obisE
	obisF
)

// ErrOBIS is returned (wrapped) when text is not a valid OBIS code.
var ErrOBIS = errors.New("meter: invalid OBIS code")

// ParseOBIS reads an OBIS code in any of the forms in use:
//
//	1-0:1.8.0*255   reduced ID with all six groups (the canonical form)
//	1-0:1.8.0       F omitted: 255
//	1-0:1.8.0.255   F after a dot, as some meters print it
//	1.0.1.8.0.255   six dotted groups (DLMS logical name notation)
//	1.0.1.8.0       five dotted groups, F 255
//	0100010800FF    twelve hex digits (the logical name octet-string)
//
// Each group is a decimal 0…255. Anything else is an error naming the input.
func ParseOBIS(s string) (OBIS, error) {
	var o OBIS
	t := strings.TrimSpace(s)
	if t == "" {
		return o, fmt.Errorf("%w: empty", ErrOBIS)
	}
	if len(t) == 12 && isHex(t) && !strings.ContainsAny(t, ".-:*") {
		for i := range 6 {
			v, err := strconv.ParseUint(t[2*i:2*i+2], 16, 8)
			if err != nil {
				return o, fmt.Errorf("%w: %q", ErrOBIS, s)
			}
			o[i] = byte(v)
		}
		return o, nil
	}
	var groups []string
	if a, rest, ok := strings.Cut(t, "-"); ok {
		b, rest2, ok := strings.Cut(rest, ":")
		if !ok {
			return o, fmt.Errorf("%w: %q: expected ':' after the B group", ErrOBIS, s)
		}
		groups = []string{a, b}
		cdef := rest2
		var f string
		hasF := false
		if x, y, ok := strings.Cut(cdef, "*"); ok {
			cdef, f, hasF = x, y, true
		}
		parts := strings.Split(cdef, ".")
		switch {
		case len(parts) == 3:
		case len(parts) == 4 && !hasF:
			f, hasF = parts[3], true
			parts = parts[:3]
		default:
			return o, fmt.Errorf("%w: %q: expected C.D.E after ':'", ErrOBIS, s)
		}
		groups = append(groups, parts...)
		if hasF {
			groups = append(groups, f)
		}
	} else {
		groups = strings.Split(t, ".")
		if len(groups) != 5 && len(groups) != 6 {
			return o, fmt.Errorf("%w: %q: expected A-B:C.D.E*F or six dotted groups", ErrOBIS, s)
		}
	}
	o[obisF] = 255
	for i, g := range groups {
		v, err := parseGroup(g)
		if err != nil {
			return OBIS{}, fmt.Errorf("%w: %q: group %c: %v", ErrOBIS, s, 'A'+rune(i), err)
		}
		o[i] = v
	}
	return o, nil
}

func parseGroup(g string) (byte, error) {
	if g == "" {
		return 0, errors.New("empty")
	}
	if len(g) > 3 {
		return 0, fmt.Errorf("%q out of range 0…255", g)
	}
	n := 0
	for _, c := range []byte(g) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", g)
		}
		n = n*10 + int(c-'0')
	}
	if n > 255 {
		return 0, fmt.Errorf("%d out of range 0…255", n)
	}
	return byte(n), nil
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// MustOBIS is ParseOBIS for constants in tests and tables; it panics on an
// invalid code, so never call it on input.
func MustOBIS(s string) OBIS {
	o, err := ParseOBIS(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String returns the canonical reduced form, e.g. "1-0:1.8.0*255".
func (o OBIS) String() string {
	b := make([]byte, 0, 24)
	return string(o.Append(b))
}

// Append appends the canonical form to dst.
func (o OBIS) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(o[0]), 10)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(o[1]), 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(o[2]), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(o[3]), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(o[4]), 10)
	dst = append(dst, '*')
	dst = strconv.AppendUint(dst, uint64(o[5]), 10)
	return dst
}

// Dotted returns the six-group dotted form, e.g. "1.0.1.8.0.255".
func (o OBIS) Dotted() string {
	return fmt.Sprintf("%d.%d.%d.%d.%d.%d", o[0], o[1], o[2], o[3], o[4], o[5])
}

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (o OBIS) MarshalText() ([]byte, error) { return o.Append(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseOBIS.
func (o *OBIS) UnmarshalText(b []byte) error {
	v, err := ParseOBIS(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Medium is the value group A.
func (o OBIS) Medium() byte { return o[obisA] }

// Instantaneous reports whether the code names an instantaneous value
// (processing group D = 7, e.g. power, voltage, current) rather than a
// register that accumulates. The store keeps such values at a reduced
// resolution; see store.Options.
func (o OBIS) Instantaneous() bool {
	return o[obisD] == 7 && o[obisC] < 128 && (o[obisA] == 1 || o[obisA] == 0)
}

// Validate checks the code against the value ranges IEC 62056-61 reserves.
// A (medium) must be 0…15 (higher values are reserved); C 0…255, D and E
// any; the all-zero code is not a quantity.
func (o OBIS) Validate() error {
	if o[obisA] > 15 {
		return fmt.Errorf("%w: %s: medium group A=%d is reserved (0…15)", ErrOBIS, o, o[obisA])
	}
	if o == (OBIS{}) {
		return fmt.Errorf("%w: 0-0:0.0.0*0 names no quantity", ErrOBIS)
	}
	return nil
}
