package znp

import (
	"errors"
	"fmt"
)

// SOF is the start-of-frame byte of every MT frame.
const SOF = 0xFE

// MaxPayload is the largest Data field an MT frame carries over the UART.
const MaxPayload = 250

// Overhead is the number of bytes a frame adds to its payload: SOF, Len,
// Cmd0, Cmd1 and FCS.
const Overhead = 5

// Errors of this package.
var (
	// ErrTooLong is returned (wrapped) by AppendFrame and the message
	// encoders when a payload exceeds MaxPayload. It is permanent.
	ErrTooLong = errors.New("znp: payload longer than 250 bytes")
	// ErrShort is returned (wrapped) by ParseFrame when p holds less than
	// a whole frame, and by the Parse functions when a payload is shorter
	// than its command needs.
	ErrShort = errors.New("znp: too short")
	// ErrFCS is returned (wrapped) when a frame's check byte is wrong.
	ErrFCS = errors.New("znp: bad FCS")
	// ErrLength is returned (wrapped) when a frame's Len field is over 250
	// or disagrees with the bytes that follow it, and when a payload is
	// longer than its command allows.
	ErrLength = errors.New("znp: wrong length")
	// ErrNoSOF is returned (wrapped) by ParseFrame when p does not start
	// with SOF, and reported by Decoder for garbage between frames.
	ErrNoSOF = errors.New("znp: no start of frame")
	// ErrCommand is returned (wrapped) by the Parse functions when the
	// frame is not the command they read.
	ErrCommand = errors.New("znp: unexpected command")
)

// Type is the frame type in bits 7…5 of Cmd0.
type Type uint8

// Frame types.
const (
	POLL Type = 0 // poll of queued data (SPI only)
	SREQ Type = 1 // synchronous request; the co-processor answers with SRSP at once
	AREQ Type = 2 // asynchronous request or indication
	SRSP Type = 3 // synchronous response to an SREQ
)

