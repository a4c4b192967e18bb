package znp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The example of the Zigbee specification (also in Silicon Labs AN1089):
// install code 83FED3407A939723A5C639B26916D505 with CRC C3B5 hashes to
// the link key 66B6900981E1EE3CA4206B6B861C02BB.
func TestInstallCodeSpecVector(t *testing.T) {
	code := mustHex(t, "83FED3407A939723A5C639B26916D505C3B5")
	if crc := InstallCodeCRC(code[:16]); crc != 0xB5C3 {
		t.Fatalf("CRC = %04X, want B5C3 (sent C3 B5)", crc)
	}
	key, err := InstallCodeKey(code)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "66B6900981E1EE3CA4206B6B861C02BB"); !bytes.Equal(key[:], want) {
		t.Fatalf("key = %X, want %X", key, want)
	}
}

func TestInstallCodeCRCCheckValue(t *testing.T) {
	// CRC-16/X.25 check value of the catalogue of parametrised CRCs.
	if crc := InstallCodeCRC([]byte("123456789")); crc != 0x906E {
		t.Fatalf("check value %04X, want 906E", crc)
	}
}

func TestInstallCodeErrors(t *testing.T) {
	for _, s := range []string{"", "0102", "83FED3407A939723A5C639B26916D505C3", "83FED3407A939723A5C639B26916D505C3B6"} {
		if _, err := InstallCodeKey(mustHex(t, s)); !errors.Is(err, ErrInstallCode) {
			t.Errorf("%s: err %v, want ErrInstallCode", s, err)
		}
	}
	// Every permitted length works when the CRC is right.
	for _, n := range []int{6, 8, 12, 16} {
		code := bytes.Repeat([]byte{0x5A}, n)
		crc := InstallCodeCRC(code)
		code = append(code, byte(crc), byte(crc>>8))
		if _, err := InstallCodeKey(code); err != nil {
			t.Errorf("%d-byte code: %v", n, err)
		}
	}
}
