package modbus

import (
	"encoding/binary"
	"fmt"
)

// MBAP header sizes (Modbus Messaging on TCP/IP Implementation Guide
// V1.0b, 3.1.3).
const (
	MBAPLen = 7 // transaction id, protocol id, length, unit id
	// MaxTCPFrame is the largest Modbus TCP ADU: the header and a PDU of
	// MaxPDU bytes.
	MaxTCPFrame = MBAPLen + MaxPDU
	// DefaultTCPPort is the registered Modbus TCP port.
	DefaultTCPPort = 502
	// TCPUnitDirect is the unit id addressing the TCP device itself
	// (0xFF); a gateway to RTU forwards other values as RTU addresses.
	TCPUnitDirect byte = 0xFF
)

// MBAP is the header in front of every Modbus TCP PDU.
type MBAP struct {
	Transaction uint16 // echoed by the server to pair responses with requests
	Protocol    uint16 // 0 for Modbus
	Length      uint16 // bytes that follow: the unit id and the PDU
	Unit        byte   // the RTU address behind a gateway, or 0xFF
}

// AppendTCP appends a Modbus TCP ADU to dst: the MBAP header (protocol 0,
// the length computed) and the PDU.
func AppendTCP(dst []byte, transaction uint16, unit byte, pdu []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, transaction)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(1+len(pdu)))
	dst = append(dst, unit)
	return append(dst, pdu...)
}

// ParseTCP reads one ADU from the start of p, a TCP stream's received
// bytes. It returns the header, the PDU (aliasing p) and the number of
// bytes the ADU takes, so the caller can drop them and parse what follows.
// While p holds only part of an ADU it returns ErrShort (wrapped); the
// caller reads more and tries again. A protocol id other than 0 or a
// length no PDU can have is ErrFrame: the stream cannot be resynchronised
// and the connection should be closed.
func ParseTCP(p []byte) (MBAP, []byte, int, error) {
	if len(p) < MBAPLen {
		return MBAP{}, nil, 0, fmt.Errorf("%w: MBAP header needs %d bytes, have %d", ErrShort, MBAPLen, len(p))
	}
	h := MBAP{
		Transaction: binary.BigEndian.Uint16(p),
		Protocol:    binary.BigEndian.Uint16(p[2:]),
		Length:      binary.BigEndian.Uint16(p[4:]),
		Unit:        p[6],
	}
	if h.Protocol != 0 {
		return MBAP{}, nil, 0, fmt.Errorf("%w: MBAP protocol id %d, Modbus is 0", ErrFrame, h.Protocol)
	}
	if h.Length < 2 || h.Length > 1+MaxPDU {
		return MBAP{}, nil, 0, fmt.Errorf("%w: MBAP length %d, must be 2…%d", ErrFrame, h.Length, 1+MaxPDU)
	}
	n := MBAPLen - 1 + int(h.Length)
	if len(p) < n {
		return MBAP{}, nil, 0, fmt.Errorf("%w: ADU needs %d bytes, have %d", ErrShort, n, len(p))
	}
	return h, p[MBAPLen:n:n], n, nil
}
