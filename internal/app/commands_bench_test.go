package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/link"
)

// BenchmarkCommandPath: one status command through the whole path —
// verification, the durable replay record, two durable event-log entries
// (fsync each: NoSync off), the status and the signed response.
func BenchmarkCommandPath(b *testing.B) {
	dir := b.TempDir()
	cfg := config.Demo(dir)
	cfg.Meters = nil
	cfg.Status.Listen = ""
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemKey, _ := command.EncodeKeyPEM(&k.PublicKey, command.RoleReader)
	path := filepath.Join(dir, "hes.pem")
	os.WriteFile(path, pemKey, 0o644)
	cfg.WAN.Commands.Keys = []config.HESKey{{ID: "hes", Role: "reader", PublicKeyFile: path}}
	a, err := New(cfg, &Options{Log: slog.New(slog.DiscardHandler), Watchdog: -1,
		LinkProbe: func(names ...string) ([]link.IfState, error) { return make([]link.IfState, len(names)), nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	envs := make([][]byte, b.N)
	for i := range envs {
		envs[i], _ = command.Sign(k, "hes", &command.Payload{Version: 1, ID: fmt.Sprintf("b-%d", i), Gateway: cfg.Gateway.ID,
			Issued: now.Unix(), Expires: now.Add(time.Hour).Unix(), Kind: "status"})
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		out := a.Commands().Handle(ctx, envs[i])
		if len(out) == 0 {
			b.Fatal("no response")
		}
	}
}
