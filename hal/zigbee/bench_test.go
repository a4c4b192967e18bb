package zigbee_test

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/hal/zigbee/znpsim"
)

// benchRig is a started driver on a simulator that answers at once;
// paced puts a relay between them that paces bytes at 115200 baud.
func benchRig(b *testing.B, paced bool) (*zigbee.ZNP, *znpsim.Sim) {
	b.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		b.Skip("socat is not installed")
	}
	gw, ncp, stop, err := znpsim.Pair(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	if paced {
		// gw ↔ line1 ─relay(115200)─ line2 ↔ ncp
		line1, line2 := ncp, ""
		ncp2, l2, stop2, err := znpsim.Pair(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop2)
		ncp, line2 = ncp2, l2
		p1, err := serial.Open(&serial.Config{Name: line1, Baud: zigbee.Baud})
		if err != nil {
			b.Fatal(err)
		}
		p2, err := serial.Open(&serial.Config{Name: line2, Baud: zigbee.Baud})
		if err != nil {
			b.Fatal(err)
		}
		r := serialtest.NewRelay(p1, p2, &serialtest.RelayOptions{CharTime: time.Second * 10 / zigbee.Baud})
		b.Cleanup(r.Close)
	}
	sim, err := znpsim.Start(ncp, &znpsim.Options{SRSPDelay: -1, EventDelay: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	z, err := zigbee.OpenZNP(gw, &zigbee.ZNPOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PingInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { z.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := z.Start(ctx, testCfg); err != nil {
		b.Fatal(err)
	}
	return z, sim
}

// BenchmarkPingRoundTrip: one SREQ → SRSP (SYS_PING) through the driver,
// the pty pair (socat) and the simulator.
func BenchmarkPingRoundTrip(b *testing.B) {
	z, _ := benchRig(b, false)
	ctx := context.Background()
	for b.Loop() {
		if err := z.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkPingRoundTrip115200 is BenchmarkPingRoundTrip with the bytes
// paced at the ZNP's 115200 baud (10 bits a character), as on the real
// line: SYS_PING is 5 bytes out and 7 back.
func BenchmarkPingRoundTrip115200(b *testing.B) {
	z, _ := benchRig(b, true)
	ctx := context.Background()
	for b.Loop() {
		if err := z.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkSendConfirm: Send to a joined device: AF_DATA_REQUEST → SRSP
// → AF_DATA_CONFIRM.
func BenchmarkSendConfirm(b *testing.B) {
	z, sim := benchRig(b, false)
	ctx := context.Background()
	sim.AddDevice(ihd, specCode, 1, nil)
	if err := z.PermitJoin(ctx, ihd, specCode, time.Minute); err != nil {
		b.Fatal(err)
	}
	var dev zigbee.Device
	for dev.NWK == 0 {
		select {
		case e := <-z.Events():
			if a, ok := e.(zigbee.Announce); ok {
				dev = a.Device
			}
		case <-time.After(10 * time.Second):
			b.Fatal("no announce")
		}
	}
	payload := []byte{0x18, 0x01, 0x0A, 0x00, 0x00, 0x25, 0x10, 0x27, 0x00, 0x00, 0x00, 0x00}
	for b.Loop() {
		if err := z.Send(ctx, dev.NWK, 1, 1, 0x0702, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
