package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/smgw/smgw/hal/tpm"
)

// Errors of the TPM provider. Each message says what happened and what to
// do; internal/app treats all of them as needing a person (exit 78).
var (
	// ErrNoTPM is returned (wrapped) when there is no TPM where the
	// configuration points (no device, nothing listening).
	ErrNoTPM = errors.New("keys: no TPM")
	// ErrTampered is returned (wrapped) when a sealed key blob does not
	// load into the TPM: it was altered, or it was made by another TPM or
	// before the TPM was cleared.
	ErrTampered = errors.New("keys: sealed key blob refused by the TPM")
	// ErrPCRMismatch is returned (wrapped) when the TPM refuses to unseal
	// the data key because the platform's PCRs (its boot chain) differ
	// from those the key was sealed to.
	ErrPCRMismatch = errors.New("keys: the platform state (PCRs) does not match the sealed data key's policy")
	// ErrLockout is returned (wrapped) when the TPM is in dictionary-attack
	// lockout and refuses authorisations.
	ErrLockout = errors.New("keys: the TPM is in dictionary-attack lockout")
	// ErrTPM is returned (wrapped) for any other failure of a TPM command.
	ErrTPM = errors.New("keys: TPM failure")
)

// TPMKeyFileName is the TPM provider's key file in the data directory:
// the sealed data keys' and the signing key's TPM blobs (public and
// private areas; the private ones are encrypted by the TPM's storage key
// and useless without that TPM).
const TPMKeyFileName = "tpm-keys.json"

// TPMOptions configure the TPM provider.
type TPMOptions struct {
	// Device names the TPM (security.tpm): "/dev/tpmrm0",
	// "swtpm://127.0.0.1:2321" or "simulator" (see hal/tpm.Open).
	Device string
	// Open, if set, opens the TPM instead of Device (tests: a simulator
	// shared between provider instances). The provider closes what it
	// returns.
	Open func() (*tpm.TPM, error)
	// KeyFile is the key file (normally <data_dir>/tpm-keys.json).
	KeyFile string
	// PCRs are the SHA-256 PCRs new data keys are sealed to (e.g. 0, 2, 4,
	// 7); none means no PCR policy.
	PCRs []int
	// MustExist refuses to create keys when the key file is missing (the
	// app sets it when a database exists: new keys could not open it).
	MustExist bool
	// Log receives the provider's log lines; nil discards them.
	Log *slog.Logger
}

// TPM is the TPM key provider. The data keys are AES-256 keys sealed as
// keyedhash objects under the TPM's storage primary key (re-created at
// every start from the ECC P-256 SRK template, never stored), optionally
// bound to PCR values; the signing key is an ECDSA P-256 key created in the
// TPM, non-exportable. Both are kept as TPM blobs in the key file. One
// connection to the TPM is opened on first use and kept until Close.
type TPM struct {
	opts TPMOptions
	log  *slog.Logger

	mu     sync.Mutex // guards everything below and the key file
	t      *tpm.TPM
	srk    tpm2.AuthHandle
	srkPub tpm2.TPMTPublic
	signer *tpmSigner
}

// NewTPM returns a TPM provider. It opens nothing until first used.
func NewTPM(o TPMOptions) *TPM {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.PCRs = slices.Clone(o.PCRs)
	slices.Sort(o.PCRs)
	return &TPM{opts: o, log: o.Log}
}

// Name implements Provider.
func (p *TPM) Name() string { return "TPM " + p.opts.Device }

// Secure implements Provider: true.
func (p *TPM) Secure() bool { return true }

// Close flushes the keys from the TPM and closes the connection. It is
// idempotent.
func (p *TPM) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t == nil {
		return nil
	}
	if p.signer != nil {
		p.flush(p.signer.handle.Handle)
		p.signer.closed.Store(true)
		p.signer = nil
	}
	p.flush(p.srk.Handle)
	err := p.t.Close()
	p.t = nil
	return err
}

func (p *TPM) flush(h tpm2.TPMHandle) {
	p.t.Do(func(t transport.TPM) error {
		_, err := tpm2.FlushContext{FlushHandle: h}.Execute(t)
		return err
	})
}

