package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/link"
)

func pubPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func certPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hes-cert"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// signAs signs a command of kind with key under the key id kid.
func signAs(t *testing.T, h *hes, key *ecdsa.PrivateKey, kid string, kind meter.CommandKind, args any) []byte {
	t.Helper()
	now := time.Now()
	p := &command.Payload{Version: 1, ID: "k-" + kid + "-" + time.Now().Format("150405.000000") + string(rune('a'+h.n.Add(1)%26)),
		Gateway: "smgw-demo", Issued: now.Unix(), Expires: now.Add(10 * time.Minute).Unix(), Kind: string(kind)}
	if args != nil {
		b, err := command.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		p.Args = b
	}
	b, err := command.Sign(key, kid, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommandKeysImported(t *testing.T) {
	testutil.CheckGoroutines(t)
	cfg := commandConfig(t)
	h := newHES(t, cfg)
	a, stop := startGateway(t, cfg, 0)
	defer stop()
	ctx := context.Background()

	// A key nobody imported yet is unknown.
	ops, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mustFail(t, send(t, a, signAs(t, h, ops, "hes-imported", command.KindStatus, nil)), command.ReasonUnknownKey)

	// Imported (through the control-socket backend), it works at once,
	// within its role.
	k, err := a.ImportHESKey(ctx, "hes-imported", "operator", pubPEM(t, ops))
	if err != nil || k.Role != "operator" || k.Source != "store" || len(k.Fingerprint) != 16 {
		t.Fatalf("ImportHESKey = %+v, %v", k, err)
	}
	mustOK(t, send(t, a, signAs(t, h, ops, "hes-imported", command.KindStatus, nil)), nil)
	mustFail(t, send(t, a, signAs(t, h, ops, "hes-imported", command.KindRemoveMeter, map[string]string{"meter": "x"})), command.ReasonForbidden)

	// A certificate's key, as admin.
	adm, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := a.ImportHESKey(ctx, "hes-cert", "admin", certPEM(t, adm)); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, a, signAs(t, h, adm, "hes-cert", command.KindStatus, nil)), nil)

	// The listing: configured and imported.
	ks, err := a.HESKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ctl.HESKey{}
	for _, k := range ks {
		got[k.ID] = k
	}
	if len(ks) != 5 || got["hes-admin"].Source != "config" || got["hes-imported"].Role != "operator" || got["hes-cert"].Role != "admin" {
		t.Errorf("HESKeys = %+v", ks)
	}

	// A clash: the configured key wins, the imported one is shadowed.
	if k, err := a.ImportHESKey(ctx, "hes-reader", "admin", pubPEM(t, adm)); err != nil || !k.Shadowed {
		t.Fatalf("clash: %+v, %v", k, err)
	}
	mustFail(t, send(t, a, signAs(t, h, adm, "hes-reader", command.KindStatus, nil)), command.ReasonBadSignature)
	mustOK(t, send(t, a, h.envelope(t, command.RoleReader, command.KindStatus, nil)), nil)

	// Removed, it is refused.
	if err := a.RemoveHESKey(ctx, "hes-imported"); err != nil {
		t.Fatal(err)
	}
	mustFail(t, send(t, a, signAs(t, h, ops, "hes-imported", command.KindStatus, nil)), command.ReasonUnknownKey)
	if err := a.RemoveHESKey(ctx, "hes-imported"); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}

	// Bad input names what was wrong.
	if _, err := ImportHESKey(ctx, a.st, "x", "operator", []byte("not a key"), "/etc/hes.pem"); !errors.Is(err, ErrHESKey) || !strings.Contains(err.Error(), "/etc/hes.pem") {
		t.Errorf("bad PEM: %v", err)
	}
	if _, err := a.ImportHESKey(ctx, "x", "root", pubPEM(t, ops)); !errors.Is(err, ctl.ErrBadRequest) || !strings.Contains(err.Error(), "role") {
		t.Errorf("bad role: %v", err)
	}
	if _, err := a.ImportHESKey(ctx, "a/b", "reader", pubPEM(t, ops)); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("bad id: %v", err)
	}
	rsa := []byte("-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMh0Fh6Ao/fXE8l3tQc1wm/ftxf3TsZ0\nU+9/5kKq6Wm4Fa0Qo8ZB7zIUxNJ0DQ4uD7d1qOqS8fG7n8ytcCMbNU8CAwEAAQ==\n-----END PUBLIC KEY-----\n")
	if _, err := a.ImportHESKey(ctx, "x", "reader", rsa); err == nil {
		t.Error("a non-P-256 key was imported")
	}
	evs := events(t, a, store.LogMetrology)
	var imported, removed int
	for _, e := range evs {
		switch e.Kind {
		case "hes-key-imported":
			imported++
		case "hes-key-removed":
			removed++
		}
	}
	if imported != 3 || removed != 1 {
		t.Errorf("metrology log: %d imports, %d removals", imported, removed)
	}
}

// BenchmarkHESKeyPolicy: what every command pays for taking imported HES
// keys up without a restart: the key store's hes/ records read again
// (three imported keys, unchanged) and the policy's key map built.
func BenchmarkHESKeyPolicy(b *testing.B) {
	dir := b.TempDir()
	cfg := config.Demo(dir)
	cfg.Meters = nil
	cfg.Status.Listen = ""
	a, err := New(cfg, &Options{Log: slog.New(slog.DiscardHandler), Watchdog: -1, NoSync: true,
		LinkProbe: func(names ...string) ([]link.IfState, error) { return make([]link.IfState, len(names)), nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for i := range 3 {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if _, err := a.ImportHESKey(context.Background(), fmt.Sprintf("hes-%d", i), "operator",
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if p := a.cmds.currentPolicy(); len(p.Keys) != 3 {
			b.Fatalf("%d keys", len(p.Keys))
		}
	}
}
