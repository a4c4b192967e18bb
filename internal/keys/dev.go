package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Dev is the development key provider: the data key lives in a plaintext
// file (created on first use, mode 0600). It exists so the gateway runs on a
// machine without a TPM; it is not secure, and says so in every log line
// that mentions it.
type Dev struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex // serialises rotations and retirements (rotate.go)
}

// NewDev returns a development provider over the key file at path. log may
// be nil.
func NewDev(path string, log *slog.Logger) *Dev {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dev{path: path, log: log}
}

// Name implements Provider.
func (d *Dev) Name() string { return "development key file " + d.path }

// Secure implements Provider: false.
func (d *Dev) Secure() bool { return false }

const devMagic = "smgw-dev-data-keys v1"

// Keyring implements Provider. It reads the key file, or creates one with a
// fresh random key if there is none. The file format is a magic line and
// then one "id hexkey" line per key; the last line's key is current.
func (d *Dev) Keyring(ctx context.Context) (*Keyring, error) {
	b, err := os.ReadFile(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := d.create(); err != nil {
			return nil, err
		}
		d.log.Warn("INSECURE: created a development data key in a plaintext file; use a TPM in production",
			"path", d.path)
		b, err = os.ReadFile(d.path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", d.path, err)
	}
	if fi, err := os.Stat(d.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrKeyFile, d.path, fi.Mode().Perm())
	}
	raw, current, err := parseDevFile(d.path, string(b))
	if err != nil {
		return nil, err
	}
	return NewKeyring(current, raw)
}

func parseDevFile(path, s string) (map[uint32][]byte, uint32, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) < 2 || lines[0] != devMagic {
		return nil, 0, fmt.Errorf("%w: %s:1: expected %q", ErrKeyFile, path, devMagic)
	}
	raw := map[uint32][]byte{}
	var current uint32
	for i, l := range lines[1:] {
		idS, keyS, ok := strings.Cut(strings.TrimSpace(l), " ")
		id, err := strconv.ParseUint(idS, 10, 32)
		if !ok || err != nil || id == 0 {
			return nil, 0, fmt.Errorf("%w: %s:%d: expected \"ID HEXKEY\"", ErrKeyFile, path, i+2)
		}
		key, err := hex.DecodeString(keyS)
		if err != nil || len(key) != KeySize {
			return nil, 0, fmt.Errorf("%w: %s:%d: key must be %d hex bytes", ErrKeyFile, path, i+2, KeySize)
		}
		raw[uint32(id)] = key
		current = uint32(id)
	}
	return raw, current, nil
}

func (d *Dev) create() error {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return writeFileAtomic(d.path, []byte(devMagic+"\n1 "+hex.EncodeToString(key)+"\n"))
}

// writeFileAtomic creates path (which must not exist) with body, mode
// 0600, durably: a temporary file, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: create %s: %w", path, err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: create %s: %w", path, err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// SigningKeyFile is the path of the development provider's identity key,
// beside its data key file.
func (d *Dev) SigningKeyFile() string { return d.path + ".signing" }

// Signer implements Provider: an ECDSA P-256 key in a plaintext PKCS #8
// PEM file beside the data key file, created on first use (mode 0600).
func (d *Dev) Signer(ctx context.Context) (crypto.Signer, error) {
	path := d.SigningKeyFile()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		d.log.Warn("INSECURE: created a development signing key in a plaintext file; use a TPM in production",
			"path", path)
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrKeyFile, path, fi.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: %s: expected a PEM \"PRIVATE KEY\" block", ErrKeyFile, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyFile, path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %s: not an ECDSA P-256 key", ErrKeyFile, path)
	}
	return ek, nil
}

// Static is a provider over a fixed key, for tests and benchmarks.
type Static struct{ Key []byte }

// staticSigners gives each Static data key one identity key for the life
// of the process, so a test sees the same signer on every call.
var staticSigners sync.Map // string(data key) → *ecdsa.PrivateKey

// Signer implements Provider: an in-memory P-256 key, the same for every
// Static with the same data key.
func (s Static) Signer(context.Context) (crypto.Signer, error) {
	if k, ok := staticSigners.Load(string(s.Key)); ok {
		return k.(*ecdsa.PrivateKey), nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	v, _ := staticSigners.LoadOrStore(string(s.Key), k)
	return v.(*ecdsa.PrivateKey), nil
}

// Name implements Provider.
func (s Static) Name() string { return "static test key" }

// Secure implements Provider: false.
func (s Static) Secure() bool { return false }

// Keyring implements Provider.
func (s Static) Keyring(context.Context) (*Keyring, error) {
	return NewKeyring(1, map[uint32][]byte{1: s.Key})
}
