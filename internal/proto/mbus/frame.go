package mbus

// Frame is a wired M-Bus long (or control) frame of EN 13757-2:
// 68 L L 68 C A CI data… CS 16. The link-layer procedures (FCB,
// SND_NKE, addressing) are not this package's; it only checks and splits
// the frame.
type Frame struct {
	C    byte   // control field
	A    byte   // primary address
	CI   byte   // control information
	Data []byte // the bytes after CI up to the checksum; aliases the input
}

// IsLongFrame reports whether p looks like a long frame: start bytes, both
// L fields equal, and the length matching. It does not check the checksum.
func IsLongFrame(p []byte) bool {
	return len(p) >= 9 && p[0] == 0x68 && p[3] == 0x68 && p[1] == p[2] && len(p) == int(p[1])+6
}

// ParseFrame checks and splits a long frame; errors wrap ErrFrame or
// ErrTruncated and name the position.
func ParseFrame(p []byte) (Frame, error) {
	if len(p) < 4 {
		return Frame{}, errAt(len(p), ErrTruncated, "long frame shorter than its 4-byte header")
	}
	if p[0] != 0x68 || p[3] != 0x68 {
		return Frame{}, errAt(0, ErrFrame, "start bytes %02X…%02X, want 68 L L 68", p[0], p[3])
	}
	if p[1] != p[2] {
		return Frame{}, errAt(2, ErrFrame, "L fields differ: %d and %d", p[1], p[2])
	}
	l := int(p[1])
	if l < 3 {
		return Frame{}, errAt(1, ErrFrame, "L %d is below 3 (C, A, CI)", l)
	}
	if len(p) < l+6 {
		return Frame{}, errAt(len(p), ErrTruncated, "L %d needs %d bytes, have %d", l, l+6, len(p))
	}
	if len(p) > l+6 {
		return Frame{}, errAt(l+6, ErrFrame, "%d bytes after the stop byte", len(p)-l-6)
	}
	var sum byte
	for _, b := range p[4 : 4+l] {
		sum += b
	}
	if p[4+l] != sum {
		return Frame{}, errAt(4+l, ErrFrame, "checksum %02X, computed %02X", p[4+l], sum)
	}
	if p[5+l] != 0x16 {
		return Frame{}, errAt(5+l, ErrFrame, "stop byte %02X, want 16", p[5+l])
	}
	return Frame{C: p[4], A: p[5], CI: p[6], Data: p[7 : 4+l]}, nil
}

// AppendFrame appends a long frame with the given fields and computed
// checksum; data must be at most 252 bytes.
func AppendFrame(dst []byte, f Frame) []byte {
	l := byte(3 + len(f.Data))
	dst = append(dst, 0x68, l, l, 0x68, f.C, f.A, f.CI)
	dst = append(dst, f.Data...)
	sum := f.C + f.A + f.CI
	for _, b := range f.Data {
		sum += b
	}
	return append(dst, sum, 0x16)
}
