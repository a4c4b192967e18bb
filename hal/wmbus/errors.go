package wmbus

import "errors"

// Errors of this package. Receivers and parsers return them wrapped, with
// the device or line and what was wrong; test with errors.Is. ErrLinkMode
// and ErrLine are permanent (the configuration or the input is wrong);
// ErrGone and a receiver's timeouts may pass (Run again); ErrShort, ErrSync
// and ErrChecksum are the framing parsers' verdicts, which the receivers
// count and recover from.
var (
	// ErrLinkMode is returned (wrapped) for a link mode a receiver does
	// not support, and by ParseLinkMode for an unknown name.
	ErrLinkMode = errors.New("wmbus: unsupported link mode")
	// ErrShort is returned when p holds the start of a frame but not all
	// of it: read more and parse again.
	ErrShort = errors.New("wmbus: frame incomplete")
	// ErrSync is returned (wrapped) when p does not start with a frame:
	// skip a byte and look for the next start.
	ErrSync = errors.New("wmbus: not at the start of a frame")
	// ErrChecksum is returned (wrapped) when a complete frame's CRC or
	// checksum is wrong: skip a byte and look for the next start (the
	// frame's length may have been garbled too).
	ErrChecksum = errors.New("wmbus: bad frame checksum")
	// ErrGone is returned (wrapped) by Run when the device went away (a
	// USB dongle unplugged: its file disappeared or reads fail with EIO).
	// Running again retries the device.
	ErrGone = errors.New("wmbus: the receiver is gone")
	// ErrEnd is returned by a Lines receiver's Run when its source ended
	// (the end of a file, or the writer closed the pipe). Running it again
	// reads a file again from its start.
	ErrEnd = errors.New("wmbus: the line source ended")
	// ErrLine is returned (wrapped) by ParseLine for a line it cannot read.
	ErrLine = errors.New("wmbus: bad telegram line")
)
