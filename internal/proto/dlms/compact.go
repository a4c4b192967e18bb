package dlms

import (
	"fmt"
	"strings"
)

// TypeDesc is the type description of a compact array's elements
// (IEC 62056-6-2 4.1.6.1): a simple type, an array of Len elements of type
// Elem[0], or a structure of the types in Elem.
type TypeDesc struct {
	Tag  Tag
	Len  uint16     // array only: number of elements
	Elem []TypeDesc // array: exactly one; structure: one per member
}

// Append appends the encoded type description.
func (t *TypeDesc) Append(dst []byte) []byte {
	dst = append(dst, byte(t.Tag))
	switch t.Tag {
	case TagArray:
		dst = appendU16(dst, t.Len)
		if len(t.Elem) > 0 {
			dst = t.Elem[0].Append(dst)
		}
	case TagStructure:
		dst = AppendLength(dst, len(t.Elem))
		for i := range t.Elem {
			dst = t.Elem[i].Append(dst)
		}
	}
	return dst
}

// String prints the description, e.g. {date-time,long-unsigned}.
func (t *TypeDesc) String() string {
	if t == nil {
		return "<nil>"
	}
	switch t.Tag {
	case TagArray:
		if len(t.Elem) == 0 {
			return fmt.Sprintf("[%d]?", t.Len)
		}
		return fmt.Sprintf("[%d]%s", t.Len, t.Elem[0].String())
	case TagStructure:
		s := make([]string, len(t.Elem))
		for i := range t.Elem {
			s[i] = t.Elem[i].String()
		}
		return "{" + strings.Join(s, ",") + "}"
	}
	return t.Tag.String()
}

func (r *reader) typeDesc(depth int) (TypeDesc, error) {
	if depth > MaxDepth {
		return TypeDesc{}, fmt.Errorf("%w: type description at byte %d", ErrTooDeep, r.off)
	}
	c, err := r.u8("type description")
	if err != nil {
		return TypeDesc{}, err
	}
	t := TypeDesc{Tag: Tag(c)}
	switch t.Tag {
	case TagArray:
		if t.Len, err = r.u16("array type length"); err != nil {
			return TypeDesc{}, err
		}
		e, err := r.typeDesc(depth + 1)
		if err != nil {
			return TypeDesc{}, err
		}
		if !e.hasBytes() {
			return TypeDesc{}, r.errInvalid("array type description of elements that encode to no bytes")
		}
		t.Elem = []TypeDesc{e}
	case TagStructure:
		n, err := r.count("structure type description", 1)
		if err != nil {
			return TypeDesc{}, err
		}
		t.Elem = make([]TypeDesc, n)
		for i := range t.Elem {
			if t.Elem[i], err = r.typeDesc(depth + 1); err != nil {
				return TypeDesc{}, err
			}
		}
	default:
		if (t.Tag.fixedSize() < 0 && !isVarSize(t.Tag)) || t.Tag == TagDontCare || t.Tag == TagCompactArray {
			r.off--
			return TypeDesc{}, r.errInvalid("type %v in a type description", t.Tag)
		}
	}
	return t, nil
}

// validDesc checks a type description built by a caller.
func validDesc(t *TypeDesc, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch t.Tag {
	case TagArray:
		if len(t.Elem) != 1 {
			return fmt.Errorf("%w: array type description with %d element types", ErrInvalid, len(t.Elem))
		}
		if !t.Elem[0].hasBytes() {
			return fmt.Errorf("%w: array type description of elements that encode to no bytes", ErrInvalid)
		}
		return validDesc(&t.Elem[0], depth+1)
	case TagStructure:
		for i := range t.Elem {
			if err := validDesc(&t.Elem[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if (t.Tag.fixedSize() < 0 && !isVarSize(t.Tag)) || t.Tag == TagDontCare || t.Tag == TagCompactArray {
		return fmt.Errorf("%w: type %v in a type description", ErrInvalid, t.Tag)
	}
	return nil
}

// Matches reports whether d is a value of type t.
func (t *TypeDesc) Matches(d Data) bool {
	switch t.Tag {
	case TagArray:
		if d.tag != TagArray || len(d.items) != int(t.Len) || len(t.Elem) != 1 {
			return false
		}
		for _, it := range d.items {
			if !t.Elem[0].Matches(it) {
				return false
			}
		}
		return true
	case TagStructure:
		if d.tag != TagStructure || len(d.items) != len(t.Elem) {
			return false
		}
		for i, it := range d.items {
			if !t.Elem[i].Matches(it) {
				return false
			}
		}
		return true
	}
	return d.tag == t.Tag
}

// CompactArray returns a compact-array of items, each of which must match
// desc. A compact array cannot hold elements that encode to no bytes
// (e.g. null-data), since its element count follows from its length.
func CompactArray(desc TypeDesc, items ...Data) (Data, error) {
	if err := validDesc(&desc, 0); err != nil {
		return Data{}, err
	}
	for i, it := range items {
		if !desc.Matches(it) {
			return Data{}, fmt.Errorf("%w: compact-array element %d is %v, not %v", ErrInvalid, i, it, desc.String())
		}
		if len(it.appendUntagged(nil)) == 0 {
			return Data{}, fmt.Errorf("%w: compact-array element %d encodes to no bytes", ErrInvalid, i)
		}
	}
	return Data{tag: TagCompactArray, items: items, desc: &desc}, nil
}

// hasBytes reports whether every value of type t encodes to at least one
// byte inside a compact array. Arrays of types that do not would let a few
// bytes of type description demand billions of decoded elements.
func (t *TypeDesc) hasBytes() bool {
	switch t.Tag {
	case TagArray:
		return t.Len > 0 && len(t.Elem) == 1 && t.Elem[0].hasBytes()
	case TagStructure:
		for i := range t.Elem {
			if t.Elem[i].hasBytes() {
				return true
			}
		}
		return false
	}
	return t.Tag.fixedSize() != 0
}
