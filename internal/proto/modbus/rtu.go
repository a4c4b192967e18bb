package modbus

import (
	"fmt"
	"time"
)

// RTU frame sizes (Modbus over Serial Line V1.02, 2.5.1.1).
const (
	MaxRTUFrame = 256 // address, PDU of up to 253 bytes, CRC
	minRTUFrame = 4   // address, function, CRC
	// BroadcastUnit is the RTU broadcast address: no server answers it.
	BroadcastUnit byte = 0
	// MaxUnit is the highest individual RTU server address (248…255 are
	// reserved).
	MaxUnit byte = 247
)

// crcTable is the CRC-16/MODBUS table (reflected polynomial 0xA001),
// computed once at package initialisation and never written again.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the CRC-16/MODBUS of p (initial value 0xFFFF, reflected
// polynomial 0xA001, no final XOR). On the wire it is sent low byte first.
func CRC16(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc = crc>>8 ^ crcTable[byte(crc)^b]
	}
	return crc
}

// AppendRTU appends an RTU frame to dst: the unit address, the PDU and the
// CRC, low byte first. It does not check the PDU.
func AppendRTU(dst []byte, unit byte, pdu []byte) []byte {
	start := len(dst)
	dst = append(dst, unit)
	dst = append(dst, pdu...)
	crc := CRC16(dst[start:])
	return append(dst, byte(crc), byte(crc>>8))
}

// ParseRTU checks an RTU frame's length and CRC and returns its unit
// address and PDU (aliasing frame).
func ParseRTU(frame []byte) (unit byte, pdu []byte, err error) {
	if len(frame) < minRTUFrame {
		return 0, nil, fmt.Errorf("%w: RTU frame of %d bytes, at least %d", ErrShort, len(frame), minRTUFrame)
	}
	if len(frame) > MaxRTUFrame {
		return 0, nil, fmt.Errorf("%w: RTU frame of %d bytes, at most %d", ErrFrame, len(frame), MaxRTUFrame)
	}
	n := len(frame) - 2
	got := uint16(frame[n]) | uint16(frame[n+1])<<8
	if want := CRC16(frame[:n]); got != want {
		return 0, nil, fmt.Errorf("%w: frame from unit %d carries %04X, computed %04X", ErrCRC, frame[0], got, want)
	}
	return frame[0], frame[1:n:n], nil
}

// AppendRTURequest appends the RTU frame of req to unit.
func AppendRTURequest(dst []byte, unit byte, req Request) ([]byte, error) {
	if unit > MaxUnit {
		return dst, fmt.Errorf("%w: unit address %d, must be 0…%d", ErrRange, unit, MaxUnit)
	}
	start := len(dst)
	dst = append(dst, unit)
	dst, err := AppendRequest(dst, req)
	if err != nil {
		return dst[:start], err
	}
	crc := CRC16(dst[start:])
	return append(dst, byte(crc), byte(crc>>8)), nil
}

// RTUResponseLen is the length of the RTU frame of a normal response to
// req (5 for an exception response, whatever the request).
func RTUResponseLen(req Request) int {
	if n := ResponseLen(req); n > 0 {
		return n + 3
	}
	return 0
}

