package serial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// TCPPort is a TCP connection to a serial-to-Ethernet converter (or a
// Modbus TCP meter): the same Port as a serial line.
type TCPPort struct {
	addr string
	key  string
	c    net.Conn
	once sync.Once
	err  error
}

// DialTCP connects to addr (host:port), claiming it in this process as
// Open claims a device: a second DialTCP to the same address fails with
// ErrBusy until the first is closed.
func DialTCP(ctx context.Context, addr string) (*TCPPort, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%w: %q is not host:port", ErrConfig, addr)
	}
	key := "tcp:" + addr
	if err := claim(key); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		release(key)
		return nil, fmt.Errorf("serial: dial %s: %w", addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &TCPPort{addr: addr, key: key, c: c}, nil
}

// Name returns the address.
func (t *TCPPort) Name() string { return t.addr }

// SetReadDeadline implements Port.
func (t *TCPPort) SetReadDeadline(d time.Time) error {
	if err := t.c.SetReadDeadline(d); err != nil {
		return t.wrap("set deadline", err)
	}
	return nil
}

func (t *TCPPort) wrap(op string, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("serial: %s: %w", t.addr, ErrTimeout)
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("serial: %s: %w", t.addr, ErrClosed)
	}
	return fmt.Errorf("serial: %s %s: %w", op, t.addr, err)
}

// Read implements Port.
func (t *TCPPort) Read(b []byte) (int, error) {
	n, err := t.c.Read(b)
	if n > 0 {
		return n, nil
	}
	if err != nil {
		return 0, t.wrap("read", err)
	}
	return 0, nil
}

// Write implements Port.
func (t *TCPPort) Write(b []byte) (int, error) {
	n, err := t.c.Write(b)
	if err != nil {
		return n, t.wrap("write", err)
	}
	return n, nil
}

// Flush discards what has been received and not read: it reads with an
// immediate deadline until nothing is left.
func (t *TCPPort) Flush() error {
	var buf [256]byte
	for {
		if err := t.c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
			return t.wrap("flush", err)
		}
		n, err := t.c.Read(buf[:])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return t.wrap("flush", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// Close closes the connection and frees the address. It is idempotent.
func (t *TCPPort) Close() error {
	t.once.Do(func() {
		t.err = t.c.Close()
		release(t.key)
	})
	return t.err
}

var (
	_ Port = (*SerialPort)(nil)
	_ Port = (*TCPPort)(nil)
)
