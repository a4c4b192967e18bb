package dlms

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

// connPort is a serial.Port over the simulator's side of a TCP
// connection.
type connPort struct{ net.Conn }

func (c connPort) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, serial.ErrTimeout
	}
	if err != nil {
		return n, serial.ErrClosed
	}
	return n, nil
}
func (c connPort) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }
func (c connPort) Flush() error                      { return nil }
func (c connPort) Name() string                      { return "sim" }

// TestWrapperTCP reads registers and the profile over TCP with the IEC
// 62056-47 wrapper.
func TestWrapperTCP(t *testing.T) {
	clk := newClock(t0)
	sim := newSim(t, clk, dlmssim.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sim.ServeWrapper(ctx, connPort{c})
	}()
	port, err := serial.DialTCP(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	snk := &sink{}
	m, err := NewLine(port, &LineOptions{Wrapper: true}).AddMeter(MeterOptions{ID: "w", Server: hdlc.Address{Upper: 1, Size: 1},
		Registers: registersAll[:1], Profile: dlmssim.OBISProfile1, MaxBackfill: 2 * time.Hour, Sink: snk, Records: newRecords(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := m.ReadRegisters(ctx)
	if err != nil || len(rs) != 1 || rs[0].Value.M != dlmssim.ImportWh(t0) {
		t.Fatalf("%v %v", rs, err)
	}
	n, err := m.ReadProfile(ctx)
	if err != nil || n != 8 {
		t.Fatalf("profile: %d %v", n, err)
	}
}
