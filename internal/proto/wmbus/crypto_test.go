package wmbus

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The CRC catalogue's check value of CRC-16/EN-13757 over "123456789".
func TestCRCCheckValue(t *testing.T) {
	if got := CRC([]byte("123456789")); got != 0xC2B7 {
		t.Fatalf("CRC = %04X, want C2B7", got)
	}
}

// The two-byte CRC step agrees with the bytewise definition.
func TestCRCTwoByteStep(t *testing.T) {
	p := make([]byte, 300)
	for i := range p {
		p[i] = byte(i*7 + i>>3)
	}
	for n := 0; n <= len(p); n++ {
		var c uint16
		for _, b := range p[:n] {
			c ^= uint16(b) << 8
			for range 8 {
				if c&0x8000 != 0 {
					c = c<<1 ^ 0x3D65
				} else {
					c <<= 1
				}
			}
		}
		if got := CRC(p[:n]); got != ^c {
			t.Fatalf("CRC of %d bytes = %04X, want %04X", n, got, ^c)
		}
	}
}

// RFC 4493, section 4: the AES-CMAC test vectors.
func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhex(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	b, _ := aes.NewCipher(key)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		got := cmac(b, msg[:tc.n], &scratch{})
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("CMAC of %d bytes = %x, want %s", tc.n, got, tc.want)
		}
	}
	var l, k1, k2 [16]byte
	b.Encrypt(l[:], l[:])
	dbl(&k1, &l)
	dbl(&k2, &k1)
	if hex.EncodeToString(k1[:]) != "fbeed618357133667c85e08f7236a8de" || hex.EncodeToString(k2[:]) != "f7ddac306ae266ccf90bc11ee46d513b" {
		t.Errorf("subkeys K1 %x K2 %x", k1, k2)
	}
}

// The CBC and CTR helpers agree with crypto/cipher's.
func TestCBCAndCTRMatchStdlib(t *testing.T) {
	key := unhex(t, "000102030405060708090a0b0c0d0e0f")
	b, _ := aes.NewCipher(key)
	var iv [16]byte
	for i := range iv {
		iv[i] = byte(0xA0 + i)
	}
	plain := bytes.Repeat([]byte("0123456789abcdef"), 5)
	want := make([]byte, len(plain))
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(want, plain)
	got := append([]byte(nil), plain...)
	cbcEncrypt(b, iv, got)
	if !bytes.Equal(got, want) {
		t.Fatal("cbcEncrypt differs from crypto/cipher")
	}
	cbcDecrypt(b, iv, got, &scratch{})
	if !bytes.Equal(got, plain) {
		t.Fatal("cbcDecrypt does not invert")
	}
	for _, n := range []int{0, 1, 15, 16, 17, 40} {
		want := make([]byte, n)
		cipher.NewCTR(b, iv[:]).XORKeyStream(want, plain[:n])
		got := append([]byte(nil), plain[:n]...)
		ctrXOR(b, iv, got, &scratch{})
		if !bytes.Equal(got, want) {
			t.Fatalf("ctrXOR of %d bytes differs from crypto/cipher", n)
		}
	}
}

// The KDF input block is laid out as OMS Vol. 2 9.5.3 says: D, C (LSB
// first), ID (LSB first), 07h padding; its output is the CMAC of it.
func TestDeriveKeyLayout(t *testing.T) {
	master, _ := aes.NewCipher(unhex(t, "000102030405060708090a0b0c0d0e0f"))
	in := unhex(t, "00"+"78563412"+"44332211"+"07070707070707")
	want := cmac(master, in, &scratch{})
	if got := deriveKey(master, kdfEncMeter, 0x12345678, 0x11223344, &scratch{}, &[16]byte{}); got != want {
		t.Fatalf("deriveKey = %x, want CMAC of %x = %x", got, in, want)
	}
	in[0] = 0x01
	if deriveKey(master, kdfMACMeter, 0x12345678, 0x11223344, &scratch{}, &[16]byte{}) != cmac(master, in, &scratch{}) {
		t.Fatal("Kmac derivation constant")
	}
}
