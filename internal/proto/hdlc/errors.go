package hdlc

import (
	"errors"
	"fmt"
)

// Errors returned (wrapped, with what and where) by this package. All are
// permanent for the frame concerned: a frame that fails one of these checks
// is discarded, and retrying the same bytes fails the same way.
var (
	// ErrShort is returned when bytes end before the frame does.
	ErrShort = errors.New("hdlc: frame too short")
	// ErrFlag is returned when a frame does not begin or end with the 0x7E flag.
	ErrFlag = errors.New("hdlc: missing flag")
	// ErrFormat is returned when the format field is not type 3 (0xA) or its
	// length does not match the frame.
	ErrFormat = errors.New("hdlc: bad format field")
	// ErrAddress is returned when an address is malformed (no end bit within
	// 4 bytes, or a length other than 1, 2 or 4 bytes).
	ErrAddress = errors.New("hdlc: bad address")
	// ErrHCS is returned when the header check sequence does not match.
	ErrHCS = errors.New("hdlc: bad HCS")
	// ErrFCS is returned when the frame check sequence does not match.
	ErrFCS = errors.New("hdlc: bad FCS")
	// ErrParams is returned when the information field of SNRM or UA does
	// not hold well-formed negotiation parameters.
	ErrParams = errors.New("hdlc: bad negotiation parameters")
	// ErrLLC is returned when an APDU does not start with the expected LLC header.
	ErrLLC = errors.New("hdlc: bad LLC header")
	// ErrGarbage is returned by Scanner for bytes that are not part of any frame.
	ErrGarbage = errors.New("hdlc: bytes outside a frame")
	// ErrState is returned by Link when asked to do something its state
	// does not allow (send before connect, a second APDU while one is in flight).
	ErrState = errors.New("hdlc: not allowed in this link state")
	// ErrProtocol is returned by Link for a received frame that breaks the
	// protocol (unexpected kind, FRMR, DM, acknowledgement of a frame never sent).
	ErrProtocol = errors.New("hdlc: protocol error")
	// ErrTooLong is returned when an APDU is larger than the link reassembles
	// (LinkConfig.MaxAPDU).
	ErrTooLong = errors.New("hdlc: APDU too long")
)

// ScanError is what Scanner returns for bytes it had to skip: garbage
// between frames or a frame whose check sequence failed. Offset is the
// position of the first skipped byte in the stream (counting every byte
// written to the Scanner from 0), Len how many bytes were skipped, Err the
// cause (ErrGarbage, ErrHCS, ErrFCS, ErrFormat, ErrAddress).
type ScanError struct {
	Offset int64
	Len    int
	Err    error
}

func (e *ScanError) Error() string {
	return fmt.Sprintf("%v (%d bytes skipped at stream offset %d)", e.Err, e.Len, e.Offset)
}

func (e *ScanError) Unwrap() error { return e.Err }
