package dlms

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
)

// pacer relays bytes between two ports as a UART at a fixed character
// time would: a byte starts when it has arrived and the previous one has
// left, so a burst goes out at exactly one byte per character time,
// however late the goroutine wakes (it then writes the bytes already due
// together). serialtest.Relay restarts its schedule at every wake-up, so
// its timer jitter adds to every byte under load; for line-rate figures
// this one keeps the schedule.
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
		arr := time.Now()
		if next.Before(arr) {
			next = arr
		}
		for i := 0; i < n; {
			// Bytes i… go out at next, next+char, …: wait for the end of
			// byte i, then write every byte whose end has passed.
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

// pacedLine is line() with a pacer between the driver and the sims.
func pacedLine(t testing.TB, char time.Duration, sims ...*dlmssim.Meter) (serial.Port, *pacer) {
	t.Helper()
	a, b := serialtest.PtyPair(t)
	c, d := serialtest.PtyPair(t)
	drv, far, near, simPort := openPort(t, a), openPort(t, b), openPort(t, c), openPort(t, d)
	p := newPacer(far, near, char)
	t.Cleanup(func() { far.Close(); near.Close(); p.wg.Wait() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); dlmssim.ServeLine(ctx, simPort, sims...) }()
	t.Cleanup(func() { cancel(); <-done })
	return drv, p
}
