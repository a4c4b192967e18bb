package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/update"
	"github.com/smgw/smgw/internal/wan/command"
)

// fwRig is a gateway whose RAUC is a fake (a script that copies the
// bundle), an update signing key in its keyring, and an HTTPS server on
// 127.0.0.1 the gateway trusts through wan.mqtt.ca_file.
type fwRig struct {
	cfg     *config.Config
	key     *ecdsa.PrivateKey
	rauced  string // the fake rauc copies the installed bundle here
	files   map[string][]byte
	hold    chan struct{} // while open, /slow blocks
	srv     *httptest.Server
	served  atomic.Int64
	hesKeys *hes
}

func newFWRig(t *testing.T) *fwRig {
	t.Helper()
	cfg := commandConfig(t)
	dir := t.TempDir()
	r := &fwRig{cfg: cfg, rauced: filepath.Join(dir, "rauc-called"), files: map[string][]byte{}, hold: make(chan struct{})}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r.key = k
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	keyring := filepath.Join(dir, "keyring.pem")
	os.WriteFile(keyring, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	rauc := filepath.Join(dir, "rauc")
	script := "#!/bin/sh\ncase $1 in\ninstall) cp \"$2\" " + r.rauced + " ;;\nstatus) echo '{\"booted\":\"A\"}' ;;\nesac\n"
	os.WriteFile(rauc, []byte(script), 0o755)
	cfg.Update.Keyring, cfg.Update.Installer, cfg.Update.Rauc = keyring, "command", rauc
	cfg.Update.MaxSize = 2 << 20

	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.hold:
			case <-req.Context().Done():
			}
			return
		}
		b, ok := r.files[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		r.served.Add(1)
		w.Write(b)
	}))
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o644)
	cfg.WAN.MQTT.CAFile = ca
	r.hesKeys = newHES(t, cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// pack signs an update file of version around bundle.
func (r *fwRig) pack(t *testing.T, version string, bundle []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := update.Pack(&out, update.Manifest{Format: 1, Version: version, Compatible: "smgw"}, bytes.NewReader(bundle), r.key); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

type fwArgs struct {
	URL    string `cbor:"url"`
	SHA256 string `cbor:"sha256"`
	Size   int64  `cbor:"size"`
}

// waitJob waits until the firmware job has ended.
func waitJob(t *testing.T, a *App) FirmwareJob {
	t.Helper()
	var j FirmwareJob
	waitFor(t, "the firmware job to end", func() bool {
		var ok bool
		j, ok = a.Commands().Firmware()
		return ok && (j.State == FirmwareInstalled || j.State == FirmwareFailed)
	})
	return j
}

func TestFirmwareCommand(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := newFWRig(t)
	good := r.pack(t, "1.3.0", []byte("the RAUC bundle"))
	r.files["/good.smgwu"] = good
	r.files["/unsigned.raucb"] = []byte("a bare RAUC bundle, no smgw signature")
	a, stop := startGateway(t, r.cfg, 0)
	defer stop()
	h := r.hesKeys
	fw := func(role command.Role, args fwArgs) *command.Response {
		return send(t, a, h.envelope(t, role, command.KindFirmwareUpdate, args))
	}
	base := r.srv.URL // https://127.0.0.1:port

	// Roles: only admin.
	mustFail(t, fw(command.RoleOperator, fwArgs{base + "/good.smgwu", sum(good), int64(len(good))}), command.ReasonForbidden)

	// Bad arguments, refused before a job starts.
	for _, c := range []struct {
		args fwArgs
		msg  string
	}{
		{fwArgs{strings.Replace(base, "https", "http", 1) + "/good.smgwu", sum(good), int64(len(good))}, "only https"},
		{fwArgs{base + "/good.smgwu", "abcd", int64(len(good))}, "sha256"},
		{fwArgs{base + "/good.smgwu", sum(good), 0}, "size"},
		{fwArgs{base + "/good.smgwu", sum(good), 3 << 20}, "max_size"},
		{fwArgs{"", sum(good), 10}, "url"},
	} {
		resp := fw(command.RoleAdmin, c.args)
		mustFail(t, resp, command.ReasonBadArgs)
		if !strings.Contains(resp.Error.Message, c.msg) {
			t.Errorf("%+v: message %q does not name %q", c.args, resp.Error.Message, c.msg)
		}
	}
	if _, ok := a.Commands().Firmware(); ok {
		t.Fatal("a refused command started a firmware job")
	}

	// Happy path: accepted at once, then installed by the fake RAUC.
	var acc FirmwareJob
	mustOK(t, fw(command.RoleAdmin, fwArgs{base + "/good.smgwu?token=secret", sum(good), int64(len(good))}), &acc)
	if acc.ID == "" || acc.State != FirmwareDownloading {
		t.Fatalf("accepted %+v", acc)
	}
	j := waitJob(t, a)
	if j.State != FirmwareInstalled || j.Version != "1.3.0" || j.Bytes != int64(len(good)) || j.ID != acc.ID {
		t.Fatalf("job %+v", j)
	}
	if b, err := os.ReadFile(r.rauced); err != nil || string(b) != "the RAUC bundle" {
		t.Fatalf("rauc install got %q (%v)", b, err)
	}
	if _, err := os.Stat(filepath.Join(r.cfg.Gateway.UpdateStateDir(), firmwareFile)); !os.IsNotExist(err) {
		t.Error("the downloaded file was left behind")
	}
	var st StatusResult
	mustOK(t, send(t, a, h.envelope(t, command.RoleReader, command.KindStatus, nil)), &st)
	if st.Firmware == nil || st.Firmware.State != FirmwareInstalled || st.Firmware.Version != "1.3.0" {
		t.Errorf("status firmware = %+v", st.Firmware)
	}
	kinds := map[string]bool{}
	for _, e := range events(t, a, store.LogSystem) {
		kinds[e.Kind] = true
		if strings.Contains(e.Message+e.Attrs["url"], "secret") {
			t.Errorf("the URL's query reached the log: %+v", e)
		}
	}
	for _, k := range []string{"update-download", update.EventVerify, update.EventInstall, update.EventInstalled} {
		if !kinds[k] {
			t.Errorf("no %s event in the system log", k)
		}
	}
	os.Remove(r.rauced)

	// Failures: each ends the job as failed with a reason, RAUC untouched.
	for _, c := range []struct {
		name string
		args fwArgs
		msg  string
	}{
		{"wrong hash", fwArgs{base + "/good.smgwu", sum([]byte("other")), int64(len(good))}, "SHA-256 mismatch"},
		{"too large", fwArgs{base + "/good.smgwu", sum(good), int64(len(good)) - 5}, "larger than the announced size"},
		{"short", fwArgs{base + "/good.smgwu", sum(good), int64(len(good)) + 5}, "announced"},
		{"not found", fwArgs{base + "/missing", sum(good), 10}, "404"},
		{"unsigned", fwArgs{base + "/unsigned.raucb", sum(r.files["/unsigned.raucb"]), int64(len(r.files["/unsigned.raucb"]))}, "not signed"},
	} {
		mustOK(t, fw(command.RoleAdmin, c.args), nil)
		j := waitJob(t, a)
		if j.State != FirmwareFailed || !strings.Contains(j.Error, c.msg) {
			t.Errorf("%s: job %+v, want failed with %q", c.name, j, c.msg)
		}
		if _, err := os.Stat(r.rauced); !os.IsNotExist(err) {
			t.Errorf("%s: the update reached rauc", c.name)
		}
	}
	left, _ := filepath.Glob(filepath.Join(r.cfg.Gateway.UpdateStateDir(), "download*"))
	if len(left) > 0 {
		t.Errorf("downloads left behind: %v", left)
	}

	// One job at a time.
	mustOK(t, fw(command.RoleAdmin, fwArgs{base + "/slow", sum(good), 100}), nil)
	mustFail(t, fw(command.RoleAdmin, fwArgs{base + "/good.smgwu", sum(good), int64(len(good))}), command.ReasonBusy)
	close(r.hold)
	if j := waitJob(t, a); j.State != FirmwareFailed {
		t.Errorf("slow job %+v", j)
	}
}

// TestFirmwareUntrustedServer: a server whose certificate the gateway
// does not trust is not downloaded from.
func TestFirmwareUntrustedServer(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := newFWRig(t)
	// httptest's servers share one certificate: this one gets its own.
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("x")) }))
	other.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}
	other.StartTLS()
	defer other.Close()
	a, stop := startGateway(t, r.cfg, 0)
	defer stop()
	mustOK(t, send(t, a, r.hesKeys.envelope(t, command.RoleAdmin, command.KindFirmwareUpdate, fwArgs{other.URL + "/x", sum([]byte("x")), 1})), nil)
	if j := waitJob(t, a); j.State != FirmwareFailed || !strings.Contains(j.Error, "certificate") {
		t.Errorf("job %+v, want a certificate error", j)
	}
}
