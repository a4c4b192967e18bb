package mqtttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is the broker binary.
const Mosquitto = "/usr/sbin/mosquitto"

// Broker is a running mosquitto.
type Broker struct {
	t    testing.TB
	dir  string
	conf string

	// PlainAddr and TLSAddr are host:port of the listeners.
	PlainAddr, TLSAddr string
	// CAFile is the test CA's certificate (PEM); CAPool holds it.
	CAFile string
	CAPool *x509.CertPool

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	mu  sync.Mutex
	cmd *exec.Cmd
	log *os.File
}

// Available reports whether mosquitto is installed.
func Available() bool {
	_, err := os.Stat(Mosquitto)
	return err == nil
}

// Start starts a broker; it is stopped at the test's cleanup. The test is
// skipped when mosquitto is not installed.
func Start(t testing.TB) *Broker {
	t.Helper()
	if !Available() {
		t.Skip("mosquitto is not installed (apt-get install mosquitto)")
	}
	b := &Broker{t: t, dir: t.TempDir()}
	b.makeCA()
	serverKey := newKey(t)
	serverCert := b.Issue(serverKey.Public(), "127.0.0.1", false)
	write(t, filepath.Join(b.dir, "server.crt"), serverCert)
	der, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(b.dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	b.PlainAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	b.TLSAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, pp, _ := net.SplitHostPort(b.PlainAddr)
	_, tp, _ := net.SplitHostPort(b.TLSAddr)
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	// Run as the user running the test: as root, mosquitto would switch
	// to the user mosquitto, who cannot read the test's files.
	me := "root"
	if u, err := user.Current(); err == nil {
		me = u.Username
	}
	write(t, b.conf, fmt.Appendf(nil, `per_listener_settings true
user %[4]s
persistence true
persistence_location %[1]s/
autosave_interval 0
max_queued_messages 0
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information

listener %[2]s 127.0.0.1
allow_anonymous true

listener %[3]s 127.0.0.1
allow_anonymous false
cafile %[1]s/ca.crt
certfile %[1]s/server.crt
keyfile %[1]s/server.key
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
`, b.dir, pp, tp, me))
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// Start (re)starts the broker after Stop and waits until it listens.
func (b *Broker) Start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return
	}
	lf, err := os.OpenFile(filepath.Join(b.dir, "mosquitto.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	cmd := exec.Command(Mosquitto, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd, b.log = cmd, lf
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range []string{b.PlainAddr, b.TLSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
				b.t.Fatalf("mosquitto does not listen on %s: %v\n%s", addr, err, log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Stop stops the broker (SIGTERM, so it saves its persistence file) and
// waits for it. It is idempotent.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	b.log.Close()
	b.cmd, b.log = nil, nil
}

// Log returns what the broker logged.
func (b *Broker) Log() string {
	p, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
	return string(p)
}

// PlainURL and TLSURL are the listeners' URLs.
func (b *Broker) PlainURL() string { return "mqtt://" + b.PlainAddr }

// TLSURL is the TLS listener's URL.
func (b *Broker) TLSURL() string { return "mqtts://" + b.TLSAddr }

func (b *Broker) makeCA() {
	b.caKey = newKey(b.t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smgw test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, b.caKey.Public(), b.caKey)
	if err != nil {
		b.t.Fatal(err)
	}
	b.caCert, _ = x509.ParseCertificate(der)
	b.CAPool = x509.NewCertPool()
	b.CAPool.AddCert(b.caCert)
	b.CAFile = filepath.Join(b.dir, "ca.crt")
	write(b.t, b.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

var serial struct {
	sync.Mutex
	n int64
}

// Issue returns a PEM certificate from the test CA for pub: a server
// certificate for the IP address name, or a client certificate with
// common name name.
func (b *Broker) Issue(pub crypto.PublicKey, name string, client bool) []byte {
	serial.Lock()
	serial.n++
	sn := serial.n + 1
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(name)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.caCert, pub, b.caKey)
	if err != nil {
		b.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ClientTLS returns a TLS configuration trusting the test CA with a
// client certificate for key (common name name).
func (b *Broker) ClientTLS(key crypto.Signer, name string) *tls.Config {
	blk, _ := pem.Decode(b.Issue(key.Public(), name, true))
	return &tls.Config{
		RootCAs:      b.CAPool,
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{blk.Bytes}, PrivateKey: key}},
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func write(t testing.TB, path string, p []byte) {
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
