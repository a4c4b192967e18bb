// Package serialtest holds what tests of serial drivers need: pairs of
// real pseudo-terminals joined by socat (a null-modem cable in software),
// and a relay between two ports that paces bytes to a baud rate and can
// garble or drop them, to put line timing and faults between a driver and
// a peer. Only tests import it.
package serialtest

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
)

// HaveSocat reports whether socat is on PATH.
func HaveSocat() bool {
	_, err := exec.LookPath("socat")
	return err == nil
}

// PtyPair starts `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`
// in a temporary directory and returns the two link paths once socat has
// set both ptys up: both links exist and socat has logged "starting data
// transfer loop" (only then are its raw termios settings applied, which
// must not land after a port has been opened with its read timeout).
// Bytes written to one end are read at the other. socat is stopped at the
// test's end. The test is skipped if socat is not installed.
func PtyPair(t testing.TB) (a, b string) {
	t.Helper()
	if !HaveSocat() {
		t.Skip("socat is not installed (apt-get install socat); it makes the pseudo-terminal pairs")
	}
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cmd := exec.Command("socat", "-d", "-d",
		"pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start socat: %v", err)
	}
	var (
		mu    sync.Mutex
		log   bytes.Buffer
		ready = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "starting data transfer loop") {
				close(ready)
				signalled = true
			}
		}
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.After(10 * time.Second)
	select {
	case <-ready:
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("socat exited before making the pty pair: %s", log.String())
	case <-deadline:
		t.Fatalf("socat made no pty pair within 10 s")
	}
	for _, p := range []string{a, b} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("socat is ready but %s is missing: %v", p, err)
		}
	}
	return a, b
}

// RelayOptions shape what a Relay does to the bytes it carries.
type RelayOptions struct {
	// CharTime, if positive, paces each direction: every byte is sent no
	// earlier than one character time after the previous one, as on a
	// real line at that baud rate.
	CharTime time.Duration
	// Fault, if set, is called for every byte going from the driver's side
	// to the peer (toPeer true) or back, with the byte's index in that
	// direction; it returns the byte to send and false to drop it.
	Fault func(toPeer bool, i int, b byte) (byte, bool)
}

// Relay copies bytes between two open ports (the driver's line and the
// peer's) until Close.
type Relay struct {
	a, b serial.Port
	wg   sync.WaitGroup
	mu   sync.Mutex
	n    [2]int // bytes carried each way
}

// NewRelay starts copying between a (toward the peer: b) and b.
func NewRelay(a, b serial.Port, opts *RelayOptions) *Relay {
	if opts == nil {
		opts = &RelayOptions{}
	}
	r := &Relay{a: a, b: b}
	r.wg.Add(2)
	go r.copy(a, b, true, opts)
	go r.copy(b, a, false, opts)
	return r
}

func (r *Relay) copy(src, dst serial.Port, toPeer bool, o *RelayOptions) {
	defer r.wg.Done()
	buf := make([]byte, 512)
	next := time.Now()
	i := 0
	for {
		src.SetReadDeadline(time.Time{})
		n, err := src.Read(buf)
		if err != nil {
			if errors.Is(err, serial.ErrClosed) {
				return
			}
			continue
		}
		for _, c := range buf[:n] {
			keep := true
			if o.Fault != nil {
				c, keep = o.Fault(toPeer, i, c)
			}
			i++
			if !keep {
				continue
			}
			if o.CharTime > 0 {
				now := time.Now()
				if next.Before(now) {
					next = now
				}
				next = next.Add(o.CharTime)
				sleepUntil(next)
			}
			if _, err := dst.Write([]byte{c}); err != nil && errors.Is(err, serial.ErrClosed) {
				return
			}
			r.mu.Lock()
			if toPeer {
				r.n[0]++
			} else {
				r.n[1]++
			}
			r.mu.Unlock()
		}
	}
}

// sleepUntil waits until t: with time.Sleep for the coarse part and a
// short spin for the last 200 µs, as the timer's resolution is too coarse
// for 1 ms character times.
func sleepUntil(t time.Time) {
	if d := time.Until(t) - 200*time.Microsecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}

// Bytes returns the bytes carried toward the peer and back.
func (r *Relay) Bytes() (toPeer, fromPeer int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[0], r.n[1]
}

// Close closes both ports and waits for the copying to stop.
func (r *Relay) Close() {
	r.a.Close()
	r.b.Close()
	r.wg.Wait()
}