// SplitRTUResponse finds the response of unit to req at the start of buf,
// the bytes received so far. It returns the frame's length n once it is
// complete and its CRC checks (buf[1:n-2] is then its PDU), or n = 0 and a nil error when more bytes
// are needed. Its length is read from the frame (5 bytes for an exception,
// the byte count for reads), so a reply with another register count is
// still framed and then rejected by ParseResponse as ErrMismatch. An error
// means buf does not start with the response: another unit's address or
// another function (ErrMismatch), a byte count no frame can have
// (ErrFrame), or a CRC error over the length the frame announces (ErrCRC).
// The caller then discards what it has and waits for the line to be
// silent.
func SplitRTUResponse(buf []byte, unit byte, req Request) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	if buf[0] != unit {
		return 0, fmt.Errorf("%w: frame from unit %d, expected unit %d", ErrMismatch, buf[0], unit)
	}
	if len(buf) < 2 {
		return 0, nil
	}
	var n int
	switch fn := buf[1]; {
	case fn == req.Function|ExceptionFlag:
		n = 5
	case fn != req.Function:
		return 0, fmt.Errorf("%w: function %d from unit %d, expected %d", ErrMismatch, fn, unit, req.Function)
	case fn == FuncReadHolding || fn == FuncReadInput:
		if len(buf) < 3 {
			return 0, nil
		}
		bc := int(buf[2])
		if bc%2 != 0 || bc == 0 || bc > 2*MaxReadRegisters {
			return 0, fmt.Errorf("%w: function %d byte count %d from unit %d", ErrFrame, fn, bc, unit)
		}
		n = 3 + bc + 2
	case fn == FuncWriteSingle || fn == FuncWriteMultiple:
		n = 8
	default:
		return 0, fmt.Errorf("%w: function code %d", ErrFunction, fn)
	}
	if len(buf) < n {
		return 0, nil
	}
	if _, _, err := ParseRTU(buf[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

// SplitRTURequest finds a request frame at the start of buf (what a server
// or a line monitor receives), as SplitRTUResponse does for responses: the
// frame's length once it is complete and its CRC checks, 0 and nil while
// more bytes are needed, or an error.
func SplitRTURequest(buf []byte) (int, error) {
	if len(buf) < 2 {
		return 0, nil
	}
	var n int
	switch fn := buf[1]; fn {
	case FuncReadHolding, FuncReadInput, FuncWriteSingle:
		n = 8
	case FuncWriteMultiple:
		if len(buf) < 7 {
			return 0, nil
		}
		bc := int(buf[6])
		if bc%2 != 0 || bc == 0 || bc > 2*MaxWriteRegisters {
			return 0, fmt.Errorf("%w: function 16 byte count %d", ErrFrame, bc)
		}
		n = 7 + bc + 2
	default:
		return 0, fmt.Errorf("%w: function code %d", ErrFunction, fn)
	}
	if len(buf) < n {
		return 0, nil
	}
	if _, _, err := ParseRTU(buf[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

// CharBits is the number of bits of one character on the line: a start
// bit, dataBits, a parity bit if parity is used, and stopBits. The RTU
// mode of the serial line specification uses 11 (8E1, 8O1 or 8N2); the
// 8N1 format many meters are set to has 10.
func CharBits(dataBits int, parity bool, stopBits int) int {
	n := 1 + dataBits + stopBits
	if parity {
		n++
	}
	return n
}

// CharTime is the time one character of bits bits takes at baud (0 for a
// baud rate that is not positive).
func CharTime(baud, bits int) time.Duration {
	if baud <= 0 || bits <= 0 {
		return 0
	}
	return time.Duration(int64(bits) * int64(time.Second) / int64(baud))
}

// WireTime is the time n characters of bits bits take at baud, sent back
// to back: the physical limit of a transfer.
func WireTime(n, baud, bits int) time.Duration {
	if baud <= 0 || bits <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(int64(n) * int64(bits) * int64(time.Second) / int64(baud))
}

// The fixed RTU timers above 19200 baud (Modbus over Serial Line V1.02,
// 2.5.1.1): the character-time-based values would be too short for
// the UARTs' interrupt load.
const (
	fastBaud      = 19200
	fastT15       = 750 * time.Microsecond
	fastT35       = 1750 * time.Microsecond
	interFrameNum = 7 // 3.5 = 7/2 character times
	interCharNum  = 3 // 1.5 = 3/2 character times
)

// InterFrameDelay is t3.5, the silence that separates RTU frames: 3.5
// character times at baud, and a fixed 1.75 ms above 19200 baud.
func InterFrameDelay(baud, bits int) time.Duration {
	if baud > fastBaud {
		return fastT35
	}
	return CharTime(baud, bits) * interFrameNum / 2
}

// InterCharTimeout is t1.5, the longest silence allowed between two
// characters of one RTU frame: 1.5 character times at baud, and a fixed
// 750 µs above 19200 baud.
func InterCharTimeout(baud, bits int) time.Duration {
	if baud > fastBaud {
		return fastT15
	}
	return CharTime(baud, bits) * interCharNum / 2
}
