package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IdentityCertFile is the installed certificate chain's file name in the
// data directory (PEM, leaf first), written by InstallCertificate.
const IdentityCertFile = "identity.crt"

// IdentityPubFile is the file in the data directory holding the signing
// key's public key (PEM "PUBLIC KEY"): what `smgw log --verify` checks the
// signed event-log heads against when no certificate is installed.
const IdentityPubFile = "identity.pub"

// ErrCertificate is returned (wrapped) for a certificate file that cannot
// be used: unreadable, not PEM certificates, or for another key than the
// gateway's signing key.
var ErrCertificate = errors.New("keys: unusable certificate")

// ClientCertificate returns the gateway's TLS certificate: the chain in
// certFile (PEM, leaf first, as `smgw keys cert install` writes it) with
// the provider's Signer as its private key, so the key never leaves the
// TPM. It checks that the leaf certifies the signer's public key. The
// MQTT uplink and the HAN TLS server use it.
func ClientCertificate(ctx context.Context, p Provider, certFile string) (tls.Certificate, error) {
	signer, err := p.Signer(ctx)
	if err != nil {
		return tls.Certificate{}, err
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v (request one with \"smgw keys csr\" and install it with \"smgw keys cert install\")", ErrCertificate, err)
	}
	chain, err := ParseCertificates(certFile, b)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := MatchesKey(chain[0], signer.Public()); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
	}
	c := tls.Certificate{PrivateKey: signer, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, nil
}

// ParseCertificates parses every PEM CERTIFICATE block of b (name is the
// file's name, for errors). It needs at least one and refuses other blocks.
func ParseCertificates(name string, b []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: %s: a PEM %q block; only CERTIFICATE blocks belong in a certificate chain", ErrCertificate, name, blk.Type)
		}
		x, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: certificate %d: %v", ErrCertificate, name, len(chain)+1, err)
		}
		chain = append(chain, x)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: %s: no PEM CERTIFICATE block", ErrCertificate, name)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: %s: text after the last certificate that is not PEM", ErrCertificate, name)
	}
	return chain, nil
}

// MatchesKey checks that the certificate certifies pub.
func MatchesKey(cert *x509.Certificate, pub crypto.PublicKey) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	k, ok := pub.(equaler)
	if !ok || !k.Equal(cert.PublicKey) {
		return fmt.Errorf("%w: the certificate (subject %q) is for another key than the gateway's signing key", ErrCertificate, cert.Subject.String())
	}
	return nil
}

// InstallCertificate checks the chain in b (PEM, leaf first) against the
// provider's signing key and writes it to path (mode 0644, atomically,
// replacing an older one). It returns the leaf.
func InstallCertificate(ctx context.Context, p Provider, b []byte, path string) (*x509.Certificate, error) {
	chain, err := ParseCertificates("certificate", b)
	if err != nil {
		return nil, err
	}
	signer, err := p.Signer(ctx)
	if err != nil {
		return nil, err
	}
	if err := MatchesKey(chain[0], signer.Public()); err != nil {
		return nil, err
	}
	var out []byte
	for _, x := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})...)
	}
	if err := replaceFile(path, out, 0o644); err != nil {
		return nil, err
	}
	return chain[0], nil
}

// ParseSubject parses a distinguished name written as
// "CN=gw-1,O=Utility,OU=Metering,C=DE,L=Berlin,ST=Berlin" (attributes CN, O,
// OU, C, L, ST, SERIALNUMBER; commas inside a value escaped as "\,").
func ParseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("keys: subject %q: %q is not ATTRIBUTE=VALUE", s, p)
		}
		switch k {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "C":
			n.Country = append(n.Country, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "SERIALNUMBER":
			n.SerialNumber = v
		default:
			return n, fmt.Errorf("keys: subject %q: unknown attribute %q (known: CN, O, OU, C, L, ST, SERIALNUMBER)", s, k)
		}
	}
	if n.CommonName == "" {
		return n, fmt.Errorf("keys: subject %q: CN is required", s)
	}
	return n, nil
}

// CreateCSR returns a PEM PKCS #10 certificate request for subject, signed
// by the provider's signing key (ECDSA P-256 with SHA-256).
func CreateCSR(ctx context.Context, p Provider, subject pkix.Name) ([]byte, error) {
	signer, err := p.Signer(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := signer.Public().(*ecdsa.PublicKey); !ok {
		return nil, errors.New("keys: the signing key is not an ECDSA key")
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:            subject,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
	}, signer)
	if err != nil {
		return nil, fmt.Errorf("keys: create the certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// MarshalPublicKey returns pub as a PEM "PUBLIC KEY" block (PKIX).
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey parses a PEM "PUBLIC KEY" block, or the leaf of a PEM
// certificate chain, into its ECDSA public key.
func ParsePublicKey(name string, b []byte) (*ecdsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("keys: %s: no PEM block", name)
	}
	var pub any
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("keys: %s: %w", name, err)
		}
		pub = k
	case "CERTIFICATE":
		x, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("keys: %s: %w", name, err)
		}
		pub = x.PublicKey
	default:
		return nil, fmt.Errorf("keys: %s: a PEM %q block, want PUBLIC KEY or CERTIFICATE", name, blk.Type)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("keys: %s: not an ECDSA public key", name)
	}
	return k, nil
}

// replaceFile writes body to path durably and atomically (a temporary
// file, fsync, rename, fsync of the directory), replacing what was there.
func replaceFile(path string, body []byte, mode os.FileMode) error {
	tmp := path + ".new"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
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
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	syncDir(path)
	return nil
}

// syncDir fsyncs the directory holding path, so a rename in it is durable.
func syncDir(path string) {
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
}
