package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/tpm"
)

// startSwtpm starts swtpm on a free pair of loopback ports for the
// benchmark (skipping it when swtpm is not installed) and returns the
// TPM's name for security.tpm.
func startSwtpm(b testing.TB) string {
	b.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		b.Skip("swtpm is not installed (Debian package swtpm)")
	}
	var port int
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		l.Close()
		if err == nil {
			l2.Close()
			break
		}
	}
	cmd := exec.Command("swtpm", "socket", "--tpm2",
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
		"--tpmstate", "dir="+b.TempDir(), "--flags", "not-need-init,startup-clear")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			time.Sleep(100 * time.Millisecond)
			return tpm.SwtpmScheme + addr
		}
		if i > 100 {
			b.Fatalf("swtpm does not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkSwtpmUnseal is the TPM provider's part of a start: connect,
// re-create the storage key, load and unseal the data key.
func BenchmarkSwtpmUnseal(b *testing.B) {
	dev := startSwtpm(b)
	file := filepath.Join(b.TempDir(), TPMKeyFileName)
	ctx := context.Background()
	p := NewTPM(TPMOptions{Device: dev, KeyFile: file})
	if _, err := p.Keyring(ctx); err != nil {
		b.Fatal(err)
	}
	p.Close()
	b.ResetTimer()
	for b.Loop() {
		p := NewTPM(TPMOptions{Device: dev, KeyFile: file, MustExist: true})
		if _, err := p.Keyring(ctx); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/unseal")
}

// BenchmarkSwtpmSign is one ECDSA P-256 signature by the TPM key.
func BenchmarkSwtpmSign(b *testing.B) {
	dev := startSwtpm(b)
	p := NewTPM(TPMOptions{Device: dev, KeyFile: filepath.Join(b.TempDir(), TPMKeyFileName)})
	defer p.Close()
	s, err := p.Signer(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("head"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

// BenchmarkSwtpmTLSHandshake is a full TLS 1.3 handshake with client
// authentication by the TPM key, against a local Go server.
func BenchmarkSwtpmTLSHandshake(b *testing.B) {
	dev := startSwtpm(b)
	dir := b.TempDir()
	p := NewTPM(TPMOptions{Device: dev, KeyFile: filepath.Join(dir, TPMKeyFileName)})
	defer p.Close()
	ctx := context.Background()
	s, err := p.Signer(ctx)
	if err != nil {
		b.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gw"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafT, ca, s.Public(), caKey)
	certFile := filepath.Join(dir, IdentityCertFile)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644)
	cert, err := ClientCertificate(ctx, p, certFile)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvT := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "srv"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	srvDER, _ := x509.CreateCertificate(rand.Reader, srvT, srvT, &srvKey.PublicKey, srvKey)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	srvPool := x509.NewCertPool()
	srvLeaf, _ := x509.ParseCertificate(srvDER)
	srvPool.AddCert(srvLeaf)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: srvPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The client's certificate verify message is sent in the handshake;
		// reading the server's close confirms the server accepted it.
		c.Read(make([]byte, 1))
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
