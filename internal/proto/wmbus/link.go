package wmbus

import (
	"errors"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// lenA returns the length on the wire of a format A frame whose L field
// is l: the L+1 data bytes and a CRC after the first 10 bytes and after
// every 16 bytes that follow (the last block may be shorter).
func lenA(l int) int {
	if l < 9 {
		return -1
	}
	rest := l + 1 - 10
	return l + 1 + 2 + 2*((rest+15)/16)
}

// Detect tells the layout of a frame: a wired M-Bus long frame, format A
// (its length matches the A layout and its first block CRC checks),
// format B (L+1 bytes whose block CRCs check) or stripped (L+1 bytes
// otherwise). It returns FormatAuto when none fits.
func Detect(frame []byte) FrameFormat {
	if mbus.IsLongFrame(frame) {
		return FormatMBus
	}
	if len(frame) < 11 {
		return FormatAuto
	}
	l := int(frame[0])
	if len(frame) == l+1 {
		if okB(frame) {
			return FormatB
		}
		return FormatNoCRC
	}
	if len(frame) == lenA(l) && crcOK(frame, 10) {
		return FormatA
	}
	return FormatAuto
}

// okB reports whether the block CRCs of a format B frame check.
func okB(f []byte) bool {
	n := len(f)
	switch {
	case n < 12:
		return false
	case n <= 128:
		return crcOK(f, n-2)
	case n < 131:
		return false
	}
	return crcOK(f, 126) && crcOK(f[128:], n-128-2)
}

// checkB verifies the block CRCs of a format B frame (L+1 bytes long).
func checkB(f []byte) error {
	n := len(f)
	if n < 12 {
		return errAt(n, ErrTruncated, "format B frame of %d bytes", n)
	}
	if n <= 128 {
		if !crcOK(f, n-2) {
			return errAt(n-2, ErrCRC, "format B block 2 CRC")
		}
		return nil
	}
	if !crcOK(f, 126) {
		return errAt(126, ErrCRC, "format B block 2 CRC")
	}
	if n < 131 {
		return errAt(n, ErrTruncated, "format B block 3 of %d bytes", n-128)
	}
	if !crcOK(f[128:], n-128-2) {
		return errAt(n-2, ErrCRC, "format B block 3 CRC")
	}
	return nil
}

// strip removes the link-layer CRCs of frame into dst (reused) and
// returns the stripped frame (L C M M A A A A A A CI …, with L fixed to
// its length - 1) and the format. A wired M-Bus long frame is returned
// as its own bytes, unchanged.
func strip(dst, frame []byte, format FrameFormat) ([]byte, FrameFormat, error) {
	if format == FormatAuto {
		format = Detect(frame)
		if format == FormatAuto {
			if len(frame) == 0 {
				return nil, format, errAt(0, ErrTruncated, "empty frame")
			}
			if len(frame) < 11 {
				return nil, format, errAt(len(frame), ErrTruncated, "frame of %d bytes is shorter than a link-layer header and CI", len(frame))
			}
			l := int(frame[0])
			if len(frame) == lenA(l) {
				// the length of format A, and its first block's CRC fails
				return nil, format, errAt(10, ErrCRC, "format A block 1 CRC (a frame of the format A length %d)", len(frame))
			}
			if len(frame) > l+1 {
				// Stripped with bytes after the L field's end (some
				// receivers append RSSI or padding): keep L+1.
				format = FormatNoCRC
			} else {
				return nil, format, errAt(len(frame), ErrTruncated, "L field %d needs %d bytes (or %d with format A CRCs), have %d", l, l+1, lenA(l), len(frame))
			}
		}
	}
	switch format {
	case FormatMBus:
		if _, err := mbus.ParseFrame(frame); err != nil {
			var me *mbus.Error
			if errors.As(err, &me) && errors.Is(err, mbus.ErrFrame) {
				return nil, format, errAt(me.Pos, ErrCRC, "wired M-Bus frame: %s", me.Reason)
			}
			return nil, format, shift(err, 0)
		}
		return append(dst[:0], frame...), format, nil
	case FormatNoCRC:
		if len(frame) < 11 {
			return nil, format, errAt(len(frame), ErrTruncated, "frame of %d bytes is shorter than a link-layer header and CI", len(frame))
		}
		l := int(frame[0])
		if len(frame) < l+1 {
			return nil, format, errAt(len(frame), ErrTruncated, "L field %d needs %d bytes, have %d", l, l+1, len(frame))
		}
		if l < 10 {
			return nil, format, errAt(0, ErrLength, "L field %d is below 10", l)
		}
		return append(dst[:0], frame[:l+1]...), format, nil
	case FormatA:
		if len(frame) < 12 {
			return nil, format, errAt(len(frame), ErrTruncated, "format A frame of %d bytes", len(frame))
		}
		l := int(frame[0])
		want := lenA(l)
		if l < 10 {
			return nil, format, errAt(0, ErrLength, "L field %d is below 10", l)
		}
		if len(frame) < want {
			return nil, format, errAt(len(frame), ErrTruncated, "L field %d needs %d bytes in format A, have %d", l, want, len(frame))
		}
		if !crcOK(frame, 10) {
			return nil, format, errAt(10, ErrCRC, "format A block 1 CRC")
		}
		dst = append(dst[:0], frame[:10]...)
		for p := 12; p < want; {
			n := min(16, want-p-2)
			if !crcOK(frame[p:], n) {
				return nil, format, errAt(p+n, ErrCRC, "format A block %d CRC", len(dst)/16+2)
			}
			dst = append(dst, frame[p:p+n]...)
			p += n + 2
		}
		return dst, format, nil
	case FormatB:
		l := int(frame[0])
		if len(frame) < l+1 {
			return nil, format, errAt(len(frame), ErrTruncated, "L field %d needs %d bytes, have %d", l, l+1, len(frame))
		}
		f := frame[:l+1]
		if err := checkB(f); err != nil {
			return nil, format, err
		}
		if len(f) <= 128 {
			dst = append(dst[:0], f[:len(f)-2]...)
		} else {
			dst = append(dst[:0], f[:126]...)
			dst = append(dst, f[128:len(f)-2]...)
		}
		if len(dst) < 11 {
			return nil, format, errAt(len(f), ErrTruncated, "format B frame without CI")
		}
		dst[0] = byte(len(dst) - 1)
		return dst, format, nil
	}
	return nil, format, errAt(0, ErrUnsupported, "frame format %v", format)
}
