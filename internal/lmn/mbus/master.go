package mbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/bus"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// DefaultBaud is the M-Bus default line speed (EN 13757-2); lines run
// 300…38400 baud, 8E1.
const DefaultBaud = 2400

// Bauds are the line speeds of EN 13757-2.
var bauds = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400}

// ValidBaud reports whether b is an M-Bus line speed (300…38400).
func ValidBaud(b int) bool {
	for _, x := range bauds {
		if x == b {
			return true
		}
	}
	return false
}

// CharBits is the number of bits of one character on an M-Bus line:
// start, 8 data, even parity, stop (8E1).
const CharBits = 11

// MasterOptions tune a Master. Zero values take the defaults.
type MasterOptions struct {
	// Baud is the line speed, for the timing (default 2400).
	Baud int
	// Timeout is how long the master waits for the first byte of an
	// answer: default 330 bit times + 50 ms (EN 13757-2's longest
	// response time) + 100 ms for converters and the OS.
	Timeout time.Duration
	// Gap is the longest silence inside an answer: default 50 ms + 22
	// character times. An answer cut short by it is a frame error.
	Gap time.Duration
	// Retries is how often a request is repeated after a timeout or a
	// garbled answer (EN 13757-2 allows 2): 0 is 2, negative is none.
	Retries int
}

func (o *MasterOptions) withDefaults() MasterOptions {
	var r MasterOptions
	if o != nil {
		r = *o
	}
	if r.Baud <= 0 {
		r.Baud = DefaultBaud
	}
	bit := time.Second / time.Duration(r.Baud)
	if r.Timeout <= 0 {
		r.Timeout = 330*bit + 150*time.Millisecond
	}
	if r.Gap <= 0 {
		r.Gap = 50*time.Millisecond + 22*CharBits*bit
	}
	if r.Retries == 0 {
		r.Retries = 2
	}
	if r.Retries < 0 {
		r.Retries = 0
	}
	return r
}

// Master is the link layer's master on one port. It is not safe for
// concurrent use: one goroutine (the line's runner) drives it.
type Master struct {
	port serial.Port
	o    MasterOptions
	buf  []byte
	rx   []byte
	recs []pmbus.Record
	last []byte // the last RSP_UD, owned
	// dirty: the last exchange failed, late bytes may follow
	dirty bool
	// Note, if set, is told of each error a request recovered from by
	// repeating ("timeout", "frame").
	Note func(kind string)
	// Wire counts the bytes written and read, for the benchmarks.
	Wire struct{ Tx, Rx int }
}

// NewMaster returns a master on an open port; it does no I/O.
func NewMaster(port serial.Port, o *MasterOptions) *Master {
	return &Master{port: port, o: o.withDefaults(), buf: make([]byte, 512)}
}

// Options returns the options in force.
func (m *Master) Options() MasterOptions { return m.o }

func (m *Master) note(kind string) {
	if m.Note != nil {
		m.Note(kind)
	}
}

func (m *Master) write(p []byte) error {
	n, err := m.port.Write(p)
	m.Wire.Tx += n
	if err != nil {
		return fmt.Errorf("mbus: write to %s: %w", m.port.Name(), err)
	}
	return nil
}

// await reads one telegram: the first byte within o.Timeout, each further
// one within o.Gap. The telegram aliases m.rx until the next call.
func (m *Master) await(ctx context.Context, addr byte) ([]byte, error) {
	m.rx = m.rx[:0]
	deadline := time.Now().Add(m.o.Timeout)
	for {
		rctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := serial.ReadContext(rctx, m.port, m.buf)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, fmt.Errorf("mbus: %s: address %d: %w (job deadline)", m.port.Name(), addr, bus.ErrTimeout)
				}
				return nil, ctx.Err()
			}
			if !errors.Is(err, serial.ErrTimeout) {
				return nil, fmt.Errorf("mbus: read %s: %w", m.port.Name(), err)
			}
			if len(m.rx) == 0 {
				return nil, fmt.Errorf("mbus: %s: address %d: no answer within %v: %w", m.port.Name(), addr, m.o.Timeout, bus.ErrTimeout)
			}
			return nil, fmt.Errorf("mbus: %s: address %d: answer cut short after %d bytes (% X…): %w", m.port.Name(), addr, len(m.rx), head(m.rx), bus.ErrFrame)
		}
		m.Wire.Rx += n
		m.rx = append(m.rx, m.buf[:n]...)
		k, err := pmbus.Next(m.rx)
		if err != nil {
			return nil, fmt.Errorf("mbus: %s: address %d: %w: %w", m.port.Name(), addr, bus.ErrFrame, err)
		}
		if k > 0 {
			return m.rx[:k], nil
		}
		deadline = time.Now().Add(m.o.Gap)
	}
}

