package hass

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

// proxy forwards TCP connections to a backend; cut drops the open ones
// abruptly, as a power cut or a pulled cable would.
type proxy struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newProxy(t *testing.T, backend string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(b, c); b.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, b); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// TestWillOnConnectionLoss: when the gateway's connection drops without
// a goodbye, the broker publishes the will ("offline"); on reconnection
// the publisher says "online" again.
func TestWillOnConnectionLoss(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := mqtttest.Start(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "smgw.db"), &store.Options{Keys: keys.Static{Key: bytes.Repeat([]byte{0x5a}, 32)}, NoSync: true, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Append(context.Background(), meter.Reading{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), Value: meter.V(5, 0), Unit: meter.UnitWattHour}); err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, b.PlainAddr)
	s := subscribe(t, b.PlainAddr, "smgw/#")
	p, err := New(st, &Options{Broker: "mqtt://" + px.ln.Addr().String(), Node: "gw", KeepAlive: 2 * time.Second, Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	s.wait(t, "smgw/gw/availability", func(p string) bool { return p == "online" })
	s.wait(t, "smgw/gw/elec-1/1-0_1_8_0_255/state", func(p string) bool { return p == "0.005" })
	px.cut()
	// The will, then the publisher's own "online" after reconnecting.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.msgs["smgw/gw/availability"]...)
		s.mu.Unlock()
		if i := slices.Index(got, "offline"); i > 0 && slices.Contains(got[i:], "online") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("availability %q, want online, offline (the will), online", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
