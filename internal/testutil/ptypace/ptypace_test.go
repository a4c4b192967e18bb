package ptypace_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/testutil/ptypace"
)

func open(t testing.TB, name string) serial.Port {
	t.Helper()
	p, err := serial.Open(&serial.Config{Name: name, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestRelay carries bytes both ways intact, counts them, and never
// faster than the line: a burst takes at least its bytes' character
// times.
func TestRelay(t *testing.T) {
	testutil.CheckGoroutines(t)
	char := time.Second * 10 / 9600
	l := ptypace.New(t, char)
	drv, peer := open(t, l.Driver), open(t, l.Peer)
	msg := make([]byte, 200)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, dir := range []struct {
		name     string
		from, to serial.Port
	}{{"to the peer", drv, peer}, {"back", peer, drv}} {
		start := time.Now()
		if _, err := dir.from.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		dir.to.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(dir.to, got); err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
		if el := time.Since(start); el < time.Duration(len(msg))*char {
			t.Errorf("%s: %d bytes in %v, faster than the line (%v)", dir.name, len(msg), el, time.Duration(len(msg))*char)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%s: bytes changed", dir.name)
		}
	}
	if a, b := l.Bytes(); a != len(msg) || b != len(msg) {
		t.Errorf("Bytes() = %d, %d", a, b)
	}
	// A port closed and opened again still gets the bytes.
	drv.Close()
	drv = open(t, l.Driver)
	peer.Write([]byte{1, 2, 3})
	got := make([]byte, 3)
	drv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(drv, got); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("after reopening: % X %v", got, err)
	}
	l.Close()
	l.Close()
}

// BenchmarkTurnaround sends a 8-byte request and a 165-byte answer
// through the relay at 9600 baud 8N1 (an SDM630-sized Modbus exchange)
// and reports the time against the line time of the bytes (ratio).
func BenchmarkTurnaround(b *testing.B) {
	char := time.Second * 10 / 9600
	l := ptypace.New(b, char)
	drv, peer := open(b, l.Driver), open(b, l.Peer)
	req, resp := make([]byte, 8), make([]byte, 165)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, len(req))
		for {
			peer.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.ReadFull(peer, buf); err != nil {
				return
			}
			peer.Write(resp)
		}
	}()
	got := make([]byte, len(resp))
	start := time.Now()
	n := 0
	for b.Loop() {
		drv.Write(req)
		drv.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(drv, got); err != nil {
			b.Fatal(err)
		}
		n++
	}
	el := time.Since(start)
	limit := time.Duration(n*(len(req)+len(resp))) * char
	b.ReportMetric(el.Seconds()/limit.Seconds(), "ratio")
	peer.Close()
	<-done
}
