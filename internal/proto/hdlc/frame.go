package hdlc

import (
	"encoding/binary"
	"fmt"
)

// Flag opens and closes every frame.
const Flag = 0x7E

// MaxFrameLen is the largest frame length the 11-bit length field holds
// (the bytes between the flags).
const MaxFrameLen = 0x7FF

// Frame is one HDLC frame of format type 3.
type Frame struct {
	// Segmented is the format field's S bit: more segments of the same
	// APDU follow.
	Segmented bool
	Dest      Address
	Src       Address
	Control   Control
	// Info is the information field, nil for a frame without one. Parse
	// returns it as a subslice of its input.
	Info []byte
}

// headerLen is the length from the format field to the control field.
func (f *Frame) headerLen() int {
	return 2 + int(sizeOrOne(f.Dest.Size)) + int(sizeOrOne(f.Src.Size)) + 1
}

func sizeOrOne(s uint8) uint8 {
	if s == 2 || s == 4 {
		return s
	}
	return 1
}

// Len returns the frame's length on the wire, both flags included.
func (f *Frame) Len() int {
	n := f.headerLen() + 2
	if len(f.Info) > 0 {
		n += len(f.Info) + 2
	}
	return n + 2
}

// Append appends the frame with both flags, HCS (when it has an
// information field) and FCS. An information field too long for the 11-bit
// length is the caller's error: Append then writes a frame whose length field
// is wrong; check with Len against MaxFrameLen+2 first (Link does).
func (f *Frame) Append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, Flag)
	length := f.Len() - 2
	ff := 0xA000 | length&0x7FF
	if f.Segmented {
		ff |= 0x0800
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(ff))
	dst = f.Dest.Append(dst)
	dst = f.Src.Append(dst)
	dst = append(dst, byte(f.Control))
	if len(f.Info) > 0 {
		dst = binary.LittleEndian.AppendUint16(dst, CRC(dst[start+1:]))
		dst = append(dst, f.Info...)
	}
	dst = binary.LittleEndian.AppendUint16(dst, CRC(dst[start+1:]))
	return append(dst, Flag)
}

// Parse reads exactly one frame, p holding both flags. It checks the format
// type and length, the addresses, HCS and FCS. Info aliases p.
func Parse(p []byte) (Frame, error) {
	var f Frame
	if len(p) < 9 {
		return f, fmt.Errorf("%w: %d bytes, a frame has at least 9", ErrShort, len(p))
	}
	if p[0] != Flag || p[len(p)-1] != Flag {
		return f, fmt.Errorf("%w: frame of %d bytes starts 0x%02X, ends 0x%02X", ErrFlag, len(p), p[0], p[len(p)-1])
	}
	return parseBody(p[1 : len(p)-1])
}

// parseBody reads a frame without its flags.
func parseBody(b []byte) (Frame, error) {
	var f Frame
	if len(b) < 7 {
		return f, fmt.Errorf("%w: %d bytes between the flags, at least 7 needed", ErrShort, len(b))
	}
	ff := binary.BigEndian.Uint16(b)
	if ff>>12 != 0xA {
		return f, fmt.Errorf("%w: type %X, want A (format field 0x%04X)", ErrFormat, ff>>12, ff)
	}
	if n := int(ff & 0x7FF); n != len(b) {
		return f, fmt.Errorf("%w: length field %d, %d bytes between the flags", ErrFormat, n, len(b))
	}
	f.Segmented = ff&0x0800 != 0
	i := 2
	var n int
	var err error
	if f.Dest, n, err = parseAddress(b[i : len(b)-2]); err != nil {
		return Frame{}, fmt.Errorf("destination: %w", err)
	}
	i += n
	if f.Src, n, err = parseAddress(b[i : len(b)-2]); err != nil {
		return Frame{}, fmt.Errorf("source: %w", err)
	}
	i += n
	if i >= len(b)-2 {
		return Frame{}, fmt.Errorf("%w: no control field after the addresses", ErrShort)
	}
	f.Control = Control(b[i])
	i++
	if rest := len(b) - i; rest == 2 {
		if got, want := binary.LittleEndian.Uint16(b[i:]), CRC(b[:i]); got != want {
			return Frame{}, fmt.Errorf("%w: 0x%04X, computed 0x%04X (%v from %v)", ErrFCS, got, want, f.Control, f.Src)
		}
		return f, nil
	} else if rest < 5 {
		return Frame{}, fmt.Errorf("%w: %d bytes after the control field (2, or HCS, information and FCS)", ErrShort, rest)
	}
	if got, want := binary.LittleEndian.Uint16(b[i:]), CRC(b[:i]); got != want {
		return Frame{}, fmt.Errorf("%w: 0x%04X, computed 0x%04X (%v from %v)", ErrHCS, got, want, f.Control, f.Src)
	}
	if got, want := binary.LittleEndian.Uint16(b[len(b)-2:]), CRC(b[:len(b)-2]); got != want {
		return Frame{}, fmt.Errorf("%w: 0x%04X, computed 0x%04X (%v from %v)", ErrFCS, got, want, f.Control, f.Src)
	}
	f.Info = b[i+2 : len(b)-2]
	return f, nil
}

// String summarises the frame for logs.
func (f Frame) String() string {
	s := ""
	if f.Segmented {
		s = " S"
	}
	return fmt.Sprintf("%v %v→%v%s info %d", f.Control, f.Src, f.Dest, s, len(f.Info))
}
