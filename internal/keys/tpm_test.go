//go:build cgo

package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/smgw/smgw/hal/tpm"
	_ "github.com/smgw/smgw/hal/tpm/tpmsim"
)

// simTPM opens the in-process simulator for the test. Providers made by
// newSimProvider share it (their Close leaves it open), so a second
// provider on the same key file is a restart of the gateway.
func simTPM(t testing.TB) *tpm.TPM {
	t.Helper()
	sim, err := tpm.Open(tpm.Simulator)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

type keepOpen struct{ t *tpm.TPM }

func (k keepOpen) Send(b []byte) ([]byte, error) { return k.t.Send(b) }
func (k keepOpen) Close() error                  { return nil }

func newSimProvider(t testing.TB, sim *tpm.TPM, keyFile string, pcrs ...int) *TPM {
	t.Helper()
	p := NewTPM(TPMOptions{
		Device:  tpm.Simulator,
		Open:    func() (*tpm.TPM, error) { return tpm.New(tpm.Simulator, keepOpen{sim}), nil },
		KeyFile: keyFile,
		PCRs:    pcrs,
	})
	t.Cleanup(func() { p.Close() })
	return p
}

func TestTPMKeyringSurvivesRestart(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()

	p := newSimProvider(t, sim, file)
	kr, err := p.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Current() != 1 {
		t.Fatalf("first key id %d, want 1", kr.Current())
	}
	sealed := kr.Seal(nil, []byte("reading block"), []byte("aad"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	p2 := newSimProvider(t, sim, file)
	kr2, err := p2.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kr2.Open(nil, sealed, []byte("aad"))
	if err != nil || string(got) != "reading block" {
		t.Fatalf("after restart: %q, %v", got, err)
	}
}

func TestTPMSigner(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := newSimProvider(t, sim, file)
	s, err := p.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("log head"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, d[:], sig) {
		t.Fatal("the TPM's signature does not verify with its public key")
	}
	if _, err := s.Sign(nil, d[:16], crypto.SHA256); err == nil {
		t.Error("a short digest was signed")
	}
	// The same key after a restart.
	p.Close()
	p2 := newSimProvider(t, sim, file)
	s2, err := p2.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Fatal("the signing key changed across a restart")
	}
	// The key file holds no private key in clear: its template forbids
	// export, and the private area is the TPM's encrypted blob.
	var kf tpmKeyFile
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &kf); err != nil || kf.Signing == nil {
		t.Fatalf("key file: %v", err)
	}
	pb, _ := hex.DecodeString(kf.Signing.Public)
	pub2b, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pb)
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := pub2b.Contents()
	a := pa.ObjectAttributes
	if !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin || !a.SignEncrypt || a.Decrypt || a.Restricted {
		t.Errorf("signing key attributes %+v: want fixedTPM|fixedParent|sensitiveDataOrigin|sign only", a)
	}
}

