package dlms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/proto/hdlc"
	"github.com/smgw/smgw/internal/proto/wrapper"
)

// Transport carries APDUs to one meter and back: HDLC on a serial line,
// or the IEC 62056-47 wrapper on TCP.
type Transport interface {
	// Open sets up the link to the meter (HDLC: SNRM/UA).
	Open(ctx context.Context) error
	// Exchange sends a request APDU and returns the response APDU.
	Exchange(ctx context.Context, apdu []byte) ([]byte, error)
	// Close releases the link (HDLC: DISC/UA); the port stays open.
	Close(ctx context.Context) error
}

// HDLCOptions configure the HDLC transport.
type HDLCOptions struct {
	Client hdlc.Address // the client SAP, 1 byte
	Server hdlc.Address // the server's logical/physical address
	// Params is what SNRM proposes; zero fields take MaxInfo 2030 and
	// window 7 (the meter's UA grants what it accepts).
	Params hdlc.Params
	// Silence is how long the meter may stay silent before the client
	// retransmits or polls again (default 1 s; some meters need more).
	Silence time.Duration
	// Retries is how many silences in a row are retried (default 3).
	Retries int
	// Note, if set, is told of recovered line errors ("frame", "timeout").
	Note func(kind string)
}

// HDLC is the transport over a serial port (or a transparent TCP
// converter) with an hdlc.Link.
type HDLC struct {
	port serial.Port
	o    HDLCOptions
	link *hdlc.Link
	sc   hdlc.Scanner
	buf  []byte
	// Wire counts the bytes written and read, for the benchmark.
	Wire struct{ Tx, Rx int }
}

// NewHDLC returns the transport; it does no I/O.
func NewHDLC(port serial.Port, o HDLCOptions) (*HDLC, error) {
	p := o.Params
	if p == (hdlc.Params{}) {
		p = hdlc.Params{MaxInfoTx: 2030, MaxInfoRx: 2030, WindowTx: 7, WindowRx: 7}
	}
	if o.Silence <= 0 {
		o.Silence = time.Second
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	if o.Note == nil {
		o.Note = func(string) {}
	}
	l, err := hdlc.NewLink(hdlc.LinkConfig{Role: hdlc.RoleClient, Client: o.Client, Server: o.Server, Params: p})
	if err != nil {
		return nil, fmt.Errorf("dlms: %w: %w", bus.ErrPermanent, err)
	}
	return &HDLC{port: port, o: o, link: l, buf: make([]byte, 4096)}, nil
}

// Negotiated returns the HDLC parameters the meter granted.
func (h *HDLC) Negotiated() hdlc.Params { return h.link.Negotiated() }

func (h *HDLC) write(frames [][]byte) error {
	for _, f := range frames {
		n, err := h.port.Write(f)
		h.Wire.Tx += n
		if err != nil {
			return fmt.Errorf("dlms: write to %s: %w", h.port.Name(), err)
		}
	}
	return nil
}

// await reads frames until done returns true for a Receive's output.
// A silence of o.Silence makes the link retransmit; o.Retries of them
// in a row fail with bus.ErrTimeout.
func (h *HDLC) await(ctx context.Context, done func(hdlc.Output) (bool, error)) error {
	silences := 0
	for {
		rctx, cancel := context.WithTimeout(ctx, h.o.Silence)
		n, err := serial.ReadContext(rctx, h.port, h.buf)
		cancel()
		h.Wire.Rx += n
		if err != nil {
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("dlms: %s: meter %v: %w (job deadline)", h.port.Name(), h.o.Server, bus.ErrTimeout)
				}
				return ctx.Err()
			}
			if !errors.Is(err, serial.ErrTimeout) {
				return fmt.Errorf("dlms: read %s: %w", h.port.Name(), err)
			}
			silences++
			if silences > h.o.Retries {
				h.sc.Reset()
				return fmt.Errorf("dlms: %s: meter %v silent for %d × %v: %w", h.port.Name(), h.o.Server, silences, h.o.Silence, bus.ErrTimeout)
			}
			h.o.Note("timeout")
			if err := h.write(h.link.Retransmit()); err != nil {
				return err
			}
			continue
		}
		h.sc.Write(h.buf[:n])
		for {
			f, ok, err := h.sc.Next()
			if err != nil {
				h.o.Note("frame")
				continue
			}
			if !ok {
				break
			}
			out, err := h.link.Receive(f)
			if errors.Is(err, hdlc.ErrOtherStation) {
				continue
			}
			silences = 0
			if err != nil && out.Event == hdlc.EventRefused {
				return &bus.ProtocolError{Kind: "hdlc-dm", Err: fmt.Errorf("dlms: meter %v refused the connection: %w", h.o.Server, err)}
			}
			if err != nil && out.Event == hdlc.EventDisconnected {
				return &bus.ProtocolError{Kind: "hdlc-dm", Err: fmt.Errorf("dlms: meter %v dropped the link: %w", h.o.Server, err)}
			}
			if err != nil {
				h.o.Note("protocol:hdlc")
			}
			if err := h.write(out.Frames); err != nil {
				return err
			}
			if ok, err := done(out); ok || err != nil {
				return err
			}
		}
	}
}

