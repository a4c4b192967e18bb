package serial_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/testutil"
)

func open(t *testing.T, name string) *serial.SerialPort {
	t.Helper()
	p, err := serial.Open(&serial.Config{Name: name, Baud: 9600, Parity: serial.ParityEven})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func readFull(t *testing.T, p serial.Port, n int) []byte {
	t.Helper()
	p.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(p, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

func TestPtyRoundTrip(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	pa, pb := open(t, a), open(t, b)
	msg := make([]byte, 300)
	for i := range msg {
		msg[i] = byte(i)
	}
	if _, err := pa.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, pb, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("got % X", got)
	}
	if _, err := pb.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, pa, 4); string(got) != "pong" {
		t.Fatalf("got %q", got)
	}
	// Flush drops what was received and not read.
	pa.Write([]byte("stale"))
	time.Sleep(50 * time.Millisecond)
	if err := pb.Flush(); err != nil {
		t.Fatal(err)
	}
	pb.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if n, err := pb.Read(make([]byte, 8)); !errors.Is(err, serial.ErrTimeout) {
		t.Fatalf("after Flush: %d, %v", n, err)
	}
	if pa.Name() != a {
		t.Errorf("Name() = %q", pa.Name())
	}
}

func TestDeadline(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, _ := serialtest.PtyPair(t)
	p := open(t, a)
	for _, wait := range []time.Duration{0, 250 * time.Millisecond, 420 * time.Millisecond} {
		start := time.Now()
		p.SetReadDeadline(start.Add(wait))
		n, err := p.Read(make([]byte, 4))
		took := time.Since(start)
		if n != 0 || !errors.Is(err, serial.ErrTimeout) {
			t.Fatalf("Read = %d, %v; want ErrTimeout", n, err)
		}
		if took < wait {
			t.Errorf("deadline %s: returned after %s, before it", wait, took)
		}
	}
	// ReadContext: a deadline, and a cancellation without one.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := serial.ReadContext(ctx, p, make([]byte, 1)); !errors.Is(err, serial.ErrTimeout) {
		t.Errorf("ReadContext with deadline: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel2)
	if _, err := serial.ReadContext(ctx2, p, make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadContext cancelled: %v", err)
	}
}

// TestClosePendingRead: Close while a Read without deadline waits
// returns, and the Read ends with ErrClosed.
func TestClosePendingRead(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, _ := serialtest.PtyPair(t)
	p, err := serial.Open(&serial.Config{Name: a, Baud: 19200})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 16))
		errc <- err
	}()
	time.Sleep(150 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs while a Read is pending")
	}
	select {
	case err := <-errc:
		if !errors.Is(err, serial.ErrClosed) {
			t.Errorf("pending Read returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending Read did not return after Close")
	}
	if _, err := p.Write([]byte{1}); !errors.Is(err, serial.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOneOwner: a line is refused while open, by any name of it, in this
// process (registry) and through another descriptor (flock), and free
// again after Close.
func TestOneOwner(t *testing.T) {
	a, _ := serialtest.PtyPair(t)
	p := open(t, a)
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(a, alias); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{a, alias} {
		if _, err := serial.Open(&serial.Config{Name: name, Baud: 9600}); !errors.Is(err, serial.ErrBusy) {
			t.Errorf("second Open(%s) = %v, want ErrBusy", name, err)
		}
	}
	if err := serial.LockedByOther(a); !errors.Is(err, serial.ErrBusy) {
		t.Errorf("flock from another descriptor: %v, want ErrBusy", err)
	}
	p.Close()
	q, err := serial.Open(&serial.Config{Name: alias, Baud: 9600})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	q.Close()
}

// TestRS485Unsupported: a pty has no RS-485 mode; Open says so clearly and
// leaves the line free.
func TestRS485Unsupported(t *testing.T) {
	a, _ := serialtest.PtyPair(t)
	_, err := serial.Open(&serial.Config{Name: a, Baud: 9600, RS485: &serial.RS485{Enabled: true, RTSOnSend: true}})
	if runtime.GOOS != "linux" {
		t.Skip("TIOCSRS485 is Linux's")
	}
	if !errors.Is(err, serial.ErrRS485Unsupported) {
		t.Fatalf("Open with RS-485 on a pty = %v, want ErrRS485Unsupported", err)
	}
	for _, want := range []string{a, "RS-485 mode not supported", "TIOCSRS485", "inappropriate ioctl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	p, err := serial.Open(&serial.Config{Name: a, Baud: 9600})
	if err != nil {
		t.Fatalf("Open without RS-485 after the refusal: %v", err)
	}
	p.Close()
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  serial.Config
		want string
	}{
		{serial.Config{Name: "/dev/x", Baud: 14400}, "serial: invalid port settings: /dev/x: baud rate 14400 is not supported; tarm/serial sets only the standard rates (50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000), no custom rates"},
		{serial.Config{Baud: 9600}, "serial: invalid port settings: no device name"},
		{serial.Config{Name: "/dev/x", Baud: 9600, DataBits: 9}, "serial: invalid port settings: /dev/x: 9 data bits, must be 5…8"},
		{serial.Config{Name: "/dev/x", Baud: 9600, Parity: 'M'}, "serial: invalid port settings: /dev/x: parity 'M', must be N, E or O"},
		{serial.Config{Name: "/dev/x", Baud: 9600, StopBits: 3}, "serial: invalid port settings: /dev/x: 3 stop bits, must be 1 or 2"},
		{serial.Config{Name: "/dev/x", Baud: 9600, RS485: &serial.RS485{DelayAfter: 1500 * time.Microsecond}}, "serial: invalid port settings: /dev/x: RS-485 delay 1.5ms, must be whole milliseconds 0…1s"},
	} {
		_, err := serial.Open(&tt.cfg)
		if !errors.Is(err, serial.ErrConfig) || err.Error() != tt.want {
			t.Errorf("Open(%+v) =\n%v\nwant\n%s", tt.cfg, err, tt.want)
		}
	}
	if _, err := serial.Open(&serial.Config{Name: "/nonexistent/tty", Baud: 9600}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing device: %v", err)
	}
	for s, want := range map[string]serial.Parity{"E": serial.ParityEven, "even": serial.ParityEven, "n": serial.ParityNone, "Odd": serial.ParityOdd} {
		if p, err := serial.ParseParity(s); err != nil || p != want {
			t.Errorf("ParseParity(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := serial.ParseParity("mark"); !errors.Is(err, serial.ErrConfig) {
		t.Errorf("ParseParity(mark): %v", err)
	}
	c := serial.Config{Parity: serial.ParityEven}
	if c.CharBits() != 11 || (&serial.Config{}).CharBits() != 10 || (&serial.Config{StopBits: 2}).CharBits() != 11 {
		t.Error("CharBits")
	}
}

func TestTCP(t *testing.T) {
	testutil.CheckGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	p, err := serial.DialTCP(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := <-accepted
	defer srv.Close()
	if _, err := serial.DialTCP(context.Background(), ln.Addr().String()); !errors.Is(err, serial.ErrBusy) {
		t.Errorf("second DialTCP: %v", err)
	}
	srv.Write([]byte("hello"))
	if got := readFull(t, p, 5); string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
	srv.Write([]byte("junk"))
	time.Sleep(20 * time.Millisecond)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	p.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := p.Read(make([]byte, 4)); !errors.Is(err, serial.ErrTimeout) {
		t.Fatalf("Read after Flush: %v, want ErrTimeout", err)
	}
	p.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, err := p.Read(make([]byte, 4)); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, serial.ErrClosed) {
			t.Errorf("pending Read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending TCP Read not released by Close")
	}
	if _, err := serial.DialTCP(context.Background(), "nohostport"); !errors.Is(err, serial.ErrConfig) {
		t.Errorf("bad address: %v", err)
	}
}
