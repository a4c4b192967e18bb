package wmbus

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// scratch holds the blocks the cipher helpers work in. Passing arrays on
// the stack to cipher.Block's methods would move them to the heap on
// every call; a Decoder owns one scratch instead.
type scratch struct {
	a, b, c, d, e [16]byte
}

// cbcDecrypt decrypts p (a multiple of 16 bytes) in place with AES-CBC.
func cbcDecrypt(b cipher.Block, iv [16]byte, p []byte, s *scratch) {
	prev, ct, pt := s.a[:], s.b[:], s.c[:]
	copy(prev, iv[:])
	for i := 0; i+16 <= len(p); i += 16 {
		copy(ct, p[i:i+16])
		b.Decrypt(pt, ct)
		subtle.XORBytes(p[i:i+16], pt, prev)
		copy(prev, ct)
	}
}

// cbcEncrypt encrypts p (a multiple of 16 bytes) in place; for tests and
// simulators.
func cbcEncrypt(b cipher.Block, iv [16]byte, p []byte) {
	prev := iv
	for i := 0; i+16 <= len(p); i += 16 {
		subtle.XORBytes(p[i:i+16], p[i:i+16], prev[:])
		b.Encrypt(p[i:i+16], p[i:i+16])
		copy(prev[:], p[i:i+16])
	}
}

// ctrXOR applies AES-CTR with the initial counter block iv to p in place,
// incrementing the counter block as a big-endian number.
func ctrXOR(b cipher.Block, iv [16]byte, p []byte, s *scratch) {
	ctr, ks := s.a[:], s.b[:]
	copy(ctr, iv[:])
	for i := 0; i < len(p); i += 16 {
		b.Encrypt(ks, ctr)
		n := min(16, len(p)-i)
		subtle.XORBytes(p[i:i+n], p[i:i+n], ks[:n])
		for k := 15; k >= 0; k-- {
			ctr[k]++
			if ctr[k] != 0 {
				break
			}
		}
	}
}

// cmac computes the AES-CMAC of msg (RFC 4493, NIST SP 800-38B).
func cmac(b cipher.Block, msg []byte, s *scratch) [16]byte {
	l, k1, k2, x, m := &s.a, &s.b, &s.c, &s.d, &s.e
	*l, *x, *m = [16]byte{}, [16]byte{}, [16]byte{}
	b.Encrypt(l[:], l[:])
	dbl(k1, l)
	dbl(k2, k1)
	n := len(msg)
	full := n > 0 && n%16 == 0
	last := n - n%16
	if full {
		last = n - 16
	}
	for i := 0; i < last; i += 16 {
		subtle.XORBytes(x[:], x[:], msg[i:i+16])
		b.Encrypt(x[:], x[:])
	}
	if full {
		subtle.XORBytes(m[:], msg[last:], k1[:])
	} else {
		copy(m[:], msg[last:])
		m[n-last] = 0x80
		subtle.XORBytes(m[:], m[:], k2[:])
	}
	subtle.XORBytes(x[:], x[:], m[:])
	b.Encrypt(x[:], x[:])
	return *x
}

// dbl is the doubling in GF(2^128) of CMAC's subkey generation.
func dbl(dst, src *[16]byte) {
	carry := src[0] >> 7
	for i := range 15 {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[15] = src[15] << 1
	if carry != 0 {
		dst[15] ^= 0x87
	}
}

// KDF derivation constants of OMS (Vol. 2, 9.5.3).
const (
	kdfEncMeter  = 0x00 // Kenc, meter to other
	kdfMACMeter  = 0x01 // Kmac, meter to other
	kdfEncOther  = 0x10 // Lenc, other to meter
	kdfMACOthers = 0x11 // Lmac, other to meter
)

// deriveKey is the OMS key derivation function: AES-CMAC under the master
// key of D || C (message counter, LSB first) || ID (the meter's
// identification number, LSB first) || 07h × 7.
func deriveKey(master cipher.Block, d byte, counter, id uint32, s *scratch, in *[16]byte) [16]byte {
	*in = [16]byte{d, byte(counter), byte(counter >> 8), byte(counter >> 16), byte(counter >> 24),
		byte(id), byte(id >> 8), byte(id >> 16), byte(id >> 24), 7, 7, 7, 7, 7, 7, 7}
	return cmac(master, in[:], s)
}

// newBlock is aes.NewCipher for a 16-byte array.
func newBlock(k [16]byte) (cipher.Block, error) {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, errAt(0, ErrKey, "%v", err)
	}
	return b, nil
}

// mode5IV is the mode 5 IV: the meter's manufacturer and address (M, ID,
// version, device type, as sent) and the access number eight times.
func mode5IV(h *Header) [16]byte {
	var iv [16]byte
	a := h.Meter.Bytes()
	copy(iv[:8], a[:])
	for i := 8; i < 16; i++ {
		iv[i] = h.AccessNumber
	}
	return iv
}

// ellIV is the ELL AES-CTR initial counter block: M, A (the link layer's,
// or the ELL's own address), CC, SN, frame number 0, block counter 0.
func ellIV(h *Header) [16]byte {
	var iv [16]byte
	a := h.Link.Bytes()
	if h.ELL.HasAddress {
		a = h.ELL.Address.Bytes()
	}
	copy(iv[:8], a[:])
	iv[8] = h.ELL.CC
	sn := h.ELL.SessionNumber
	iv[9], iv[10], iv[11], iv[12] = byte(sn), byte(sn>>8), byte(sn>>16), byte(sn>>24)
	return iv
}
