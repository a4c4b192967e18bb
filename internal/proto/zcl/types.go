package zcl

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Type is a ZCL data type id (ZCL 2.6.2, table 2-10).
type Type uint8

// Data types.
const (
	TypeNoData    Type = 0x00
	TypeData8     Type = 0x08
	TypeData16    Type = 0x09
	TypeData24    Type = 0x0a
	TypeData32    Type = 0x0b
	TypeData40    Type = 0x0c
	TypeData48    Type = 0x0d
	TypeData56    Type = 0x0e
	TypeData64    Type = 0x0f
	TypeBool      Type = 0x10
	TypeBitmap8   Type = 0x18
	TypeBitmap16  Type = 0x19
	TypeBitmap24  Type = 0x1a
	TypeBitmap32  Type = 0x1b
	TypeBitmap40  Type = 0x1c
	TypeBitmap48  Type = 0x1d
	TypeBitmap56  Type = 0x1e
	TypeBitmap64  Type = 0x1f
	TypeUint8     Type = 0x20
	TypeUint16    Type = 0x21
	TypeUint24    Type = 0x22
	TypeUint32    Type = 0x23
	TypeUint40    Type = 0x24
	TypeUint48    Type = 0x25
	TypeUint56    Type = 0x26
	TypeUint64    Type = 0x27
	TypeInt8      Type = 0x28
	TypeInt16     Type = 0x29
	TypeInt24     Type = 0x2a
	TypeInt32     Type = 0x2b
	TypeInt40     Type = 0x2c
	TypeInt48     Type = 0x2d
	TypeInt56     Type = 0x2e
	TypeInt64     Type = 0x2f
	TypeEnum8     Type = 0x30
	TypeEnum16    Type = 0x31
	TypeSemi      Type = 0x38 // semi-precision float (IEEE 754 binary16)
	TypeSingle    Type = 0x39 // single-precision float
	TypeDouble    Type = 0x3a // double-precision float
	TypeOctetStr  Type = 0x41 // octet string, 1-byte length
	TypeCharStr   Type = 0x42 // character string, 1-byte length
	TypeLongOct   Type = 0x43 // long octet string, 2-byte length
	TypeLongChar  Type = 0x44 // long character string, 2-byte length
	TypeArray     Type = 0x48
	TypeStruct    Type = 0x4c
	TypeSet       Type = 0x50
	TypeBag       Type = 0x51
	TypeTimeOfDay Type = 0xe0
	TypeDate      Type = 0xe1
	TypeUTC       Type = 0xe2 // UTCTime: seconds since 2000-01-01 00:00 UTC
	TypeClusterID Type = 0xe8
	TypeAttrID    Type = 0xe9
	TypeBACnetOID Type = 0xea
	TypeIEEEAddr  Type = 0xf0 // EUI-64
	TypeKey128    Type = 0xf1 // 128-bit security key
	TypeUnknown   Type = 0xff
)

type typeInfo struct {
	name   string
	size   int  // fixed size in bytes; 0 for variable (strings) or no data
	class  byte // 'u' unsigned-like, 's' signed, 'f' float, 'b' bytes, 'n' none
	analog bool // analog types carry a reportable change
}

