package hdlc

import (
	"encoding/binary"
	"errors"
)

// Scanner finds frames in a byte stream, such as what a serial port
// delivers: Write appends received bytes, Next returns the frames one by
// one. Bytes that cannot start a frame are skipped and reported as a
// *ScanError with their stream offset, as is a frame whose HCS or FCS is
// wrong, so the caller can count line errors. Scanning resumes at the next
// flag, so one garbled frame costs only itself.
//
// A closing flag may also open the next frame (shared flags) or be
// followed by a separate opening flag; both occur.
type Scanner struct {
	buf []byte
	off int64 // stream offset of buf[0]
}

// Write appends bytes received from the line. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// Buffered returns how many bytes wait for the rest of a frame.
func (s *Scanner) Buffered() int { return len(s.buf) }

// Reset drops every buffered byte (e.g. after a line reset).
func (s *Scanner) Reset() {
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
}

// Next returns the next whole frame. It returns ok false and a nil error
// when more bytes are needed, and a *ScanError (wrapping ErrGarbage,
// ErrHCS, ErrFCS, ErrFormat or ErrAddress) after skipping bytes; call it
// again until it returns ok false. The frame's Info is a copy, the
// Scanner keeps no reference to it.
func (s *Scanner) Next() (f Frame, ok bool, err error) {
	skip, n, err := scan(s.buf)
	for err == errFlagsOnly {
		s.consume(skip)
		skip, n, err = scan(s.buf)
	}
	if skip > 0 || err != nil {
		e := &ScanError{Offset: s.off, Len: skip, Err: err}
		if e.Err == nil {
			e.Err = ErrGarbage
		}
		s.consume(skip)
		return Frame{}, false, e
	}
	if n == 0 {
		s.compact()
		return Frame{}, false, nil
	}
	raw := make([]byte, n)
	copy(raw, s.buf[:n])
	f, perr := Parse(raw)
	// Leave the closing flag: it may open the next frame.
	s.consume(n - 1)
	if perr != nil {
		return Frame{}, false, &ScanError{Offset: s.off - int64(n-1), Len: n - 1, Err: perr}
	}
	return f, true, nil
}

func (s *Scanner) consume(n int) {
	s.buf = s.buf[n:]
	s.off += int64(n)
}

// compact moves buffered bytes to the front so the buffer does not grow
// without bound over a long session.
func (s *Scanner) compact() {
	if cap(s.buf) > 4096 && len(s.buf) < cap(s.buf)/4 {
		s.buf = append([]byte(nil), s.buf...)
	}
}

// scan looks at the start of b. It returns skip > 0 when that many bytes
// are not the start of a frame (err says why when it is more than plain
// garbage), else n > 0, the length of a whole frame at b[0] with both
// flags, or n == 0 when more bytes are needed.
func scan(b []byte) (skip, n int, err error) {
	// Skip to the first flag.
	i := 0
	for i < len(b) && b[i] != Flag {
		i++
	}
	if i > 0 {
		return i, 0, nil
	}
	// Collapse repeated flags (a closing flag followed by an opening one,
	// or idle flags): the last flag before a non-flag byte opens the frame.
	j := 0
	for j+1 < len(b) && b[j+1] == Flag {
		j++
	}
	if j > 0 {
		return j, 0, errFlagsOnly
	}
	if len(b) < 3 {
		return 0, 0, nil
	}
	ff := binary.BigEndian.Uint16(b[1:])
	length := int(ff & 0x7FF)
	if ff>>12 != 0xA || length < 7 {
		return toNextFlag(b), 0, ErrFormat
	}
	if len(b) < length+2 {
		return 0, 0, nil
	}
	if b[length+1] != Flag {
		return toNextFlag(b), 0, ErrFlag
	}
	return 0, length + 2, nil
}

// errFlagsOnly marks skipped idle flags; they are not reported.
var errFlagsOnly = errors.New("hdlc: idle flags")

// toNextFlag returns the number of bytes before the next flag after b[0],
// or len(b).
func toNextFlag(b []byte) int {
	for i := 1; i < len(b); i++ {
		if b[i] == Flag {
			return i
		}
	}
	return len(b)
}
