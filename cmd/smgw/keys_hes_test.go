package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/testutil"
)

func hesKeyFile(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	f := filepath.Join(t.TempDir(), "hes.pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	return f
}

// TestKeysHESOffline: import-hes-key, list and remove-hes-key on a data
// directory with no daemon running.
func TestKeysHESOffline(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "stress", "--data", dir, "--batches", "1", "--producers", "1"); code != exitOK {
		t.Fatalf("stress: %d %s", code, errOut)
	}
	f := hesKeyFile(t)
	code, out, errOut := runCLI(t, "keys", "import-hes-key", "hes-ops", "operator", f, "--data", dir)
	if code != exitOK || !strings.Contains(out, "imported HES key hes-ops (operator") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "keys", "list", "--data", dir)
	if code != exitOK || !strings.Contains(out, "HES command keys: 1") || !strings.Contains(out, "hes-ops  operator  store  sha256:") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"keys", "import-hes-key", "x", "operator", bad, "--data", dir}, exitUsage, bad},
		{[]string{"keys", "import-hes-key", "x", "root", f, "--data", dir}, exitUsage, "role"},
		{[]string{"keys", "import-hes-key", "x/y", "reader", f, "--data", dir}, exitUsage, "x/y"},
		{[]string{"keys", "import-hes-key", "x", "reader", "--data", dir}, exitUsage, "ID ROLE FILE"},
		{[]string{"keys", "import-hes-key", "x", "reader", filepath.Join(dir, "missing.pem"), "--data", dir}, exitFail, "missing.pem"},
		{[]string{"keys", "remove-hes-key", "nope", "--data", dir}, exitFail, "no imported HES key"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.msg) {
			t.Errorf("%v: exit %d (want %d): %s%s (want %q)", c.args, code, c.code, out, errOut, c.msg)
		}
	}
	if code, out, errOut := runCLI(t, "keys", "remove-hes-key", "hes-ops", "--data", dir); code != exitOK || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %d %s %s", code, out, errOut)
	}
	if _, out, _ := runCLI(t, "keys", "list", "--data", dir); !strings.Contains(out, "HES command keys: 0") {
		t.Fatalf("list after remove:\n%s", out)
	}
}

// TestKeysHESDaemon: the same through a running daemon's socket.
func TestKeysHESDaemon(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	cfg := config.Demo(dir)
	cfg.Status.Listen = ""
	a, err := app.New(cfg, &app.Options{Log: slog.New(slog.DiscardHandler), Notify: func(string) error { return nil }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		a.Close()
	}()
	f := hesKeyFile(t)
	var code int
	var out, errOut string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, out, errOut = runCLI(t, "keys", "import-hes-key", "hes-1", "admin", f, "--data", dir)
		if code == exitOK || time.Now().After(deadline) {
			break
		}
	}
	if code != exitOK || !strings.Contains(out, "hes-1 (admin") {
		t.Fatalf("import through the daemon: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "keys", "list", "--data", dir); code != exitOK || !strings.Contains(out, "hes-1  admin  store") {
		t.Fatalf("list through the daemon: %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "keys", "remove-hes-key", "hes-1", "--data", dir); code != exitOK {
		t.Fatalf("remove through the daemon: %d", code)
	}
	if code, out, errOut := runCLI(t, "keys", "remove-hes-key", "hes-1", "--data", dir); code != exitFail {
		t.Fatalf("second remove: %d %s %s", code, out, errOut)
	}
}