func (t Type) String() string {
	switch t {
	case POLL:
		return "POLL"
	case SREQ:
		return "SREQ"
	case AREQ:
		return "AREQ"
	case SRSP:
		return "SRSP"
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// Subsystem is the MT subsystem in bits 4…0 of Cmd0.
type Subsystem uint8

// Subsystems.
const (
	RPCError Subsystem = 0x00
	SYS      Subsystem = 0x01
	MAC      Subsystem = 0x02
	NWK      Subsystem = 0x03
	AF       Subsystem = 0x04
	ZDO      Subsystem = 0x05
	SAPI     Subsystem = 0x06
	UTIL     Subsystem = 0x07
	DEBUG    Subsystem = 0x08
	APP      Subsystem = 0x09
	APPCNF   Subsystem = 0x0F
	GP       Subsystem = 0x15
)

func (s Subsystem) String() string {
	switch s {
	case RPCError:
		return "RPC_ERROR"
	case SYS:
		return "SYS"
	case MAC:
		return "MAC"
	case NWK:
		return "NWK"
	case AF:
		return "AF"
	case ZDO:
		return "ZDO"
	case SAPI:
		return "SAPI"
	case UTIL:
		return "UTIL"
	case DEBUG:
		return "DEBUG"
	case APP:
		return "APP"
	case APPCNF:
		return "APP_CNF"
	case GP:
		return "GP"
	}
	return fmt.Sprintf("subsys0x%02X", uint8(s))
}

// Cmd identifies a command: Cmd0 in the high byte, Cmd1 in the low byte.
type Cmd uint16

// NewCmd makes a Cmd from its parts.
func NewCmd(t Type, s Subsystem, id uint8) Cmd {
	return Cmd(uint16(uint8(t)&7)<<13 | uint16(uint8(s)&0x1F)<<8 | uint16(id))
}

// Cmd0 is the first command byte: type and subsystem.
func (c Cmd) Cmd0() byte { return byte(c >> 8) }

// Cmd1 is the command id.
func (c Cmd) Cmd1() byte { return byte(c) }

// Type is the frame type.
func (c Cmd) Type() Type { return Type(c >> 13) }

// Subsystem is the MT subsystem.
func (c Cmd) Subsystem() Subsystem { return Subsystem(c>>8) & 0x1F }

// ID is the command id within the subsystem (Cmd1).
func (c Cmd) ID() uint8 { return uint8(c) }

// Response is the SRSP that answers the SREQ c.
func (c Cmd) Response() Cmd { return NewCmd(SRSP, c.Subsystem(), c.ID()) }

// Request is the SREQ that c (an SRSP) answers.
func (c Cmd) Request() Cmd { return NewCmd(SREQ, c.Subsystem(), c.ID()) }

func (c Cmd) String() string {
	if n, ok := cmdNames[c]; ok {
		return n
	}
	if n, ok := cmdNames[c.Request()]; ok && c.Type() == SRSP {
		return n + " SRSP"
	}
	return fmt.Sprintf("%s %s 0x%02X", c.Type(), c.Subsystem(), c.ID())
}

// Frame is one MT frame: its command and its Data field.
type Frame struct {
	Cmd     Cmd
	Payload []byte
}

func (f Frame) String() string {
	return fmt.Sprintf("%s [% X]", f.Cmd, f.Payload)
}

// fcs is the XOR of b.
func fcs(x byte, b []byte) byte {
	for _, c := range b {
		x ^= c
	}
	return x
}

// AppendFrame appends f's wire form to dst.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if len(f.Payload) > MaxPayload {
		return dst, fmt.Errorf("%w: %s has %d", ErrTooLong, f.Cmd, len(f.Payload))
	}
	n := byte(len(f.Payload))
	dst = append(dst, SOF, n, f.Cmd.Cmd0(), f.Cmd.Cmd1())
	dst = append(dst, f.Payload...)
	return append(dst, fcs(n^f.Cmd.Cmd0()^f.Cmd.Cmd1(), f.Payload)), nil
}

// ParseFrame reads the frame at the start of p and returns it with the
// number of bytes it took. The payload aliases p.
func ParseFrame(p []byte) (Frame, int, error) {
	if len(p) == 0 {
		return Frame{}, 0, fmt.Errorf("%w: empty input", ErrShort)
	}
	if p[0] != SOF {
		return Frame{}, 0, fmt.Errorf("%w: first byte 0x%02X", ErrNoSOF, p[0])
	}
	if len(p) < 2 {
		return Frame{}, 0, fmt.Errorf("%w: frame has no length byte", ErrShort)
	}
	n := int(p[1])
	if n > MaxPayload {
		return Frame{}, 0, fmt.Errorf("%w: length field %d exceeds %d", ErrLength, n, MaxPayload)
	}
	if len(p) < n+Overhead {
		return Frame{}, 0, fmt.Errorf("%w: length field %d needs %d bytes, have %d", ErrShort, n, n+Overhead, len(p))
	}
	want := fcs(0, p[1:n+4])
	if got := p[n+4]; got != want {
		return Frame{}, 0, fmt.Errorf("%w: 0x%02X, computed 0x%02X", ErrFCS, got, want)
	}
	return Frame{Cmd: Cmd(uint16(p[2])<<8 | uint16(p[3])), Payload: p[4 : n+4 : n+4]}, n + Overhead, nil
}

// FrameError reports bytes the Decoder skipped: garbage before a SOF, a
// frame with a bad FCS or length, or a frame cut short. Err wraps one of
// ErrNoSOF, ErrFCS, ErrLength.
type FrameError struct {
	Offset  int64 // stream offset of the first skipped byte
	Skipped int   // number of bytes skipped
	What    string
	Err     error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("znp: stream offset %d: %s (%d bytes skipped)", e.Offset, e.What, e.Skipped)
}

