// Package keys is the gateway's key hierarchy: providers that yield the
// data-encryption keys protecting what the store keeps at rest, and the
// envelope format of everything sealed with them.
//
// A Provider unseals the data keys once, at start, into a Keyring held in
// memory, and holds the gateway's signing key. The TPM provider (tpm.go)
// seals the data keys with the TPM and keeps the signing key in it; the
// development provider (dev.go) keeps them in files and says loudly that it
// is not secure. Rotator (rotate.go) adds data keys and retires old ones;
// cert.go makes the CSR, installs the certificate and gives services their
// TLS certificate (ClientCertificate); secrets.go names the secondary keys
// (meter and head-end keys) the store keeps sealed. docs/security.md has
// the whole picture.
package keys

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Errors of this package.
var (
	// ErrUnknownKey is returned when a sealed value names a key id the
	// keyring does not hold.
	ErrUnknownKey = errors.New("keys: unknown data key id")
	// ErrOpen is returned when a sealed value does not authenticate under
	// its key: it was sealed by another key, or it was altered.
	ErrOpen = errors.New("keys: sealed value does not authenticate")
	// ErrEnvelope is returned for a sealed value too short or of an
	// unknown format version.
	ErrEnvelope = errors.New("keys: malformed sealed value")
	// ErrKeyFile is returned (wrapped) for an unreadable or malformed key file.
	ErrKeyFile = errors.New("keys: bad key file")
)

// KeySize is the size of a data key: AES-256.
const KeySize = 32

// Provider yields the data keys. Implementations: Dev (a key file) and the
// TPM provider.
type Provider interface {
	// Name says where the keys come from, for logs and status.
	Name() string
	// Secure is false for providers that keep keys in plaintext
	// (development only).
	Secure() bool
	// Keyring unseals the data keys. It is called once at start.
	Keyring(ctx context.Context) (*Keyring, error)
	// Signer returns the gateway's identity key, ECDSA P-256: it signs
	// what leaves the gateway (reading batches, event-log heads) and is
	// the private key of its TLS client certificate. The TPM provider
	// keeps it in the TPM; it never leaves it.
	Signer(ctx context.Context) (crypto.Signer, error)
}

// Keyring holds unsealed data keys: one current key that seals, and older
// ones kept to open what they sealed. It is safe for concurrent use. A
// rotation (see Rotator) adds a key and makes it current while the store
// seals and opens: each Seal and Open sees one consistent set of keys.
type Keyring struct {
	mu    sync.Mutex // serialises changes; readers load state
	state atomic.Pointer[ringState]
}

// ringState is one immutable version of a keyring.
type ringState struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// NewKeyring returns a keyring over raw AES-256 keys by id; current must be
// one of them. Key id 0 is reserved. The keyring keeps no copy of raw: the
// caller may clear it afterwards.
func NewKeyring(current uint32, raw map[uint32][]byte) (*Keyring, error) {
	if _, ok := raw[current]; !ok || current == 0 {
		return nil, fmt.Errorf("keys: current key id %d not in keyring", current)
	}
	st := &ringState{current: current, aeads: make(map[uint32]cipher.AEAD, len(raw))}
	for id, key := range raw {
		a, err := newAEAD(id, key)
		if err != nil {
			return nil, err
		}
		st.aeads[id] = a
	}
	k := &Keyring{}
	k.state.Store(st)
	return k, nil
}

func newAEAD(id uint32, key []byte) (cipher.AEAD, error) {
	if id == 0 {
		return nil, errors.New("keys: key id 0 is reserved")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("keys: key %d is %d bytes, want %d", id, len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: key %d: %w", id, err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("keys: key %d: %w", id, err)
	}
	return a, nil
}

// Current returns the id of the key that seals.
func (k *Keyring) Current() uint32 { return k.state.Load().current }

// IDs returns the ids of the keys held, in increasing order.
func (k *Keyring) IDs() []uint32 {
	st := k.state.Load()
	ids := make([]uint32, 0, len(st.aeads))
	for id := range st.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Has reports whether the keyring holds key id.
func (k *Keyring) Has(id uint32) bool {
	_, ok := k.state.Load().aeads[id]
	return ok
}

// add puts key under id (which must be new) and, if current, makes it the
// key that seals. Providers call it when they rotate.
func (k *Keyring) add(id uint32, key []byte, current bool) error {
	a, err := newAEAD(id, key)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.state.Load()
	if _, dup := old.aeads[id]; dup {
		return fmt.Errorf("keys: key id %d is already in the keyring", id)
	}
	st := &ringState{current: old.current, aeads: maps.Clone(old.aeads)}
	st.aeads[id] = a
	if current {
		st.current = id
	}
	k.state.Store(st)
	return nil
}

// remove drops key id, which must not be the current one.
func (k *Keyring) remove(id uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.state.Load()
	if id == old.current {
		return fmt.Errorf("keys: key %d is current and cannot be retired", id)
	}
	st := &ringState{current: old.current, aeads: maps.Clone(old.aeads)}
	delete(st.aeads, id)
	k.state.Store(st)
	return nil
}

// Envelope format of a sealed value (all versions start with the version
// byte, so the format can change without a flag day):
//
//	version (1) = 1 | key id (4, big-endian) | nonce (12) | ciphertext | GCM tag (16)
//
// The nonce is random: at the rate the store seals (blocks and commit
// batches, not single readings) a key seals far fewer than 2^32 values in a
// gateway's life, the bound NIST SP 800-38D sets for random nonces.
const (
	envelopeV1 = 1
	headerSize = 1 + 4 + 12
	tagSize    = 16
	// Overhead is what sealing adds to a plaintext.
	Overhead = headerSize + tagSize
)

// Seal appends the sealed form of plaintext to dst, under the current key,
// binding aad (which must be given again to Open: the store passes the
// value's location so a sealed value cannot be moved).
func (k *Keyring) Seal(dst, plaintext, aad []byte) []byte {
	st := k.state.Load()
	a := st.aeads[st.current]
	var hdr [headerSize]byte
	hdr[0] = envelopeV1
	binary.BigEndian.PutUint32(hdr[1:5], st.current)
	rand.Read(hdr[5:]) // documented never to fail (it aborts the program instead)
	dst = append(dst, hdr[:]...)
	return a.Seal(dst, hdr[5:], plaintext, aad)
}

// KeyID returns the id of the key that sealed v.
func KeyID(sealed []byte) (uint32, error) {
	if len(sealed) < Overhead {
		return 0, fmt.Errorf("%w: %d bytes, need at least %d", ErrEnvelope, len(sealed), Overhead)
	}
	if sealed[0] != envelopeV1 {
		return 0, fmt.Errorf("%w: version %d", ErrEnvelope, sealed[0])
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

// Open appends the plaintext of sealed to dst, checking it against aad.
func (k *Keyring) Open(dst, sealed, aad []byte) ([]byte, error) {
	id, err := KeyID(sealed)
	if err != nil {
		return nil, err
	}
	a, ok := k.state.Load().aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownKey, id)
	}
	out, err := a.Open(dst, sealed[5:headerSize], sealed[headerSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w (key %d)", ErrOpen, id)
	}
	return out, nil
}
