package wmbus

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// LinesOptions configure a Lines receiver. The zero value is usable.
type LinesOptions struct {
	// Now is the clock that stamps frames; nil is time.Now.
	Now func() time.Time
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// OnBad is called with every line dropped as bad; nil for none.
	OnBad func(error)
}

// MaxLine is the longest line Lines accepts; longer lines are dropped.
const MaxLine = 4096

// Lines reads hex telegrams, one a line, from a file, a FIFO, a pipe or
// stdin. A line is either
//
//   - plain hex (an optional 0x prefix), optionally followed by white
//     space and anything else (e.g. a key; ignored here): the frame from
//     its L-field, with or without CRCs (CRCUnknown); or
//   - an rtl-wmbus line, fields separated by ';': mode, CRC ok (1),
//     3-of-6 ok, time, RSSI, current RSSI, link-layer id, 0x and the frame
//     with the CRCs removed (CRCStripped). Lines whose CRC flag is not 1 are
//     dropped.
//
// Empty lines and lines starting with '#' are skipped.
type Lines struct {
	o    LinesOptions
	src  io.Reader // nil: open path at each Run
	path string

	mu    sync.Mutex
	stats Stats
}

// NewLines returns a receiver reading r. Run closes r (if it is an
// io.Closer) when ctx ends, to release a blocked read.
func NewLines(r io.Reader, opts *LinesOptions) *Lines {
	l := &Lines{src: r}
	l.init(opts)
	return l
}

// NewLinesFile returns a receiver reading the file at path ("-" is
// stdin), opened at each Run. A FIFO is opened read-write, so that it
// stays open while writers come and go.
func NewLinesFile(path string, opts *LinesOptions) *Lines {
	l := &Lines{path: path}
	l.init(opts)
	return l
}

func (l *Lines) init(opts *LinesOptions) {
	if opts != nil {
		l.o = *opts
	}
	if l.o.Now == nil {
		l.o.Now = time.Now
	}
	if l.o.Log == nil {
		l.o.Log = slog.New(slog.DiscardHandler)
	}
}

// Stats returns the receiver's counters.
func (l *Lines) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Lines) open() (io.ReadCloser, error) {
	if l.path == "-" {
		// Stdin in non-blocking mode, so that Go's poller owns it and
		// closing it at the end releases a pending read (a blocking
		// descriptor would keep Run waiting for the next line).
		if err := syscall.SetNonblock(syscall.Stdin, true); err != nil {
			return nil, fmt.Errorf("wmbus: lines: stdin: %w", err)
		}
		return os.NewFile(uintptr(syscall.Stdin), "stdin"), nil
	}
	fi, err := os.Stat(l.path)
	if err != nil {
		return nil, fmt.Errorf("wmbus: lines: %w", err)
	}
	flag := os.O_RDONLY
	if fi.Mode()&os.ModeNamedPipe != 0 {
		flag = os.O_RDWR | syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(l.path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("wmbus: lines: %w", err)
	}
	return f, nil
}

// Run reads lines until ctx ends (nil), the source ends (ErrEnd) or a read
// fails.
func (l *Lines) Run(ctx context.Context, fn func(Frame)) error {
	src := l.src
	if src == nil {
		rc, err := l.open()
		if err != nil {
			return err
		}
		defer rc.Close()
		src = rc
	}
	if c, ok := src.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	br := bufio.NewReaderSize(src, MaxLine)
	var data []byte
	long := false
	lineNo := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !long {
				lineNo++
				l.bad(fmt.Errorf("wmbus: lines: line %d is longer than %d bytes", lineNo, MaxLine))
			}
			long = true
			continue
		}
		if long {
			long = false
			if err == nil {
				continue
			}
		}
		if len(line) > 0 && (err == nil || errors.Is(err, io.EOF)) {
			lineNo++
			var f Frame
			var perr error
			data, f, perr = ParseLine(data[:0], line)
			switch {
			case perr != nil:
				l.bad(fmt.Errorf("line %d: %w", lineNo, perr))
			case f.Data != nil:
				f.Time = l.o.Now()
				l.mu.Lock()
				l.stats.Frames++
				l.mu.Unlock()
				fn(f)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return ErrEnd
			}
			return fmt.Errorf("wmbus: lines: read: %w", err)
		}
	}
}

