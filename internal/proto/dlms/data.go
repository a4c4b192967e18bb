package dlms

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tag is the type tag of a COSEM Data value (IEC 62056-6-2 4.1.5).
type Tag uint8

// Data type tags. The numbers are the wire values.
const (
	TagNull          Tag = 0
	TagArray         Tag = 1
	TagStructure     Tag = 2
	TagBoolean       Tag = 3
	TagBitString     Tag = 4
	TagInt32         Tag = 5 // double-long
	TagUint32        Tag = 6 // double-long-unsigned
	TagOctetString   Tag = 9
	TagVisibleString Tag = 10
	TagUTF8String    Tag = 12
	TagBCD           Tag = 13
	TagInt8          Tag = 15 // integer
	TagInt16         Tag = 16 // long
	TagUint8         Tag = 17 // unsigned
	TagUint16        Tag = 18 // long-unsigned
	TagCompactArray  Tag = 19
	TagInt64         Tag = 20 // long64
	TagUint64        Tag = 21 // long64-unsigned
	TagEnum          Tag = 22
	TagFloat32       Tag = 23
	TagFloat64       Tag = 24
	TagDateTime      Tag = 25 // 12 octets
	TagDate          Tag = 26 // 5 octets
	TagTime          Tag = 27 // 4 octets
	TagDontCare      Tag = 255
)

var tagNames = func() (n [256]string) {
	for t, s := range map[Tag]string{
		TagNull: "null", TagArray: "array", TagStructure: "structure", TagBoolean: "boolean",
		TagBitString: "bit-string", TagInt32: "double-long", TagUint32: "double-long-unsigned",
		TagOctetString: "octet-string", TagVisibleString: "visible-string", TagUTF8String: "utf8-string",
		TagBCD: "bcd", TagInt8: "integer", TagInt16: "long", TagUint8: "unsigned", TagUint16: "long-unsigned",
		TagCompactArray: "compact-array", TagInt64: "long64", TagUint64: "long64-unsigned", TagEnum: "enum",
		TagFloat32: "float32", TagFloat64: "float64", TagDateTime: "date-time", TagDate: "date", TagTime: "time",
		TagDontCare: "dont-care",
	} {
		n[t] = s
	}
	return n
}()

func (t Tag) String() string {
	if s := tagNames[t]; s != "" {
		return s
	}
	return fmt.Sprintf("tag(%d)", uint8(t))
}

// fixedSize returns the encoded size of a fixed-size type's contents, or -1.
func (t Tag) fixedSize() int {
	switch t {
	case TagNull, TagDontCare:
		return 0
	case TagBoolean, TagBCD, TagInt8, TagUint8, TagEnum:
		return 1
	case TagInt16, TagUint16:
		return 2
	case TagInt32, TagUint32, TagFloat32, TagTime:
		return 4
	case TagDate:
		return 5
	case TagInt64, TagUint64, TagFloat64:
		return 8
	case TagDateTime:
		return 12
	}
	return -1
}

// Data is a COSEM data value (the CHOICE "Data" of IEC 62056-6-2). It is
// immutable: build it with the constructors (Int32, Structure, …), read it
// with the accessors. Decoding and encoding round-trip byte for byte for
// every value in its canonical (shortest-length) encoding.
type Data struct {
	tag   Tag
	num   uint64    // integers (two's complement), boolean, enum, bcd, float bits
	bytes []byte    // strings, bit-string octets, date/time octets
	nbits int       // bit-string length in bits
	items []Data    // array, structure, compact-array elements
	desc  *TypeDesc // compact-array element type
}

// Constructors.

// Null returns the null-data value.
func Null() Data { return Data{tag: TagNull} }

// DontCare returns the dont-care value (used in selective access).
func DontCare() Data { return Data{tag: TagDontCare} }

// Bool returns a boolean.
func Bool(b bool) Data {
	d := Data{tag: TagBoolean}
	if b {
		d.num = 1
	}
	return d
}

// Int8 returns an integer (8-bit signed).
func Int8(v int8) Data { return Data{tag: TagInt8, num: uint64(int64(v))} }

// Int16 returns a long (16-bit signed).
func Int16(v int16) Data { return Data{tag: TagInt16, num: uint64(int64(v))} }

// Int32 returns a double-long (32-bit signed).
func Int32(v int32) Data { return Data{tag: TagInt32, num: uint64(int64(v))} }

// Int64 returns a long64.
func Int64(v int64) Data { return Data{tag: TagInt64, num: uint64(v)} }

// Uint8 returns an unsigned (8-bit).
func Uint8(v uint8) Data { return Data{tag: TagUint8, num: uint64(v)} }

