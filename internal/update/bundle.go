package update

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// Magic starts every update file.
const Magic = "SMGWUPD1"

// Limits of the header.
const (
	maxManifest  = 64 << 10
	maxSignature = 512
)

// sigContext separates the manifest signature from any other use of the
// key.
const sigContext = "smgw-update-manifest-v1\n"

// Manifest describes the RAUC bundle an update file carries; it is what
// the signature covers.
type Manifest struct {
	// Format is 1.
	Format int `json:"format"`
	// Version is the software version the bundle installs (semver).
	Version string `json:"version"`
	// Compatible is RAUC's compatible string of the devices it is for
	// (system.conf [system] compatible); "" for any.
	Compatible string `json:"compatible,omitempty"`
	// Size and SHA256 (hex) are the bundle's.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Created is when the update was packed (RFC 3339), for the logs.
	Created string `json:"created,omitempty"`
}

// digest is what the signature signs.
func digest(manifest []byte) []byte {
	h := sha256.New()
	h.Write([]byte(sigContext))
	h.Write(manifest)
	return h.Sum(nil)
}

// Pack writes an update file to w: m (whose Size and SHA256 it fills in
// from bundle, read twice), signed with key, then the bundle.
func Pack(w io.Writer, m Manifest, bundle io.ReadSeeker, key crypto.Signer) error {
	if _, ok := key.Public().(*ecdsa.PublicKey); !ok {
		return fmt.Errorf("%w: the signing key is not an ECDSA key", ErrKeyring)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, bundle)
	if err != nil {
		return fmt.Errorf("update: read the bundle: %w", err)
	}
	if _, err := bundle.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("update: read the bundle: %w", err)
	}
	m.Format, m.Size, m.SHA256 = 1, n, hex.EncodeToString(h.Sum(nil))
	manifest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sig, err := key.Sign(rand.Reader, digest(manifest), crypto.SHA256)
	if err != nil {
		return fmt.Errorf("update: sign: %w", err)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(Magic)
	binary.Write(bw, binary.BigEndian, uint32(len(manifest)))
	bw.Write(manifest)
	binary.Write(bw, binary.BigEndian, uint16(len(sig)))
	bw.Write(sig)
	if _, err := io.Copy(bw, bundle); err != nil {
		return fmt.Errorf("update: copy the bundle: %w", err)
	}
	return bw.Flush()
}

// Header is an update file's manifest and signature, read and verified.
type Header struct {
	Manifest Manifest
	Version  Version
	// Offset is where the bundle starts in the file.
	Offset int64
	// Signer is the fingerprint (SHA-256 of the key's PKIX DER, first 8
	// bytes in hex) of the key that verified it.
	Signer string
}