// Open implements Transport: SNRM, then UA.
func (h *HDLC) Open(ctx context.Context) error {
	h.sc.Reset()
	snrm, err := h.link.Connect()
	if err != nil {
		return err
	}
	if err := h.write([][]byte{snrm}); err != nil {
		return err
	}
	return h.await(ctx, func(o hdlc.Output) (bool, error) { return o.Event == hdlc.EventConnected, nil })
}

// Exchange implements Transport.
func (h *HDLC) Exchange(ctx context.Context, apdu []byte) ([]byte, error) {
	frames, err := h.link.Send(apdu)
	if err != nil {
		return nil, err
	}
	if err := h.write(frames); err != nil {
		return nil, err
	}
	var resp []byte
	err = h.await(ctx, func(o hdlc.Output) (bool, error) {
		if o.APDU != nil {
			resp = o.APDU
			return true, nil
		}
		return false, nil
	})
	return resp, err
}

// Close implements Transport: DISC, then UA (or DM).
func (h *HDLC) Close(ctx context.Context) error {
	if !h.link.Connected() {
		return nil
	}
	disc, err := h.link.Disconnect()
	if err != nil {
		return err
	}
	if err := h.write([][]byte{disc}); err != nil {
		return err
	}
	saved := h.o.Retries
	h.o.Retries = 1
	defer func() { h.o.Retries = saved }()
	return h.await(ctx, func(o hdlc.Output) (bool, error) { return o.Event == hdlc.EventDisconnected, nil })
}

// Wrapper is the transport over TCP with the IEC 62056-47 wrapper.
type Wrapper struct {
	port           serial.Port
	client, server uint16
	timeout        time.Duration
	buf, rx        []byte
}

// NewWrapper returns the wrapper transport between wPorts client and
// server (e.g. 16 and 1) with a reply timeout (default 5 s).
func NewWrapper(port serial.Port, client, server uint16, timeout time.Duration) *Wrapper {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Wrapper{port: port, client: client, server: server, timeout: timeout, buf: make([]byte, 4096)}
}

// Open implements Transport (nothing to do: the TCP connection is the link).
func (w *Wrapper) Open(context.Context) error { w.rx = w.rx[:0]; return nil }

// Close implements Transport.
func (w *Wrapper) Close(context.Context) error { return nil }

// Exchange implements Transport.
func (w *Wrapper) Exchange(ctx context.Context, apdu []byte) ([]byte, error) {
	if _, err := w.port.Write(wrapper.Append(nil, w.client, w.server, apdu)); err != nil {
		return nil, fmt.Errorf("dlms: write to %s: %w", w.port.Name(), err)
	}
	for {
		n, h, err := wrapper.Split(w.rx, 0xFFFF)
		if err == nil {
			p := w.rx[wrapper.HeaderLen:n]
			out := append([]byte(nil), p...)
			w.rx = append(w.rx[:0], w.rx[n:]...)
			if h.Src != w.server || h.Dst != w.client {
				continue
			}
			return out, nil
		}
		if !errors.Is(err, wrapper.ErrShort) {
			w.rx = w.rx[:0]
			return nil, fmt.Errorf("dlms: %s: %w: %w", w.port.Name(), bus.ErrFrame, err)
		}
		rctx, cancel := context.WithTimeout(ctx, w.timeout)
		m, err := serial.ReadContext(rctx, w.port, w.buf)
		cancel()
		if err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				return nil, fmt.Errorf("dlms: %s: no answer in %v: %w", w.port.Name(), w.timeout, bus.ErrTimeout)
			}
			return nil, fmt.Errorf("dlms: read %s: %w", w.port.Name(), err)
		}
		w.rx = append(w.rx, w.buf[:m]...)
	}
}
