package wmbus

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ptyPair starts socat with a pseudo-terminal pair and returns the path
// the receiver opens and the simulator's end, opened. socat and the file
// are cleaned up with the test.
func ptyPair(t *testing.T) (string, *os.File) {
	dev, f, _ := ptyPairKill(t)
	return dev, f
}

// ptyPairKill is ptyPair that also returns a function that ends socat
// (the far end of the "dongle" goes away; socat removes its links).
func ptyPairKill(t *testing.T) (string, *os.File, func()) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (scripts/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	dev, sim := filepath.Join(dir, "dongle"), filepath.Join(dir, "sim")
	cmd := exec.Command("socat", "-d", "-d",
		"pty,raw,echo=0,link="+dev, "pty,raw,echo=0,link="+sim)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("socat: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	kill := func() {
		cmd.Process.Signal(os.Interrupt)
		<-done
	}
	t.Cleanup(kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, e1 := os.Stat(dev)
		_, e2 := os.Stat(sim)
		if e1 == nil && e2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socat made no pty pair in 10 s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := os.OpenFile(sim, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return dev, f, kill
}

// simDevice runs a dongle simulator on f: it reads requests with parse,
// answers each with handle's bytes, and writes what is sent to inject.
type simDevice struct {
	f      *os.File
	parse  func([]byte) (int, error)
	handle func(req []byte) []byte // the request's whole frame
	inject chan []byte
	mu     sync.Mutex
	reqs   [][]byte
}

func (s *simDevice) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.reqs...)
}

// run serves until ctx ends.
func (s *simDevice) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-s.inject:
				s.f.Write(b)
			}
		}
	}()
	buf := make([]byte, 0, 1024)
	rd := make([]byte, 256)
	for ctx.Err() == nil {
		s.f.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := s.f.Read(rd)
		buf = append(buf, rd[:n]...)
		for len(buf) > 0 {
			m, perr := s.parse(buf)
			if errors.Is(perr, ErrShort) {
				break
			}
			if perr != nil {
				buf = buf[1:]
				continue
			}
			req := append([]byte(nil), buf[:m]...)
			buf = buf[m:]
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.mu.Unlock()
			if ans := s.handle(req); len(ans) > 0 {
				s.f.Write(ans)
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	wg.Wait()
}