var types = map[Type]typeInfo{
	TypeNoData:    {"nodata", 0, 'n', false},
	TypeData8:     {"data8", 1, 'u', false},
	TypeData16:    {"data16", 2, 'u', false},
	TypeData24:    {"data24", 3, 'u', false},
	TypeData32:    {"data32", 4, 'u', false},
	TypeData40:    {"data40", 5, 'u', false},
	TypeData48:    {"data48", 6, 'u', false},
	TypeData56:    {"data56", 7, 'u', false},
	TypeData64:    {"data64", 8, 'u', false},
	TypeBool:      {"bool", 1, 'u', false},
	TypeBitmap8:   {"map8", 1, 'u', false},
	TypeBitmap16:  {"map16", 2, 'u', false},
	TypeBitmap24:  {"map24", 3, 'u', false},
	TypeBitmap32:  {"map32", 4, 'u', false},
	TypeBitmap40:  {"map40", 5, 'u', false},
	TypeBitmap48:  {"map48", 6, 'u', false},
	TypeBitmap56:  {"map56", 7, 'u', false},
	TypeBitmap64:  {"map64", 8, 'u', false},
	TypeUint8:     {"uint8", 1, 'u', true},
	TypeUint16:    {"uint16", 2, 'u', true},
	TypeUint24:    {"uint24", 3, 'u', true},
	TypeUint32:    {"uint32", 4, 'u', true},
	TypeUint40:    {"uint40", 5, 'u', true},
	TypeUint48:    {"uint48", 6, 'u', true},
	TypeUint56:    {"uint56", 7, 'u', true},
	TypeUint64:    {"uint64", 8, 'u', true},
	TypeInt8:      {"int8", 1, 's', true},
	TypeInt16:     {"int16", 2, 's', true},
	TypeInt24:     {"int24", 3, 's', true},
	TypeInt32:     {"int32", 4, 's', true},
	TypeInt40:     {"int40", 5, 's', true},
	TypeInt48:     {"int48", 6, 's', true},
	TypeInt56:     {"int56", 7, 's', true},
	TypeInt64:     {"int64", 8, 's', true},
	TypeEnum8:     {"enum8", 1, 'u', false},
	TypeEnum16:    {"enum16", 2, 'u', false},
	TypeSemi:      {"semi", 2, 'f', true},
	TypeSingle:    {"single", 4, 'f', true},
	TypeDouble:    {"double", 8, 'f', true},
	TypeOctetStr:  {"octstr", 0, 'b', false},
	TypeCharStr:   {"string", 0, 'b', false},
	TypeLongOct:   {"octstr16", 0, 'b', false},
	TypeLongChar:  {"string16", 0, 'b', false},
	TypeTimeOfDay: {"ToD", 4, 'u', true},
	TypeDate:      {"date", 4, 'u', true},
	TypeUTC:       {"UTC", 4, 'u', true},
	TypeClusterID: {"clusterId", 2, 'u', false},
	TypeAttrID:    {"attribId", 2, 'u', false},
	TypeBACnetOID: {"bacOID", 4, 'u', false},
	TypeIEEEAddr:  {"EUI64", 8, 'u', false},
	TypeKey128:    {"key128", 16, 'b', false},
}

