package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tarm "github.com/tarm/serial"
)

// Errors of this package.
var (
	// ErrTimeout is returned (wrapped) by Read when the read deadline or
	// the context's deadline passes before a byte arrives. It is
	// retryable.
	ErrTimeout = errors.New("serial: read timeout")
	// ErrClosed is returned (wrapped) by the methods of a closed port.
	ErrClosed = errors.New("serial: port closed")
	// ErrBusy is returned (wrapped) by Open and DialTCP when the device or
	// address is already open in this process, or the device is locked by
	// another process. It may pass when the other owner closes it.
	ErrBusy = errors.New("serial: line already in use")
	// ErrConfig is returned (wrapped) by Open for settings tarm/serial
	// cannot apply: a non-standard baud rate, data bits, parity or stop
	// bits. It is permanent.
	ErrConfig = errors.New("serial: invalid port settings")
	// ErrRS485Unsupported is returned (wrapped) by Open when RS-485 mode is
	// asked for and the device's driver does not support TIOCSRS485 (it
	// answers ENOTTY or EINVAL), or the platform has no such ioctl. It is
	// permanent for that device.
	ErrRS485Unsupported = errors.New("serial: RS-485 mode not supported by the device driver")
)

// Port is a byte stream to a line: a serial port or a TCP connection to a
// serial converter. Read returns what has arrived, at least one byte, or
// an error wrapping ErrTimeout when the read deadline passes first. Close
// releases a pending Read promptly. One goroutine reads at a time; Write
// and Close may be called from others.
type Port interface {
	io.ReadWriteCloser
	// SetReadDeadline sets the time after which Read fails with
	// ErrTimeout; the zero time means no deadline.
	SetReadDeadline(t time.Time) error
	// Flush discards bytes received and not yet read.
	Flush() error
	// Name is the device path or the TCP address.
	Name() string
}

// Parity of a serial character.
type Parity byte

// Parities.
const (
	ParityNone Parity = 'N'
	ParityEven Parity = 'E'
	ParityOdd  Parity = 'O'
)

// ParseParity reads "N", "E", "O" or "none", "even", "odd" (any case).
func ParseParity(s string) (Parity, error) {
	switch strings.ToLower(s) {
	case "n", "none":
		return ParityNone, nil
	case "e", "even":
		return ParityEven, nil
	case "o", "odd":
		return ParityOdd, nil
	}
	return 0, fmt.Errorf("%w: parity %q: must be none, even or odd (N, E, O)", ErrConfig, s)
}

func (p Parity) String() string {
	switch p {
	case ParityNone, 0:
		return "none"
	case ParityEven:
		return "even"
	case ParityOdd:
		return "odd"
	}
	return fmt.Sprintf("parity(%d)", byte(p))
}

// Bauds are the baud rates tarm/serial can set (its table for Linux).
var bauds = []int{50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
	57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000,
	2500000, 3000000, 3500000, 4000000}

// Bauds returns the baud rates Open accepts.
func Bauds() []int { return slices.Clone(bauds) }

// Config are a serial port's settings. The zero values of DataBits,
// Parity and StopBits are 8, none and 1.
type Config struct {
	Name     string // device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…
	Baud     int    // one of Bauds()
	DataBits int    // 5…8; 0 is 8
	Parity   Parity // ParityNone, ParityEven, ParityOdd; 0 is none
	StopBits int    // 1 or 2; 0 is 1
	// RS485, when not nil, is applied with TIOCSRS485 before the port is
	// opened. nil leaves the driver's setting as it is.
	RS485 *RS485
}

// RS485 is the kernel's RS-485 mode (struct serial_rs485): the UART
// driver switches the transceiver's driver enable with RTS around each
// transmission.
type RS485 struct {
	Enabled      bool          // SER_RS485_ENABLED
	RTSOnSend    bool          // SER_RS485_RTS_ON_SEND: RTS level while sending is high
	RTSAfterSend bool          // SER_RS485_RTS_AFTER_SEND: RTS level after sending is high
	RxDuringTx   bool          // SER_RS485_RX_DURING_TX: keep receiving while sending (echo)
	DelayBefore  time.Duration // delay_rts_before_send, whole milliseconds
	DelayAfter   time.Duration // delay_rts_after_send, whole milliseconds
}

