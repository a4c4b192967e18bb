package wmbus

// crcTable is the table of the EN 13757-4 CRC: polynomial
// x^16+x^13+x^12+x^11+x^10+x^8+x^6+x^5+x^2+1 (0x3D65), initial value 0,
// not reflected, the result complemented.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x3D65
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crcTable2 advances the CRC by two bytes at once: for x = c ^ (b0<<8 |
// b1), the next value is crcTable[x&0xFF] ^ crcTable2[x>>8] (the table is
// linear, so the two lookups are independent).
var crcTable2 = func() (t [256]uint16) {
	for h := range t {
		v := crcTable[h]
		t[h] = (v&0xFF)<<8 ^ crcTable[v>>8]
	}
	return t
}()

// CRC returns the EN 13757-4 CRC of p (as sent: high byte first).
func CRC(p []byte) uint16 {
	var c uint16
	for len(p) >= 2 {
		x := c ^ (uint16(p[0])<<8 | uint16(p[1]))
		c = crcTable[byte(x)] ^ crcTable2[x>>8]
		p = p[2:]
	}
	for _, b := range p {
		c = c<<8 ^ crcTable[byte(c>>8)^b]
	}
	return ^c
}

// crcOK reports whether the two bytes at p[n:n+2] are the CRC of p[:n].
func crcOK(p []byte, n int) bool {
	c := CRC(p[:n])
	return p[n] == byte(c>>8) && p[n+1] == byte(c)
}
