package wmbus

import (
	"fmt"
)

// The Amber (Würth Elektronik) AMB8465/AMB8665 command interface:
//
//	0xFF | command | length | payload (length bytes) | [RSSI] | checksum
//
// The checksum is the XOR of every byte before it, 0xFF included. A
// confirmation has the request's command with bit 7 set. In command mode
// (UART_CMD_Out_Enable = 1) a received telegram arrives as CMD_DATA_IND:
// the payload is the frame from its C-field with the CRCs removed (the
// length is its L-field), and with RSSI_Enable = 1 one RSSI byte follows
// the payload, inside the checksum.

const ambSOF = 0xFF

// Amber commands.
const (
	AMBDataReq     = 0x00
	AMBDataInd     = 0x03
	AMBSetModeReq  = 0x04
	AMBResetReq    = 0x05
	AMBSetReq      = 0x09
	AMBGetReq      = 0x0A
	AMBSerialNoReq = 0x0B
	AMBFWVReq      = 0x0C
	AMBConfirm     = 0x80 // OR-ed into a request's command in its confirmation
)

// Amber non-volatile parameters (memory positions for CMD_SET_REQ and
// CMD_GET_REQ).
const (
	ambParamCmdOut = 0x05 // UART_CMD_Out_Enable: received telegrams as CMD_DATA_IND
	ambParamRSSI   = 0x45 // RSSI_Enable: append the RSSI to received telegrams
)

// Amber link mode codes for CMD_SET_MODE_REQ (collector side).
const (
	ambS2      = 0x03 // receives S1 and S1-m
	ambT2Other = 0x08 // receives T1 (and T2)
	ambC2T2    = 0x09 // receives C and T at once
	ambC2Other = 0x0E // receives C1 (and C2)
)

func ambMode(m LinkMode) (uint8, error) {
	switch m {
	case ModeS1:
		return ambS2, nil
	case ModeT1:
		return ambT2Other, nil
	case ModeC1:
		return ambC2Other, nil
	case ModeC1T1:
		return ambC2T2, nil
	}
	return 0, fmt.Errorf("%w: %s on the Amber", ErrLinkMode, m)
}

// AMBFrame is one Amber command frame.
type AMBFrame struct {
	Cmd     uint8
	Payload []byte // aliases the parsed buffer
	RSSI    uint8  // raw; valid when HasRSSI; see AMBRSSI
	HasRSSI bool
}

// IsDataInd reports whether f carries a received telegram.
func (f AMBFrame) IsDataInd() bool { return f.Cmd&^AMBConfirm == AMBDataInd }

// ParseAMB parses the Amber frame at the start of p. With rssi, a data
// indication (command 0x03, or 0x83 as some firmware sends it) carries an
// RSSI byte after its payload. It returns ErrShort when p ends within the
// frame, and errors wrapping ErrSync or ErrChecksum.
func ParseAMB(p []byte, rssi bool) (AMBFrame, int, error) {
	var f AMBFrame
	if len(p) == 0 {
		return f, 0, ErrShort
	}
	if p[0] != ambSOF {
		return f, 0, fmt.Errorf("%w: amber: byte 0x%02x is not 0xFF", ErrSync, p[0])
	}
	if len(p) < 3 {
		return f, 0, ErrShort
	}
	f.Cmd = p[1]
	n := 3 + int(p[2])
	end := n + 1
	f.HasRSSI = rssi && f.IsDataInd()
	if f.HasRSSI {
		end++
	}
	if len(p) < end {
		return f, 0, ErrShort
	}
	var x byte
	for _, b := range p[:end-1] {
		x ^= b
	}
	if x != p[end-1] {
		return f, 0, fmt.Errorf("%w: amber: command 0x%02x: checksum 0x%02x, computed 0x%02x", ErrChecksum, f.Cmd, p[end-1], x)
	}
	f.Payload = p[3:n:n]
	if f.HasRSSI {
		f.RSSI = p[n]
	}
	return f, end, nil
}

// AppendAMB appends f as an Amber frame (with its RSSI byte if HasRSSI).
func AppendAMB(dst []byte, f AMBFrame) ([]byte, error) {
	if len(f.Payload) > 255 {
		return dst, fmt.Errorf("wmbus: amber: payload of %d bytes is longer than 255", len(f.Payload))
	}
	start := len(dst)
	dst = append(dst, ambSOF, f.Cmd, byte(len(f.Payload)))
	dst = append(dst, f.Payload...)
	if f.HasRSSI {
		dst = append(dst, f.RSSI)
	}
	var x byte
	for _, b := range dst[start:] {
		x ^= b
	}
	return append(dst, x), nil
}

// AMBRSSI converts the Amber's RSSI byte (two's complement, half-dB steps,
// offset 74 dB per the module manual) to dBm.
func AMBRSSI(raw uint8) int {
	return int(int8(raw))/2 - 74
}
