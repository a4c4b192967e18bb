package hdlc

import "fmt"

// Address is an HDLC address of IEC 62056-46. Each address byte carries 7
// bits of address, its lowest bit set only on the last byte.
//
// A client address is one byte: Upper is the client SAP (e.g. 16, public
// client), Lower is unused. A server address is 1, 2 or 4 bytes: Upper is
// the upper HDLC address (the logical device, 1 for the management logical
// device), Lower the lower HDLC address (the physical device address). In
// the 1-byte form only Upper is sent; in the 2-byte form each part has 7
// bits, in the 4-byte form 14 bits.
type Address struct {
	Upper uint16
	Lower uint16
	Size  uint8 // bytes on the wire: 1, 2 or 4
}

// Special address values of IEC 62056-46.
const (
	AddrNoStation  = 0x00   // no station (upper or lower)
	AddrBroadcast1 = 0x7F   // all stations, 1-byte and 2-byte forms
	AddrBroadcast2 = 0x3FFF // all stations, 4-byte form
	AddrCalling    = 0x7E   // calling physical device, 1-byte and 2-byte forms
)

// ClientAddress returns the 1-byte address of a client SAP (0…127).
func ClientAddress(sap uint8) Address { return Address{Upper: uint16(sap & 0x7F), Size: 1} }

// ServerAddress returns a server address with a logical (upper) and a
// physical (lower) address in the shortest form that holds both: 2 bytes
// when both are below 128, else 4 bytes. Use Address{Upper: l, Size: 1}
// for the 1-byte form without a physical address.
func ServerAddress(logical, physical uint16) Address {
	if logical < 0x80 && physical < 0x80 {
		return Address{Upper: logical, Lower: physical, Size: 2}
	}
	return Address{Upper: logical & 0x3FFF, Lower: physical & 0x3FFF, Size: 4}
}

// String prints the address as upper/lower (size).
func (a Address) String() string {
	if a.Size == 1 {
		return fmt.Sprintf("0x%02X", a.Upper)
	}
	return fmt.Sprintf("%d/%d(%dB)", a.Upper, a.Lower, a.Size)
}

// valid reports whether the address fits its size.
func (a Address) valid() bool {
	switch a.Size {
	case 1:
		return a.Upper < 0x80 && a.Lower == 0
	case 2:
		return a.Upper < 0x80 && a.Lower < 0x80
	case 4:
		return a.Upper < 0x4000 && a.Lower < 0x4000
	}
	return false
}

// Append appends the address bytes; an invalid address (size not 1, 2 or 4,
// or a value too big for it) is masked to fit the size, with size 0 taken
// as 1.
func (a Address) Append(dst []byte) []byte {
	switch a.Size {
	case 2:
		return append(dst, byte(a.Upper<<1)&0xFE, byte(a.Lower<<1)|1)
	case 4:
		return append(dst, byte(a.Upper>>7<<1)&0xFE, byte(a.Upper<<1)&0xFE,
			byte(a.Lower>>7<<1)&0xFE, byte(a.Lower<<1)|1)
	default:
		return append(dst, byte(a.Upper<<1)|1)
	}
}

// parseAddress reads an address at the start of p and returns it and its
// length.
func parseAddress(p []byte) (Address, int, error) {
	n := 0
	for n < len(p) && n < 4 {
		n++
		if p[n-1]&1 != 0 {
			break
		}
	}
	if n == 0 || p[n-1]&1 == 0 {
		if len(p) < 4 {
			return Address{}, 0, fmt.Errorf("%w: ends before its last byte", ErrAddress)
		}
		return Address{}, 0, fmt.Errorf("%w: no end bit in 4 bytes", ErrAddress)
	}
	switch n {
	case 1:
		return Address{Upper: uint16(p[0] >> 1), Size: 1}, 1, nil
	case 2:
		return Address{Upper: uint16(p[0] >> 1), Lower: uint16(p[1] >> 1), Size: 2}, 2, nil
	case 4:
		return Address{
			Upper: uint16(p[0]>>1)<<7 | uint16(p[1]>>1),
			Lower: uint16(p[2]>>1)<<7 | uint16(p[3]>>1),
			Size:  4,
		}, 4, nil
	}
	return Address{}, 0, fmt.Errorf("%w: %d bytes long (1, 2 or 4 allowed)", ErrAddress, n)
}
