package modbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/serial"
	mb "github.com/smgw/smgw/internal/proto/modbus"
)

// Framing is how requests are wrapped on the line.
type Framing int

// Framings.
const (
	// RTU: address, PDU and CRC-16, frames separated by t3.5 of silence;
	// on a serial line or raw over TCP through a transparent converter.
	RTU Framing = iota
	// TCP: the MBAP header of Modbus TCP, no CRC, no silence.
	TCP
)

// Errors of this package. ErrTimeout and ErrGarbled are retryable; an
// *mb.Exception (from internal/proto/modbus) is the meter's own answer.
var (
	// ErrTimeout is returned (wrapped) when no complete response arrived
	// in time.
	ErrTimeout = errors.New("modbus: no response")
	// ErrGarbled is returned (wrapped) when the bytes received are not the
	// response: a CRC error (also wrapping mb.ErrCRC), a malformed frame, or
	// a frame from another unit or to another request.
	ErrGarbled = errors.New("modbus: garbled response")
	// ErrOptions is returned (wrapped) for invalid options; permanent.
	ErrOptions = errors.New("modbus: invalid options")
	// ErrPort is returned (wrapped) by Bus.Run when the port itself fails
	// (a USB adapter unplugged, a TCP connection lost): the owner closes
	// it, opens it again and starts a new Bus.
	ErrPort = errors.New("modbus: port failed")
)

// ClientOptions configure a Client. The zero value is 9600 baud 8E1, RTU,
// a 1 s response timeout.
type ClientOptions struct {
	Framing Framing
	// Baud and CharBits give the RTU timing (t3.5) and the time frames
	// take on the wire; 0 is 9600 and 11 (8E1).
	Baud     int
	CharBits int
	// Timeout is how long the meter may take to start answering after the
	// request has been sent; 0 is 1 s.
	Timeout time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Client carries transactions over one Port. It is not safe for
// concurrent use: one goroutine (the bus owner) calls it.
type Client struct {
	port     serial.Port
	framing  Framing
	baud     int
	bits     int
	timeout  time.Duration
	gap      time.Duration // t3.5
	now      func() time.Time
	quietAt  time.Time // when the line is next silent long enough to send
	txid     uint16
	tx, rx   []byte
	rxBuf    [512]byte
	txBytes  uint64 // bytes sent, for the wire-time budget
	rxBytes  uint64
	stale    uint64
	dirty    bool // stale input may be pending: flush before sending
	flushErr error
}

// NewClient returns a client on port.
func NewClient(port serial.Port, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if port == nil {
		return nil, fmt.Errorf("%w: no port", ErrOptions)
	}
	if o.Baud == 0 {
		o.Baud = 9600
	}
	if o.CharBits == 0 {
		o.CharBits = 11
	}
	if o.Baud < 0 || o.CharBits < 7 || o.CharBits > 12 {
		return nil, fmt.Errorf("%w: baud %d, %d bits per character", ErrOptions, o.Baud, o.CharBits)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{port: port, framing: o.Framing, baud: o.Baud, bits: o.CharBits, timeout: o.Timeout, now: o.Now}
	if o.Framing == RTU {
		c.gap = mb.InterFrameDelay(o.Baud, o.CharBits)
	}
	return c, nil
}

// WireBytes returns the bytes sent and received so far.
func (c *Client) WireBytes() (tx, rx uint64) { return c.txBytes, c.rxBytes }

// Do sends req to unit and returns its response: an *mb.Exception error
// for an exception response, an error wrapping ErrTimeout or ErrGarbled
// for none or a bad one. It does not retry. Response.Data is valid until
// the next call.
func (c *Client) Do(ctx context.Context, unit byte, req mb.Request) (mb.Response, error) {
	if err := ctx.Err(); err != nil {
		return mb.Response{}, err
	}
	var err error
	switch c.framing {
	case TCP:
		c.txid++
		pdu, e := mb.AppendRequest(c.tx[:0], req)
		if e != nil {
			return mb.Response{}, fmt.Errorf("%w: %w", ErrOptions, e)
		}
		c.tx = mb.AppendTCP(make([]byte, 0, len(pdu)+mb.MBAPLen), c.txid, unit, pdu)
	default:
		c.tx, err = mb.AppendRTURequest(c.tx[:0], unit, req)
		if err != nil {
			return mb.Response{}, fmt.Errorf("%w: %w", ErrOptions, err)
		}
		if c.dirty {
			c.flushErr = c.port.Flush()
			c.dirty = false
		}
		// Keep t3.5 of silence since the last frame on the line.
		if wait := c.quietAt.Sub(c.now()); wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return mb.Response{}, err
			}
		}
	}
	if _, err := c.port.Write(c.tx); err != nil {
		return mb.Response{}, fmt.Errorf("modbus: unit %d: send: %w", unit, err)
	}
	c.txBytes += uint64(len(c.tx))
	sent := c.now()
	respLen := mb.RTUResponseLen(req)
	deadline := sent.Add(mb.WireTime(len(c.tx)+respLen, c.baud, c.bits) + c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if c.framing == TCP {
		return c.readTCP(ctx, unit, req, deadline)
	}
	resp, err := c.readRTU(ctx, unit, req, deadline)
	c.quietAt = c.now().Add(c.gap)
	return resp, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// read reads what has arrived into c.rx, until deadline.
func (c *Client) read(ctx context.Context, deadline time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.port.SetReadDeadline(deadline); err != nil {
		return err
	}
	n, err := c.port.Read(c.rxBuf[:])
	c.rx = append(c.rx, c.rxBuf[:n]...)
	c.rxBytes += uint64(n)
	return err
}

func (c *Client) readRTU(ctx context.Context, unit byte, req mb.Request, deadline time.Time) (mb.Response, error) {
	c.rx = c.rx[:0]
	for {
		if len(c.rx) > 0 {
			n, err := mb.SplitRTUResponse(c.rx, unit, req)
			if errors.Is(err, mb.ErrMismatch) {
				// Another unit's or another request's frame: a late answer
				// to a request that timed out. Skip it once it is whole.
				k, ok := staleFrame(c.rx)
				switch {
				case !ok:
					c.resync(ctx)
					return mb.Response{}, fmt.Errorf("%w: unit %d: %w", ErrGarbled, unit, err)
				case k > 0:
					c.drop(k)
					continue
				}
				n, err = 0, nil // wait for the rest of it
			}
			if err != nil {
				c.resync(ctx)
				return mb.Response{}, fmt.Errorf("%w: unit %d: %w", ErrGarbled, unit, err)
			}
			if n > 0 {
				pdu := c.rx[1 : n-2 : n-2] // SplitRTUResponse has checked the CRC
				resp, err := mb.ParseResponse(pdu, req)
				var ex *mb.Exception
				switch {
				case errors.As(err, &ex):
					return mb.Response{}, err
				case errors.Is(err, mb.ErrMismatch):
					c.drop(n) // ours by unit and function, but another register count: stale
					continue
				case err != nil:
					c.resync(ctx)
					return mb.Response{}, fmt.Errorf("%w: unit %d: %w", ErrGarbled, unit, err)
				}
				if n < len(c.rx) {
					c.dirty = true // trailing bytes after a good frame: flushed before the next request
				}
				return resp, nil
			}
		}
		if err := c.read(ctx, deadline); err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				c.dirty = true // a late answer may still come: flushed before the next request
				if len(c.rx) > 0 {
					return mb.Response{}, fmt.Errorf("%w: unit %d: incomplete frame of %d bytes (% X): %w", ErrTimeout, unit, len(c.rx), c.rx, err)
				}
				return mb.Response{}, fmt.Errorf("%w: unit %d, function %d: %w", ErrTimeout, unit, req.Function, err)
			}
			return mb.Response{}, err
		}
	}
}