func (e *FrameError) Unwrap() error { return e.Err }

// Decoder splits a byte stream into frames. Write bytes as they arrive,
// then call Next until it returns ok false. A frame with a bad FCS is
// dropped by skipping only its SOF byte and searching for the next SOF,
// so a good frame hidden behind a corrupted or wrongly sized one is still
// found. The zero Decoder is ready to use; it is not safe for concurrent
// use.
type Decoder struct {
	buf []byte
	off int64 // stream offset of buf[0]
}

// Write appends p to the decoder's buffer. It never fails.
func (d *Decoder) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Buffered is the number of bytes held: a partial frame or not yet
// examined input.
func (d *Decoder) Buffered() int { return len(d.buf) }

// Offset is the stream offset of the next byte Next examines.
func (d *Decoder) Offset() int64 { return d.off }

func (d *Decoder) skip(n int) {
	d.off += int64(n)
	d.buf = d.buf[n:]
	if len(d.buf) == 0 {
		d.buf = d.buf[:0:0] // let a large buffer go
	}
}

// Next returns the next frame (ok true, err nil), or a *FrameError for
// bytes it skipped (ok false, err non-nil; call Next again), or ok false
// and err nil when it needs more input. A frame's payload is a copy.
func (d *Decoder) Next() (f Frame, ok bool, err error) {
	if len(d.buf) == 0 {
		return Frame{}, false, nil
	}
	if d.buf[0] != SOF {
		i := 1
		for i < len(d.buf) && d.buf[i] != SOF {
			i++
		}
		e := &FrameError{Offset: d.off, Skipped: i, Err: ErrNoSOF,
			What: fmt.Sprintf("garbage before start of frame (first byte 0x%02X)", d.buf[0])}
		d.skip(i)
		return Frame{}, false, e
	}
	if len(d.buf) < 2 {
		return Frame{}, false, nil
	}
	n := int(d.buf[1])
	if n > MaxPayload {
		e := &FrameError{Offset: d.off, Skipped: 1, Err: ErrLength,
			What: fmt.Sprintf("length field %d exceeds %d", n, MaxPayload)}
		d.skip(1)
		return Frame{}, false, e
	}
	if len(d.buf) < n+Overhead {
		return Frame{}, false, nil
	}
	want := fcs(0, d.buf[1:n+4])
	if got := d.buf[n+4]; got != want {
		e := &FrameError{Offset: d.off, Skipped: 1, Err: ErrFCS,
			What: fmt.Sprintf("bad FCS 0x%02X (computed 0x%02X) in frame of length %d, cmd %s", got, want, n,
				Cmd(uint16(d.buf[2])<<8|uint16(d.buf[3])))}
		d.skip(1)
		return Frame{}, false, e
	}
	f = Frame{Cmd: Cmd(uint16(d.buf[2])<<8 | uint16(d.buf[3])), Payload: append([]byte(nil), d.buf[4:n+4]...)}
	d.skip(n + Overhead)
	return f, true, nil
}

// Stale reports the partial frame held when the line has gone quiet:
// call it when no byte arrived for longer than a frame takes (the driver
// uses a read timeout). A partial frame's length field was wrong (it
// promised more than came), so its SOF is skipped and the rest rescanned;
// Stale returns the *FrameError for it, or nil when nothing was pending.
func (d *Decoder) Stale() error {
	if len(d.buf) == 0 || d.buf[0] != SOF {
		return nil
	}
	have := len(d.buf)
	want := Overhead
	if have >= 2 {
		want = int(d.buf[1]) + Overhead
	}
	e := &FrameError{Offset: d.off, Skipped: 1, Err: ErrLength,
		What: fmt.Sprintf("frame cut short: have %d of %d bytes the length field promised", have, want)}
	d.skip(1)
	return e
}

// Reset drops everything buffered.
func (d *Decoder) Reset() {
	d.off += int64(len(d.buf))
	d.buf = nil
}
