package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Rotator is implemented by providers whose data keys can be rotated (Dev
// and TPM). A rotation adds a key and makes it current: what is sealed from
// then on uses it, what was sealed before still opens with its own key (the
// envelope names it) until the store has re-sealed it (store.Reseal); then
// the old key can be retired.
type Rotator interface {
	// Rotate creates a new data key, stores it durably (sealed by the TPM,
	// or in the development key file), adds it to kr and makes it current.
	// It returns the new key's id.
	Rotate(ctx context.Context, kr *Keyring) (uint32, error)
	// Retire removes key id from storage and from kr for good. The caller
	// has made sure that nothing sealed with it remains.
	Retire(ctx context.Context, kr *Keyring, id uint32) error
}

var (
	_ Rotator  = (*Dev)(nil)
	_ Rotator  = (*TPM)(nil)
	_ Provider = (*TPM)(nil)
)

// Rotate implements Rotator: a fresh random key appended to the key file
// as its last (current) line.
func (d *Dev) Rotate(ctx context.Context, kr *Keyring) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(d.path)
	if err != nil {
		return 0, fmt.Errorf("keys: read %s: %w", d.path, err)
	}
	raw, current, err := parseDevFile(d.path, string(b))
	if err != nil {
		return 0, err
	}
	if current != kr.Current() {
		return 0, fmt.Errorf("keys: %s's current key %d is not the keyring's %d: was the key rotated by another process? restart the gateway", d.path, current, kr.Current())
	}
	var id uint32
	for k := range raw {
		id = max(id, k)
	}
	id++
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return 0, fmt.Errorf("keys: %w", err)
	}
	body := strings.TrimRight(string(b), "\n") + "\n" + strconv.FormatUint(uint64(id), 10) + " " + hex.EncodeToString(key) + "\n"
	if err := replaceFile(d.path, []byte(body), 0o600); err != nil {
		return 0, err
	}
	d.log.Warn("INSECURE: rotated the development data key; the new key is in a plaintext file too", "path", d.path, "key", id)
	return id, kr.add(id, key, true)
}

// Retire implements Rotator: the key's line leaves the key file.
func (d *Dev) Retire(ctx context.Context, kr *Keyring, id uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := os.ReadFile(d.path)
	if err != nil {
		return fmt.Errorf("keys: read %s: %w", d.path, err)
	}
	_, current, err := parseDevFile(d.path, string(b))
	if err != nil {
		return err
	}
	if id == current || id == kr.Current() {
		return fmt.Errorf("keys: key %d is current and cannot be retired", id)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	prefix := strconv.FormatUint(uint64(id), 10) + " "
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), prefix) })
	if err := replaceFile(d.path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return kr.remove(id)
}