// CharBits is the number of bits one character takes on the line: start
// bit, data bits, parity bit and stop bits.
func (c *Config) CharBits() int {
	n := 1 + cmp0(c.DataBits, 8) + cmp0(c.StopBits, 1)
	if c.Parity == ParityEven || c.Parity == ParityOdd {
		n++
	}
	return n
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Validate checks what tarm/serial can set.
func (c *Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: no device name", ErrConfig)
	}
	if !slices.Contains(bauds, c.Baud) {
		s := make([]string, len(bauds))
		for i, b := range bauds {
			s[i] = strconv.Itoa(b)
		}
		return fmt.Errorf("%w: %s: baud rate %d is not supported; tarm/serial sets only the standard rates (%s), no custom rates",
			ErrConfig, c.Name, c.Baud, strings.Join(s, ", "))
	}
	if d := cmp0(c.DataBits, 8); d < 5 || d > 8 {
		return fmt.Errorf("%w: %s: %d data bits, must be 5…8", ErrConfig, c.Name, c.DataBits)
	}
	switch c.Parity {
	case 0, ParityNone, ParityEven, ParityOdd:
	default:
		return fmt.Errorf("%w: %s: parity %q, must be N, E or O", ErrConfig, c.Name, byte(c.Parity))
	}
	if s := cmp0(c.StopBits, 1); s != 1 && s != 2 {
		return fmt.Errorf("%w: %s: %d stop bits, must be 1 or 2", ErrConfig, c.Name, c.StopBits)
	}
	if r := c.RS485; r != nil {
		for _, d := range []time.Duration{r.DelayBefore, r.DelayAfter} {
			if d < 0 || d > time.Second || d%time.Millisecond != 0 {
				return fmt.Errorf("%w: %s: RS-485 delay %s, must be whole milliseconds 0…1s", ErrConfig, c.Name, d)
			}
		}
	}
	return nil
}

// registry is the process-wide set of open lines (see the package doc).
var registry = struct {
	sync.Mutex
	open map[string]bool
}{open: map[string]bool{}}

func claim(key string) error {
	registry.Lock()
	defer registry.Unlock()
	if registry.open[key] {
		return fmt.Errorf("%w: %s is already open in this process", ErrBusy, key)
	}
	registry.open[key] = true
	return nil
}

func release(key string) {
	registry.Lock()
	delete(registry.open, key)
	registry.Unlock()
}

// pollInterval is tarm's read timeout: the shortest VTIME (0.1 s).
const pollInterval = 100 * time.Millisecond

// SerialPort is a serial line opened with tarm/serial.
type SerialPort struct {
	name string
	key  string   // registry key: the resolved device path
	lock *os.File // our descriptor on the device: flock and RS-485 ioctl
	p    *tarm.Port

	rmu      sync.Mutex // held by the one pending Read
	deadline atomic.Int64
	closed   atomic.Bool
	once     sync.Once
	closeErr error
}

// Open opens and configures a serial port: it validates cfg, claims the
// device in this process, locks it with flock, applies cfg.RS485, and
// opens it with tarm/serial.
func Open(cfg *Config) (*SerialPort, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no configuration", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := filepath.EvalSymlinks(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("serial: %s: %w", cfg.Name, err)
	}
	if key, err = filepath.Abs(key); err != nil {
		return nil, fmt.Errorf("serial: %s: %w", cfg.Name, err)
	}
	if err := claim(key); err != nil {
		return nil, err
	}
	sp := &SerialPort{name: cfg.Name, key: key}
	ok := false
	defer func() {
		if !ok {
			if sp.lock != nil {
				sp.lock.Close()
			}
			release(key)
		}
	}()
	if sp.lock, err = lockDevice(key); err != nil {
		if errors.Is(err, ErrBusy) {
			return nil, err
		}
		return nil, fmt.Errorf("serial: %s: %w", cfg.Name, err)
	}
	if cfg.RS485 != nil {
		if err := setRS485(sp.lock, cfg.RS485); err != nil {
			return nil, fmt.Errorf("serial: %s: %w", cfg.Name, err)
		}
	}
	tc := &tarm.Config{Name: key, Baud: cfg.Baud, ReadTimeout: pollInterval, Size: byte(cmp0(cfg.DataBits, 8))}
	switch cfg.Parity {
	case ParityEven:
		tc.Parity = tarm.ParityEven
	case ParityOdd:
		tc.Parity = tarm.ParityOdd
	default:
		tc.Parity = tarm.ParityNone
	}
	if cfg.StopBits == 2 {
		tc.StopBits = tarm.Stop2
	} else {
		tc.StopBits = tarm.Stop1
	}
	if sp.p, err = tarm.OpenPort(tc); err != nil {
		return nil, fmt.Errorf("serial: open %s: %w", cfg.Name, err)
	}
	if err := ensureReadTimeout(sp.lock); err != nil {
		sp.p.Close()
		return nil, fmt.Errorf("serial: %s: read timeout: %w", cfg.Name, err)
	}
	ok = true
	return sp, nil
}

