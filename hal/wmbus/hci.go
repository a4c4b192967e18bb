package wmbus

import (
	"encoding/binary"
	"fmt"
)

// The iM871A host controller interface (IMST "WMBus HCI" specification):
//
//	SOF 0xA5 | control (4 bits) endpoint (4 bits) | message id | length |
//	payload (length bytes) | [timestamp, 4 bytes LE] | [RSSI, 1 byte] |
//	[CRC-16, 2 bytes LE]
//
// The control nibble says which optional fields follow the payload. The
// CRC-16 is the CCITT polynomial in its reflected form (0x8408), initial
// value 0xFFFF, complemented (CRC-16/X-25, check value 0x906E), over
// everything from the control field to the RSSI, and sent low byte first.

// HCI start of frame.
const hciSOF = 0xA5

// HCI control flags (the high nibble of the second byte).
const (
	HCITimestamp = 0x20 // a 4-byte timestamp follows the payload
	HCIRSSI      = 0x40 // a 1-byte RSSI follows the payload (and timestamp)
	HCICRC       = 0x80 // a CRC-16 ends the frame
	hciReserved  = 0x10
)

// HCI endpoints.
const (
	EndpointDevMgmt   = 0x01
	EndpointRadioLink = 0x02
	EndpointLinkTest  = 0x03
	EndpointHWTest    = 0x04
)

// HCI message ids of the device management endpoint.
const (
	MsgPingReq          = 0x01
	MsgPingRsp          = 0x02
	MsgSetConfigReq     = 0x03
	MsgSetConfigRsp     = 0x04
	MsgGetConfigReq     = 0x05
	MsgGetConfigRsp     = 0x06
	MsgResetReq         = 0x07
	MsgResetRsp         = 0x08
	MsgGetDeviceInfoReq = 0x0F
	MsgGetDeviceInfoRsp = 0x10
)

// HCI message ids of the radio link endpoint.
const (
	MsgWMBusReq = 0x01 // send a frame
	MsgWMBusRsp = 0x02
	MsgWMBusInd = 0x03 // a received frame: payload from the C-field, CRCs removed
)

// HCIFrame is one HCI message.
type HCIFrame struct {
	Control   uint8 // HCITimestamp | HCIRSSI | HCICRC
	Endpoint  uint8 // 0…15
	MsgID     uint8
	Payload   []byte // aliases the parsed buffer
	Timestamp uint32 // valid with HCITimestamp
	RSSI      uint8  // raw; valid with HCIRSSI; see IM871ARSSI
}

// ParseHCI parses the HCI frame at the start of p and returns it and its
// length in bytes. It returns ErrShort when p ends within the frame, and
// errors wrapping ErrSync (p[0] is not a frame start, or a reserved bit or
// an endpoint is wrong) or ErrChecksum.
func ParseHCI(p []byte) (HCIFrame, int, error) {
	var f HCIFrame
	if len(p) == 0 {
		return f, 0, ErrShort
	}
	if p[0] != hciSOF {
		return f, 0, fmt.Errorf("%w: hci: byte 0x%02x is not 0xA5", ErrSync, p[0])
	}
	if len(p) < 4 {
		return f, 0, ErrShort
	}
	f.Control = p[1] & 0xF0
	f.Endpoint = p[1] & 0x0F
	if f.Control&hciReserved != 0 {
		return f, 0, fmt.Errorf("%w: hci: reserved control bit set (0x%02x)", ErrSync, p[1])
	}
	if f.Endpoint < EndpointDevMgmt || f.Endpoint > EndpointHWTest {
		return f, 0, fmt.Errorf("%w: hci: unknown endpoint %d", ErrSync, f.Endpoint)
	}
	f.MsgID = p[2]
	n := 4 + int(p[3])
	end := n
	if f.Control&HCITimestamp != 0 {
		end += 4
	}
	if f.Control&HCIRSSI != 0 {
		end++
	}
	if f.Control&HCICRC != 0 {
		end += 2
	}
	if len(p) < end {
		return f, 0, ErrShort
	}
	f.Payload = p[4:n:n]
	i := n
	if f.Control&HCITimestamp != 0 {
		f.Timestamp = binary.LittleEndian.Uint32(p[i:])
		i += 4
	}
	if f.Control&HCIRSSI != 0 {
		f.RSSI = p[i]
		i++
	}
	if f.Control&HCICRC != 0 {
		want := crcX25(p[1:i])
		if got := binary.LittleEndian.Uint16(p[i:]); got != want {
			return HCIFrame{}, 0, fmt.Errorf("%w: hci: endpoint %d message 0x%02x: CRC 0x%04x, computed 0x%04x",
				ErrChecksum, f.Endpoint, f.MsgID, got, want)
		}
	}
	return f, end, nil
}

// AppendHCI appends f as an HCI frame to dst. A payload longer than 255
// bytes is an error.
func AppendHCI(dst []byte, f HCIFrame) ([]byte, error) {
	if len(f.Payload) > 255 {
		return dst, fmt.Errorf("wmbus: hci: payload of %d bytes is longer than 255", len(f.Payload))
	}
	if f.Endpoint > 0x0F || f.Control&0x1F != 0 {
		return dst, fmt.Errorf("wmbus: hci: bad control 0x%02x or endpoint %d", f.Control, f.Endpoint)
	}
	start := len(dst)
	dst = append(dst, hciSOF, f.Control|f.Endpoint, f.MsgID, byte(len(f.Payload)))
	dst = append(dst, f.Payload...)
	if f.Control&HCITimestamp != 0 {
		dst = binary.LittleEndian.AppendUint32(dst, f.Timestamp)
	}
	if f.Control&HCIRSSI != 0 {
		dst = append(dst, f.RSSI)
	}
	if f.Control&HCICRC != 0 {
		dst = binary.LittleEndian.AppendUint16(dst, crcX25(dst[start+1:]))
	}
	return dst, nil
}

// crcX25 is CRC-16/X-25: poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF.
func crcX25(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// IM871ARSSI converts the iM871A's raw RSSI to dBm: a straight line
// through the module's RSSI curve (raw 45 ≈ −100 dBm, raw 205 ≈ −20 dBm),
// at most 0 dBm.
func IM871ARSSI(raw uint8) int {
	dbm := (int(raw) - 245) / 2
	return min(dbm, 0)
}

// IM871A link mode codes (DEVMGMT SET_CONFIG, link mode parameter).
const (
	im871aS1   = 0x00
	im871aT1   = 0x03
	im871aC1A  = 0x06
	im871aC1T1 = 0x0A // C1 and T1 at once: firmware 0x14 and later
)

// im871aMode maps a link mode to the iM871A's code.
func im871aMode(m LinkMode, firmware uint8) (uint8, error) {
	switch m {
	case ModeS1:
		return im871aS1, nil
	case ModeT1:
		return im871aT1, nil
	case ModeC1:
		return im871aC1A, nil
	case ModeC1T1:
		if firmware != 0 && firmware < 0x14 {
			return 0, fmt.Errorf("%w: iM871A firmware 0x%02x cannot listen to C1 and T1 at once (needs 0x14 or later)", ErrLinkMode, firmware)
		}
		return im871aC1T1, nil
	}
	return 0, fmt.Errorf("%w: %s on the iM871A", ErrLinkMode, m)
}
