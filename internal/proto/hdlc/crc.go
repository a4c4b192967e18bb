package hdlc

// The frame and header check sequences are CRC-16/X.25 (ISO/IEC 13239, as
// IEC 62056-46 specifies): polynomial x^16+x^12+x^5+1 processed LSB first
// (0x8408 reflected), initial value 0xFFFF, result complemented, sent least
// significant byte first.

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC returns the CRC-16/X.25 of p, as HCS and FCS carry it (the value
// whose low byte goes on the wire first).
func CRC(p []byte) uint16 {
	c := uint16(0xFFFF)
	for _, b := range p {
		c = c>>8 ^ crcTable[byte(c)^b]
	}
	return ^c
}
