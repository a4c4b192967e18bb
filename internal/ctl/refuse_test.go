package ctl

import (
	"context"
	"errors"
	"github.com/smgw/smgw/internal/testutil"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRefused: a peer the credentials check refuses is disconnected
// without an answer and logged; Dial reports ErrRefused, and the server
// goes on accepting.
func TestRefused(t *testing.T) {
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ctl.sock")
	var logs testutil.SyncBuffer
	s, err := Listen(path, nil, &ServerOptions{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	refuse := true
	s.ln.allow = func(p peerCred) bool {
		mu.Lock()
		defer mu.Unlock()
		return !refuse
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	if _, err := Dial(ctx, path); !errors.Is(err, ErrRefused) {
		t.Errorf("Dial as a refused peer = %v, want ErrRefused", err)
	}
	if !strings.Contains(logs.String(), "refused a connection") || !strings.Contains(logs.String(), "uid=") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatalf("Dial after the refusal: %v", err)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
