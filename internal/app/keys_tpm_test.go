//go:build cgo

package app

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"strings"
	"testing"

	"github.com/smgw/smgw/hal/tpm"
	_ "github.com/smgw/smgw/hal/tpm/tpmsim"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/store"
)

// TestTPMProviderInApp runs the gateway on the in-process simulator: the
// TPM provider is chosen by the configuration, is secure, signs heads.
func TestTPMProviderInApp(t *testing.T) {
	dir := t.TempDir()
	cfg := keysConfig(t, dir, config.KeyProviderTPM, tpm.Simulator)
	cfg.Security.AllowInsecure = false
	var buf syncBuffer
	a, stop := runKeysApp(t, cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := context.Background()
	st, err := a.Status(ctx)
	if err != nil || st.Insecure || !strings.Contains(st.KeyProvider, "TPM simulator") {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, ok := a.ks.signer.Public().(*ecdsa.PublicKey); !ok {
		t.Fatal("no ECDSA signer")
	}
	if id, err := a.RotateKey(ctx); err != nil || id != 2 {
		t.Fatalf("RotateKey = %d, %v", id, err)
	}
	a.signHeads(ctx)
	c, ok, err := a.Checkpoint(ctx, store.LogMetrology)
	if err != nil || !ok {
		t.Fatalf("no signed metrology head: %v", err)
	}
	if err := c.Verify(a.ks.signer.Public().(*ecdsa.PublicKey)); err != nil {
		t.Fatal(err)
	}
	stop()
	if strings.Contains(buf.String(), "INSECURE") {
		t.Errorf("the TPM provider warned of insecurity:\n%s", buf.String())
	}
}
