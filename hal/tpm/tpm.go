package tpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// Errors of this package.
var (
	// ErrNotFound is returned (wrapped) by Open when there is no TPM where
	// the configuration points: no such device, or nothing listening.
	ErrNotFound = errors.New("tpm: no TPM found")
	// ErrSpec is returned (wrapped) by Open for a configuration string it
	// does not understand.
	ErrSpec = errors.New("tpm: bad TPM name")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("tpm: closed")
	// ErrTransport is returned (wrapped) when talking to the TPM fails
	// mid-command (the connection broke, the device went away) or the
	// answer is malformed.
	ErrTransport = errors.New("tpm: transport failure")
)

// Simulator is the name Open takes for the in-process simulator.
const Simulator = "simulator"

// SwtpmScheme prefixes swtpm's TCP command port in a TPM name.
const SwtpmScheme = "swtpm://"

// TPM is one open connection to a TPM. Send and Do are safe for
// concurrent use; commands are serialised.
type TPM struct {
	name string
	mu   sync.Mutex
	t    transport.TPMCloser
}

// Name is the configuration string the TPM was opened by.
func (t *TPM) Name() string { return t.name }

// Send implements transport.TPM: it sends one command and returns its
// response, holding the connection for the exchange.
func (t *TPM) Send(cmd []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t == nil {
		return nil, ErrClosed
	}
	return t.t.Send(cmd)
}

// Do runs fn with the connection held, so that a sequence of commands is
// not interleaved with another goroutine's. fn must use the transport it
// is given (not t, which would deadlock).
func (t *TPM) Do(fn func(transport.TPM) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t == nil {
		return ErrClosed
	}
	return fn(t.t)
}

// Close closes the connection. It is idempotent.
func (t *TPM) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t == nil {
		return nil
	}
	err := t.t.Close()
	t.t = nil
	return err
}

// New wraps an open transport (tests, other transports). Commands the TPM
// answers with TPM_RC_RETRY, TPM_RC_YIELDED or TPM_RC_TESTING (it is busy,
// or still testing itself after start-up) are sent again, a few times.
func New(name string, t transport.TPMCloser) *TPM { return &TPM{name: name, t: retrying{t}} }

// Response codes that ask for the command again (TPM 2.0 Part 2, 6.6.3).
const (
	rcYielded = 0x908
	rcTesting = 0x90A
	rcRetry   = 0x922
)

// retrying resends a command the TPM asks to have again.
type retrying struct{ transport.TPMCloser }

func (r retrying) Send(cmd []byte) ([]byte, error) {
	delay := 5 * time.Millisecond
	for i := 0; ; i++ {
		rsp, err := r.TPMCloser.Send(cmd)
		if err != nil || len(rsp) < 10 || i >= 20 {
			return rsp, err
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case rcYielded, rcTesting, rcRetry:
			time.Sleep(delay)
			delay = min(2*delay, 200*time.Millisecond)
		default:
			return rsp, nil
		}
	}
}

var (
	simMu   sync.Mutex
	simOpen func() (transport.TPMCloser, error)
)

// RegisterSimulator makes Open("simulator") use open. The tpmsim package
// calls it (tests import that package).
func RegisterSimulator(open func() (transport.TPMCloser, error)) {
	simMu.Lock()
	simOpen = open
	simMu.Unlock()
}

// Open opens the TPM named by name: a device path, "swtpm://HOST:PORT" or
// "simulator" (see the package documentation).
func Open(name string) (*TPM, error) {
	switch {
	case name == Simulator:
		simMu.Lock()
		open := simOpen
		simMu.Unlock()
		if open == nil {
			return nil, fmt.Errorf("%w: %q: the simulator is for tests only and is not part of this build; "+
				"use a device such as /dev/tpmrm0 or swtpm://127.0.0.1:2321", ErrSpec, name)
		}
		t, err := open()
		if err != nil {
			return nil, fmt.Errorf("tpm: start the simulator: %w", err)
		}
		return New(name, t), nil
	case strings.HasPrefix(name, SwtpmScheme):
		addr := strings.TrimPrefix(name, SwtpmScheme)
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%w: %q: want swtpm://HOST:PORT (%v)", ErrSpec, name, err)
		}
		t, err := dialSwtpm(addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return New(name, t), nil
	case strings.HasPrefix(name, "/"):
		t, err := openDevice(name)
		if err != nil {
			return nil, err
		}
		return New(name, t), nil
	}
	return nil, fmt.Errorf("%w: %q: want a device path (/dev/tpmrm0), swtpm://HOST:PORT or %q", ErrSpec, name, Simulator)
}

