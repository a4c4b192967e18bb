package wmbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/smgw/smgw/hal/serial"
)

// port is an open serial device.
type port interface {
	io.ReadWriteCloser
}

// readTimeout is the serial read timeout: how often a blocked read comes
// back to look at the context.
const readTimeout = 100 * time.Millisecond

// openSerial opens a serial device at baud, 8N1, through hal/serial: the
// process's one owner of the line (a second Open of the device, here or
// by a Modbus, DLMS or M-Bus line, fails with serial.ErrBusy), locked with
// flock against other processes. It is a variable so that a test can
// replace it.
var openSerial = func(name string, baud int) (port, error) {
	p, err := serial.Open(&serial.Config{Name: name, Baud: baud})
	if err != nil {
		return nil, err
	}
	return &serialPort{p}, nil
}

// serialPort reads a hal/serial port as the link expects: what has
// arrived, or (0, io.EOF) after readTimeout without a byte (as tarm/serial
// reports its read timeout), so that the link looks at its context and
// its stale partial frame between reads.
type serialPort struct{ p *serial.SerialPort }

func (s *serialPort) Read(b []byte) (int, error) {
	if err := s.p.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
		return 0, err
	}
	n, err := s.p.Read(b)
	if errors.Is(err, serial.ErrTimeout) {
		return 0, io.EOF
	}
	return n, err
}

func (s *serialPort) Write(b []byte) (int, error) { return s.p.Write(b) }
func (s *serialPort) Close() error                { return s.p.Close() }

// errTimeout is returned by link.next when no frame came in time.
var errTimeout = errors.New("wmbus: no answer from the receiver in time")

// link reads frames from a port: it keeps the unparsed bytes, skips
// garbage to the next start of frame and drops a frame whose rest never
// comes.
type link struct {
	p     port
	name  string
	buf   []byte // unparsed bytes are buf[r:]
	r     int
	scr   []byte
	since time.Time // when the oldest unparsed byte arrived
	empty int       // consecutive empty reads
	stats *Stats
	mu    *sync.Mutex
	sof   byte
	onBad func(error)
	parse func(p []byte) (n int, err error)
	stale time.Duration
}

// next returns the length of the next complete frame at l.buf[l.r:]
// (parsed by l.parse); the caller consumes it with l.consume. It reads
// until a frame is complete, ctx ends (ctx.Err()) or deadline passes
// (errTimeout; a zero deadline waits for ctx only).
func (l *link) next(ctx context.Context, deadline time.Time) (int, error) {
	for {
		if l.r < len(l.buf) {
			n, err := l.parse(l.buf[l.r:])
			switch {
			case err == nil:
				return n, nil
			case errors.Is(err, ErrShort):
			default:
				l.skip(err)
				continue
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return 0, errTimeout
		}
		if err := l.fill(); err != nil {
			return 0, err
		}
	}
}

// consume drops n parsed bytes.
func (l *link) consume(n int) {
	l.r += n
	if l.r >= len(l.buf) {
		l.buf, l.r = l.buf[:0], 0
	}
	l.since = time.Now()
}

// skip drops the first unparsed byte and then everything up to the next
// possible start of a frame, counting it.
func (l *link) skip(why error) {
	i := l.r + 1
	for i < len(l.buf) && l.buf[i] != l.sof {
		i++
	}
	l.mu.Lock()
	l.stats.Skipped += uint64(i - l.r)
	if !errors.Is(why, ErrSync) {
		l.stats.Bad++
		l.stats.LastErr = why.Error()
	}
	l.mu.Unlock()
	if !errors.Is(why, ErrSync) && l.onBad != nil {
		l.onBad(why)
	}
	l.consume(i - l.r)
}

// fill reads once from the port. A partial frame older than l.stale with
// nothing more arriving is dropped (its rest was lost).
func (l *link) fill() error {
	if l.r > 0 && l.r == len(l.buf) {
		l.buf, l.r = l.buf[:0], 0
	}
	if l.r > 0 && len(l.buf) > 4096 {
		l.buf = append(l.buf[:0], l.buf[l.r:]...)
		l.r = 0
	}
	if l.scr == nil {
		l.scr = make([]byte, 512)
	}
	n, err := l.p.Read(l.scr)
	if n > 0 {
		if l.r == len(l.buf) {
			l.since = time.Now()
		}
		l.buf = append(l.buf, l.scr[:n]...)
		l.empty = 0
		return nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
			// A hung-up terminal: the USB device went away.
			return fmt.Errorf("%w: %s: read: %w", ErrGone, l.name, err)
		}
		return fmt.Errorf("wmbus: %s: read: %w", l.name, err)
	}
	// A timeout (tarm/serial reports it as io.EOF), or an empty read.
	l.empty++
	if l.r < len(l.buf) && time.Since(l.since) > l.stale {
		l.skip(fmt.Errorf("wmbus: %s: frame truncated: %d bytes and nothing more for %s", l.name, len(l.buf)-l.r, l.stale))
	}
	if l.empty%50 == 0 {
		if _, err := os.Stat(l.name); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s: %w", ErrGone, l.name, err)
		}
	}
	return nil
}

// write sends p.
func (l *link) write(p []byte) error {
	if _, err := l.p.Write(p); err != nil {
		return fmt.Errorf("wmbus: %s: write: %w", l.name, err)
	}
	return nil
}
