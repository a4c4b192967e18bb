package znp

import (
	"encoding/binary"
	"fmt"
)

// rd reads little-endian fields from a payload, remembering the first
// shortfall so that a Parse function checks once at the end.
type rd struct {
	cmd Cmd
	p   []byte
	off int
	err error
}

func (r *rd) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if len(r.p)-r.off < n {
		r.err = fmt.Errorf("%w: %s: %s at offset %d needs %d bytes, %d left", ErrShort, r.cmd, what, r.off, n, len(r.p)-r.off)
		return false
	}
	return true
}

func (r *rd) u8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	r.off++
	return r.p[r.off-1]
}

func (r *rd) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.p[r.off-2:])
}

func (r *rd) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.p[r.off-4:])
}

func (r *rd) u64(what string) uint64 {
	if !r.need(8, what) {
		return 0
	}
	r.off += 8
	return binary.LittleEndian.Uint64(r.p[r.off-8:])
}

func (r *rd) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	r.off += n
	return append([]byte(nil), r.p[r.off-n:r.off]...)
}

func (r *rd) rest() int { return len(r.p) - r.off }

// done reports the first error, or ErrLength for bytes left over.
func (r *rd) done() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.p) {
		return fmt.Errorf("%w: %s: %d bytes after the last field (payload %d bytes)", ErrLength, r.cmd, len(r.p)-r.off, len(r.p))
	}
	return nil
}

// open checks f's command and starts reading its payload.
func open(f Frame, c Cmd) (*rd, error) {
	if f.Cmd != c {
		return nil, fmt.Errorf("%w: have %s, want %s", ErrCommand, f.Cmd, c)
	}
	return &rd{cmd: c, p: f.Payload}, nil
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}
