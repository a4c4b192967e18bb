package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

func TestBindingRefuses(t *testing.T) {
	ifs := map[string][]netip.Addr{
		"han0":  {netip.MustParseAddr("192.168.7.1"), netip.MustParseAddr("fe80::1").WithZone("han0")},
		"eth0":  {netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
		"wwan0": {netip.MustParseAddr("10.64.0.9")},
	}
	lookup := func(name string) ([]netip.Addr, error) {
		if as, ok := ifs[name]; ok {
			return as, nil
		}
		return nil, fmt.Errorf("no interface %s", name)
	}
	wan := []string{"eth0", "wwan0"}
	got, err := Binding{Interface: "han0", Port: 8443, WANInterfaces: wan, Lookup: lookup}.Resolve()
	if err != nil || strings.Join(got, " ") != "192.168.7.1:8443 [fe80::1%han0]:8443" {
		t.Errorf("han0: %v %v", got, err)
	}
	for _, tc := range []struct {
		name string
		b    Binding
	}{
		{"IPv4 any", Binding{Addresses: []netip.Addr{netip.MustParseAddr("0.0.0.0")}}},
		{"IPv6 any", Binding{Addresses: []netip.Addr{netip.MustParseAddr("::")}}},
		{"WAN interface", Binding{Interface: "eth0"}},
		{"LTE interface", Binding{Interface: "wwan0"}},
		{"WAN address", Binding{Interface: "han0", Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5")}}},
		{"WAN IPv6 address", Binding{Addresses: []netip.Addr{netip.MustParseAddr("2001:db8::5")}}},
		{"LTE address", Binding{Addresses: []netip.Addr{netip.MustParseAddr("10.64.0.9")}}},
		{"unknown interface", Binding{Interface: "nope0"}},
		{"nothing", Binding{}},
		{"multicast", Binding{Addresses: []netip.Addr{netip.MustParseAddr("224.0.0.251")}}},
	} {
		tc.b.Port, tc.b.WANInterfaces, tc.b.Lookup = 8443, wan, lookup
		if got, err := tc.b.Resolve(); !errors.Is(err, ErrBind) {
			t.Errorf("%s: Resolve() = %v, %v; want ErrBind", tc.name, got, err)
		}
	}
	// An address on the same interface as the WAN's, assigned to han0 too, is refused.
	ifs["han0"] = append(ifs["han0"], netip.MustParseAddr("203.0.113.5"))
	if _, err := (Binding{Interface: "han0", Port: 1, WANInterfaces: wan, Lookup: lookup}).Resolve(); !errors.Is(err, ErrBind) {
		t.Errorf("han0 holding a WAN address: %v", err)
	}
	// The real loopback interface resolves to its addresses.
	got, err = Binding{Interface: "lo", Port: 8443}.Resolve()
	if err != nil || len(got) == 0 || !strings.Contains(strings.Join(got, " "), "127.0.0.1:8443") {
		t.Errorf("lo: %v %v", got, err)
	}
}

// The service follows the interface: an address that appears is bound,
// one that goes is closed.
func TestRebind(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	lookup := func(string) ([]netip.Addr, error) {
		<-mu
		defer func() { mu <- struct{}{} }()
		return append([]netip.Addr(nil), addrs...), nil
	}
	port := freePort(t)
	st := openStore(t, "")
	defer st.Close()
	svc, err := New(st, &Options{Plain: true, ResolveEvery: 20 * time.Millisecond,
		Binding: &Binding{Interface: "han0", Port: port, Lookup: lookup}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done; svc.Close() }()
	want := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if len(svc.Addrs()) == n {
				return
			}
		}
		t.Fatalf("addresses %v, want %d", svc.Addrs(), n)
	}
	want(1)
	<-mu
	addrs = append(addrs, netip.MustParseAddr("127.0.0.2"))
	mu <- struct{}{}
	want(2)
	<-mu
	addrs = addrs[1:]
	mu <- struct{}{}
	want(1)
	if a := svc.Addrs()[0]; !strings.HasPrefix(a, "127.0.0.2:") {
		t.Errorf("left listening on %s", a)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), time.Second); err == nil {
		c.Close()
		t.Error("the vanished address still accepts connections")
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// HTTPS with a certificate self-signed by the gateway's key: a display
// that pins it connects with TLS 1.2 (ECDHE-ECDSA) and 1.3; the
// certificate is kept and reused across restarts.
func TestTLSSelfSigned(t *testing.T) {
	dir := t.TempDir()
	prov := keys.Static{Key: testKey}
	co := CertOptions{Installed: filepath.Join(dir, keys.IdentityCertFile), SelfSigned: filepath.Join(dir, SelfSignedFile),
		CommonName: "gw-test", Hosts: []string{"127.0.0.1", "smgw.local"}}
	cert, err := GatewayCertificate(context.Background(), prov, co)
	if err != nil {
		t.Fatal(err)
	}
	again, err := GatewayCertificate(context.Background(), prov, co)
	if err != nil || Fingerprint(again.Certificate[0]) != Fingerprint(cert.Certificate[0]) {
		t.Fatalf("the self-signed certificate was not reused: %v", err)
	}
	signer, _ := prov.Signer(context.Background())
	if err := keys.MatchesKey(cert.Leaf, signer.Public()); err != nil {
		t.Fatalf("certificate not for the signing key: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	start(t, nil, func(o *Options) { o.Listener, o.TLS, o.Plain = ln, ServerTLSConfig(cert), false })
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, ServerName: "127.0.0.1", MinVersion: v, MaxVersion: v,
			// Pinning: the exact certificate, not only the chain.
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if Fingerprint(raw[0]) != Fingerprint(cert.Certificate[0]) {
					return errors.New("not the pinned certificate")
				}
				return nil
			},
		}}}
		resp, err := hc.Get("https://" + ln.Addr().String() + "/api/v1/status")
		if err != nil {
			t.Fatalf("TLS %x: %v", v, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.TLS.Version != v {
			t.Errorf("TLS %x: status %d version %x", v, resp.StatusCode, resp.TLS.Version)
		}
		if v == tls.VersionTLS12 && !strings.Contains(tls.CipherSuiteName(resp.TLS.CipherSuite), "ECDHE_ECDSA") {
			t.Errorf("TLS 1.2 suite %s", tls.CipherSuiteName(resp.TLS.CipherSuite))
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS over TLS")
		}
	}
	// A client that does not pin (no root) is refused by its own check.
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/"); err == nil {
		t.Error("an unpinned client accepted the self-signed certificate")
	}
	// Only ECDHE-ECDSA suites are offered in TLS 1.2.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err == nil {
		c.Close()
		t.Error("an RSA suite was negotiated")
	}
	// An installed utility certificate replaces the self-signed one.
	if err := os.WriteFile(co.Installed, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := GatewayCertificate(context.Background(), prov, co); !errors.Is(err, keys.ErrCertificate) {
		t.Errorf("a bad installed certificate: %v", err)
	}
}

// A display with a TLS client certificate pairs once with a code; from
// then on the certificate alone authenticates it, until it is revoked.
func TestClientCertificate(t *testing.T) {
	dir := t.TempDir()
	srvProv := keys.Static{Key: testKey}
	cert, err := GatewayCertificate(context.Background(), srvProv, CertOptions{SelfSigned: filepath.Join(dir, SelfSignedFile)})
	if err != nil {
		t.Fatal(err)
	}
	devCert, err := GatewayCertificate(context.Background(), keys.Static{Key: []byte("display-key-0123456789abcdef0123")}, CertOptions{CommonName: "display"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, nil, func(o *Options) { o.Listener, o.TLS, o.Plain = ln, ServerTLSConfig(cert), false })
	seed(t, e.st, e.clk.Now().Add(-time.Hour), e.clk.Now(), "home")
	client := func(withCert bool) *http.Client {
		// Pinned: the gateway's exact certificate, whatever names it holds.
		c := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || Fingerprint(raw[0]) != Fingerprint(cert.Certificate[0]) {
				return errors.New("not the pinned certificate")
			}
			return nil
		}}
		if withCert {
			c.Certificates = []tls.Certificate{devCert}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
	}
	base := "https://" + ln.Addr().String()
	status := func(hc *http.Client) int {
		resp, err := hc.Get(base + "/api/v1/meters")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(client(true)); s != 401 {
		t.Fatalf("an unpaired certificate = %d", s)
	}
	pc, _ := e.svc.NewPairingCode([]meter.MeterID{"home"})
	resp, err := client(true).Post(base+"/api/v1/pair", "application/json", strings.NewReader(`{"code":"`+pc.Code+`","name":"2030.5 display"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pair with a certificate = %d", resp.StatusCode)
	}
	if s := status(client(true)); s != 200 {
		t.Errorf("the paired certificate = %d", s)
	}
	if s := status(client(false)); s != 401 {
		t.Errorf("no certificate = %d", s)
	}
	cs := e.svc.Clients()
	if len(cs) != 1 || cs[0].CertSHA256 != Fingerprint(devCert.Certificate[0]) {
		t.Fatalf("clients %+v", cs)
	}
	if _, err := e.svc.Revoke(context.Background(), cs[0].ID); err != nil {
		t.Fatal(err)
	}
	if s := status(client(true)); s != 401 {
		t.Errorf("the revoked certificate = %d", s)
	}
}