func TestTPMCSRAndClientCertificate(t *testing.T) {
	sim := simTPM(t)
	dir := t.TempDir()
	p := newSimProvider(t, sim, filepath.Join(dir, TPMKeyFileName))
	ctx := context.Background()
	subj, err := ParseSubject("CN=gw-1,O=Utility\\, Inc.,C=DE")
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := CreateCSR(ctx, p, subj)
	if err != nil {
		t.Fatal(err)
	}
	csr := parseCSR(t, csrPEM)
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	if csr.Subject.CommonName != "gw-1" || csr.Subject.Organization[0] != "Utility, Inc." {
		t.Errorf("CSR subject %v", csr.Subject)
	}
	certPEM := issue(t, csr)
	path := filepath.Join(dir, IdentityCertFile)
	if _, err := InstallCertificate(ctx, p, certPEM, path); err != nil {
		t.Fatal(err)
	}
	c, err := ClientCertificate(ctx, p, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.PrivateKey.(*tpmSigner); !ok {
		t.Errorf("private key is %T, want the TPM signer", c.PrivateKey)
	}
	// Another key's certificate is refused. (The simulator, like a TPM
	// without a resource manager, has room for three loaded objects: one
	// provider at a time.)
	p.Close()
	other := newSimProvider(t, sim, filepath.Join(t.TempDir(), TPMKeyFileName))
	if _, err := InstallCertificate(ctx, other, certPEM, filepath.Join(dir, "x.crt")); !errors.Is(err, ErrCertificate) {
		t.Errorf("installing another key's certificate: %v, want ErrCertificate", err)
	}
}

func TestTPMRotate(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := newSimProvider(t, sim, file)
	kr, err := p.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := kr.Seal(nil, []byte("old"), nil)
	id, err := p.Rotate(ctx, kr)
	if err != nil {
		t.Fatal(err)
	}
	if id != 2 || kr.Current() != 2 {
		t.Fatalf("rotated to %d, current %d; want 2", id, kr.Current())
	}
	nw := kr.Seal(nil, []byte("new"), nil)
	if k, _ := KeyID(nw); k != 2 {
		t.Errorf("new value sealed by key %d", k)
	}
	if _, err := kr.Open(nil, old, nil); err != nil {
		t.Errorf("old value after rotation: %v", err)
	}
	// A restart unseals both.
	p.Close()
	p2 := newSimProvider(t, sim, file)
	kr2, err := p2.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kr2.Current() != 2 || !kr2.Has(1) {
		t.Fatalf("after restart: current %d, ids %v", kr2.Current(), kr2.IDs())
	}
	if err := p2.Retire(ctx, kr2, 2); err == nil {
		t.Error("retired the current key")
	}
	if err := p2.Retire(ctx, kr2, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := kr2.Open(nil, old, nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old value after retiring its key: %v, want ErrUnknownKey", err)
	}
	p2.Close()
	kr3, err := newSimProvider(t, sim, file).Keyring(ctx)
	if err != nil || kr3.Has(1) || kr3.Current() != 2 {
		t.Fatalf("after retiring and restarting: %v %v", kr3.IDs(), err)
	}
}

// extendPCR extends a SHA-256 PCR with a digest.
func extendPCR(t testing.TB, sim *tpm.TPM, pcr int) {
	t.Helper()
	d := sha256.Sum256([]byte("a new boot loader"))
	_, err := tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests:   tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: d[:]}}},
	}.Execute(sim)
	if err != nil {
		t.Fatal(err)
	}
}

func TestTPMPCRPolicy(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := newSimProvider(t, sim, file, 7, 16)
	kr, err := p.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealed := kr.Seal(nil, []byte("x"), nil)
	p.Close()
	// Same boot state: unseals.
	kr2, err := newSimProvider(t, sim, file, 7, 16).Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr2.Open(nil, sealed, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(file)
	// A changed boot chain: refused, with the PCRs named.
	extendPCR(t, sim, 16)
	_, err = newSimProvider(t, sim, file, 7, 16).Keyring(ctx)
	if !errors.Is(err, ErrPCRMismatch) {
		t.Fatalf("after extending PCR 16: %v, want ErrPCRMismatch", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("[7,16]")) {
		t.Errorf("the error does not name the PCRs: %v", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("the key file changed on a refused unseal")
	}
}

func TestTPMTamperedBlob(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := newSimProvider(t, sim, file)
	if _, err := p.Keyring(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	var kf tpmKeyFile
	b, _ := os.ReadFile(file)
	json.Unmarshal(b, &kf)
	for _, part := range []string{"private", "public"} {
		t.Run(part, func(t *testing.T) {
			bad := kf
			bad.Data = append([]tpmDataKey(nil), kf.Data...)
			h := &bad.Data[0].Private
			if part == "public" {
				h = &bad.Data[0].Public
			}
			raw, _ := hex.DecodeString(*h)
			raw[len(raw)-3] ^= 0x40
			*h = hex.EncodeToString(raw)
			f := filepath.Join(t.TempDir(), TPMKeyFileName)
			if err := writeTPMKeyFile(f, &bad); err != nil {
				t.Fatal(err)
			}
			_, err := newSimProvider(t, sim, f).Keyring(ctx)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("tampered %s area: %v, want ErrTampered", part, err)
			}
		})
	}
}

// sendRaw sends a hand-made command (go-tpm has no
// TPM2_DictionaryAttackParameters) with an empty password session.
func daParameters(t testing.TB, tt transport.TPM, maxTries, recovery, lockoutRecovery uint32) {
	t.Helper()
	var cmd []byte
	cmd = binary.BigEndian.AppendUint16(cmd, 0x8002) // TPM_ST_SESSIONS
	cmd = binary.BigEndian.AppendUint32(cmd, 0)      // size, set below
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMCCDictionaryAttackParameters))
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRHLockout))
	cmd = binary.BigEndian.AppendUint32(cmd, 9) // authorization area: TPM_RS_PW, no nonce, attrs 0, empty hmac
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRSPW))
	cmd = append(cmd, 0, 0, 0, 0, 0)
	cmd = binary.BigEndian.AppendUint32(cmd, maxTries)
	cmd = binary.BigEndian.AppendUint32(cmd, recovery)
	cmd = binary.BigEndian.AppendUint32(cmd, lockoutRecovery)
	binary.BigEndian.PutUint32(cmd[2:], uint32(len(cmd)))
	rsp, err := tt.Send(cmd)
	if err != nil || len(rsp) < 10 || binary.BigEndian.Uint32(rsp[6:]) != 0 {
		t.Fatalf("TPM2_DictionaryAttackParameters: %x, %v", rsp, err)
	}
}

