package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Dev is the development key provider: the data key lives in a plaintext
// file (created on first use, mode 0600). It exists so the gateway runs on a
// machine without a TPM; it is not secure, and says so in every log line
// that mentions it.
type Dev struct {
	path string
	log  *slog.Logger
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
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	body := devMagic + "\n1 " + hex.EncodeToString(key) + "\n"
	tmp := d.path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: create %s: %w", d.path, err)
	}
	_, err = f.WriteString(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, d.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: create %s: %w", d.path, err)
	}
	if dir, err := os.Open(filepath.Dir(d.path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Static is a provider over a fixed key, for tests and benchmarks.
type Static struct{ Key []byte }

// Name implements Provider.
func (s Static) Name() string { return "static test key" }

// Secure implements Provider: false.
func (s Static) Secure() bool { return false }

// Keyring implements Provider.
func (s Static) Keyring(context.Context) (*Keyring, error) {
	return NewKeyring(1, map[uint32][]byte{1: s.Key})
}
