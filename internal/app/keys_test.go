package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// keysConfig is a gateway without meters or status page, keys of provider.
func keysConfig(t *testing.T, dir, provider, tpmName string) *config.Config {
	t.Helper()
	cfg := config.Demo(dir)
	cfg.Meters = nil
	cfg.Status.Listen = ""
	cfg.Security.KeyProvider = provider
	if tpmName != "" {
		cfg.Security.TPM = tpmName
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runKeysApp starts an app; stop ends Run and closes it.
func runKeysApp(t *testing.T, cfg *config.Config, log *slog.Logger) (*App, func()) {
	t.Helper()
	a, err := New(cfg, &Options{Log: log, NoSync: true, Watchdog: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// TestDevProviderWarnsAtEveryStart: the development provider is only used
// when configured, and every start says it is insecure.
func TestDevProviderWarnsAtEveryStart(t *testing.T) {
	dir := t.TempDir()
	cfg := keysConfig(t, dir, config.KeyProviderDev, "")
	for i := range 2 {
		var buf syncBuffer
		_, stop := runKeysApp(t, cfg, slog.New(slog.NewTextHandler(&buf, nil)))
		stop()
		if !strings.Contains(buf.String(), "level=WARN msg=\"INSECURE: the data key is kept in plaintext") {
			t.Errorf("start %d: no INSECURE warning:\n%s", i+1, buf.String())
		}
	}
	cfg.Security.AllowInsecure = false
	if _, err := New(cfg, nil); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("dev provider without allow_insecure: %v, want config.ErrInvalid", err)
	}
}

// TestKeysBackendDev: rotation through the daemon re-seals in the
// background and retires the old key; secrets, CSR and signed heads.
func TestKeysBackendDev(t *testing.T) {
	dir := t.TempDir()
	cfg := keysConfig(t, dir, config.KeyProviderDev, "")
	a, stop := runKeysApp(t, cfg, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := a.PutSecret(ctx, "wmbus/12345678", bytes.Repeat([]byte{7}, 16)); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSecret(ctx, "wmbus/12345678", []byte{7}); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("a short wM-Bus key: %v, want ErrBadRequest", err)
	}
	id, err := a.RotateKey(ctx)
	if err != nil || id != 2 {
		t.Fatalf("RotateKey = %d, %v", id, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := a.KeysInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.DataKeys) == 1 && info.DataKeys[0] == 2 && strings.HasPrefix(info.Reseal, "done") {
			if len(info.Secrets) != 1 || info.PublicKey == "" {
				t.Errorf("KeysInfo = %+v", info)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key 1 not retired: %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := a.CSR(ctx, "CN=gw,O=x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CSR(ctx, "O=x"); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("CSR without CN: %v", err)
	}
	stop()

	// The heads were signed at shutdown and verify against identity.pub.
	st, err := store.Open(DBPath(dir), &store.Options{ReadOnly: true, Keys: keys.NewDev(cfg.Security.DevKeyFile, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pubPEM, err := os.ReadFile(filepath.Join(dir, keys.IdentityPubFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.ParsePublicKey("identity.pub", pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []store.LogName{store.LogSystem, store.LogMetrology} {
		c, ok, err := st.LastCheckpoint(name)
		if err != nil || !ok {
			t.Fatalf("%s: no signed head: %v", name, err)
		}
		seq, hash := st.LogHead(name)
		if c.Seq != seq || c.Hash != hash {
			t.Errorf("%s: signed head %d, log head %d", name, c.Seq, seq)
		}
		if err := c.Verify(pub); err != nil {
			t.Error(err)
		}
	}
}