func (l *Lines) bad(err error) {
	l.mu.Lock()
	l.stats.Bad++
	l.stats.LastErr = err.Error()
	l.mu.Unlock()
	if l.o.OnBad != nil {
		l.o.OnBad(err)
	}
}

// ParseLine reads one line (see Lines) and appends the frame's bytes to
// dst. It returns the grown dst and the frame (Data aliasing dst's new
// bytes, no Time), or a Frame with nil Data for a line to skip (empty, a
// comment).
func ParseLine(dst, line []byte) ([]byte, Frame, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return dst, Frame{}, nil
	}
	f := Frame{CRC: CRCUnknown}
	hexPart := line
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		// rtl-wmbus: MODE;CRC_OK;3OF6_OK;TIME;RSSI;CUR_RSSI;ID;0xHEX
		var fields [8][]byte
		n := 0
		for rest := line; n < len(fields); n++ {
			j := bytes.IndexByte(rest, ';')
			if j < 0 {
				fields[n] = rest
				n++
				break
			}
			fields[n], rest = rest[:j], rest[j+1:]
			if n == len(fields)-1 {
				return dst, Frame{}, fmt.Errorf("%w: rtl-wmbus line with more than 8 fields", ErrLine)
			}
		}
		if n != len(fields) {
			return dst, Frame{}, fmt.Errorf("%w: rtl-wmbus line with %d fields, want 8", ErrLine, n)
		}
		if string(fields[1]) != "1" {
			return dst, Frame{}, fmt.Errorf("%w: rtl-wmbus reports a CRC error (field 2 is %q)", ErrLine, fields[1])
		}
		if m, err := ParseLinkMode(string(fields[0])); err == nil {
			f.Mode = m
		}
		f.CRC = CRCStripped
		hexPart = fields[7]
		if len(hexPart) >= 2 && hexPart[0] == '0' && (hexPart[1] == 'x' || hexPart[1] == 'X') {
			hexPart = hexPart[2:]
		}
	} else {
		if i := bytes.IndexAny(line, " \t"); i >= 0 {
			hexPart = line[:i]
		}
		hexPart = bytes.TrimPrefix(hexPart, []byte("telegram="))
		if len(hexPart) >= 2 && hexPart[0] == '0' && (hexPart[1] == 'x' || hexPart[1] == 'X') {
			hexPart = hexPart[2:]
		}
	}
	start := len(dst)
	dst, err := appendHex(dst, hexPart)
	if err != nil {
		return dst[:start], Frame{}, err
	}
	f.Data = dst[start:]
	return dst, f, nil
}

// appendHex decodes hex digits to dst, skipping the '|' that wmbusmeters
// prints between a telegram's parts ("telegram=|…|…|").
func appendHex(dst, h []byte) ([]byte, error) {
	n := 0
	for _, c := range h {
		if c != '|' {
			n++
		}
	}
	if n == 0 {
		return dst, fmt.Errorf("%w: no hex", ErrLine)
	}
	if n%2 != 0 {
		return dst, fmt.Errorf("%w: odd number of hex digits (%d)", ErrLine, n)
	}
	dst = slices.Grow(dst, n/2)
	var hi byte
	odd := false
	for i, c := range h {
		var v byte
		switch {
		case c == '|':
			continue
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return dst, fmt.Errorf("%w: %q at column %d is not a hex digit", ErrLine, c, i+1)
		}
		if odd {
			dst = append(dst, hi<<4|v)
		} else {
			hi = v
		}
		odd = !odd
	}
	return dst, nil
}

var _ Receiver = (*Lines)(nil)
