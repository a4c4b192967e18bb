package update

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// FuzzReadHeader: no input makes ReadHeader panic, and whatever it accepts
// was signed by the keyring's key.
func FuzzReadHeader(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	var good bytes.Buffer
	if err := Pack(&good, Manifest{Version: "1.0.0"}, bytes.NewReader([]byte("bundle")), k); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte(Magic))
	f.Add([]byte(Magic + "\x00\x00\x00\x02{}\x00\x00"))
	keyring := []*ecdsa.PublicKey{&k.PublicKey}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(bytes.NewReader(data), keyring)
		if err != nil {
			return
		}
		if h.Offset > int64(len(data)) {
			t.Fatalf("offset %d past the end of %d bytes", h.Offset, len(data))
		}
	})
}

// FuzzParseVersion: no panic; what parses prints back and compares equal.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.0.0-rc.1", "v2.0.0+x", "01.0.0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		w, err := ParseVersion(v.String())
		if err != nil || v.Compare(w) != 0 {
			t.Fatalf("%q → %s → %v %v", s, v, w, err)
		}
	})
}
