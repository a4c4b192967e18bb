package zcl

import "fmt"

// FrameType is the frame type of the frame control field (bits 0–1).
type FrameType uint8

// Frame types.
const (
	FrameGlobal  FrameType = 0 // a global (profile-wide) command
	FrameCluster FrameType = 1 // a command specific to the cluster
)

// Direction is the direction bit of the frame control field (bit 3).
type Direction uint8

// Directions.
const (
	ClientToServer Direction = 0
	ServerToClient Direction = 1
)

// Frame control bits (ZCL 2.4.1.1).
const (
	fcTypeMask     = 0x03
	fcManufacturer = 0x04
	fcDirection    = 0x08
	fcDisableDR    = 0x10
	fcReserved     = 0xe0
)

// Header is the ZCL frame header.
type Header struct {
	Type FrameType
	// ManufacturerSpecific is set when the command is a manufacturer's
	// extension; Manufacturer is then its manufacturer code.
	ManufacturerSpecific bool
	Manufacturer         uint16
	Direction            Direction
	// DisableDefaultResponse asks the receiver not to send a Default
	// Response on success (errors are answered anyway).
	DisableDefaultResponse bool
	Seq                    uint8 // transaction sequence number
	Command                uint8
}

// Frame is a ZCL frame: its header and the command's payload.
type Frame struct {
	Header
	Payload []byte
}

// FrameControl returns the frame control byte of h.
func (h Header) FrameControl() byte {
	fc := byte(h.Type) & fcTypeMask
	if h.ManufacturerSpecific {
		fc |= fcManufacturer
	}
	if h.Direction == ServerToClient {
		fc |= fcDirection
	}
	if h.DisableDefaultResponse {
		fc |= fcDisableDR
	}
	return fc
}

// AppendHeader appends the encoded header (3 bytes, 5 when manufacturer
// specific).
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, h.FrameControl())
	if h.ManufacturerSpecific {
		dst = append(dst, byte(h.Manufacturer), byte(h.Manufacturer>>8))
	}
	return append(dst, h.Seq, h.Command)
}

// AppendFrame appends the header and payload of f.
func AppendFrame(dst []byte, f Frame) []byte {
	return append(AppendHeader(dst, f.Header), f.Payload...)
}

// ParseFrame decodes a ZCL frame. The payload aliases p. Reserved frame
// types (2, 3) are ErrMalformed; reserved frame control bits are ignored,
// as the specification asks of a receiver.
func ParseFrame(p []byte) (Frame, error) {
	var f Frame
	if len(p) < 3 {
		return f, fmt.Errorf("%w: %d bytes, a header has at least 3", ErrShort, len(p))
	}
	fc := p[0]
	f.Type = FrameType(fc & fcTypeMask)
	if f.Type > FrameCluster {
		return f, fmt.Errorf("%w: frame control 0x%02x: reserved frame type %d", ErrMalformed, fc, f.Type)
	}
	f.ManufacturerSpecific = fc&fcManufacturer != 0
	if fc&fcDirection != 0 {
		f.Direction = ServerToClient
	}
	f.DisableDefaultResponse = fc&fcDisableDR != 0
	i := 1
	if f.ManufacturerSpecific {
		if len(p) < 5 {
			return f, fmt.Errorf("%w: %d bytes, a manufacturer-specific header has 5", ErrShort, len(p))
		}
		f.Manufacturer = uint16(p[1]) | uint16(p[2])<<8
		i = 3
	}
	f.Seq, f.Command = p[i], p[i+1]
	f.Payload = p[i+2:]
	return f, nil
}

// String is a short human form: "global cmd 0x01 seq 5 s→c".
func (h Header) String() string {
	kind := "global"
	if h.Type == FrameCluster {
		kind = "cluster"
	}
	dir := "c→s"
	if h.Direction == ServerToClient {
		dir = "s→c"
	}
	s := fmt.Sprintf("%s cmd 0x%02x seq %d %s", kind, h.Command, h.Seq, dir)
	if h.ManufacturerSpecific {
		s += fmt.Sprintf(" mfr 0x%04x", h.Manufacturer)
	}
	if h.DisableDefaultResponse {
		s += " ddr"
	}
	return s
}
