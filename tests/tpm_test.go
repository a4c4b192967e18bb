package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	encbin "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/smgw/smgw/internal/keys"
)

// writeTPMConfig writes a configuration for `smgw run` with the TPM key
// provider on the named TPM, one simulated electricity meter read every
// second, and everything under dataDir.
func writeTPMConfig(t testing.TB, dataDir, tpmName, extraSecurity string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[gateway]
id = "smgw-tpm"
data_dir = %q
runtime_dir = %q
log_format = "text"

[security]
key_provider = "tpm"
tpm = %q
%s
[status]
listen = %q

[[meter]]
id = "elec-1"
driver = "sim"
profile = "electricity"
interval = "1s"
`, dataDir, filepath.Join(dir, "run"), tpmName, extraSecurity, freeAddr(t))
	path := filepath.Join(dir, "smgw.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pollReadings is countReadings for a daemon still starting: -1 while
// the command fails.
func pollReadings(t testing.TB, args ...string) int {
	t.Helper()
	r := smgw(t, 60*time.Second, append([]string{"readings", "--format", "json"}, args...)...)
	if r.code != exitOK {
		return -1
	}
	return len(parseReadings(t, r.stdout))
}

// countReadings returns how many readings `smgw readings` prints.
func countReadings(t testing.TB, args ...string) int {
	t.Helper()
	r := mustSmgw(t, 60*time.Second, append([]string{"readings", "--format", "json"}, args...)...)
	return len(parseReadings(t, r.stdout))
}

// TestTPMGateway runs the gateway with its keys in swtpm: it stores
// readings, imports a meter key, has its TPM key certified through a CSR,
// rotates the data key while running, restarts and reads the old readings,
// shakes hands with a TLS server that requires the certificate, verifies
// the signed event-log heads, and finally finds none of the keys in clear
// in the data directory or the logs.
func TestTPMGateway(t *testing.T) {
	sw := startSwtpm(t, t.TempDir())
	dir := t.TempDir()
	cfg := writeTPMConfig(t, dir, sw.name(), "")
	var logs bytes.Buffer // every output of the binary, for the scan

	// First run: keys are created in the TPM, readings stored.
	d := startDaemon(t, cfg)
	d.waitFor(t, 60*time.Second, "3 readings stored", func() bool { return pollReadings(t, "--data", dir) >= 3 })
	meterKey := make([]byte, 16)
	rand.Read(meterKey)
	r := mustSmgw(t, 30*time.Second, "keys", "import-meter-key", "12345678", hex.EncodeToString(meterKey), "--data", dir)
	logs.WriteString(r.output())
	dlmsKey := make([]byte, 16)
	rand.Read(dlmsKey)
	keyFile := filepath.Join(t.TempDir(), "dlms.key")
	os.WriteFile(keyFile, []byte(strings.ToUpper(hex.EncodeToString(dlmsKey))+"\n"), 0o600)
	r = mustSmgw(t, 30*time.Second, "keys", "import-meter-key", "elec-1", "--file", keyFile, "--kind", "dlms-enc", "--data", dir)
	logs.WriteString(r.output())
	os.Remove(keyFile)

	// The CSR, signed by the TPM key, certified by a test CA.
	csrFile := filepath.Join(t.TempDir(), "gw.csr")
	logs.WriteString(mustSmgw(t, 30*time.Second, "keys", "csr", "--subject", "CN=smgw-tpm,O=Test Utility,C=DE", "--out", csrFile, "--data", dir).output())
	ca, caKey := newTestCA(t)
	chain := certifyCSR(t, readFile(t, csrFile), ca, caKey)
	chainFile := filepath.Join(t.TempDir(), "gw.crt")
	os.WriteFile(chainFile, chain, 0o644)
	logs.WriteString(mustSmgw(t, 30*time.Second, "keys", "cert", "install", chainFile, "--data", dir).output())
	// A certificate for another key is refused.
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrong := filepath.Join(t.TempDir(), "wrong.crt")
	os.WriteFile(wrong, issueCert(t, ca, caKey, &otherKey.PublicKey, "CN=other"), 0o644)
	if r := smgw(t, 30*time.Second, "keys", "cert", "install", wrong, "--data", dir); r.code == exitOK || !strings.Contains(r.output(), "another key") {
		t.Errorf("installing another key's certificate: %v", r)
	}
	d.stop(t)
	logs.WriteString(d.out.String())
	if strings.Contains(d.out.String(), "INSECURE") {
		t.Errorf("the TPM provider logged itself as insecure:\n%s", clip(d.out.String()))
	}
	if r := smgw(t, 30*time.Second, "readings", "--data", dir); r.code == exitOK || !strings.Contains(r.output(), "give -c FILE") {
		t.Errorf("offline readings --data of a TPM gateway: want a hint to give -c: %v", r)
	}
	before := countReadings(t, "-c", cfg) // offline: the CLI unseals through swtpm itself
	if before < 3 {
		t.Fatalf("%d readings after the first run", before)
	}
	key1 := unsealDataKeys(t, sw, dir)[1]
	if len(key1) != 32 {
		t.Fatalf("data key 1: %d bytes", len(key1))
	}

	// Second run: rotation while running; the old key is retired once
	// everything is re-sealed.
	d = startDaemon(t, cfg)
	d.waitFor(t, 60*time.Second, "more readings", func() bool { return pollReadings(t, "--data", dir) > before })
	r = mustSmgw(t, 30*time.Second, "keys", "rotate", "--data", dir)
	logs.WriteString(r.output())
	if !strings.Contains(r.stdout, "data key 2 is current") {
		t.Fatalf("rotate: %v", r)
	}
	d.waitFor(t, 60*time.Second, "key 1 retired", func() bool {
		out := mustSmgw(t, 30*time.Second, "keys", "list", "--data", dir).stdout
		return strings.Contains(out, "data keys:  2 (current 2)")
	})
	r = mustSmgw(t, 30*time.Second, "keys", "list", "--data", dir)
	logs.WriteString(r.output())
	for _, want := range []string{"wmbus/12345678", "dlms/elec-1/enc", "identity.crt", "BEGIN PUBLIC KEY"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("keys list lacks %q:\n%s", want, r.stdout)
		}
	}
	mid := countReadings(t, "--data", dir)
	d.stop(t)
	logs.WriteString(d.out.String())

	// Third run: a restart unseals key 2 and reads every old reading.
	d = startDaemon(t, cfg)
	d.waitFor(t, 60*time.Second, "the restarted gateway serving readings", func() bool { return pollReadings(t, "--data", dir) >= mid })
	r = mustSmgw(t, 60*time.Second, "log", "--verify", "--data", dir)
	if !strings.Contains(r.stdout, "verifies with the gateway's key") {
		t.Errorf("log --verify does not report a verified signed head: %v", r)
	}
	d.stop(t)
	logs.WriteString(d.out.String())
	after := countReadings(t, "-c", cfg)
	if after < mid {
		t.Errorf("%d readings after the restart, %d before", after, mid)
	}
	r = mustSmgw(t, 60*time.Second, "log", "--verify", "-c", cfg)
	if strings.Count(r.stdout, "verifies with the gateway's key") != 2 || strings.Contains(r.stdout, "BROKEN") {
		t.Errorf("offline log --verify: want the system and metrology logs' signed heads verified: %v", r)
	}
	// Offline, the CLI opens swtpm itself: list, and import a HES key.
	hesKey := make([]byte, 64)
	rand.Read(hesKey)
	r = mustSmgw(t, 60*time.Second, "keys", "import-meter-key", "cmd-1", hex.EncodeToString(hesKey), "--kind", "hes", "-c", cfg)
	logs.WriteString(r.output())
	r = mustSmgw(t, 60*time.Second, "keys", "list", "-c", cfg)
	logs.WriteString(r.output())
	if !strings.Contains(r.stdout, "TPM "+sw.name()) || !strings.Contains(r.stdout, "data keys:  2 (current 2)") || !strings.Contains(r.stdout, "hes/cmd-1") {
		t.Errorf("offline keys list:\n%s", r.stdout)
	}
	keysNow := unsealDataKeys(t, sw, dir)
	if _, ok := keysNow[1]; ok || len(keysNow[2]) != 32 {
		t.Fatalf("data keys after rotation: %d keys, key 2 of %d bytes", len(keysNow), len(keysNow[2]))
	}

	// TLS: a server that requires a client certificate from the test CA;
	// the client's key stays in swtpm.
	tlsHandshake(t, sw, dir, ca)

	// No key in clear anywhere.
	scanForKeys(t, dir, logs.Bytes(), map[string][]byte{
		"data key 1": key1, "data key 2": keysNow[2], "wM-Bus meter key": meterKey, "DLMS key": dlmsKey, "HES key": hesKey,
	})
}

// tlsHandshake connects to a local TLS server that requires a client
// certificate issued by ca, with keys.ClientCertificate over the TPM
// provider of dataDir.
func tlsHandshake(t *testing.T, sw *swtpm, dataDir string, ca *x509.Certificate) {
	t.Helper()
	p := keys.NewTPM(keys.TPMOptions{Device: sw.name(), KeyFile: filepath.Join(dataDir, keys.TPMKeyFileName), MustExist: true})
	defer p.Close()
	ctx := context.Background()
	cert, err := keys.ClientCertificate(ctx, p, filepath.Join(dataDir, keys.IdentityCertFile))
	if err != nil {
		t.Fatal(err)
	}
	ln, pool := tlsServer(t, ca)
	defer ln.Close()
	client := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client.MaxVersion = v
		c, err := tls.Dial("tcp", ln.Addr().String(), client)
		if err != nil {
			t.Fatalf("TLS %x handshake with the TPM key: %v", v, err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "hello CN=smgw-tpm") {
			t.Fatalf("TLS %x: server said %q, %v", v, line, err)
		}
	}
}

// tlsServer serves TLS on 127.0.0.1, requires a client certificate
// issued by ca and greets the client with its certificate's subject.
func tlsServer(t testing.TB, ca *x509.Certificate) (net.Listener, *x509.CertPool) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &srvKey.PublicKey, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	spool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(der)
	spool.AddCert(leaf)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := tc.Handshake(); err != nil {
					return
				}
				fmt.Fprintf(c, "hello %s\n", tc.ConnectionState().PeerCertificates[0].Subject)
			}()
		}
	}()
	return ln, spool
}

func newTestCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smgw test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return ca, k
}

func issueCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, pub any, subject string) []byte {
	t.Helper()
	subj := pkix.Name{CommonName: strings.TrimPrefix(subject, "CN=")}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subj,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
}

// certifyCSR checks the CSR's signature (made in the TPM) and issues a
// client certificate for it.
func certifyCSR(t testing.TB, csrPEM []byte, ca *x509.Certificate, caKey *ecdsa.PrivateKey) []byte {
	t.Helper()
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("not a PEM CSR: %q", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("the CSR's signature (by the TPM key) does not verify: %v", err)
	}
	if csr.Subject.CommonName != "smgw-tpm" || len(csr.Subject.Organization) != 1 || csr.Subject.Organization[0] != "Test Utility" {
		t.Errorf("CSR subject %v", csr.Subject)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, csr.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
}

// scanForKeys searches every file under dir and the captured logs for
// each key: its bytes, and its hex in lower and upper case.
func scanForKeys(t *testing.T, dir string, logs []byte, secrets map[string][]byte) {
	t.Helper()
	type blob struct {
		name string
		b    []byte
	}
	blobs := []blob{{"the captured logs", logs}}
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("scan %s: %v", path, err)
			return nil
		}
		blobs = append(blobs, blob{path, b})
		return nil
	})
	if len(blobs) < 4 {
		t.Fatalf("the scan found only %d files", len(blobs)-1)
	}
	for what, k := range secrets {
		if len(k) == 0 {
			t.Fatalf("no bytes of %s to look for", what)
		}
		forms := [][]byte{k, []byte(hex.EncodeToString(k)), []byte(strings.ToUpper(hex.EncodeToString(k)))}
		for _, bl := range blobs {
			for _, f := range forms {
				if bytes.Contains(bl.b, f) {
					t.Errorf("%s found in clear in %s", what, bl.name)
				}
			}
		}
	}
	t.Logf("scanned %d files and %d bytes of logs for %d keys", len(blobs)-1, len(logs), len(secrets))
}

// TestTPMFaults: a missing TPM, a tampered sealed blob, a changed PCR and
// a TPM in dictionary-attack lockout each stop the daemon with exit 78 and
// a message saying which, and leave the database byte for byte as it was.
func TestTPMFaults(t *testing.T) {
	sw := startSwtpm(t, t.TempDir())
	dir := t.TempDir()
	// PCR 16 (the debug PCR, which software may extend) stands for the
	// boot chain.
	cfg := writeTPMConfig(t, dir, sw.name(), "pcrs = [16]\n")
	d := startDaemon(t, cfg)
	d.waitFor(t, 60*time.Second, "a reading stored", func() bool { return pollReadings(t, "--data", dir) >= 1 })
	d.stop(t)
	db := filepath.Join(dir, "smgw.db")
	keyFile := filepath.Join(dir, keys.TPMKeyFileName)
	dbBefore, keysBefore := readFile(t, db), readFile(t, keyFile)

	refused := func(name, cfg string, want ...string) {
		t.Helper()
		r := smgw(t, 60*time.Second, "run", "-c", cfg)
		if r.code != exitConfig {
			t.Errorf("%s: want exit %d: %v", name, exitConfig, r)
		}
		for _, w := range want {
			if !strings.Contains(r.output(), w) {
				t.Errorf("%s: the message lacks %q: %v", name, w, r)
			}
		}
		if !bytes.Equal(readFile(t, db), dbBefore) {
			t.Fatalf("%s: the database changed", name)
		}
	}

	// No TPM: nothing listens on the port.
	refused("missing TPM", writeTPMConfig(t, dir, "swtpm://"+freeAddr(t), "pcrs = [16]\n"), "no TPM", "security.tpm")
	refused("missing device", writeTPMConfig(t, dir, "/dev/nonexistent-tpm", "pcrs = [16]\n"), "no TPM", "/dev/nonexistent-tpm")

	// A tampered blob.
	var kf map[string]any
	json.Unmarshal(keysBefore, &kf)
	data := kf["data"].([]any)[0].(map[string]any)
	priv, _ := hex.DecodeString(data["private"].(string))
	priv[len(priv)-5] ^= 1
	data["private"] = hex.EncodeToString(priv)
	bad, _ := json.Marshal(kf)
	os.WriteFile(keyFile, bad, 0o600)
	refused("tampered blob", cfg, "refused by the TPM", "altered", keys.TPMKeyFileName)
	os.WriteFile(keyFile, keysBefore, 0o600)

	// A changed boot chain.
	tt := sw.open(t)
	dg := sha256.Sum256([]byte("another boot loader"))
	if _, err := (tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: 16, Auth: tpm2.PasswordAuth(nil)},
		Digests:   tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: dg[:]}}},
	}).Execute(tt); err != nil {
		t.Fatal(err)
	}
	tt.Close()
	refused("changed PCR", cfg, "PCRs", "[16]", "firmware")
	tt = sw.open(t)
	if _, err := (tpm2.PCRReset{PCRHandle: tpm2.AuthHandle{Handle: 16, Auth: tpm2.PasswordAuth(nil)}}).Execute(tt); err != nil {
		t.Fatal(err)
	}

	// Dictionary-attack lockout.
	provokeLockout(t, tt)
	tt.Close()
	refused("lockout", cfg, "lockout", "recovery")
	if !bytes.Equal(readFile(t, keyFile), keysBefore) {
		t.Error("the TPM key file changed")
	}
}

// provokeLockout lowers the TPM's dictionary-attack threshold to 2 and
// makes wrong-password attempts on a DA-protected object until the TPM
// answers TPM_RC_LOCKOUT.
func provokeLockout(t testing.TB, tt transport.TPM) {
	t.Helper()
	var cmd []byte // TPM2_DictionaryAttackParameters (not in go-tpm)
	cmd = encbin.BigEndian.AppendUint16(cmd, 0x8002)
	cmd = encbin.BigEndian.AppendUint32(cmd, 0)
	cmd = encbin.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMCCDictionaryAttackParameters))
	cmd = encbin.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRHLockout))
	cmd = encbin.BigEndian.AppendUint32(cmd, 9)
	cmd = encbin.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRSPW))
	cmd = append(cmd, 0, 0, 0, 0, 0)
	for _, v := range []uint32{2, 1000, 1000} {
		cmd = encbin.BigEndian.AppendUint32(cmd, v)
	}
	encbin.BigEndian.PutUint32(cmd[2:], uint32(len(cmd)))
	if rsp, err := tt.Send(cmd); err != nil || len(rsp) < 10 || encbin.BigEndian.Uint32(rsp[6:]) != 0 {
		t.Fatalf("TPM2_DictionaryAttackParameters: %x %v", rsp, err)
	}
	srk, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: srk.ObjectHandle}.Execute(tt)
	obj, err := tpm2.CreateLoaded{
		ParentHandle: tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			UserAuth: tpm2.TPM2BAuth{Buffer: []byte("right")},
			Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: []byte("x")}),
		}},
		InPublic: tpm2.New2BTemplate(&tpm2.TPMTPublic{Type: tpm2.TPMAlgKeyedHash, NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, UserWithAuth: true}}),
	}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: obj.ObjectHandle}.Execute(tt)
	for range 4 {
		_, err = tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name, Auth: tpm2.PasswordAuth([]byte("wrong"))}}.Execute(tt)
		if errors.Is(err, tpm2.TPMRCLockout) {
			return
		}
	}
	t.Fatalf("no lockout after wrong attempts: %v", err)
}