// Uint16 returns a long-unsigned.
func Uint16(v uint16) Data { return Data{tag: TagUint16, num: uint64(v)} }

// Uint32 returns a double-long-unsigned.
func Uint32(v uint32) Data { return Data{tag: TagUint32, num: uint64(v)} }

// Uint64 returns a long64-unsigned.
func Uint64(v uint64) Data { return Data{tag: TagUint64, num: v} }

// Enum returns an enum.
func Enum(v uint8) Data { return Data{tag: TagEnum, num: uint64(v)} }

// BCD returns a bcd (one octet, two BCD digits).
func BCD(v uint8) Data { return Data{tag: TagBCD, num: uint64(v)} }

// Float32 returns a float32 (IEEE 754 single).
func Float32(f float32) Data { return Data{tag: TagFloat32, num: uint64(math.Float32bits(f))} }

// Float64 returns a float64 (IEEE 754 double).
func Float64(f float64) Data { return Data{tag: TagFloat64, num: math.Float64bits(f)} }

// OctetString returns an octet-string (it keeps b).
func OctetString(b []byte) Data { return Data{tag: TagOctetString, bytes: b} }

// VisibleString returns a visible-string.
func VisibleString(s string) Data { return Data{tag: TagVisibleString, bytes: []byte(s)} }

// UTF8String returns a utf8-string.
func UTF8String(s string) Data { return Data{tag: TagUTF8String, bytes: []byte(s)} }

// BitString returns a bit-string of n bits taken from bits, most
// significant bit of the first octet first. Bits beyond n are cleared.
func BitString(bits []byte, n int) Data {
	if n < 0 {
		n = 0
	}
	nb := (n + 7) / 8
	b := make([]byte, nb)
	copy(b, bits)
	if r := n % 8; r != 0 && nb > 0 {
		b[nb-1] &= 0xFF << (8 - r)
	}
	return Data{tag: TagBitString, bytes: b, nbits: n}
}

// Array returns an array of the items (which should share one type).
func Array(items ...Data) Data { return Data{tag: TagArray, items: items} }

// Structure returns a structure of the items.
func Structure(items ...Data) Data { return Data{tag: TagStructure, items: items} }

// Accessors.

// Tag returns the value's type.
func (d Data) Tag() Tag { return d.tag }

// Items returns the elements of an array, structure or compact array.
func (d Data) Items() []Data { return d.items }

// Len returns the number of elements of an array, structure or compact array.
func (d Data) Len() int { return len(d.items) }

// Bytes returns the contents of an octet-string, visible-string,
// utf8-string, bit-string, date-time, date or time.
func (d Data) Bytes() []byte { return d.bytes }

// BitLen returns the number of bits of a bit-string.
func (d Data) BitLen() int { return d.nbits }

// Desc returns a compact array's element type description.
func (d Data) Desc() *TypeDesc { return d.desc }

// IsNull reports whether d is null-data.
func (d Data) IsNull() bool { return d.tag == TagNull }

// Bool returns a boolean's value.
func (d Data) Bool() (v, ok bool) { return d.num != 0, d.tag == TagBoolean }

// Int returns the value of any integer type (and enum, and bcd as its
// raw octet) as an int64; ok is false for other types and for a
// long64-unsigned above MaxInt64.
func (d Data) Int() (int64, bool) {
	switch d.tag {
	case TagInt8, TagInt16, TagInt32, TagInt64, TagUint8, TagUint16, TagUint32, TagEnum, TagBCD:
		return int64(d.num), true
	case TagUint64:
		return int64(d.num), d.num <= math.MaxInt64
	}
	return 0, false
}

// Uint returns the value of any integer type as a uint64; ok is false for
// other types and for negative values.
func (d Data) Uint() (uint64, bool) {
	switch d.tag {
	case TagUint8, TagUint16, TagUint32, TagUint64, TagEnum, TagBCD:
		return d.num, true
	case TagInt8, TagInt16, TagInt32, TagInt64:
		return d.num, int64(d.num) >= 0
	}
	return 0, false
}

// Float returns a float32 or float64 as a float64.
func (d Data) Float() (float64, bool) {
	switch d.tag {
	case TagFloat32:
		return float64(math.Float32frombits(uint32(d.num))), true
	case TagFloat64:
		return math.Float64frombits(d.num), true
	}
	return 0, false
}

// Text returns a visible-string or utf8-string.
func (d Data) Text() (string, bool) {
	return string(d.bytes), d.tag == TagVisibleString || d.tag == TagUTF8String
}