// start opens the TPM and creates the storage primary key. Called with mu.
func (p *TPM) start() error {
	if p.t != nil {
		return nil
	}
	open := p.opts.Open
	if open == nil {
		open = func() (*tpm.TPM, error) { return tpm.Open(p.opts.Device) }
	}
	t, err := open()
	if err != nil {
		if errors.Is(err, tpm.ErrNotFound) {
			return fmt.Errorf("%w: %v. Check security.tpm in the configuration and that the TPM (or swtpm) is there", ErrNoTPM, err)
		}
		return fmt.Errorf("%w: %v", ErrNoTPM, err)
	}
	err = t.Do(func(tt transport.TPM) error {
		rsp, err := tpm2.CreatePrimary{
			PrimaryHandle: tpm2.TPMRHOwner,
			InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
		}.Execute(tt)
		if err != nil {
			return tpmErr("create the storage primary key (SRK) in the owner hierarchy", err)
		}
		pub, err := rsp.OutPublic.Contents()
		if err != nil {
			return fmt.Errorf("%w: SRK public area: %v", ErrTPM, err)
		}
		p.srk = tpm2.AuthHandle{Handle: rsp.ObjectHandle, Name: rsp.Name, Auth: tpm2.PasswordAuth(nil)}
		p.srkPub = *pub
		return nil
	})
	if err != nil {
		t.Close()
		return err
	}
	p.t = t
	return nil
}

// tpmErr classifies a TPM command's error.
func tpmErr(what string, err error) error {
	switch {
	case errors.Is(err, tpm2.TPMRCLockout):
		return fmt.Errorf("%w: %s: %v. Wait for the lockout to expire (the TPM's recovery time), "+
			"or have the TPM's owner clear it with the lockout authorisation (tpm2_dictionarylockout --clear-lockout); "+
			"then start the gateway again", ErrLockout, what, err)
	case errors.Is(err, tpm.ErrTransport), errors.Is(err, tpm.ErrClosed):
		return fmt.Errorf("%w: %s: %v", ErrNoTPM, what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrTPM, what, err)
}

// session returns an HMAC session salted with the SRK that encrypts the
// sensitive parameters (a data key going in or coming out), so they never
// cross the bus or socket in clear.
func (p *TPM) session(dir tpm2.AuthOption) tpm2.Session {
	return tpm2.HMAC(tpm2.TPMAlgSHA256, 16, dir, tpm2.Salted(p.srk.Handle, p.srkPub))
}

// Keyring implements Provider: it loads the key file (creating a first
// data key and the file when there is none) and unseals every data key.
// Only the keyring (the AES key schedules) stays in memory.
func (p *TPM) Keyring(ctx context.Context) (*Keyring, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(); err != nil {
		return nil, err
	}
	kf, err := p.loadFile()
	if err != nil {
		return nil, err
	}
	if len(kf.Data) == 0 {
		if _, err := p.newDataKey(ctx, kf); err != nil {
			return nil, err
		}
	}
	raw := make(map[uint32][]byte, len(kf.Data))
	defer func() {
		for _, k := range raw {
			clear(k)
		}
	}()
	for _, d := range kf.Data {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k, err := p.unseal(d)
		if err != nil {
			return nil, err
		}
		raw[d.ID] = k
	}
	return NewKeyring(kf.Current, raw)
}

// seal creates a sealed data object holding key under the SRK, bound to
// the configured PCRs' current values when there are any.
func (p *TPM) seal(key []byte) (tpmDataKey, error) {
	d := tpmDataKey{PCRs: slices.Clone(p.opts.PCRs)}
	err := p.t.Do(func(t transport.TPM) error {
		pub := tpm2.TPMTPublic{
			Type:    tpm2.TPMAlgKeyedHash,
			NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{
				FixedTPM:    true,
				FixedParent: true,
				// Without a PCR policy the (empty) password authorises
				// unsealing; dictionary-attack protection stays on.
				UserWithAuth: len(d.PCRs) == 0,
			},
		}
		if len(d.PCRs) > 0 {
			digest, err := pcrPolicyDigest(t, d.PCRs)
			if err != nil {
				return err
			}
			pub.AuthPolicy = tpm2.TPM2BDigest{Buffer: digest}
		}
		rsp, err := tpm2.Create{
			ParentHandle: tpm2.AuthHandle{Handle: p.srk.Handle, Name: p.srk.Name, Auth: p.session(tpm2.AESEncryption(128, tpm2.EncryptIn))},
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: key}),
			}},
			InPublic: tpm2.New2B(pub),
		}.Execute(t)
		if err != nil {
			return tpmErr("seal a data key", err)
		}
		d.blob = blobOf(rsp.OutPublic, rsp.OutPrivate)
		return nil
	})
	return d, err
}