// Name returns the device path as given to Open.
func (sp *SerialPort) Name() string { return sp.name }

// SetReadDeadline implements Port.
func (sp *SerialPort) SetReadDeadline(t time.Time) error {
	if sp.closed.Load() {
		return fmt.Errorf("serial: %s: %w", sp.name, ErrClosed)
	}
	if t.IsZero() {
		sp.deadline.Store(0)
	} else {
		sp.deadline.Store(t.UnixNano())
	}
	return nil
}

// Read reads at least one byte, looping over tarm's 100 ms timeouts until
// the read deadline (ErrTimeout) or Close (ErrClosed).
func (sp *SerialPort) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	sp.rmu.Lock()
	defer sp.rmu.Unlock()
	for {
		if sp.closed.Load() {
			return 0, fmt.Errorf("serial: %s: %w", sp.name, ErrClosed)
		}
		if dl := sp.deadline.Load(); dl != 0 && time.Now().UnixNano() >= dl {
			return 0, fmt.Errorf("serial: %s: %w", sp.name, ErrTimeout)
		}
		n, err := sp.p.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			if sp.closed.Load() {
				return 0, fmt.Errorf("serial: %s: %w", sp.name, ErrClosed)
			}
			return 0, fmt.Errorf("serial: read %s: %w", sp.name, err)
		}
	}
}

// Write writes b to the line.
func (sp *SerialPort) Write(b []byte) (int, error) {
	if sp.closed.Load() {
		return 0, fmt.Errorf("serial: %s: %w", sp.name, ErrClosed)
	}
	n, err := sp.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("serial: write %s: %w", sp.name, err)
	}
	return n, nil
}

// Flush discards received bytes not yet read and written bytes not yet
// sent (TCIOFLUSH).
func (sp *SerialPort) Flush() error {
	if sp.closed.Load() {
		return fmt.Errorf("serial: %s: %w", sp.name, ErrClosed)
	}
	if err := sp.p.Flush(); err != nil {
		return fmt.Errorf("serial: flush %s: %w", sp.name, err)
	}
	return nil
}

// Close releases a pending Read (within tarm's 100 ms timeout), closes the
// port and frees the line for another Open. It is idempotent.
func (sp *SerialPort) Close() error {
	sp.once.Do(func() {
		sp.closed.Store(true)
		sp.rmu.Lock() // the pending Read sees closed within pollInterval
		sp.closeErr = sp.p.Close()
		sp.rmu.Unlock()
		if sp.lock != nil {
			sp.lock.Close()
		}
		release(sp.key)
	})
	return sp.closeErr
}

// ReadContext reads into b like p.Read, until ctx ends: it sets p's read
// deadline to ctx's deadline, or slices a context without deadline into
// 100 ms waits so that cancellation is seen. On return the read deadline
// is left as set. A timeout caused by ctx's deadline is ErrTimeout; a
// cancelled ctx gives ctx.Err().
func ReadContext(ctx context.Context, p Port, b []byte) (int, error) {
	for {
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return 0, fmt.Errorf("serial: %s: %w", p.Name(), ErrTimeout)
			}
			return 0, err
		}
		dl, hasDL := ctx.Deadline()
		slice := time.Now().Add(pollInterval)
		if !hasDL || dl.After(slice) {
			dl = slice
		}
		if err := p.SetReadDeadline(dl); err != nil {
			return 0, err
		}
		n, err := p.Read(b)
		if n > 0 || err == nil || !errors.Is(err, ErrTimeout) {
			return n, err
		}
	}
}