// provokeLockout sets the TPM's dictionary-attack threshold to 2 and makes
// two wrong-password attempts on a DA-protected object.
func provokeLockout(t testing.TB, tt transport.TPM) {
	t.Helper()
	daParameters(t, tt, 2, 1000, 1000)
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
		InPublic: tpm2.New2BTemplate(&tpm2.TPMTPublic{
			Type: tpm2.TPMAlgKeyedHash, NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, UserWithAuth: true},
		}),
	}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: obj.ObjectHandle}.Execute(tt)
	for range 3 {
		_, err = tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name, Auth: tpm2.PasswordAuth([]byte("wrong"))}}.Execute(tt)
		if errors.Is(err, tpm2.TPMRCLockout) {
			return
		}
	}
	t.Fatalf("no lockout after wrong attempts: %v", err)
}

func TestTPMLockout(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := newSimProvider(t, sim, file)
	if _, err := p.Keyring(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	before, _ := os.ReadFile(file)
	provokeLockout(t, sim)
	_, err := newSimProvider(t, sim, file).Keyring(ctx)
	if !errors.Is(err, ErrLockout) {
		t.Fatalf("in lockout: %v, want ErrLockout", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("the key file changed in lockout")
	}
}

func TestTPMMissing(t *testing.T) {
	for _, dev := range []string{"/nonexistent/tpmrm0", "swtpm://127.0.0.1:1"} {
		p := NewTPM(TPMOptions{Device: dev, KeyFile: filepath.Join(t.TempDir(), TPMKeyFileName)})
		_, err := p.Keyring(context.Background())
		if !errors.Is(err, ErrNoTPM) {
			t.Errorf("%s: %v, want ErrNoTPM", dev, err)
		}
		_, err = p.Signer(context.Background())
		if !errors.Is(err, ErrNoTPM) {
			t.Errorf("%s: signer: %v, want ErrNoTPM", dev, err)
		}
	}
}

func TestTPMMustExist(t *testing.T) {
	sim := simTPM(t)
	p := NewTPM(TPMOptions{
		Device: tpm.Simulator, MustExist: true,
		Open:    func() (*tpm.TPM, error) { return tpm.New(tpm.Simulator, keepOpen{sim}), nil },
		KeyFile: filepath.Join(t.TempDir(), TPMKeyFileName),
	})
	defer p.Close()
	if _, err := p.Keyring(context.Background()); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("missing key file with a database: %v, want ErrKeyFile", err)
	}
}

// TestTPMManyPCRs: a policy over more PCRs than one TPM2_PCR_Read returns.
func TestTPMManyPCRs(t *testing.T) {
	sim := simTPM(t)
	file := filepath.Join(t.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	pcrs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16}
	p := newSimProvider(t, sim, file, pcrs...)
	if _, err := p.Keyring(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := newSimProvider(t, sim, file, pcrs...).Keyring(ctx); err != nil {
		t.Fatalf("unseal with 11 PCRs: %v", err)
	}
}
