package modem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smgw/smgw/hal/serial"
)

// Errors. ErrTimeout is retryable; ErrError and ErrCME are the modem's
// answers (permanent for that command).
var (
	// ErrTimeout is returned (wrapped) when the modem does not finish its
	// answer (OK or an error) in time.
	ErrTimeout = errors.New("modem: no answer in time")
	// ErrError is returned (wrapped) when the modem answers ERROR.
	ErrError = errors.New("modem: ERROR")
	// ErrCME is returned (wrapped, as a *CMEError) for +CME ERROR answers.
	ErrCME = errors.New("modem: +CME ERROR")
	// ErrSyntax is returned (wrapped) for an answer line the modem should
	// not have sent.
	ErrSyntax = errors.New("modem: unexpected answer")
	// ErrCommand is returned for a command that is not a single AT line.
	ErrCommand = errors.New("modem: invalid command")
)

// CMEError is a +CME ERROR answer: Code is the numeric code, or -1 with
// Text for verbose errors.
type CMEError struct {
	Code int
	Text string
}

func (e *CMEError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("modem: +CME ERROR: %d", e.Code)
	}
	return "modem: +CME ERROR: " + e.Text
}

// Is makes errors.Is(err, ErrCME) hold.
func (e *CMEError) Is(target error) bool { return target == ErrCME }

// Port is the modem's AT command line: hal/serial.Port satisfies it. Read
// returns at least one byte or an error once the read deadline passes.
type Port interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// Options configure a Modem; the zero value is usable.
type Options struct {
	// Timeout bounds each command (the caller's context may end it
	// earlier); 0 is 5 s.
	Timeout time.Duration
	// URC receives unsolicited result codes (one line each) as they are
	// read; nil drops them (the last of each kind is kept anyway, see
	// LastURC).
	URC func(line string)
}

// Modem is an AT command port. It is safe for concurrent use; commands
// are serialised.
type Modem struct {
	port Port
	opts Options

	mu   sync.Mutex
	buf  []byte            // bytes read and not yet split into lines
	urcs map[string]string // prefix → the last URC line of that kind
}

// New returns a Modem over port. It sends nothing.
func New(port Port, opts *Options) *Modem {
	m := &Modem{port: port, urcs: map[string]string{}}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Timeout <= 0 {
		m.opts.Timeout = 5 * time.Second
	}
	return m
}

// Open opens the serial device at path (115200 Bd, 8N1; USB modems ignore
// the rate) for New. The caller closes the port.
func Open(path string) (*serial.SerialPort, error) {
	return serial.Open(&serial.Config{Name: path, Baud: 115200})
}

// final result codes (V.250 and 27.007).
func finalLine(l string) (done bool, err error) {
	switch {
	case l == "OK":
		return true, nil
	case l == "ERROR", l == "NO CARRIER", l == "NO DIALTONE", l == "BUSY", l == "NO ANSWER":
		return true, fmt.Errorf("%w (%s)", ErrError, l)
	case strings.HasPrefix(l, "+CME ERROR:"), strings.HasPrefix(l, "+CMS ERROR:"):
		t := strings.TrimSpace(l[len("+CME ERROR:"):])
		if n, err := strconv.Atoi(t); err == nil {
			return true, &CMEError{Code: n}
		}
		return true, &CMEError{Code: -1, Text: t}
	}
	return false, nil
}

// urcPrefixes are the lines that are unsolicited unless they answer the
// command being run.
var urcPrefixes = []string{"+CREG:", "+CEREG:", "+CGREG:", "+CPIN:", "RING", "+CMTI:", "+CUSD:", "+CGEV:", "^", "+QIND:", "+CTZV:", "+CTZE:", "+CIEV:"}