func head(p []byte) []byte {
	if len(p) > 8 {
		return p[:8]
	}
	return p
}

// settle waits until the line has been quiet for a gap (a late answer or
// the rest of a collision), then discards what was received.
func (m *Master) settle(ctx context.Context) {
	for i := 0; i < 50 && ctx.Err() == nil; i++ {
		rctx, cancel := context.WithTimeout(ctx, m.o.Gap)
		n, err := serial.ReadContext(rctx, m.port, m.buf)
		cancel()
		m.Wire.Rx += n
		if err != nil {
			break
		}
	}
	m.port.Flush()
}

func retryable(err error) bool {
	return errors.Is(err, bus.ErrTimeout) || errors.Is(err, bus.ErrFrame)
}

// request writes req and waits for an answer that accept takes, repeating
// req (unchanged: same FCB) after a timeout or a garbled answer.
func (m *Master) request(ctx context.Context, req []byte, addr byte, accept func(raw []byte) error) error {
	var last error
	for attempt := 0; attempt <= m.o.Retries; attempt++ {
		if attempt > 0 {
			m.note(bus.Classify(last))
		}
		if m.dirty {
			m.settle(ctx)
			m.dirty = false
		}
		if err := m.write(req); err != nil {
			return err
		}
		raw, err := m.await(ctx, addr)
		if err == nil {
			err = accept(raw)
		}
		if err == nil {
			return nil
		}
		m.dirty = true
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return last
}

func (m *Master) ack(addr byte, what string) func(raw []byte) error {
	return func(raw []byte) error {
		if len(raw) == 1 && raw[0] == pmbus.Ack {
			return nil
		}
		return fmt.Errorf("mbus: %s: address %d: %s answered % X…, want E5: %w", m.port.Name(), addr, what, head(raw), bus.ErrFrame)
	}
}

// SndNKE resets the link of the slave at addr (its FCB expectation and
// any multi-telegram read in progress); it answers E5. To 253 it
// deselects the selected slave; to 255 nobody answers and SndNKE
// returns after the response timeout without error.
func (m *Master) SndNKE(ctx context.Context, addr byte) error {
	req := pmbus.AppendSndNKE(nil, addr)
	if addr == pmbus.AddrBroadcast {
		if err := m.write(req); err != nil {
			return err
		}
		_, err := m.await(ctx, addr)
		if err != nil && errors.Is(err, bus.ErrTimeout) {
			return nil
		}
		m.dirty = true
		return err
	}
	return m.request(ctx, req, addr, m.ack(addr, "SND_NKE"))
}

// Select selects the slaves whose secondary address matches sa
// (wildcards allowed): they answer E5 (several at once, which overlap
// into one E5 or a garbled byte) and then answer at address 253. No
// answer is bus.ErrTimeout: no slave matches.
func (m *Master) Select(ctx context.Context, sa pmbus.SecondaryAddress) error {
	return m.request(ctx, pmbus.AppendSelect(nil, sa, false), pmbus.AddrNetwork, m.ack(pmbus.AddrNetwork, "selection"))
}

// ReqUD2 requests the class 2 data of the slave at addr with frame count
// bit fcb and decodes the RSP_UD (records appended to a slice the master
// reuses: valid until the next call). dev overrides the medium of the
// OBIS mapping (0xFF: the header's). A slave's application error (CI
// 0x70) is a *bus.ProtocolError of kind "application-error".
func (m *Master) ReqUD2(ctx context.Context, addr byte, fcb bool, dev pmbus.DeviceType) (pmbus.Response, error) {
	var resp pmbus.Response
	err := m.request(ctx, pmbus.AppendReqUD2(nil, addr, fcb), addr, func(raw []byte) error {
		t, err := pmbus.ParseTelegram(raw)
		if err != nil {
			return fmt.Errorf("mbus: %s: address %d: %w: %w", m.port.Name(), addr, bus.ErrFrame, err)
		}
		if t.Kind != pmbus.KindLong && t.Kind != pmbus.KindControl {
			return fmt.Errorf("mbus: %s: address %d: REQ_UD2 answered with a %s, want RSP_UD: %w", m.port.Name(), addr, t.Kind, bus.ErrFrame)
		}
		if t.FromMaster() || t.Function() != pmbus.CRspUD {
			return fmt.Errorf("mbus: %s: address %d: REQ_UD2 answered with %s: %w", m.port.Name(), addr, pmbus.CName(t.C), bus.ErrFrame)
		}
		if addr <= pmbus.AddrMaxPrimary && t.A != addr {
			return fmt.Errorf("mbus: %s: address %d: answer from address %d: %w", m.port.Name(), addr, t.A, bus.ErrFrame)
		}
		if t.CI == pmbus.CIRspError {
			st := byte(0)
			if len(t.Data) > 0 {
				st = t.Data[0]
			}
			return &bus.ProtocolError{Kind: "application-error", Err: fmt.Errorf("mbus: %s: address %d: application error %s (CI 70, status %02X)", m.port.Name(), addr, appError(st), st)}
		}
		m.last = append([]byte(nil), raw...) // the records alias it
		resp, err = pmbus.ParseResponse(m.last, m.recs[:0], dev, nil)
		m.recs = resp.Records
		if err != nil {
			return &bus.ProtocolError{Kind: "decode", Err: fmt.Errorf("mbus: %s: address %d: RSP_UD % X: %w", m.port.Name(), addr, raw, err)}
		}
		return nil
	})
	return resp, err
}

// appError names the application error codes of CI 0x70 (EN 13757-3,
// table 9).
func appError(st byte) string {
	switch st {
	case 0:
		return "unspecified"
	case 1:
		return "unimplemented CI"
	case 2:
		return "buffer too long, truncated"
	case 3:
		return "too many records"
	case 4:
		return "premature end of record"
	case 5:
		return "more than 10 DIFEs"
	case 6:
		return "more than 10 VIFEs"
	case 8:
		return "application busy"
	case 9:
		return "too many readouts"
	}
	return "reserved"
}

// Read is what one read of a meter returned.
type Read struct {
	Header    pmbus.Header
	A         byte // the answering address
	Telegrams int
	// Records of every telegram, in order (the "more records follow"
	// markers included as manufacturer data records).
	Records []pmbus.Record
	// Raw holds every telegram's bytes.
	Raw [][]byte
}

// MaxTelegrams bounds a multi-telegram read.
const MaxTelegrams = 32

// ReadAll reads the slave at addr: REQ_UD2 with frame count bit *fcb,
// toggled after each answer, until a telegram without "more records
// follow" (at most MaxTelegrams). *fcb is left for the next request.
func (m *Master) ReadAll(ctx context.Context, addr byte, fcb *bool, dev pmbus.DeviceType) (Read, error) {
	var rd Read
	for i := 0; i < MaxTelegrams; i++ {
		resp, err := m.ReqUD2(ctx, addr, *fcb, dev)
		if err != nil {
			return rd, err
		}
		*fcb = !*fcb
		if i == 0 {
			rd.Header, rd.A = resp.Header, resp.A
		} else if resp.Header.Long && rd.Header.Long && resp.Header.Address != rd.Header.Address {
			return rd, fmt.Errorf("mbus: %s: address %d: telegram %d is from %v, the first from %v: %w", m.port.Name(), addr, i+1, resp.Header.Address, rd.Header.Address, bus.ErrFrame)
		}
		rd.Telegrams++
		rd.Records = append(rd.Records, resp.Records...)
		rd.Raw = append(rd.Raw, m.last)
		if !resp.More {
			return rd, nil
		}
	}
	return rd, &bus.ProtocolError{Kind: "too-many-telegrams", Err: fmt.Errorf("mbus: %s: address %d: more than %d telegrams", m.port.Name(), addr, MaxTelegrams)}
}
