package dlms

import (
	"errors"
	"fmt"
)

// Errors returned (wrapped, naming what and at which byte) by the
// decoders. All are permanent: the same bytes always fail the same way.
var (
	// ErrShort is returned when the bytes end before the value does.
	ErrShort = errors.New("dlms: truncated")
	// ErrInvalid is returned for a tag, choice, length or value the
	// standard does not allow (or this codec does not support).
	ErrInvalid = errors.New("dlms: invalid encoding")
	// ErrTrailing is returned when bytes follow a complete APDU or value.
	// ParseAPDU still returns the decoded APDU with it, so a lenient caller
	// may accept it (the Gurux server appends bytes to some responses).
	ErrTrailing = errors.New("dlms: trailing bytes")
	// ErrTooDeep is returned when arrays and structures nest deeper than
	// MaxDepth.
	ErrTooDeep = errors.New("dlms: data nested too deep")
	// ErrAuth is returned when a GCM tag or an HLS reply does not verify.
	ErrAuth = errors.New("dlms: authentication failed")
	// ErrSecurity is returned for a security header this package does not
	// support (security suite, control byte) or wrong key sizes.
	ErrSecurity = errors.New("dlms: unsupported security")
	// ErrReplay is returned by FrameCounter when an invocation counter is
	// not greater than the last one accepted.
	ErrReplay = errors.New("dlms: replayed invocation counter")
)

// MaxDepth bounds the nesting of arrays and structures in Data.
const MaxDepth = 32

// reader reads A-XDR from b, tracking the offset for error messages.
type reader struct {
	b   []byte
	off int
}

func (r *reader) errShort(what string, need int) error {
	return fmt.Errorf("%w: %s needs %d bytes at byte %d, %d left", ErrShort, what, need, r.off, len(r.b)-r.off)
}

func (r *reader) errInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d", ErrInvalid, fmt.Sprintf(format, args...), r.off)
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8(what string) (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.errShort(what, 1)
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.errShort(what, n)
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) u16(what string) (uint16, error) {
	p, err := r.take(2, what)
	if err != nil {
		return 0, err
	}
	return uint16(p[0])<<8 | uint16(p[1]), nil
}

func (r *reader) u32(what string) (uint32, error) {
	p, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]), nil
}

// length reads an A-XDR length: one byte below 0x80, else 0x8n followed by
// n big-endian bytes (n ≤ 4 here).
func (r *reader) length(what string) (int, error) {
	start := r.off
	c, err := r.u8(what)
	if err != nil {
		return 0, err
	}
	if c < 0x80 {
		return int(c), nil
	}
	n := int(c & 0x7F)
	if n == 0 || n > 4 {
		r.off = start
		return 0, r.errInvalid("%s: length of %d bytes", what, n)
	}
	p, err := r.take(n, what)
	if err != nil {
		return 0, err
	}
	v := 0
	for _, b := range p {
		v = v<<8 | int(b)
	}
	if v < 0 || v > 1<<30 {
		r.off = start
		return 0, r.errInvalid("%s: length %d", what, v)
	}
	return v, nil
}

// octets reads an A-XDR length-prefixed octet string.
func (r *reader) octets(what string) ([]byte, error) {
	n, err := r.length(what)
	if err != nil {
		return nil, err
	}
	return r.take(n, what)
}

// count reads an A-XDR quantity of elements that each take at least
// minSize bytes, checking it against what is left.
func (r *reader) count(what string, minSize int) (int, error) {
	n, err := r.length(what)
	if err != nil {
		return 0, err
	}
	if minSize > 0 && n > r.left()/minSize {
		return 0, r.errShort(fmt.Sprintf("%s of %d elements", what, n), n*minSize)
	}
	return n, nil
}

// optional reads an A-XDR OPTIONAL/DEFAULT presence byte (0 or 1).
func (r *reader) optional(what string) (bool, error) {
	c, err := r.u8(what)
	if err != nil {
		return false, err
	}
	switch c {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	r.off--
	return false, r.errInvalid("%s: presence flag 0x%02X", what, c)
}

// boolean reads an A-XDR BOOLEAN (any non-zero is true).
func (r *reader) boolean(what string) (bool, error) {
	c, err := r.u8(what)
	return c != 0, err
}

// end fails with ErrTrailing when bytes are left.
func (r *reader) end(what string) error {
	if r.left() > 0 {
		return fmt.Errorf("%w: %d bytes after %s at byte %d", ErrTrailing, r.left(), what, r.off)
	}
	return nil
}

// AppendLength appends an A-XDR length in its shortest form.
func AppendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xFFFFFF:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// ParseLength reads an A-XDR length at the start of p and returns it and
// the number of bytes it took.
func ParseLength(p []byte) (n, size int, err error) {
	r := reader{b: p}
	n, err = r.length("length")
	return n, r.off, err
}

func appendOctets(dst, p []byte) []byte { return append(AppendLength(dst, len(p)), p...) }

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendU64(dst []byte, v uint64) []byte {
	return append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}
