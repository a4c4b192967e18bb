package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ring(t *testing.T, current uint32, raw map[uint32][]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(current, raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	k := ring(t, 2, map[uint32][]byte{1: key(1), 2: key(2)})
	plain := []byte("block of readings")
	sealed := k.Seal(nil, plain, []byte("where"))
	if len(sealed) != len(plain)+Overhead {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), len(plain)+Overhead)
	}
	if id, err := KeyID(sealed); err != nil || id != 2 {
		t.Fatalf("KeyID = %d, %v", id, err)
	}
	got, err := k.Open(nil, sealed, []byte("where"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := k.Seal(nil, plain, []byte("where")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
	// A value sealed by an older key still opens.
	old := ring(t, 1, map[uint32][]byte{1: key(1)}).Seal(nil, plain, nil)
	if got, err := k.Open(nil, old, nil); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("old key: %q, %v", got, err)
	}
}

func TestOpenRejects(t *testing.T) {
	k := ring(t, 1, map[uint32][]byte{1: key(1)})
	sealed := k.Seal(nil, []byte("x"), []byte("a"))
	if _, err := k.Open(nil, sealed, []byte("b")); !errors.Is(err, ErrOpen) {
		t.Errorf("moved value (other AAD): %v, want ErrOpen", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	if _, err := k.Open(nil, flipped, []byte("a")); !errors.Is(err, ErrOpen) {
		t.Errorf("altered value: %v, want ErrOpen", err)
	}
	other := ring(t, 1, map[uint32][]byte{1: key(9)})
	if _, err := other.Open(nil, sealed, []byte("a")); !errors.Is(err, ErrOpen) {
		t.Errorf("other key, same id: %v, want ErrOpen", err)
	}
	unknown := bytes.Clone(sealed)
	unknown[4] = 7
	if _, err := k.Open(nil, unknown, []byte("a")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key id: %v, want ErrUnknownKey", err)
	}
	if _, err := k.Open(nil, sealed[:Overhead-1], nil); !errors.Is(err, ErrEnvelope) {
		t.Errorf("short value: %v, want ErrEnvelope", err)
	}
	v9 := bytes.Clone(sealed)
	v9[0] = 9
	if _, err := k.Open(nil, v9, []byte("a")); !errors.Is(err, ErrEnvelope) {
		t.Errorf("unknown version: %v, want ErrEnvelope", err)
	}
}

func TestNewKeyringRejects(t *testing.T) {
	for name, c := range map[string]struct {
		cur uint32
		raw map[uint32][]byte
	}{
		"current missing": {2, map[uint32][]byte{1: key(1)}},
		"id 0":            {0, map[uint32][]byte{0: key(1)}},
		"short key":       {1, map[uint32][]byte{1: key(1)[:16]}},
	} {
		if _, err := NewKeyring(c.cur, c.raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDevProvider(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dev-data-key")
	d := NewDev(path, nil)
	if d.Secure() || !strings.Contains(d.Name(), path) {
		t.Fatalf("Secure %v, Name %q", d.Secure(), d.Name())
	}
	k1, err := d.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode().Perm(), err)
	}
	// The same file gives the same key.
	k2, err := NewDev(path, nil).Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(nil, k1.Seal(nil, []byte("v"), nil), nil); err != nil {
		t.Fatalf("second read gives another key: %v", err)
	}
	// Readable by others: refused, with a hint.
	os.Chmod(path, 0o644)
	if _, err := d.Keyring(ctx); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("mode 644: %v, want ErrKeyFile", err)
	}
	os.Chmod(path, 0o600)
	// Malformed files name the line.
	for name, body := range map[string]string{
		"magic":   "not a key file\n1 " + strings.Repeat("00", 32) + "\n",
		"no keys": devMagic + "\n",
		"id":      devMagic + "\nx " + strings.Repeat("00", 32) + "\n",
		"hex":     devMagic + "\n1 zz\n",
		"length":  devMagic + "\n1 " + strings.Repeat("00", 16) + "\n",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		_, err := d.Keyring(ctx)
		if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), path+":") {
			t.Errorf("%s: %v, want ErrKeyFile naming %s:LINE", name, err, path)
		}
	}
	// Several keys: the last is current, the others still open.
	body := devMagic + "\n1 " + strings.Repeat("11", 32) + "\n2 " + strings.Repeat("22", 32) + "\n"
	os.WriteFile(path, []byte(body), 0o600)
	k, err := d.Keyring(ctx)
	if err != nil || k.Current() != 2 {
		t.Fatalf("current %d, %v", k.Current(), err)
	}
}

func FuzzParseDevFile(f *testing.F) {
	f.Add(devMagic + "\n1 " + strings.Repeat("ab", 32) + "\n")
	f.Add(devMagic + "\n1 " + strings.Repeat("ab", 32) + "\n2 " + strings.Repeat("cd", 32) + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		raw, cur, err := parseDevFile("f", s)
		if err != nil {
			return
		}
		if _, err := NewKeyring(cur, raw); err != nil {
			t.Fatalf("parsed file gives no keyring: %v", err)
		}
	})
}

func ExampleKeyring_Seal() {
	k, _ := NewKeyring(1, map[uint32][]byte{1: bytes.Repeat([]byte{7}, KeySize)})
	sealed := k.Seal(nil, []byte("readings"), []byte("meter elec-1"))
	plain, err := k.Open(nil, sealed, []byte("meter elec-1"))
	_, moved := k.Open(nil, sealed, []byte("meter water-1"))
	fmt.Println(string(plain), err, errors.Is(moved, ErrOpen))
	// Output: readings <nil> true
}

func TestDevSigner(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dev-data-key")
	d := NewDev(path, nil)
	s1, err := d.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewDev(path, nil).Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s1.Public().(*ecdsa.PublicKey).Equal(s2.Public()) {
		t.Fatal("the signing key changed between two loads")
	}
	digest := sha256.Sum256([]byte("batch"))
	sig, err := s2.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(s1.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("signature does not verify: %v", err)
	}
	if err := os.Chmod(d.SigningKeyFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Signer(ctx); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("world-readable signing key: %v, want ErrKeyFile", err)
	}
	if err := os.WriteFile(d.SigningKeyFile(), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Signer(ctx); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("junk signing key: %v, want ErrKeyFile", err)
	}

	a, _ := Static{Key: make([]byte, 32)}.Signer(ctx)
	b, _ := Static{Key: make([]byte, 32)}.Signer(ctx)
	if a != b {
		t.Fatal("Static gave two signing keys for one data key")
	}
}
