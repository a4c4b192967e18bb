package mbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/mbus/mbussim"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// pacer relays bytes between two ports as a UART at a fixed character
// time would: a byte starts when it has arrived and the previous one has
// left, so a burst goes out at one byte per character time however late
// the goroutine wakes (it then writes the bytes already due together).
type pacer struct {
	n  [2]atomic.Int64
	wg sync.WaitGroup
}

func newPacer(a, b serial.Port, char time.Duration) *pacer {
	p := &pacer{}
	p.wg.Add(2)
	go p.copy(a, b, 0, char)
	go p.copy(b, a, 1, char)
	return p
}

func (p *pacer) copy(src, dst serial.Port, dir int, char time.Duration) {
	defer p.wg.Done()
	buf := make([]byte, 4096)
	var next time.Time
	for {
		src.SetReadDeadline(time.Time{})
		n, err := src.Read(buf)
		if err != nil {
			if errors.Is(err, serial.ErrClosed) {
				return
			}
			continue
		}
		if arr := time.Now(); next.Before(arr) {
			next = arr
		}
		for i := 0; i < n; {
			next = next.Add(char)
			spinUntil(next)
			j := i + 1
			for now := time.Now(); j < n && !next.Add(char).After(now); j++ {
				next = next.Add(char)
			}
			if _, err := dst.Write(buf[i:j]); err != nil && errors.Is(err, serial.ErrClosed) {
				return
			}
			p.n[dir].Add(int64(j - i))
			i = j
		}
	}
}

func spinUntil(t time.Time) {
	if d := time.Until(t) - 300*time.Microsecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}

// Bytes returns the bytes carried each way.
func (p *pacer) Bytes() (toPeer, fromPeer int) { return int(p.n[0].Load()), int(p.n[1].Load()) }

// pacedLine is line() with a pacer at baud (8E1) between the master and
// the sims.
func pacedLine(t testing.TB, baud int, sims ...*mbussim.Meter) (serial.Port, *pacer) {
	t.Helper()
	a, b := serialtest.PtyPair(t)
	c, d := serialtest.PtyPair(t)
	drv, far, near, simPort := openPort(t, a), openPort(t, b), openPort(t, c), openPort(t, d)
	p := newPacer(far, near, time.Second*CharBits/time.Duration(baud))
	t.Cleanup(func() { far.Close(); near.Close(); p.wg.Wait() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mbussim.ServeLine(ctx, simPort, sims...) }()
	t.Cleanup(func() { cancel(); <-done })
	return drv, p
}

type nopSink struct{}

func (nopSink) Append(context.Context, ...meter.Reading) error { return nil }
func (nopSink) Live(...meter.Reading)                          {}

// BenchmarkPollCycle8 reads 8 meters on one line (electricity, heat and
// water meters, one RSP_UD each) over a pty paced to the line rate at
// 8E1: one full poll cycle per iteration, compared with the time the
// bytes on the wire take (11 bits a character).
func BenchmarkPollCycle8(b *testing.B) {
	for _, baud := range []int{9600, 2400} {
		b.Run(fmt.Sprintf("baud=%d", baud), func(b *testing.B) {
			media := []pmbus.DeviceType{pmbus.DevElectricity, pmbus.DevHeatOutlet, pmbus.DevWater}
			var sims []*mbussim.Meter
			for i := 0; i < 8; i++ {
				sims = append(sims, newSim(b, mbussim.Options{Primary: byte(i + 1), ID: uint32(0x10000000 + i), Medium: media[i%3]}))
			}
			port, pc := pacedLine(b, baud, sims...)
			l := NewLine(port, &LineOptions{Master: MasterOptions{Baud: baud}})
			var ms []*Meter
			for i := range sims {
				m, err := l.AddMeter(MeterOptions{ID: meter.MeterID(fmt.Sprintf("m%d", i)), Primary: byte(i + 1), Sink: nopSink{}})
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, m)
			}
			ctx := context.Background()
			for _, m := range ms { // SND_NKE once
				if _, err := m.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			tx0, rx0 := pc.Bytes()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for _, m := range ms {
					if rs, err := m.Read(ctx); err != nil || len(rs) == 0 {
						b.Fatalf("%v %v", rs, err)
					}
				}
			}
			el := time.Since(start)
			b.StopTimer()
			tx, rx := pc.Bytes()
			bytes := float64(tx-tx0+rx-rx0) / float64(b.N)
			limit := bytes * CharBits / float64(baud)
			per := el.Seconds() / float64(b.N)
			b.ReportMetric(per, "s/cycle")
			b.ReportMetric(bytes, "wirebytes/cycle")
			b.ReportMetric(limit, "limit-s/cycle")
			b.ReportMetric(per/limit, "ratio")
		})
	}
}
