package dlms

import (
	"fmt"
	"math"

	"github.com/smgw/smgw/internal/meter"
)

// ScalerUnit is the scaler_unit attribute of the register, extended
// register and demand register classes (3, 4, 5), and of profile capture
// objects: structure {scaler integer, unit enum}. A register's value is
// value × 10^scaler in the unit.
type ScalerUnit struct {
	Scaler int8
	Unit   meter.Unit // the DLMS unit code
}

// Data returns the scaler_unit structure.
func (s ScalerUnit) Data() Data { return Structure(Int8(s.Scaler), Enum(uint8(s.Unit))) }

// ParseScalerUnit reads a scaler_unit structure.
func ParseScalerUnit(d Data) (ScalerUnit, error) {
	it := d.Items()
	if d.Tag() != TagStructure || len(it) != 2 || it[0].Tag() != TagInt8 || it[1].Tag() != TagEnum {
		return ScalerUnit{}, fmt.Errorf("%w: scaler_unit %v", ErrInvalid, d)
	}
	sc, _ := it[0].Int()
	u, _ := it[1].Uint()
	return ScalerUnit{Scaler: int8(sc), Unit: meter.Unit(u)}, nil
}

// Value returns a register's value as an exact decimal: the integer d
// (any signed or unsigned integer type) times 10^Scaler. Floats, strings
// and a long64-unsigned above MaxInt64 are ErrInvalid: a billed quantity
// never passes through a float.
func (s ScalerUnit) Value(d Data) (meter.Value, error) {
	switch d.Tag() {
	case TagInt8, TagInt16, TagInt32, TagInt64, TagUint8, TagUint16, TagUint32, TagUint64:
	default:
		return meter.Value{}, fmt.Errorf("%w: register value %v is not an integer", ErrInvalid, d.Tag())
	}
	v, ok := d.Int()
	if !ok {
		return meter.Value{}, fmt.Errorf("%w: register value %v does not fit 63 bits", ErrInvalid, d)
	}
	return meter.Value{M: v, E: s.Scaler}, nil
}

// RegisterValue returns v as the integer Data of type tag (a signed or
// unsigned integer type) at this scaler: the inverse of Value, for a
// server. v is rescaled exactly (meter.ErrInexact when digits would be
// lost) and must fit the type (ErrInvalid).
func (s ScalerUnit) RegisterValue(v meter.Value, tag Tag) (Data, error) {
	r, err := v.Rescale(s.Scaler)
	if err != nil {
		return Data{}, err
	}
	m := r.M
	var lo, hi int64
	var d Data
	switch tag {
	case TagInt8:
		lo, hi, d = math.MinInt8, math.MaxInt8, Int8(int8(m))
	case TagInt16:
		lo, hi, d = math.MinInt16, math.MaxInt16, Int16(int16(m))
	case TagInt32:
		lo, hi, d = math.MinInt32, math.MaxInt32, Int32(int32(m))
	case TagInt64:
		lo, hi, d = math.MinInt64, math.MaxInt64, Int64(m)
	case TagUint8:
		lo, hi, d = 0, math.MaxUint8, Uint8(uint8(m))
	case TagUint16:
		lo, hi, d = 0, math.MaxUint16, Uint16(uint16(m))
	case TagUint32:
		lo, hi, d = 0, math.MaxUint32, Uint32(uint32(m))
	case TagUint64:
		lo, hi, d = 0, math.MaxInt64, Uint64(uint64(m))
	default:
		return Data{}, fmt.Errorf("%w: %v is not an integer type", ErrInvalid, tag)
	}
	if m < lo || m > hi {
		return Data{}, fmt.Errorf("%w: %d×10^%d does not fit %v", ErrInvalid, m, s.Scaler, tag)
	}
	return d, nil
}