// CheckName checks a TPM name without opening it (configuration
// validation). It returns "" or why the name is not usable.
func CheckName(name string) string {
	switch {
	case name == Simulator:
		return ""
	case strings.HasPrefix(name, SwtpmScheme):
		if _, port, err := net.SplitHostPort(strings.TrimPrefix(name, SwtpmScheme)); err != nil || port == "" {
			return fmt.Sprintf("%q: want swtpm://HOST:PORT", name)
		}
		return ""
	case strings.HasPrefix(name, "/"):
		return ""
	}
	return fmt.Sprintf("%q: want a device path such as /dev/tpmrm0, swtpm://HOST:PORT or %q", name, Simulator)
}

// deviceTPM is a TPM character device: one write per command, one read
// per response.
type deviceTPM struct{ f *os.File }

func openDevice(path string) (transport.TPMCloser, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no device %s (is the TPM enabled in the firmware and its driver loaded?)", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("tpm: %w", err)
	}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, fmt.Errorf("%w: %s is not a character device", ErrNotFound, path)
	}
	// Opened with syscall.Open, not os.OpenFile: os.OpenFile registers a
	// pollable device with Go's netpoller, which sets O_NONBLOCK, and then
	// the kernel's tpm device runs a written command asynchronously and a
	// read before the response is ready returns 0 bytes (not EAGAIN), which
	// Go reports as io.EOF. Fast commands may win that race; CreatePrimary
	// never does. A blocking descriptor given to os.NewFile stays out of
	// the poller.
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tpm: open %s: %w (the gateway's user needs read and write access, usually the tss group)", path, err)
	}
	return &deviceTPM{f: os.NewFile(uintptr(fd), path)}, nil
}

// maxResponse bounds a TPM response (TPM2 responses are at most a few KiB;
// the kernel's buffer is 4 KiB).
const maxResponse = 64 << 10

func (d *deviceTPM) Send(cmd []byte) ([]byte, error) {
	if _, err := d.f.Write(cmd); err != nil {
		return nil, fmt.Errorf("%w: write to %s: %v", ErrTransport, d.f.Name(), err)
	}
	buf := make([]byte, 4096)
	n, err := d.f.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("%w: read from %s: %v", ErrTransport, d.f.Name(), err)
	}
	return buf[:n], nil
}

func (d *deviceTPM) Close() error { return d.f.Close() }

// swtpmTPM speaks raw TPM 2.0 commands over swtpm's TCP command port: a
// command is written as is; a response is its 10-byte header (tag, size,
// code) and size-10 more bytes.
type swtpmTPM struct {
	c       net.Conn
	addr    string
	timeout time.Duration
}

func dialSwtpm(addr string, timeout time.Duration) (*swtpmTPM, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w: nothing listens on %s (is swtpm running with --server type=tcp,port=…?)", ErrNotFound, addr)
		}
		return nil, fmt.Errorf("%w: connect to swtpm at %s: %v", ErrNotFound, addr, err)
	}
	return &swtpmTPM{c: c, addr: addr, timeout: 2 * time.Minute}, nil
}

func (s *swtpmTPM) Send(cmd []byte) ([]byte, error) {
	s.c.SetDeadline(time.Now().Add(s.timeout))
	if _, err := s.c.Write(cmd); err != nil {
		return nil, fmt.Errorf("%w: write to swtpm at %s: %v", ErrTransport, s.addr, err)
	}
	hdr := make([]byte, 10, 256)
	if _, err := io.ReadFull(s.c, hdr); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: swtpm at %s closed the connection (it serves one client at a time: is another program using it?)", ErrTransport, s.addr)
		}
		return nil, fmt.Errorf("%w: read from swtpm at %s: %v", ErrTransport, s.addr, err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("%w: swtpm at %s answered a response of %d bytes", ErrTransport, s.addr, size)
	}
	rsp := append(hdr, make([]byte, size-10)...)
	if _, err := io.ReadFull(s.c, rsp[10:]); err != nil {
		return nil, fmt.Errorf("%w: read from swtpm at %s: %v", ErrTransport, s.addr, err)
	}
	return rsp, nil
}

func (s *swtpmTPM) Close() error { return s.c.Close() }
