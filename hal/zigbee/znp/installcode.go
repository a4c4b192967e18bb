package znp

import (
	"crypto/aes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrInstallCode is returned (wrapped) by CheckInstallCode and
// InstallCodeKey for an install code of a wrong length or with a wrong
// CRC. It is permanent: the code was mistyped.
var ErrInstallCode = errors.New("znp: invalid install code")

// InstallCodeCRC is the CRC-16/X.25 of an install code (polynomial
// 0x1021 reflected, initial value 0xFFFF, final XOR 0xFFFF), which the
// Zigbee specification appends to the code least significant byte first.
func InstallCodeCRC(code []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range code {
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

// CheckInstallCode checks an install code with its CRC: 6, 8, 12 or 16
// bytes of code and two bytes of CRC-16/X.25, least significant first
// (8, 10, 14 or 18 bytes in all).
func CheckInstallCode(codeCRC []byte) error {
	switch len(codeCRC) {
	case 8, 10, 14, 18:
	default:
		return fmt.Errorf("%w: %d bytes; want 6, 8, 12 or 16 bytes of code and 2 of CRC (8, 10, 14 or 18)", ErrInstallCode, len(codeCRC))
	}
	n := len(codeCRC) - 2
	want := InstallCodeCRC(codeCRC[:n])
	if got := binary.LittleEndian.Uint16(codeCRC[n:]); got != want {
		return fmt.Errorf("%w: CRC %02X%02X does not match the code (want %02X%02X)", ErrInstallCode,
			codeCRC[n], codeCRC[n+1], byte(want), byte(want>>8))
	}
	return nil
}

// InstallCodeKey checks an install code with its CRC (CheckInstallCode)
// and derives the device's trust-centre link key from it: the
// Matyas-Meyer-Oseas hash with AES-128 of the whole code including the
// CRC (Zigbee specification, annex B.6).
func InstallCodeKey(codeCRC []byte) ([16]byte, error) {
	if err := CheckInstallCode(codeCRC); err != nil {
		return [16]byte{}, err
	}
	return MMOHash(codeCRC), nil
}

// MMOHash is the Matyas-Meyer-Oseas hash with AES-128 of the Zigbee
// specification (annex B.6) for messages shorter than 2^16 bits: the
// message is padded with a 1 bit, zero bits and its length in bits as a
// 16-bit big-endian number to a multiple of 16 bytes; then H0 = 0 and
// Hj = AES(key Hj-1, Mj) XOR Mj.
func MMOHash(msg []byte) [16]byte {
	n := len(msg)
	padded := make([]byte, 0, n+32)
	padded = append(padded, msg...)
	padded = append(padded, 0x80)
	for len(padded)%16 != 14 {
		padded = append(padded, 0)
	}
	padded = binary.BigEndian.AppendUint16(padded, uint16(n*8))
	var h, e [16]byte
	for i := 0; i < len(padded); i += 16 {
		c, err := aes.NewCipher(h[:])
		if err != nil { // a 16-byte key is always valid
			return [16]byte{}
		}
		c.Encrypt(e[:], padded[i:i+16])
		for j := range h {
			h[j] = e[j] ^ padded[i+j]
		}
	}
	return h
}