// Equal reports whether d and e encode to the same bytes.
func (d Data) Equal(e Data) bool {
	return bytes.Equal(d.Append(nil), e.Append(nil))
}

// Encoding.

// Append appends the A-XDR encoding of d (with its tag).
func (d Data) Append(dst []byte) []byte {
	dst = append(dst, byte(d.tag))
	switch d.tag {
	case TagArray, TagStructure:
		dst = AppendLength(dst, len(d.items))
		for _, it := range d.items {
			dst = it.Append(dst)
		}
		return dst
	case TagCompactArray:
		dst = d.desc.Append(dst)
		start := len(dst)
		for _, it := range d.items {
			dst = it.appendUntagged(dst)
		}
		// Insert the length of the contents before them.
		n := len(dst) - start
		var lb [5]byte
		l := AppendLength(lb[:0], n)
		dst = append(dst, l...)
		copy(dst[start+len(l):], dst[start:start+n])
		copy(dst[start:], l)
		return dst
	}
	return d.appendUntagged(dst)
}

// appendUntagged appends d without its tag (as inside a compact array).
func (d Data) appendUntagged(dst []byte) []byte {
	switch d.tag {
	case TagNull, TagDontCare:
		return dst
	case TagBoolean, TagBCD, TagInt8, TagUint8, TagEnum:
		return append(dst, byte(d.num))
	case TagInt16, TagUint16:
		return appendU16(dst, uint16(d.num))
	case TagInt32, TagUint32, TagFloat32:
		return appendU32(dst, uint32(d.num))
	case TagInt64, TagUint64, TagFloat64:
		return appendU64(dst, d.num)
	case TagOctetString, TagVisibleString, TagUTF8String:
		return appendOctets(dst, d.bytes)
	case TagBitString:
		dst = AppendLength(dst, d.nbits)
		return append(dst, d.bytes...)
	case TagDateTime, TagDate, TagTime:
		return append(dst, d.bytes...)
	case TagArray, TagStructure:
		// Inside a compact array: elements only, the count is in the type.
		for _, it := range d.items {
			dst = it.appendUntagged(dst)
		}
		return dst
	}
	return dst
}

// ParseData decodes one Data value that fills p exactly.
func ParseData(p []byte) (Data, error) {
	r := reader{b: p}
	d, err := r.data(0)
	if err != nil {
		return Data{}, err
	}
	return d, r.end("data")
}

// DecodeData decodes one Data value at the start of p and returns it and
// the number of bytes it took.
func DecodeData(p []byte) (Data, int, error) {
	r := reader{b: p}
	d, err := r.data(0)
	return d, r.off, err
}

func (r *reader) data(depth int) (Data, error) {
	var d Data
	err := r.dataInto(&d, depth)
	return d, err
}

// dataInto decodes one value into *d (in place, which spares copying
// values around in large arrays).
func (r *reader) dataInto(d *Data, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: at byte %d", ErrTooDeep, r.off)
	}
	t, err := r.u8("data tag")
	if err != nil {
		return err
	}
	tag := Tag(t)
	switch tag {
	case TagArray, TagStructure:
		n, err := r.count(tag.String(), 1)
		if err != nil {
			return err
		}
		d.tag, d.items = tag, make([]Data, n)
		for i := range d.items {
			if err := r.dataInto(&d.items[i], depth+1); err != nil {
				*d = Data{}
				return err
			}
		}
		return nil
	case TagCompactArray:
		desc, err := r.typeDesc(depth + 1)
		if err != nil {
			return err
		}
		if desc.Tag == TagCompactArray {
			return r.errInvalid("compact array of compact arrays")
		}
		contents, err := r.octets("compact-array contents")
		if err != nil {
			return err
		}
		cr := reader{b: contents}
		var items []Data
		for cr.left() > 0 {
			before := cr.off
			it, err := cr.untagged(&desc, depth+1)
			if err != nil {
				return fmt.Errorf("compact-array element %d (contents start at byte %d): %w", len(items), r.off-len(contents), err)
			}
			if cr.off == before {
				return r.errInvalid("compact array of zero-size elements")
			}
			items = append(items, it)
		}
		*d = Data{tag: TagCompactArray, items: items, desc: &desc}
		return nil
	}
	if tag.fixedSize() < 0 && !isVarSize(tag) {
		r.off--
		return r.errInvalid("unknown data tag %d", t)
	}
	if tag == TagDontCare {
		r.off--
		return r.errInvalid("dont-care is not a data value")
	}
	return r.simpleInto(d, tag)
}

