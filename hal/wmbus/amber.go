package wmbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// AmberOptions configure an Amber. Device is required.
type AmberOptions struct {
	// Device is the serial device, e.g. /dev/ttyUSB0.
	Device string
	// Baud is the serial speed; 0 is the module's default 9600.
	Baud int
	// Mode is the link mode to listen to; 0 is C1/T1.
	Mode LinkMode
	// Timeout bounds each command's answer; 0 is 1 s.
	Timeout time.Duration
	// Now is the clock that stamps frames; nil is time.Now.
	Now func() time.Time
	// Log receives the device's information and warnings; nil discards.
	Log *slog.Logger
	// OnBad is called with every frame dropped as bad; nil for none.
	OnBad func(error)
}

// Amber is an Amber AMB8465/AMB8665 receiver. It is a Receiver; Stats and
// Serial are safe to call while it runs.
type Amber struct {
	o AmberOptions

	mu     sync.Mutex
	stats  Stats
	serial uint32
	runs   int
}

// NewAmber validates opts; it opens nothing.
func NewAmber(opts *AmberOptions) (*Amber, error) {
	if opts == nil || opts.Device == "" {
		return nil, errors.New("wmbus: amber: no device")
	}
	o := *opts
	if o.Baud == 0 {
		o.Baud = 9600
	}
	if o.Mode == 0 {
		o.Mode = ModeC1T1
	}
	if _, err := ambMode(o.Mode); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Amber{o: o}, nil
}

// Stats returns the receiver's counters.
func (r *Amber) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Serial returns the module's serial number (0 before it answered).
func (r *Amber) Serial() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.serial
}

type amberConn struct {
	*link
	f   AMBFrame
	out []byte
}

func (r *Amber) request(ctx context.Context, c *amberConn, cmd uint8, payload []byte, fn func(Frame), data *[]byte) (AMBFrame, error) {
	var err error
	c.out, err = AppendAMB(c.out[:0], AMBFrame{Cmd: cmd, Payload: payload})
	if err != nil {
		return AMBFrame{}, err
	}
	if err := c.write(c.out); err != nil {
		return AMBFrame{}, err
	}
	deadline := time.Now().Add(r.o.Timeout)
	for {
		n, err := c.next(ctx, deadline)
		if err != nil {
			if errors.Is(err, errTimeout) {
				return AMBFrame{}, fmt.Errorf("wmbus: amber %s: no answer to command 0x%02x within %s: %w", r.o.Device, cmd, r.o.Timeout, err)
			}
			return AMBFrame{}, err
		}
		f := c.f
		c.consume(n)
		if f.Cmd == cmd|AMBConfirm && !f.IsDataInd() {
			return f, nil
		}
		r.deliver(f, fn, data)
	}
}

func (r *Amber) deliver(f AMBFrame, fn func(Frame), data *[]byte) {
	if !f.IsDataInd() || len(f.Payload) == 0 {
		return
	}
	*data = append(append((*data)[:0], byte(len(f.Payload))), f.Payload...)
	fr := Frame{Data: *data, CRC: CRCStripped, Time: r.o.Now()}
	if f.HasRSSI {
		fr.RSSI, fr.HasRSSI = AMBRSSI(f.RSSI), true
	}
	if r.o.Mode != ModeC1T1 {
		fr.Mode = r.o.Mode
	}
	r.mu.Lock()
	r.stats.Frames++
	r.mu.Unlock()
	fn(fr)
}

// Run opens the device, puts it in command mode with the RSSI appended
// (saved in its flash, then a reset, only when not set already), sets the
// link mode (not saved) and delivers received telegrams until ctx ends.
func (r *Amber) Run(ctx context.Context, fn func(Frame)) error {
	p, err := openSerial(r.o.Device, r.o.Baud)
	if err != nil {
		return fmt.Errorf("wmbus: amber: open %s: %w", r.o.Device, err)
	}
	defer p.Close()
	r.mu.Lock()
	if r.runs > 0 {
		r.stats.Restarts++
	}
	r.runs++
	r.mu.Unlock()
	c := &amberConn{}
	c.link = &link{p: p, name: r.o.Device, stats: &r.stats, mu: &r.mu, sof: ambSOF, onBad: r.o.OnBad, stale: 500 * time.Millisecond}
	c.parse = func(b []byte) (int, error) {
		f, n, err := ParseAMB(b, true)
		c.f = f
		return n, err
	}
	var data []byte
	if err := r.configure(ctx, c, fn, &data); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for {
		n, err := c.next(ctx, time.Time{})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		f := c.f
		c.consume(n)
		r.deliver(f, fn, &data)
	}
}

func (r *Amber) ping(ctx context.Context, c *amberConn, fn func(Frame), data *[]byte) error {
	var f AMBFrame
	var err error
	for try := 0; try < 5; try++ {
		if f, err = r.request(ctx, c, AMBSerialNoReq, nil, fn, data); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return err
	}
	if len(f.Payload) >= 4 {
		r.mu.Lock()
		r.serial = binary.BigEndian.Uint32(f.Payload[len(f.Payload)-4:])
		r.mu.Unlock()
	}
	return nil
}

func (r *Amber) configure(ctx context.Context, c *amberConn, fn func(Frame), data *[]byte) error {
	if err := r.ping(ctx, c, fn, data); err != nil {
		return err
	}
	changed := false
	for _, param := range []uint8{ambParamCmdOut, ambParamRSSI} {
		f, err := r.request(ctx, c, AMBGetReq, []byte{param, 1}, fn, data)
		if err != nil {
			return err
		}
		if len(f.Payload) >= 3 && f.Payload[0] == param && f.Payload[2] == 1 {
			continue
		}
		f, err = r.request(ctx, c, AMBSetReq, []byte{param, 1, 1}, fn, data)
		if err != nil {
			return err
		}
		if len(f.Payload) < 1 || f.Payload[0] != 0 {
			return fmt.Errorf("wmbus: amber %s: the module refused to set parameter 0x%02x (answer % x)", r.o.Device, param, f.Payload)
		}
		changed = true
	}
	if changed {
		r.o.Log.Info("wmbus: amber: command mode and RSSI saved in the module; resetting it", "device", r.o.Device)
		if _, err := r.request(ctx, c, AMBResetReq, nil, fn, data); err != nil {
			return err
		}
		if err := r.ping(ctx, c, fn, data); err != nil {
			return err
		}
	}
	mode, _ := ambMode(r.o.Mode)
	f, err := r.request(ctx, c, AMBSetModeReq, []byte{mode}, fn, data)
	if err != nil {
		return err
	}
	if len(f.Payload) < 1 || f.Payload[0] != 0 {
		return fmt.Errorf("wmbus: amber %s: the module refused link mode %s (answer % x)", r.o.Device, r.o.Mode, f.Payload)
	}
	r.o.Log.Info("wmbus: amber configured", "device", r.o.Device, "mode", r.o.Mode.String(), "serial", fmt.Sprintf("%08x", r.Serial()))
	return nil
}

var _ Receiver = (*Amber)(nil)