func isURC(line string) bool {
	for _, p := range urcPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// Command sends cmd (e.g. "AT+CSQ") and returns the information lines of
// the answer, without the final OK. A line that starts with the command's
// own prefix ("+CSQ:" for AT+CSQ) is an answer even where it could be a
// URC; other URCs are passed to Options.URC. The command's echo (ATE1)
// is skipped.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	if !strings.HasPrefix(strings.ToUpper(cmd), "AT") || strings.ContainsAny(cmd, "\r\n") || len(cmd) > 512 {
		return nil, fmt.Errorf("%w: %q", ErrCommand, cmd)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout) // or ctx's deadline, if earlier
	defer cancel()
	// What came before the command is unsolicited.
	m.drainLocked(ctx, "")
	if _, err := m.port.Write([]byte(cmd + "\r")); err != nil {
		return nil, fmt.Errorf("modem: write %s: %w", cmd, err)
	}
	own := answerPrefix(cmd)
	var info []string
	for {
		line, err := m.lineLocked(ctx)
		if err != nil {
			return info, fmt.Errorf("modem: %s: %w", cmd, err)
		}
		switch {
		case line == "" || line == cmd || strings.EqualFold(line, cmd):
			continue // empty line or echo
		case own != "" && strings.HasPrefix(line, own):
			info = append(info, line)
			continue
		case isURC(line):
			m.urcLocked(line)
			continue
		}
		if done, err := finalLine(line); done {
			if err != nil {
				return info, fmt.Errorf("modem: %s: %w", cmd, err)
			}
			return info, nil
		}
		info = append(info, line)
	}
}

// answerPrefix is the "+XXX:" prefix of cmd's answer lines ("" for basic
// commands).
func answerPrefix(cmd string) string {
	c := strings.ToUpper(cmd[2:])
	if !strings.HasPrefix(c, "+") {
		return ""
	}
	end := strings.IndexAny(c, "?=")
	if end < 0 {
		end = len(c)
	}
	return c[:end] + ":"
}

// Poll reads the URCs that arrived while no command ran, waiting at most
// wait for the first bytes to come.
func (m *Modem) Poll(ctx context.Context, wait time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	m.drainLocked(ctx, "wait")
}

// drainLocked takes what is buffered (and, with mode "wait", what arrives
// until ctx ends) as URCs.
func (m *Modem) drainLocked(ctx context.Context, mode string) {
	for {
		for {
			i := bytes.IndexAny(m.buf, "\r\n")
			if i < 0 {
				break
			}
			line := strings.TrimSpace(string(m.buf[:i]))
			m.buf = m.buf[i+1:]
			if line != "" {
				m.urcLocked(line)
			}
		}
		dl := time.Now().Add(10 * time.Millisecond)
		if mode == "wait" {
			d, ok := ctx.Deadline()
			if !ok || ctx.Err() != nil {
				return
			}
			dl = d
		}
		if err := m.readLocked(dl); err != nil {
			return
		}
		mode = "" // something came: take what follows at once, then stop
	}
}

func (m *Modem) urcLocked(line string) {
	k := line
	if i := strings.IndexByte(line, ':'); i > 0 {
		k = line[:i]
	}
	if len(m.urcs) < 64 || m.urcs[k] != "" {
		m.urcs[k] = line
	}
	if m.opts.URC != nil {
		m.opts.URC(line)
	}
}

// LastURC returns the last URC whose kind (the text before ':', e.g.
// "+CEREG") is prefix, or "".
func (m *Modem) LastURC(prefix string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.urcs[prefix]
}

// readLocked reads once with deadline dl into buf.
func (m *Modem) readLocked(dl time.Time) error {
	if err := m.port.SetReadDeadline(dl); err != nil {
		return err
	}
	var b [256]byte
	n, err := m.port.Read(b[:])
	m.buf = append(m.buf, b[:n]...)
	if len(m.buf) > 64<<10 { // a modem spewing garbage: keep the tail
		m.buf = append(m.buf[:0], m.buf[len(m.buf)-4096:]...)
	}
	if n > 0 {
		return nil
	}
	return err
}

// lineLocked returns the next line, waiting until ctx's deadline.
func (m *Modem) lineLocked(ctx context.Context) (string, error) {
	for {
		if i := bytes.IndexAny(m.buf, "\r\n"); i >= 0 {
			line := strings.TrimSpace(string(m.buf[:i]))
			m.buf = m.buf[i+1:]
			return line, nil
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("%w (%v)", ErrTimeout, err)
		}
		dl, _ := ctx.Deadline()
		if err := m.readLocked(dl); err != nil {
			if errors.Is(err, serial.ErrTimeout) || errors.Is(err, io.EOF) || isTimeout(err) {
				continue
			}
			return "", err
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