func pcrSelection(pcrs []int) tpm2.TPMLPCRSelection {
	u := make([]uint, len(pcrs))
	for i, n := range pcrs {
		u[i] = uint(n)
	}
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash: tpm2.TPMAlgSHA256, PCRSelect: tpm2.PCClientCompatible.PCRs(u...),
	}}}
}

// pcrPolicyDigest computes, in a trial session, the policy digest of
// PolicyPCR over the PCRs' current values.
func pcrPolicyDigest(t transport.TPM, pcrs []int) ([]byte, error) {
	// A PCR of a bank the TPM does not keep would silently drop out of
	// the policy: make sure every one is read back.
	// (One at a time: TPM2_PCR_Read returns at most eight.)
	for _, n := range pcrs {
		rd, err := tpm2.PCRRead{PCRSelectionIn: pcrSelection([]int{n})}.Execute(t)
		if err != nil {
			return nil, tpmErr("read the PCRs", err)
		}
		if len(rd.PCRValues.Digests) != 1 {
			return nil, fmt.Errorf("%w: the TPM does not return SHA-256 PCR %d: is its SHA-256 PCR bank active? "+
				"Check security.pcrs", ErrTPM, n)
		}
	}
	sess, closeSess, err := tpm2.PolicySession(t, tpm2.TPMAlgSHA256, 16, tpm2.Trial())
	if err != nil {
		return nil, tpmErr("start a trial policy session", err)
	}
	defer closeSess()
	if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: pcrSelection(pcrs)}).Execute(t); err != nil {
		return nil, tpmErr("compute the PCR policy", err)
	}
	rsp, err := tpm2.PolicyGetDigest{PolicySession: sess.Handle()}.Execute(t)
	if err != nil {
		return nil, tpmErr("compute the PCR policy", err)
	}
	return rsp.PolicyDigest.Buffer, nil
}

// load loads a blob under the SRK and returns its handle. Called inside Do.
func (p *TPM) load(t transport.TPM, what string, b blob) (tpm2.AuthHandle, error) {
	pub, priv, err := b.decode()
	if err != nil {
		return tpm2.AuthHandle{}, fmt.Errorf("%w: %s in %s: %v. Restore the key file from a backup", ErrTampered, what, p.opts.KeyFile, err)
	}
	rsp, err := tpm2.Load{ParentHandle: p.srk, InPrivate: priv, InPublic: pub}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCLockout) {
			return tpm2.AuthHandle{}, tpmErr("load "+what, err)
		}
		var f1 tpm2.TPMFmt1Error
		if errors.As(err, &f1) {
			return tpm2.AuthHandle{}, fmt.Errorf("%w: the TPM does not load %s from %s (%v): the file was altered, "+
				"or it was made by another TPM or before this TPM was cleared. Restore the key file from a backup made on this "+
				"gateway; if the TPM was cleared, the data sealed under it cannot be recovered", ErrTampered, what, p.opts.KeyFile, err)
		}
		return tpm2.AuthHandle{}, tpmErr("load "+what, err)
	}
	return tpm2.AuthHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}, nil
}

// unseal loads a sealed data key and unseals it.
func (p *TPM) unseal(d tpmDataKey) ([]byte, error) {
	var key []byte
	what := "data key " + strconv.FormatUint(uint64(d.ID), 10)
	err := p.t.Do(func(t transport.TPM) error {
		h, err := p.load(t, what, d.blob)
		if err != nil {
			return err
		}
		defer tpm2.FlushContext{FlushHandle: h.Handle}.Execute(t)
		if len(d.PCRs) == 0 {
			h.Auth = p.session(tpm2.AESEncryption(128, tpm2.EncryptOut))
		} else {
			sess, closeSess, err := tpm2.PolicySession(t, tpm2.TPMAlgSHA256, 16,
				tpm2.AESEncryption(128, tpm2.EncryptOut), tpm2.Salted(p.srk.Handle, p.srkPub))
			if err != nil {
				return tpmErr("start a policy session", err)
			}
			defer closeSess()
			if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: pcrSelection(d.PCRs)}).Execute(t); err != nil {
				return tpmErr("PolicyPCR", err)
			}
			h.Auth = sess
		}
		rsp, err := tpm2.Unseal{ItemHandle: h}.Execute(t)
		if err != nil {
			if errors.Is(err, tpm2.TPMRCPolicyFail) {
				return fmt.Errorf("%w: %s is sealed to PCRs %s, whose values changed since (%v). If the firmware, boot "+
					"loader or kernel was updated on purpose, the data key must be re-sealed from a backup of it, or the "+
					"store restored; see docs/security.md, \"After a firmware update\". Otherwise the boot chain was "+
					"tampered with", ErrPCRMismatch, what, pcrList(d.PCRs), err)
			}
			return tpmErr("unseal "+what, err)
		}
		if len(rsp.OutData.Buffer) != KeySize {
			clear(rsp.OutData.Buffer)
			return fmt.Errorf("%w: %s unseals to %d bytes, want %d", ErrTampered, what, len(rsp.OutData.Buffer), KeySize)
		}
		key = rsp.OutData.Buffer
		return nil
	})
	return key, err
}

