package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	mb "github.com/smgw/smgw/internal/proto/modbus"
	"github.com/smgw/smgw/internal/testutil"
)

// tcpMeter is a Modbus TCP device on 127.0.0.1 answering from an image.
// Before its first answer it sends a stale response with another
// transaction id, which the client must skip.
func tcpMeter(t *testing.T, img image) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var buf []byte
		rx := make([]byte, 512)
		stale := true
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := c.Read(rx)
			if err != nil {
				return
			}
			buf = append(buf, rx[:n]...)
			for {
				h, pdu, k, err := mb.ParseTCP(buf)
				if err != nil {
					break
				}
				req, perr := mb.ParseRequest(pdu)
				buf = append(buf[:0], buf[k:]...)
				var resp []byte
				tables, ok := img[h.Unit]
				switch {
				case perr != nil || !ok:
					resp = mb.AppendException(nil, pdu[0], mb.ExGatewayTargetFailed)
				default:
					table := tables["holding"]
					if req.Function == mb.FuncReadInput {
						table = tables["input"]
					}
					data := make([]byte, 0, 2*req.Quantity)
					for a := int(req.Address); a < int(req.Address)+int(req.Quantity); a++ {
						v, ok := table[itoa(a)]
						if !ok {
							data = nil
							break
						}
						data = binary.BigEndian.AppendUint16(data, v)
					}
					if data == nil {
						resp = mb.AppendException(nil, req.Function, mb.ExIllegalDataAddress)
					} else {
						resp, _ = mb.AppendResponse(nil, mb.Response{Function: req.Function, Data: data})
					}
				}
				if stale {
					c.Write(mb.AppendTCP(nil, h.Transaction-1, h.Unit, resp))
					stale = false
				}
				c.Write(mb.AppendTCP(nil, h.Transaction, h.Unit, resp))
			}
		}
	}()
	return ln.Addr().String()
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestModbusTCP reads a meter over Modbus TCP (MBAP framing).
func TestModbusTCP(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := mustProfile(t, "abb-b24")
	img := image{}
	want := img.Fill(t, 5, p, 4)
	addr := tcpMeter(t, img)
	port, err := serial.DialTCP(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	c, _ := NewClient(port, &ClientOptions{Framing: TCP, Timeout: time.Second})
	bus, _ := NewBus(c, nil)
	sink := &memSink{}
	if err := bus.AddMeter(MeterOptions{ID: "abb", Unit: 5, Profile: p, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	checkValues(t, sink, "abb", p, want)
	if s := bus.Stats()[0]; !s.Healthy() || s.Requests != s.Responses {
		t.Errorf("%s", fmtStats(s))
	}
	// A unit the device does not know: exception 11 from the gateway.
	_, err = c.Do(ctx, 77, mb.ReadHolding(0, 1))
	var ex *mb.Exception
	if !errors.As(err, &ex) || ex.Code != mb.ExGatewayTargetFailed {
		t.Errorf("unknown unit: %v", err)
	}
}