// String returns the specification's short name ("uint48"), or "type 0xNN".
func (t Type) String() string {
	if ti, ok := types[t]; ok {
		return ti.name
	}
	switch t {
	case TypeArray:
		return "array"
	case TypeStruct:
		return "struct"
	case TypeSet:
		return "set"
	case TypeBag:
		return "bag"
	case TypeUnknown:
		return "unk"
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// Supported reports whether this package can encode and decode t.
func (t Type) Supported() bool { _, ok := types[t]; return ok }

// Size returns the fixed encoded size of t, 0 for the string types and
// no data; ok is false for an unsupported type.
func (t Type) Size() (n int, ok bool) {
	ti, ok := types[t]
	return ti.size, ok
}

// Analog reports whether t is an analog type (ZCL 2.6.2: the integers,
// floats and times), whose Configure Reporting record carries a
// reportable change.
func (t Type) Analog() bool { return types[t].analog }

// Signed reports whether t is a signed integer type.
func (t Type) Signed() bool { return types[t].class == 's' }

// Value is a typed ZCL value. Which field holds it depends on Type:
// U for the unsigned integers, data, bitmaps, enums, bool (0/1), times,
// ids and EUI-64; I for the signed integers; F for the floats; B for the
// strings and the 128-bit key.
type Value struct {
	Type Type
	U    uint64
	I    int64
	F    float64
	B    []byte
}

// Constructors for the common types.

// Uint returns a value of the unsigned (or bitmap, enum, data, id, time)
// type t.
func Uint(t Type, u uint64) Value { return Value{Type: t, U: u} }

// Int returns a value of the signed type t.
func Int(t Type, i int64) Value { return Value{Type: t, I: i} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{Type: TypeBool, U: 1}
	}
	return Value{Type: TypeBool}
}

// Single returns a single-precision float value.
func Single(f float32) Value { return Value{Type: TypeSingle, F: float64(f)} }

// OctetString returns an octet string value.
func OctetString(b []byte) Value { return Value{Type: TypeOctetStr, B: b} }

// CharString returns a character string value.
func CharString(s string) Value { return Value{Type: TypeCharStr, B: []byte(s)} }

// UTC returns a UTCTime value for t (see UTCTime).
func UTC(t time.Time) Value { return Value{Type: TypeUTC, U: uint64(UTCTime(t))} }

// Invalid returns t's invalid-value marker (ZCL 2.6.2 "non-value"):
// all ones for unsigned integers, enums, bool, times, ids and the
// EUI-64; the most negative number for signed integers; NaN for floats;
// length 0xff (0xffff) for strings. Data and bitmap types have none; their
// zero value is returned.
func Invalid(t Type) Value {
	v := Value{Type: t}
	ti := types[t]
	switch {
	case isData(t) || isBitmap(t):
	case ti.class == 'u' && t == TypeBool:
		v.U = 0xff
	case ti.class == 'u':
		v.U = maxUnsigned(ti.size)
	case ti.class == 's':
		v.I = -1 << (8*ti.size - 1)
	case ti.class == 'f':
		v.F = math.NaN()
	}
	return v
}

// IsInvalid reports whether v is its type's invalid-value marker. Strings
// decoded from an invalid length come back with B nil and IsInvalid true.
func (v Value) IsInvalid() bool {
	ti := types[v.Type]
	switch {
	case isData(v.Type) || isBitmap(v.Type):
		return false
	case v.Type == TypeBool:
		return v.U == 0xff
	case ti.class == 'u':
		return v.U == maxUnsigned(ti.size)
	case ti.class == 's':
		return v.I == -1<<(8*ti.size-1)
	case ti.class == 'f':
		return math.IsNaN(v.F)
	case ti.class == 'b' && v.Type != TypeKey128:
		return v.B == nil && v.U == invalidString
	}
	return false
}

// invalidString marks a string value decoded from the invalid length.
const invalidString = 1 << 63

// InvalidString returns the invalid string of type t (length 0xff or
// 0xffff on the wire).
func InvalidString(t Type) Value { return Value{Type: t, U: invalidString} }

func isData(t Type) bool   { return t >= TypeData8 && t <= TypeData64 }
func isBitmap(t Type) bool { return t >= TypeBitmap8 && t <= TypeBitmap64 }

func maxUnsigned(size int) uint64 {
	if size >= 8 {
		return math.MaxUint64
	}
	return 1<<(8*size) - 1
}

// String formats v for logs and golden files: "uint48:123", "string:\"x\"".
func (v Value) String() string {
	ti := types[v.Type]
	if v.IsInvalid() {
		return v.Type.String() + ":invalid"
	}
	switch ti.class {
	case 's':
		return fmt.Sprintf("%s:%d", v.Type, v.I)
	case 'f':
		return fmt.Sprintf("%s:%g", v.Type, v.F)
	case 'b':
		if v.Type == TypeCharStr || v.Type == TypeLongChar {
			return fmt.Sprintf("%s:%q", v.Type, v.B)
		}
		return fmt.Sprintf("%s:%x", v.Type, v.B)
	case 'n':
		return v.Type.String()
	}
	if isBitmap(v.Type) || isData(v.Type) || v.Type == TypeIEEEAddr || v.Type == TypeClusterID || v.Type == TypeAttrID {
		return fmt.Sprintf("%s:0x%0*x", v.Type, 2*ti.size, v.U)
	}
	return fmt.Sprintf("%s:%d", v.Type, v.U)
}

// AppendValue appends v's encoding (without its type id). It fails with
// ErrRange when the value does not fit the type and ErrUnsupportedType for
// types this package does not encode.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	ti, ok := types[v.Type]
	if !ok {
		return dst, fmt.Errorf("%w: %s", ErrUnsupportedType, v.Type)
	}
	switch ti.class {
	case 'n':
		return dst, nil
	case 'u':
		if ti.size < 8 && v.U > maxUnsigned(ti.size) {
			return dst, fmt.Errorf("%w: %d does not fit %s", ErrRange, v.U, v.Type)
		}
		return appendUint(dst, v.U, ti.size), nil
	case 's':
		if ti.size < 8 {
			lim := int64(1) << (8*ti.size - 1)
			if v.I < -lim || v.I >= lim {
				return dst, fmt.Errorf("%w: %d does not fit %s", ErrRange, v.I, v.Type)
			}
		}
		return appendUint(dst, uint64(v.I), ti.size), nil
	case 'f':
		switch v.Type {
		case TypeSemi:
			return appendUint(dst, uint64(float16bits(v.F)), 2), nil
		case TypeSingle:
			f := float32(v.F)
			if !math.IsInf(v.F, 0) && math.IsInf(float64(f), 0) {
				return dst, fmt.Errorf("%w: %g does not fit single", ErrRange, v.F)
			}
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f)), nil
		default:
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.F)), nil
		}
	}
	// 'b'
	switch v.Type {
	case TypeKey128:
		if len(v.B) != 16 {
			return dst, fmt.Errorf("%w: key128 needs 16 bytes, got %d", ErrRange, len(v.B))
		}
		return append(dst, v.B...), nil
	case TypeOctetStr, TypeCharStr:
		if v.IsInvalid() {
			return append(dst, 0xff), nil
		}
		if len(v.B) > 254 {
			return dst, fmt.Errorf("%w: %s of %d bytes, at most 254", ErrRange, v.Type, len(v.B))
		}
		return append(append(dst, byte(len(v.B))), v.B...), nil
	default:
		if v.IsInvalid() {
			return append(dst, 0xff, 0xff), nil
		}
		if len(v.B) > 0xfffe {
			return dst, fmt.Errorf("%w: %s of %d bytes, at most 65534", ErrRange, v.Type, len(v.B))
		}
		return append(binary.LittleEndian.AppendUint16(dst, uint16(len(v.B))), v.B...), nil
	}
}