func isVarSize(t Tag) bool {
	switch t {
	case TagOctetString, TagVisibleString, TagUTF8String, TagBitString:
		return true
	}
	return false
}

// untaggedSimple reads the contents of a type that is neither array,
// structure nor compact array.
func (r *reader) untaggedSimple(tag Tag) (Data, error) {
	var d Data
	err := r.simpleInto(&d, tag)
	return d, err
}

func (r *reader) simpleInto(d *Data, tag Tag) error {
	d.tag = tag
	switch tag {
	case TagOctetString, TagVisibleString, TagUTF8String:
		b, err := r.octets(tag.String())
		d.bytes = b
		return err
	case TagBitString:
		n, err := r.length("bit-string length")
		if err != nil {
			return err
		}
		d.nbits = n
		d.bytes, err = r.take((n+7)/8, "bit-string")
		return err
	case TagDateTime, TagDate, TagTime:
		b, err := r.take(tag.fixedSize(), tag.String())
		d.bytes = b
		return err
	}
	n := tag.fixedSize()
	p, err := r.take(n, tag.String())
	if err != nil {
		return err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	switch tag {
	case TagInt8:
		v = uint64(int64(int8(v)))
	case TagInt16:
		v = uint64(int64(int16(v)))
	case TagInt32:
		v = uint64(int64(int32(v)))
	}
	d.num = v
	return nil
}

// untagged reads one element of a compact array of type desc.
func (r *reader) untagged(desc *TypeDesc, depth int) (Data, error) {
	if depth > MaxDepth {
		return Data{}, fmt.Errorf("%w: at byte %d", ErrTooDeep, r.off)
	}
	switch desc.Tag {
	case TagArray:
		items := make([]Data, 0, min(int(desc.Len), r.left()+1))
		for range int(desc.Len) {
			it, err := r.untagged(&desc.Elem[0], depth+1)
			if err != nil {
				return Data{}, err
			}
			items = append(items, it)
		}
		return Data{tag: TagArray, items: items}, nil
	case TagStructure:
		items := make([]Data, len(desc.Elem))
		for i := range desc.Elem {
			var err error
			if items[i], err = r.untagged(&desc.Elem[i], depth+1); err != nil {
				return Data{}, err
			}
		}
		return Data{tag: TagStructure, items: items}, nil
	}
	return r.untaggedSimple(desc.Tag)
}

// String prints d in a compact, readable form, e.g.
// {u16:8, os:0000010000FF, i8:2}.
func (d Data) String() string {
	var b strings.Builder
	d.format(&b)
	return b.String()
}

func (d Data) format(b *strings.Builder) {
	switch d.tag {
	case TagNull:
		b.WriteString("null")
	case TagDontCare:
		b.WriteString("dont-care")
	case TagArray, TagStructure, TagCompactArray:
		open, close := "[", "]"
		if d.tag == TagStructure {
			open, close = "{", "}"
		}
		if d.tag == TagCompactArray {
			b.WriteString("compact" + d.desc.String())
		}
		b.WriteString(open)
		for i, it := range d.items {
			if i > 0 {
				b.WriteString(", ")
			}
			it.format(b)
		}
		b.WriteString(close)
	case TagBoolean:
		b.WriteString(strconv.FormatBool(d.num != 0))
	case TagInt8, TagInt16, TagInt32, TagInt64:
		b.WriteString(strconv.FormatInt(int64(d.num), 10))
	case TagUint8, TagUint16, TagUint32, TagUint64:
		b.WriteString(strconv.FormatUint(d.num, 10))
	case TagEnum:
		b.WriteString("enum:" + strconv.FormatUint(d.num, 10))
	case TagBCD:
		fmt.Fprintf(b, "bcd:%02X", d.num)
	case TagFloat32, TagFloat64:
		f, _ := d.Float()
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case TagOctetString:
		if len(d.bytes) == 12 {
			if dt, err := ParseDateTime(d.bytes); err == nil {
				b.WriteString(dt.String())
				return
			}
		}
		b.WriteString("0x" + hex.EncodeToString(d.bytes))
	case TagVisibleString, TagUTF8String:
		b.WriteString(strconv.Quote(string(d.bytes)))
	case TagBitString:
		fmt.Fprintf(b, "bits:%d:%s", d.nbits, hex.EncodeToString(d.bytes))
	case TagDateTime:
		dt, _ := ParseDateTime(d.bytes)
		b.WriteString(dt.String())
	case TagDate, TagTime:
		b.WriteString(d.tag.String() + ":" + hex.EncodeToString(d.bytes))
	default:
		b.WriteString(d.tag.String())
	}
}
