package dlms

import (
	"fmt"

	"github.com/smgw/smgw/internal/meter"
)

// AttributeDescriptor names a COSEM attribute: Cosem-Attribute-Descriptor.
type AttributeDescriptor struct {
	Class     uint16
	Instance  meter.OBIS
	Attribute int8
}

// MethodDescriptor names a COSEM method: Cosem-Method-Descriptor.
type MethodDescriptor struct {
	Class    uint16
	Instance meter.OBIS
	Method   int8
}

// SelectiveAccess is the optional access selection of a GET or SET:
// a selector (1 range, 2 entry for profile generic) and its parameters.
type SelectiveAccess struct {
	Selector uint8
	Params   Data
}

// AttributeWithSelection is an attribute with optional selective access,
// as in the with-list forms.
type AttributeWithSelection struct {
	Attr   AttributeDescriptor
	Access *SelectiveAccess
}

func (a AttributeDescriptor) String() string {
	return fmt.Sprintf("%d/%v/%d", a.Class, a.Instance, a.Attribute)
}

func (m MethodDescriptor) String() string {
	return fmt.Sprintf("%d/%v/m%d", m.Class, m.Instance, m.Method)
}

func (a AttributeDescriptor) append(dst []byte) []byte {
	dst = appendU16(dst, a.Class)
	dst = append(dst, a.Instance[:]...)
	return append(dst, byte(a.Attribute))
}

func (m MethodDescriptor) append(dst []byte) []byte {
	dst = appendU16(dst, m.Class)
	dst = append(dst, m.Instance[:]...)
	return append(dst, byte(m.Method))
}

func (r *reader) attr() (AttributeDescriptor, error) {
	var a AttributeDescriptor
	p, err := r.take(9, "attribute descriptor")
	if err != nil {
		return a, err
	}
	a.Class = uint16(p[0])<<8 | uint16(p[1])
	copy(a.Instance[:], p[2:8])
	a.Attribute = int8(p[8])
	return a, nil
}

func (r *reader) method() (MethodDescriptor, error) {
	a, err := r.attr()
	return MethodDescriptor{Class: a.Class, Instance: a.Instance, Method: a.Attribute}, err
}

func appendAccess(dst []byte, s *SelectiveAccess) []byte {
	if s == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1, s.Selector)
	return s.Params.Append(dst)
}

func (r *reader) access() (*SelectiveAccess, error) {
	ok, err := r.optional("access selection")
	if err != nil || !ok {
		return nil, err
	}
	sel, err := r.u8("access selector")
	if err != nil {
		return nil, err
	}
	d, err := r.data(0)
	if err != nil {
		return nil, fmt.Errorf("access parameters: %w", err)
	}
	return &SelectiveAccess{Selector: sel, Params: d}, nil
}