// ReadHeader reads the header of the update file r and verifies its
// signature against the keyring. It does not read the bundle.
func ReadHeader(r io.Reader, keyring []*ecdsa.PublicKey) (*Header, error) {
	if len(keyring) == 0 {
		return nil, fmt.Errorf("%w: no trusted key", ErrKeyring)
	}
	var magic [len(Magic)]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != Magic {
		return nil, fmt.Errorf("%w: no %q header (a bare RAUC bundle is not accepted; sign it with smgw update pack)", ErrUnsigned, Magic)
	}
	var ml uint32
	if err := binary.Read(r, binary.BigEndian, &ml); err != nil {
		return nil, fmt.Errorf("%w: manifest length: %w", ErrFormat, err)
	}
	if ml == 0 || ml > maxManifest {
		return nil, fmt.Errorf("%w: manifest length %d out of range 1…%d", ErrFormat, ml, maxManifest)
	}
	manifest := make([]byte, ml)
	if _, err := io.ReadFull(r, manifest); err != nil {
		return nil, fmt.Errorf("%w: manifest: %w", ErrFormat, err)
	}
	var sl uint16
	if err := binary.Read(r, binary.BigEndian, &sl); err != nil {
		return nil, fmt.Errorf("%w: signature length: %w", ErrFormat, err)
	}
	if sl == 0 {
		return nil, fmt.Errorf("%w: the signature is empty", ErrUnsigned)
	}
	if sl > maxSignature {
		return nil, fmt.Errorf("%w: signature length %d over %d", ErrFormat, sl, maxSignature)
	}
	sig := make([]byte, sl)
	if _, err := io.ReadFull(r, sig); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrFormat, err)
	}
	d := digest(manifest)
	signer := ""
	for _, k := range keyring {
		if ecdsa.VerifyASN1(k, d, sig) {
			signer = Fingerprint(k)
			break
		}
	}
	if signer == "" {
		return nil, fmt.Errorf("%w: no key of the keyring (%d keys) signed this manifest", ErrBadSignature, len(keyring))
	}
	h := &Header{Offset: int64(len(Magic) + 4 + int(ml) + 2 + int(sl)), Signer: signer}
	if err := json.Unmarshal(manifest, &h.Manifest); err != nil {
		return nil, fmt.Errorf("%w: manifest: %w", ErrFormat, err)
	}
	if h.Manifest.Format != 1 {
		return nil, fmt.Errorf("%w: manifest format %d (this build reads 1)", ErrFormat, h.Manifest.Format)
	}
	v, err := ParseVersion(h.Manifest.Version)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	h.Version = v
	if h.Manifest.Size < 0 || len(h.Manifest.SHA256) != 64 {
		return nil, fmt.Errorf("%w: manifest: bad size or sha256", ErrFormat)
	}
	return h, nil
}

// extract copies the bundle that follows the header in r to the file dst
// and checks it against the manifest; dst is removed on error.
func extract(r io.Reader, h *Header, dst string) (err error) {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("update: %w", cerr)
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	var sum hash.Hash = sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(r, h.Manifest.Size+1))
	if err != nil {
		return fmt.Errorf("update: copy the bundle: %w", err)
	}
	if n != h.Manifest.Size {
		return fmt.Errorf("%w: the bundle has %s bytes, the manifest says %d", ErrCorrupt, sizeString(n, h.Manifest.Size), h.Manifest.Size)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != h.Manifest.SHA256 {
		return fmt.Errorf("%w: SHA-256 %s, the manifest says %s", ErrCorrupt, got, h.Manifest.SHA256)
	}
	return f.Sync()
}

func sizeString(n, want int64) string {
	if n > want {
		return "more than " + fmt.Sprint(want)
	}
	return fmt.Sprint(n)
}

// Fingerprint names a public key: the first 8 bytes of the SHA-256 of its
// PKIX DER form, in hex.
func Fingerprint(k *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "?"
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:8])
}

// ParseKeyring reads trusted ECDSA keys from PEM data: "PUBLIC KEY" blocks
// and "CERTIFICATE" blocks (whose keys are trusted as they are). Other
// blocks are an error, so a private key put there by mistake is noticed.
func ParseKeyring(data []byte) ([]*ecdsa.PublicKey, error) {
	var keys []*ecdsa.PublicKey
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var pub any
		switch b.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: block %d: %w", ErrKeyring, n, err)
			}
			pub = k
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: block %d: %w", ErrKeyring, n, err)
			}
			pub = c.PublicKey
		default:
			return nil, fmt.Errorf("%w: block %d is a %q, not a PUBLIC KEY or CERTIFICATE", ErrKeyring, n, b.Type)
		}
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: block %d is not an ECDSA key", ErrKeyring, n)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PEM PUBLIC KEY or CERTIFICATE block", ErrKeyring)
	}
	return keys, nil
}

// LoadKeyring reads the keyring file at path (ParseKeyring).
func LoadKeyring(path string) ([]*ecdsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	keys, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// ParseSigningKey reads an ECDSA private key from PEM ("EC PRIVATE KEY" or
// PKCS #8 "PRIVATE KEY"), for Pack.
func ParseSigningKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block in the signing key", ErrKeyring)
	}
	switch b.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if ek, ok := k.(*ecdsa.PrivateKey); ok {
			return ek, nil
		}
	}
	return nil, errors.New("update: the signing key is not an ECDSA private key")
}
