package ptypace

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Chunk is the line time a relay's write covers at most: bytes due
// within it go out in one write.
const Chunk = 4 * time.Millisecond

// Line is two ptys joined by a paced relay.
type Line struct {
	// Driver and Peer are the slave devices (/dev/pts/N) to open at
	// either end.
	Driver, Peer string

	char   time.Duration
	ends   [2]*pty
	n      [2]atomic.Int64
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
}

// New makes a line with the given character time (e.g.
// time.Second*11/9600 for 9600 baud 8E1) and closes it at the test's
// end. The test is skipped where ptys cannot be made.
func New(t testing.TB, char time.Duration) *Line {
	t.Helper()
	l, err := Open(char)
	if err != nil {
		t.Skipf("ptypace: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Open makes a line; Close releases it.
func Open(char time.Duration) (*Line, error) {
	if char <= 0 {
		return nil, errors.New("ptypace: the character time must be positive")
	}
	a, err := openPty()
	if err != nil {
		return nil, err
	}
	b, err := openPty()
	if err != nil {
		a.close()
		return nil, err
	}
	l := &Line{Driver: a.path, Peer: b.path, char: char, ends: [2]*pty{a, b}}
	l.wg.Add(2)
	go l.copy(a, b, 0)
	go l.copy(b, a, 1)
	return l, nil
}

// copy paces what src's slave side writes to dst's slave side.
func (l *Line) copy(src, dst *pty, dir int) {
	defer l.wg.Done()
	buf := make([]byte, 4096)
	per := max(1, int(Chunk/l.char))
	var next time.Time
	for {
		n, err := src.master.Read(buf)
		if n == 0 && err != nil {
			if l.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond) // EIO while no slave is open: wait for one
			continue
		}
		arr := time.Now()
		if next.Before(arr) {
			next = arr
		}
		for i := 0; i < n; {
			// Bytes i… end at next+char, next+2·char, …: wait for the end
			// of the chunk's last byte, then write the chunk, and any
			// further bytes whose end has passed too (a late wake-up).
			j := min(n, i+per)
			next = next.Add(time.Duration(j-i) * l.char)
			sleepUntil(next)
			for now := time.Now(); j < n && !next.Add(l.char).After(now); j++ {
				next = next.Add(l.char)
			}
			l.n[dir].Add(int64(j - i)) // before the write: the reader may be done at once
			if _, err := dst.master.Write(buf[i:j]); err != nil && (l.closed.Load() || errors.Is(err, os.ErrClosed)) {
				return
			}
			i = j
		}
	}
}

// sleepUntil waits until t: time.Sleep for the coarse part, a spin for
// the last 200 µs (the timer's resolution is too coarse for 1 ms
// character times).
func sleepUntil(t time.Time) {
	if d := time.Until(t) - 200*time.Microsecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}

// Bytes returns the bytes carried from the driver to the peer and back.
func (l *Line) Bytes() (toPeer, fromPeer int) { return int(l.n[0].Load()), int(l.n[1].Load()) }

// CharTime returns the line's character time.
func (l *Line) CharTime() time.Duration { return l.char }

// Close stops the relay and closes the ptys (the ports opened on the
// slaves then read end of file or errors). It is idempotent.
func (l *Line) Close() {
	l.once.Do(func() {
		l.closed.Store(true)
		for _, e := range l.ends {
			e.close()
		}
		l.wg.Wait()
	})
}