func (r *reader) attrsWithSelection() ([]AttributeWithSelection, error) {
	n, err := r.count("attribute list", 10)
	if err != nil {
		return nil, err
	}
	l := make([]AttributeWithSelection, n)
	for i := range l {
		if l[i].Attr, err = r.attr(); err != nil {
			return nil, err
		}
		if l[i].Access, err = r.access(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func appendAttrsWithSelection(dst []byte, l []AttributeWithSelection) []byte {
	dst = AppendLength(dst, len(l))
	for _, a := range l {
		dst = a.Attr.append(dst)
		dst = appendAccess(dst, a.Access)
	}
	return dst
}

// Selective access selectors of profile generic (class 7).
const (
	SelectorRange = 1
	SelectorEntry = 2
)

// CaptureObject is a capture object definition of profile generic
// (class 7): which attribute, and which element of it (0: all).
type CaptureObject struct {
	Class     uint16
	Instance  meter.OBIS
	Attribute int8
	DataIndex uint16
}

// Data returns the capture object definition as a structure.
func (c CaptureObject) Data() Data {
	return Structure(Uint16(c.Class), OctetString(append([]byte(nil), c.Instance[:]...)), Int8(c.Attribute), Uint16(c.DataIndex))
}

// ParseCaptureObject reads a capture object definition structure.
func ParseCaptureObject(d Data) (CaptureObject, error) {
	var c CaptureObject
	it := d.Items()
	if d.Tag() != TagStructure || len(it) != 4 || it[0].Tag() != TagUint16 || it[1].Tag() != TagOctetString ||
		len(it[1].Bytes()) != 6 || it[2].Tag() != TagInt8 || it[3].Tag() != TagUint16 {
		return c, fmt.Errorf("%w: capture object definition %v", ErrInvalid, d)
	}
	cl, _ := it[0].Uint()
	at, _ := it[2].Int()
	di, _ := it[3].Uint()
	c.Class, c.Attribute, c.DataIndex = uint16(cl), int8(at), uint16(di)
	copy(c.Instance[:], it[1].Bytes())
	return c, nil
}

// RangeDescriptor is the parameter of selective access by range
// (selector 1): rows whose restricting object's value lies in From…To,
// with the Columns given (none: all).
type RangeDescriptor struct {
	Restricting CaptureObject
	From, To    Data
	Columns     []CaptureObject
}

// Data returns the range_descriptor structure.
func (r RangeDescriptor) Data() Data {
	cols := make([]Data, len(r.Columns))
	for i, c := range r.Columns {
		cols[i] = c.Data()
	}
	return Structure(r.Restricting.Data(), r.From, r.To, Array(cols...))
}

// Access returns the selective access of selector 1 with r.
func (r RangeDescriptor) Access() *SelectiveAccess {
	return &SelectiveAccess{Selector: SelectorRange, Params: r.Data()}
}

// ParseRangeDescriptor reads a range_descriptor structure.
func ParseRangeDescriptor(d Data) (RangeDescriptor, error) {
	var r RangeDescriptor
	it := d.Items()
	if d.Tag() != TagStructure || len(it) != 4 || it[3].Tag() != TagArray {
		return r, fmt.Errorf("%w: range descriptor %v", ErrInvalid, d)
	}
	var err error
	if r.Restricting, err = ParseCaptureObject(it[0]); err != nil {
		return r, fmt.Errorf("restricting object: %w", err)
	}
	r.From, r.To = it[1], it[2]
	for i, c := range it[3].Items() {
		co, err := ParseCaptureObject(c)
		if err != nil {
			return r, fmt.Errorf("selected value %d: %w", i, err)
		}
		r.Columns = append(r.Columns, co)
	}
	return r, nil
}

// EntryDescriptor is the parameter of selective access by entry
// (selector 2): rows FromEntry…ToEntry (1-based, ToEntry 0: to the last)
// and columns FromColumn…ToColumn (1-based, ToColumn 0: to the last).
type EntryDescriptor struct {
	FromEntry, ToEntry   uint32
	FromColumn, ToColumn uint16
}

// Data returns the entry_descriptor structure.
func (e EntryDescriptor) Data() Data {
	return Structure(Uint32(e.FromEntry), Uint32(e.ToEntry), Uint16(e.FromColumn), Uint16(e.ToColumn))
}

// Access returns the selective access of selector 2 with e.
func (e EntryDescriptor) Access() *SelectiveAccess {
	return &SelectiveAccess{Selector: SelectorEntry, Params: e.Data()}
}

// ParseEntryDescriptor reads an entry_descriptor structure.
func ParseEntryDescriptor(d Data) (EntryDescriptor, error) {
	it := d.Items()
	if d.Tag() != TagStructure || len(it) != 4 || it[0].Tag() != TagUint32 || it[1].Tag() != TagUint32 ||
		it[2].Tag() != TagUint16 || it[3].Tag() != TagUint16 {
		return EntryDescriptor{}, fmt.Errorf("%w: entry descriptor %v", ErrInvalid, d)
	}
	a, _ := it[0].Uint()
	b, _ := it[1].Uint()
	c, _ := it[2].Uint()
	e, _ := it[3].Uint()
	return EntryDescriptor{uint32(a), uint32(b), uint16(c), uint16(e)}, nil
}