// staleFrame frames buf as a response of its own unit and function:
// its length once complete with a good CRC, 0 and true while more is
// needed, false when it is no response at all.
func staleFrame(buf []byte) (int, bool) {
	if len(buf) < 2 {
		return 0, true
	}
	n, err := mb.SplitRTUResponse(buf, buf[0], mb.Request{Function: buf[1] &^ mb.ExceptionFlag})
	return n, err == nil
}

// drop discards the first n received bytes (a stale frame).
func (c *Client) drop(n int) {
	c.rx = append(c.rx[:0], c.rx[n:]...)
	c.stale++
}

// StaleFrames is the number of complete frames skipped because they
// answered another unit or request (late answers after a timeout).
func (c *Client) StaleFrames() uint64 { return c.stale }

// resync waits until the line has been quiet for a while and discards
// what arrived, so the next request starts on a clean line.
func (c *Client) resync(ctx context.Context) {
	quiet := max(c.gap, 50*time.Millisecond)
	for range 50 { // bounded: a line that never goes quiet is a wiring fault
		if ctx.Err() != nil {
			return
		}
		if err := c.port.SetReadDeadline(c.now().Add(quiet)); err != nil {
			return
		}
		n, err := c.port.Read(c.rxBuf[:])
		c.rxBytes += uint64(n)
		if err != nil {
			break
		}
	}
	c.flushErr = c.port.Flush()
}

func (c *Client) readTCP(ctx context.Context, unit byte, req mb.Request, deadline time.Time) (mb.Response, error) {
	c.rx = c.rx[:0]
	for {
		h, pdu, n, err := mb.ParseTCP(c.rx)
		switch {
		case err == nil:
			if h.Transaction != c.txid {
				c.rx = append(c.rx[:0], c.rx[n:]...) // a stale answer: skip it
				continue
			}
			if h.Unit != unit {
				return mb.Response{}, fmt.Errorf("%w: unit %d answered for unit %d", ErrGarbled, h.Unit, unit)
			}
			resp, err := mb.ParseResponse(pdu, req)
			if err != nil {
				var ex *mb.Exception
				if errors.As(err, &ex) {
					return mb.Response{}, err
				}
				return mb.Response{}, fmt.Errorf("%w: unit %d: %w", ErrGarbled, unit, err)
			}
			return resp, nil
		case !errors.Is(err, mb.ErrShort):
			c.port.Flush()
			return mb.Response{}, fmt.Errorf("%w: unit %d: %w", ErrGarbled, unit, err)
		}
		if err := c.read(ctx, deadline); err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				return mb.Response{}, fmt.Errorf("%w: unit %d, function %d: %w", ErrTimeout, unit, req.Function, err)
			}
			return mb.Response{}, err
		}
	}
}