func pcrList(pcrs []int) string {
	s := make([]string, len(pcrs))
	for i, n := range pcrs {
		s[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// newDataKey creates a fresh data key, seals it, appends it to kf as the
// current key and writes kf; the key's bytes are cleared. It returns the
// new key's id. Called with mu.
func (p *TPM) newDataKey(ctx context.Context, kf *tpmKeyFile) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return 0, fmt.Errorf("keys: %w", err)
	}
	d, err := p.seal(key)
	if err != nil {
		return 0, err
	}
	d.ID = kf.nextID()
	kf.Data = append(kf.Data, d)
	kf.Current = d.ID
	if err := p.saveFile(kf); err != nil {
		return 0, err
	}
	p.log.Info("keys: created and sealed a new data key in the TPM", "key", d.ID, "pcrs", pcrList(d.PCRs), "file", p.opts.KeyFile)
	return d.ID, nil
}

// Rotate implements Rotator: a new data key, sealed by the TPM, stored in
// the key file and made current in kr.
func (p *TPM) Rotate(ctx context.Context, kr *Keyring) (uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(); err != nil {
		return 0, err
	}
	kf, err := p.loadFile()
	if err != nil {
		return 0, err
	}
	if kf.Current != kr.Current() {
		return 0, fmt.Errorf("keys: the key file's current key %d is not the keyring's %d: was the key rotated by another process? restart the gateway", kf.Current, kr.Current())
	}
	id, err := p.newDataKey(ctx, kf)
	if err != nil {
		return 0, err
	}
	// Unseal what was just sealed: it proves the blob works and puts the
	// key into the keyring without keeping another copy.
	key, err := p.unseal(kf.Data[len(kf.Data)-1])
	if err != nil {
		return 0, err
	}
	defer clear(key)
	return id, kr.add(id, key, true)
}

// Retire implements Rotator: the sealed blob of key id leaves the key
// file and the key leaves kr. The caller has made sure nothing uses it.
func (p *TPM) Retire(ctx context.Context, kr *Keyring, id uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	kf, err := p.loadFile()
	if err != nil {
		return err
	}
	if id == kf.Current || id == kr.Current() {
		return fmt.Errorf("keys: key %d is current and cannot be retired", id)
	}
	i := slices.IndexFunc(kf.Data, func(d tpmDataKey) bool { return d.ID == id })
	if i >= 0 {
		kf.Data = slices.Delete(kf.Data, i, i+1)
		if err := p.saveFile(kf); err != nil {
			return err
		}
	}
	p.log.Info("keys: retired a data key", "key", id, "file", p.opts.KeyFile)
	return kr.remove(id)
}

func (p *TPM) loadFile() (*tpmKeyFile, error) {
	kf, err := readTPMKeyFile(p.opts.KeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if p.opts.MustExist {
			return nil, fmt.Errorf("%w: %s is missing but the gateway has a database sealed with its keys: restore the file from a backup", ErrKeyFile, p.opts.KeyFile)
		}
		return &tpmKeyFile{Version: tpmKeyFileVersion}, nil
	}
	return kf, err
}

func (p *TPM) saveFile(kf *tpmKeyFile) error {
	return writeTPMKeyFile(p.opts.KeyFile, kf)
}

// Signer implements Provider: the ECDSA P-256 signing key in the TPM,
// created on first use. Its private part never leaves the TPM; signatures
// are ASN.1 DER, as ecdsa.SignASN1 makes them.
func (p *TPM) Signer(ctx context.Context) (crypto.Signer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signer != nil {
		return p.signer, nil
	}
	if err := p.start(); err != nil {
		return nil, err
	}
	kf, err := p.loadFile()
	if err != nil {
		return nil, err
	}
	if kf.Signing == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := p.createSigningKey()
		if err != nil {
			return nil, err
		}
		kf.Signing = &b
		if err := p.saveFile(kf); err != nil {
			return nil, err
		}
		p.log.Info("keys: created the gateway's signing key in the TPM", "file", p.opts.KeyFile)
	}
	var s *tpmSigner
	err = p.t.Do(func(t transport.TPM) error {
		h, err := p.load(t, "the signing key", *kf.Signing)
		if err != nil {
			return err
		}
		rsp, err := tpm2.ReadPublic{ObjectHandle: h.Handle}.Execute(t)
		if err != nil {
			return tpmErr("read the signing key's public area", err)
		}
		pub, err := publicKey(rsp.OutPublic)
		if err != nil {
			return err
		}
		h.Auth = tpm2.PasswordAuth(nil)
		s = &tpmSigner{tpm: p.t, handle: h, pub: pub}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.signer = s
	return s, nil
}

// signingTemplate is the signing key's template: ECDSA P-256, created in
// the TPM (sensitiveDataOrigin), never to leave it (fixedTPM, fixedParent),
// sign only; the scheme is chosen per signature (ECDSA with the digest's
// hash).
var signingTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		SignEncrypt:         true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		CurveID: tpm2.TPMECCNistP256,
		Scheme:  tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
		KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
	}),
}

