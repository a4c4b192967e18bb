package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/han/web"
)

// The HAN service from [han]: HTTPS on 127.0.0.1 with the self-signed
// gateway certificate, pairing through the control socket, the paired
// display reading, revocation through the socket.
func TestHANService(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg.HAN.Enabled = true
	cfg.HAN.Addresses = []string{"127.0.0.1"}
	cfg.HAN.Port = port
	cfg.HAN.Meters = nil
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	a, stop := startApp(t, cfg, &ns, 0)
	defer stop()
	if got := a.HANAddrs(); len(got) != 1 || got[0] != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Fatalf("HAN addresses %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, web.SelfSignedFile)); err != nil {
		t.Fatalf("no self-signed certificate: %v", err)
	}

	c, err := ctl.Dial(t.Context(), cfg.Gateway.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.HANPair(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Code) != 9 || p.CertSHA256 == "" || len(p.URLs) != 1 || !strings.HasPrefix(p.URLs[0], "https://127.0.0.1:") {
		t.Fatalf("pairing %+v", p)
	}
	if _, err := c.HANPair(t.Context(), []string{"bad id!"}); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("pair with a bad meter id: %v", err)
	}

	// The display pins the certificate by the fingerprint pairing printed.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || web.Fingerprint(raw[0]) != p.CertSHA256 {
				return errors.New("not the pinned certificate")
			}
			return nil
		},
	}}}
	base := strings.TrimSuffix(p.URLs[0], "/")
	resp, err := hc.Post(base+"/api/v1/pair", "application/json", strings.NewReader(`{"code":"`+p.Code+`","name":"kitchen"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pair: %d %s", resp.StatusCode, b)
	}
	tok := strings.Split(strings.Split(string(b), `"token":"`)[1], `"`)[0]
	get := func() int {
		req, _ := http.NewRequest("GET", base+"/api/v1/meters", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("paired read = %d", s)
	}
	// IEEE 2030.5 under /sep2/: a display paired to one meter lists that
	// meter's usage point only; the whole household's token sees them all.
	sepAll := func(tok string) int {
		req, _ := http.NewRequest("GET", base+"/sep2/upt?l=255", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`all="(\d+)"`).FindSubmatch(b)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("sep2 usage points: %d %s", resp.StatusCode, b)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	one, err := c.HANPair(t.Context(), []string{"elec-1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Post(base+"/api/v1/pair", "application/json", strings.NewReader(`{"code":"`+one.Code+`","name":"hall"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	tokOne := strings.Split(strings.Split(string(b), `"token":"`)[1], `"`)[0]
	deadline := time.Now().Add(15 * time.Second)
	for sepAll(tok) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if all, mine := sepAll(tok), sepAll(tokOne); all < 2 || mine != 1 {
		t.Errorf("sep2 usage points: %d for the household, %d for a display paired to elec-1 (want 1)", all, mine)
	}

	cs, err := c.HANClients(t.Context())
	if err != nil || len(cs) != 2 {
		t.Fatalf("clients %+v %v", cs, err)
	}
	var kitchen string
	for _, cl := range cs {
		if cl.Name == "kitchen" {
			kitchen = cl.ID
		}
	}
	if kitchen == "" {
		t.Fatalf("clients %+v: no kitchen", cs)
	}
	if _, err := c.HANRevoke(t.Context(), kitchen); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HANRevoke(t.Context(), "nope"); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	if s := get(); s != 401 {
		t.Errorf("revoked read = %d", s)
	}
}

// A HAN configuration naming a WAN interface is refused.
func TestHANRefusesWAN(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HAN.Enabled = true
	cfg.HAN.Interface = "lo"
	cfg.WAN.Link.Ethernet = "lo"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "han.interface") {
		t.Fatalf("Validate() = %v, want a han.interface problem", err)
	}
	cfg.WAN.Link.Ethernet = "eth0"
	cfg.HAN.Interface = ""
	cfg.HAN.Addresses = []string{"0.0.0.0"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "han.addresses[0]") {
		t.Fatalf("Validate() = %v, want a han.addresses problem", err)
	}
}
