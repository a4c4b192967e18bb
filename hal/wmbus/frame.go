package wmbus

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Frame is one wireless M-Bus link-layer frame as a receiver delivered it.
type Frame struct {
	// Data is the frame, starting with its L-field. Whether the block
	// CRCs of format A/B are still in it is CRC. Data is only valid during
	// the callback that received it: receivers reuse the buffer, so copy
	// what you keep.
	Data []byte
	// CRC says whether Data still carries the link layer's block CRCs.
	CRC CRCState
	// RSSI is the received signal strength in dBm when HasRSSI.
	RSSI    int
	HasRSSI bool
	// Time is when the gateway received the frame (its clock).
	Time time.Time
	// Mode is the link mode the frame was received in, when the receiver
	// knows it (rtl-wmbus lines, a receiver set to one mode); 0 otherwise.
	Mode LinkMode
}

// CRCState says whether a frame still carries its block CRCs.
type CRCState uint8

// CRC states.
const (
	// CRCUnknown: the source does not say (a plain hex line); the decoder
	// has to find out.
	CRCUnknown CRCState = iota
	// CRCPresent: the frame is as sent on air, CRCs included.
	CRCPresent
	// CRCStripped: the receiver checked and removed the CRCs (the iM871A
	// and Amber dongles, rtl-wmbus).
	CRCStripped
)

func (c CRCState) String() string {
	switch c {
	case CRCPresent:
		return "present"
	case CRCStripped:
		return "stripped"
	}
	return "unknown"
}

// Receiver yields frames. Run configures the device and calls fn with
// every frame received, from one goroutine, until ctx ends (then it
// returns nil) or the device fails (it returns the error; running it again
// reopens the device). fn must not block for long: the device's buffer is
// small.
type Receiver interface {
	Run(ctx context.Context, fn func(Frame)) error
}

// Stats counts what a receiver saw. Every receiver has a Stats method.
type Stats struct {
	Frames   uint64 // frames delivered to fn
	Bad      uint64 // frames or lines dropped: bad checksum, bad syntax, truncated
	Skipped  uint64 // bytes skipped while looking for the start of a frame
	LastErr  string // why the last bad frame was dropped
	Restarts uint64 // device (re)configurations after the first
}

// LinkMode is a set of EN 13757-4 link modes a receiver listens to.
type LinkMode uint8

// Link modes. C1|T1 is listening to both at once where the receiver
// supports it.
const (
	ModeS1 LinkMode = 1 << iota
	ModeT1
	ModeC1
)

// ModeC1T1 listens to C1 and T1 at once.
const ModeC1T1 = ModeC1 | ModeT1

func (m LinkMode) String() string {
	switch m {
	case 0:
		return "unknown"
	case ModeS1:
		return "S1"
	case ModeT1:
		return "T1"
	case ModeC1:
		return "C1"
	case ModeC1T1:
		return "C1/T1"
	}
	return fmt.Sprintf("LinkMode(%#x)", uint8(m))
}

// ParseLinkMode reads "S1", "T1", "C1" or "C1/T1" (also "T1/C1", "C1T1",
// "C1+T1"; any case).
func ParseLinkMode(s string) (LinkMode, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "S1", "S1-M", "S1M":
		return ModeS1, nil
	case "T1":
		return ModeT1, nil
	case "C1":
		return ModeC1, nil
	case "C1/T1", "T1/C1", "C1T1", "T1C1", "C1+T1", "T1+C1", "C1,T1", "T1,C1":
		return ModeC1T1, nil
	}
	return 0, fmt.Errorf("%w: %q (known: S1, T1, C1, C1/T1)", ErrLinkMode, s)
}
