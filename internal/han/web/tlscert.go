package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/smgw/smgw/internal/keys"
)

// SelfSignedFile is the self-signed HAN certificate's file name in the
// data directory (PEM). It is public; its key is the gateway's signing
// key, which never leaves the TPM.
const SelfSignedFile = "han-selfsigned.crt"

// CertOptions say which certificate the HAN service presents.
type CertOptions struct {
	// Installed is the utility's certificate chain for the signing key
	// (<data_dir>/identity.crt); used when the file exists.
	Installed string
	// SelfSigned is where the self-signed certificate is kept, made once
	// and reused while it is valid for the signing key (so displays can
	// pin it across restarts).
	SelfSigned string
	// CommonName and Hosts (DNS names and IP addresses) go into a new
	// self-signed certificate.
	CommonName string
	Hosts      []string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// GatewayCertificate returns the HAN TLS certificate: the installed
// utility certificate if o.Installed exists, else a certificate
// self-signed by the provider's signing key (a TPM key with the TPM
// provider). The private key is always the provider's Signer.
func GatewayCertificate(ctx context.Context, p keys.Provider, o CertOptions) (tls.Certificate, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Installed != "" {
		if _, err := os.Stat(o.Installed); err == nil {
			return keys.ClientCertificate(ctx, p, o.Installed)
		}
	}
	signer, err := p.Signer(ctx)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web: the gateway's signing key: %w", err)
	}
	now := o.Now()
	if o.SelfSigned != "" {
		b, err := os.ReadFile(o.SelfSigned)
		switch {
		case err == nil:
			chain, perr := keys.ParseCertificates(o.SelfSigned, b)
			if perr == nil && keys.MatchesKey(chain[0], signer.Public()) == nil &&
				now.Before(chain[0].NotAfter.Add(-30*24*time.Hour)) && now.After(chain[0].NotBefore) {
				return tls.Certificate{Certificate: [][]byte{chain[0].Raw}, PrivateKey: signer, Leaf: chain[0]}, nil
			}
		case !errors.Is(err, fs.ErrNotExist):
			return tls.Certificate{}, fmt.Errorf("web: %w", err)
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web: %w", err)
	}
	cn := o.CommonName
	if cn == "" {
		cn = "smgw"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"smgw HAN (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that a client can pin it as its only root
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web: self-sign the HAN certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web: %w", err)
	}
	if o.SelfSigned != "" {
		tmp := o.SelfSigned + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return tls.Certificate{}, fmt.Errorf("web: %w", err)
		}
		if err := os.Rename(tmp, o.SelfSigned); err != nil {
			return tls.Certificate{}, fmt.Errorf("web: %w", err)
		}
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: signer, Leaf: leaf}, nil
}

// Fingerprint is the hex SHA-256 of a certificate's DER: what a display
// pins, and what `smgw han pair` prints.
func Fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// ServerTLSConfig is the HAN's TLS configuration: TLS 1.2 and 1.3, the
// ECDHE-ECDSA suites with AEAD ciphers for 1.2, and an optional client
// certificate (IEEE 2030.5 devices present one; it authenticates them
// once paired). TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, the suite IEEE
// 2030.5 mandates, is not in crypto/tls (docs/han.md).
func ServerTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
		ClientAuth:       tls.RequestClientCert,
		NextProtos:       []string{"http/1.1"},
	}
}
