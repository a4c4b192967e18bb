package keys_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/keys"
)

// A service that speaks TLS takes the gateway's certificate with the
// provider's key (in the TPM with the TPM provider). Here the development
// provider stands in, and the certificate is self-signed instead of issued
// from a CSR by the utility's PKI.
func ExampleClientCertificate() {
	dir, _ := os.MkdirTemp("", "keys-example")
	defer os.RemoveAll(dir)
	p := keys.NewDev(filepath.Join(dir, "dev-data-key"), nil)
	ctx := context.Background()

	signer, _ := p.Signer(ctx)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gw-1"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	certFile := filepath.Join(dir, keys.IdentityCertFile)
	if _, err := keys.InstallCertificate(ctx, p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), certFile); err != nil {
		fmt.Println(err)
		return
	}

	cert, err := keys.ClientCertificate(ctx, p, certFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	key := cert.PrivateKey.(crypto.Signer) // the provider's signer: the TPM's key never leaves it
	fmt.Println(cert.Leaf.Subject, keys.MatchesKey(cert.Leaf, key.Public()) == nil)
	// Output: CN=gw-1 true
}
