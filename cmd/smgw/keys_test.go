package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeysOffline exercises `smgw keys` on a data directory of the
// development provider with no daemon running: imports, list, rotation
// with re-seal, CSR and certificate installation.
func TestKeysOffline(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "stress", "--data", dir, "--batches", "3", "--producers", "1"); code != exitOK {
		t.Fatalf("stress: %d %s", code, errOut)
	}
	key := "00112233445566778899aabbccddeeff"
	code, out, errOut := runCLI(t, "keys", "import-meter-key", "12345678", key, "--data", dir)
	if code != exitOK || !strings.Contains(out, "wmbus/12345678") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	kf := filepath.Join(t.TempDir(), "k")
	os.WriteFile(kf, []byte(strings.ToUpper(key)+strings.ToUpper(key)+"\n"), 0o600)
	if code, out, errOut := runCLI(t, "keys", "import-meter-key", "m1", "--file", kf, "--kind", "dlms-auth", "--data", dir); code != exitOK {
		t.Fatalf("import --file: %d %s %s", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"keys", "import-meter-key", "12345678", "0011", "--data", dir},               // too short
		{"keys", "import-meter-key", "12345678", "zz", "--data", dir},                 // not hex
		{"keys", "import-meter-key", "1/2", key, "--data", dir},                       // bad id
		{"keys", "import-meter-key", "12345678", key, "--kind", "gas", "--data", dir}, // bad kind
		{"keys", "import-meter-key", "12345678", key, "--file", kf, "--data", dir},    // both
		{"keys", "frobnicate"},
	} {
		code, out, errOut := runCLI(t, bad...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
		if strings.Contains(out+errOut, key) {
			t.Errorf("%v: the key's value is in the output", bad)
		}
	}
	code, out, _ = runCLI(t, "keys", "list", "--data", dir)
	if code != exitOK || !strings.Contains(out, "wmbus/12345678") || !strings.Contains(out, "dlms/m1/auth") ||
		!strings.Contains(out, "data keys:  1 (current 1)") || !strings.Contains(out, "INSECURE") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if strings.Contains(strings.ToLower(out), key) {
		t.Error("keys list printed a key's value")
	}

	code, out, errOut = runCLI(t, "keys", "rotate", "--data", dir)
	if code != exitOK || !strings.Contains(out, "data key 2 is current") || !strings.Contains(out, "retired keys [1]") {
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "keys", "list", "--data", dir); code != exitOK || !strings.Contains(out, "data keys:  2 (current 2)") {
		t.Fatalf("list after rotate: %s", out)
	}
	if code, out, errOut := runCLI(t, "readings", "--data", dir, "--format", "csv"); code != exitOK || strings.Count(out, "\n") < 3 {
		t.Fatalf("readings after rotate: %d %s %s", code, out, errOut)
	}

	csrFile := filepath.Join(t.TempDir(), "gw.csr")
	if code, _, errOut := runCLI(t, "keys", "csr", "--subject", "CN=gw-1,O=Utility", "--out", csrFile, "--data", dir); code != exitOK {
		t.Fatalf("csr: %s", errOut)
	}
	blk, _ := pem.Decode(mustRead(t, csrFile))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "gw-1" {
		t.Fatalf("csr: %v %v", err, csr.Subject)
	}
	if code, _, _ := runCLI(t, "keys", "csr", "--subject", "O=no common name", "--data", dir); code != exitUsage {
		t.Errorf("csr without CN: exit %d", code)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: csr.Subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, csr.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "gw.crt")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	if code, out, errOut := runCLI(t, "keys", "cert", "install", certFile, "--data", dir); code != exitOK || !strings.Contains(out, "CN=gw-1") {
		t.Fatalf("cert install: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "identity.crt")); err != nil {
		t.Fatal(err)
	}
	// Another key's certificate is refused.
	der2, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der2}), 0o644)
	if code, _, errOut := runCLI(t, "keys", "cert", "install", certFile, "--data", dir); code == exitOK || !strings.Contains(errOut, "another key") {
		t.Fatalf("cert install of another key: %d %s", code, errOut)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