func (p *TPM) createSigningKey() (blob, error) {
	var b blob
	err := p.t.Do(func(t transport.TPM) error {
		rsp, err := tpm2.Create{ParentHandle: p.srk, InPublic: tpm2.New2B(signingTemplate)}.Execute(t)
		if err != nil {
			return tpmErr("create the signing key", err)
		}
		b = blobOf(rsp.OutPublic, rsp.OutPrivate)
		return nil
	})
	return b, err
}

func publicKey(p2b tpm2.TPM2BPublic) (*ecdsa.PublicKey, error) {
	pub, err := p2b.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: signing key public area: %v", ErrTPM, err)
	}
	parms, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, fmt.Errorf("%w: signing key is not an ECC key: %v", ErrTampered, err)
	}
	pt, err := pub.Unique.ECC()
	if err != nil {
		return nil, fmt.Errorf("%w: signing key: %v", ErrTampered, err)
	}
	k, err := tpm2.ECDSAPub(parms, pt)
	if err != nil {
		return nil, fmt.Errorf("%w: signing key: %v", ErrTampered, err)
	}
	return k, nil
}

// tpmSigner is the TPM-resident signing key as a crypto.Signer.
type tpmSigner struct {
	tpm    *tpm.TPM
	handle tpm2.AuthHandle
	pub    *ecdsa.PublicKey
	closed atomic.Bool
}

// Public implements crypto.Signer.
func (s *tpmSigner) Public() crypto.PublicKey { return s.pub }

// Sign implements crypto.Signer: digest must be the hash named by opts
// (SHA-256, SHA-384 or SHA-512, as TLS and X.509 use them with P-256). The
// signature is ASN.1 DER. rand is not used: the TPM makes the nonce.
func (s *tpmSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var alg tpm2.TPMIAlgHash
	switch opts.HashFunc() {
	case crypto.SHA256:
		alg = tpm2.TPMAlgSHA256
	case crypto.SHA384:
		alg = tpm2.TPMAlgSHA384
	case crypto.SHA512:
		alg = tpm2.TPMAlgSHA512
	default:
		return nil, fmt.Errorf("keys: TPM signing: hash %v is not supported (use SHA-256)", opts.HashFunc())
	}
	if len(digest) != opts.HashFunc().Size() {
		return nil, fmt.Errorf("keys: TPM signing: digest of %d bytes for %v", len(digest), opts.HashFunc())
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("%w: the key provider is closed", ErrTPM)
	}
	rsp, err := tpm2.Sign{
		KeyHandle: s.handle,
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: alg}),
		},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	}.Execute(s.tpm)
	if err != nil {
		return nil, tpmErr("sign", err)
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("%w: sign: %v", ErrTPM, err)
	}
	return asn1ECDSA(sig.SignatureR.Buffer, sig.SignatureS.Buffer)
}

// asn1ECDSA encodes r and s as the DER SEQUENCE { r INTEGER, s INTEGER }.
func asn1ECDSA(r, s []byte) ([]byte, error) {
	b, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
	if err != nil {
		return nil, fmt.Errorf("keys: encode signature: %w", err)
	}
	return b, nil
}

// ExistingTPMKeys reports whether the TPM key file at path exists.
func ExistingTPMKeys(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