// ParseValue decodes a value of type t at the start of p and returns it
// with the number of bytes it took. String bytes are copied.
func ParseValue(t Type, p []byte) (Value, int, error) {
	v := Value{Type: t}
	ti, ok := types[t]
	if !ok {
		return v, 0, fmt.Errorf("%w: %s", ErrUnsupportedType, t)
	}
	if ti.size > 0 && len(p) < ti.size {
		return v, 0, fmt.Errorf("%w: %s needs %d bytes, %d left", ErrShort, t, ti.size, len(p))
	}
	switch ti.class {
	case 'n':
		return v, 0, nil
	case 'u':
		v.U = readUint(p, ti.size)
		return v, ti.size, nil
	case 's':
		u := readUint(p, ti.size)
		shift := 64 - 8*ti.size
		v.I = int64(u<<shift) >> shift
		return v, ti.size, nil
	case 'f':
		switch t {
		case TypeSemi:
			v.F = float16val(uint16(readUint(p, 2)))
		case TypeSingle:
			v.F = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		default:
			v.F = math.Float64frombits(binary.LittleEndian.Uint64(p))
		}
		return v, ti.size, nil
	}
	switch t {
	case TypeKey128:
		v.B = append([]byte(nil), p[:16]...)
		return v, 16, nil
	case TypeOctetStr, TypeCharStr:
		if len(p) < 1 {
			return v, 0, fmt.Errorf("%w: %s length byte missing", ErrShort, t)
		}
		n := int(p[0])
		if n == 0xff {
			return InvalidString(t), 1, nil
		}
		if len(p) < 1+n {
			return v, 0, fmt.Errorf("%w: %s of %d bytes, %d left", ErrShort, t, n, len(p)-1)
		}
		v.B = append([]byte{}, p[1:1+n]...)
		return v, 1 + n, nil
	default:
		if len(p) < 2 {
			return v, 0, fmt.Errorf("%w: %s length missing", ErrShort, t)
		}
		n := int(binary.LittleEndian.Uint16(p))
		if n == 0xffff {
			return InvalidString(t), 2, nil
		}
		if len(p) < 2+n {
			return v, 0, fmt.Errorf("%w: %s of %d bytes, %d left", ErrShort, t, n, len(p)-2)
		}
		v.B = append([]byte{}, p[2:2+n]...)
		return v, 2 + n, nil
	}
}

func appendUint(dst []byte, u uint64, size int) []byte {
	for i := range size {
		dst = append(dst, byte(u>>(8*i)))
	}
	return dst
}

func readUint(p []byte, size int) uint64 {
	var u uint64
	for i := range size {
		u |= uint64(p[i]) << (8 * i)
	}
	return u
}

// float16bits converts f to IEEE 754 binary16 (round toward zero; enough
// for the few semi-precision attributes, none of which we serve).
func float16bits(f float64) uint16 {
	b := math.Float32bits(float32(f))
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := uint16(b>>13) & 0x3ff
	switch {
	case math.IsNaN(f):
		return 0x7e00
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		return sign
	}
	return sign | uint16(exp)<<10 | mant
}

func float16val(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * mant / 1024 * math.Pow(2, -14)
	case 31:
		if mant != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * (1 + mant/1024) * math.Pow(2, float64(exp-15))
}

// EpochUnix is the Zigbee time base, 2000-01-01 00:00:00 UTC, in Unix
// seconds.
const EpochUnix = 946684800

// Epoch returns the Zigbee time base as a time.
func Epoch() time.Time { return time.Unix(EpochUnix, 0).UTC() }

// UTCTime returns t as Zigbee UTCTime, seconds since Epoch; times before
// Epoch are 0 and times past the 32-bit range are 0xfffffffe (0xffffffff
// is the invalid marker).
func UTCTime(t time.Time) uint32 {
	s := t.Unix() - EpochUnix
	if s < 0 {
		return 0
	}
	if s >= 0xffffffff {
		return 0xfffffffe
	}
	return uint32(s)
}

// TimeOf returns the instant of a Zigbee UTCTime.
func TimeOf(u uint32) time.Time { return time.Unix(EpochUnix+int64(u), 0).UTC() }

// MarshalText returns String's form (for JSON logs and golden files).
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }
