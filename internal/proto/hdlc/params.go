package hdlc

import (
	"encoding/binary"
	"fmt"
)

// Params are the HDLC parameters negotiated in the information field of
// SNRM and UA (IEC 62056-46 6.4.4.4.3.2, format identifier 0x81, group
// 0x80). Each is from the sender's point of view: in a SNRM the client's,
// in a UA the server's. A zero value means "not sent", which stands for
// the default (DefaultMaxInfo, DefaultWindow).
type Params struct {
	MaxInfoTx uint32 // maximum information field length, transmit (0x05)
	MaxInfoRx uint32 // maximum information field length, receive (0x06)
	WindowTx  uint32 // window size, transmit (0x07)
	WindowRx  uint32 // window size, receive (0x08)
}

// Defaults of IEC 62056-46 for a parameter not negotiated.
const (
	DefaultMaxInfo = 128
	DefaultWindow  = 1
	// MaxWindow is the largest window modulo-8 numbering allows.
	MaxWindow = 7
	// MaxInfo is the largest information field a frame can carry with
	// 4-byte server and 1-byte client addresses.
	MaxInfo = MaxFrameLen - 2 - 4 - 1 - 1 - 2 - 2
)

const (
	paramFormat = 0x81
	paramGroup  = 0x80
	parMaxTx    = 0x05
	parMaxRx    = 0x06
	parWinTx    = 0x07
	parWinRx    = 0x08
)

// Effective returns p with every unsent parameter replaced by its default.
func (p Params) Effective() Params {
	d := func(v, def uint32) uint32 {
		if v == 0 {
			return def
		}
		return v
	}
	return Params{d(p.MaxInfoTx, DefaultMaxInfo), d(p.MaxInfoRx, DefaultMaxInfo), d(p.WindowTx, DefaultWindow), d(p.WindowRx, DefaultWindow)}
}

// Append appends the information field carrying p, or nothing when no
// parameter is set. Information field lengths take 1 byte below 256, else
// 2 (4 above 65535); window sizes take 4 bytes, as the Green Book's
// examples and common implementations send them.
func (p Params) Append(dst []byte) []byte {
	if p == (Params{}) {
		return dst
	}
	start := len(dst)
	dst = append(dst, paramFormat, paramGroup, 0)
	put := func(id byte, v uint32, win bool) {
		if v == 0 {
			return
		}
		switch {
		case win || v > 0xFFFF:
			dst = append(dst, id, 4)
			dst = binary.BigEndian.AppendUint32(dst, v)
		case v > 0xFF:
			dst = append(dst, id, 2)
			dst = binary.BigEndian.AppendUint16(dst, uint16(v))
		default:
			dst = append(dst, id, 1, byte(v))
		}
	}
	put(parMaxTx, p.MaxInfoTx, false)
	put(parMaxRx, p.MaxInfoRx, false)
	put(parWinTx, p.WindowTx, true)
	put(parWinRx, p.WindowRx, true)
	dst[start+2] = byte(len(dst) - start - 3)
	return dst
}

// ParseParams reads the information field of SNRM or UA. An empty field
// is all defaults (a zero Params). Unknown parameters inside the group are
// skipped; values of 1, 2 or 4 bytes are accepted.
func ParseParams(info []byte) (Params, error) {
	var p Params
	if len(info) == 0 {
		return p, nil
	}
	if len(info) < 3 {
		return p, fmt.Errorf("%w: %d bytes", ErrParams, len(info))
	}
	if info[0] != paramFormat || info[1] != paramGroup {
		return p, fmt.Errorf("%w: format 0x%02X group 0x%02X, want 0x81 0x80", ErrParams, info[0], info[1])
	}
	if n := int(info[2]); n != len(info)-3 {
		return p, fmt.Errorf("%w: group length %d, %d bytes follow", ErrParams, n, len(info)-3)
	}
	b := info[3:]
	for i := 0; i < len(b); {
		if i+2 > len(b) {
			return Params{}, fmt.Errorf("%w: parameter at %d cut short", ErrParams, i+3)
		}
		id, n := b[i], int(b[i+1])
		i += 2
		if i+n > len(b) {
			return Params{}, fmt.Errorf("%w: parameter 0x%02X of %d bytes at %d cut short", ErrParams, id, n, i+1)
		}
		var v uint32
		switch n {
		case 1:
			v = uint32(b[i])
		case 2:
			v = uint32(binary.BigEndian.Uint16(b[i:]))
		case 4:
			v = binary.BigEndian.Uint32(b[i:])
		default:
			if id >= parMaxTx && id <= parWinRx {
				return Params{}, fmt.Errorf("%w: parameter 0x%02X has %d bytes (1, 2 or 4 allowed)", ErrParams, id, n)
			}
		}
		switch id {
		case parMaxTx:
			p.MaxInfoTx = v
		case parMaxRx:
			p.MaxInfoRx = v
		case parWinTx:
			p.WindowTx = v
		case parWinRx:
			p.WindowRx = v
		}
		i += n
	}
	return p, nil
}
