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

// IM871AOptions configure an IM871A. Device is required.
type IM871AOptions struct {
	// Device is the serial device, e.g. /dev/ttyUSB0.
	Device string
	// Baud is the serial speed; 0 is the module's default 57600.
	Baud int
	// Mode is the link mode to listen to; 0 is C1/T1 (needs firmware
	// 0x14 or later; older firmware takes one mode only).
	Mode LinkMode
	// NoReset skips the device reset before configuring it.
	NoReset bool
	// Timeout bounds each command's answer; 0 is 1 s.
	Timeout time.Duration
	// Now is the clock that stamps frames; nil is time.Now.
	Now func() time.Time
	// Log receives the device's information and warnings; nil discards.
	Log *slog.Logger
	// OnBad is called with every frame dropped as bad (from Run's
	// goroutine); nil for none.
	OnBad func(error)
}

// IM871AInfo is what the module says of itself (DEVMGMT_GET_DEVICEINFO).
type IM871AInfo struct {
	ModuleType uint8 // 0x33 iM871A, 0x36 iM170A
	DeviceMode uint8 // 0 other (collector), 1 meter
	Firmware   uint8
	HCIVersion uint8
	UID        uint32
}

// IM871A is an IMST iM871A receiver. It is a Receiver; Stats and Info are
// safe to call while it runs.
type IM871A struct {
	o IM871AOptions

	mu    sync.Mutex
	stats Stats
	info  IM871AInfo
	runs  int
}

// NewIM871A validates opts; it opens nothing.
func NewIM871A(opts *IM871AOptions) (*IM871A, error) {
	if opts == nil || opts.Device == "" {
		return nil, errors.New("wmbus: im871a: no device")
	}
	o := *opts
	if o.Baud == 0 {
		o.Baud = 57600
	}
	if o.Mode == 0 {
		o.Mode = ModeC1T1
	}
	if _, err := im871aMode(o.Mode, 0); err != nil {
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
	return &IM871A{o: o}, nil
}

// Stats returns the receiver's counters.
func (r *IM871A) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Info returns the module's device information (zero before the first
// successful configuration).
func (r *IM871A) Info() IM871AInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// im871aConn is one open session with the module.
type im871aConn struct {
	*link
	f   HCIFrame
	out []byte
}

func (c *im871aConn) request(ctx context.Context, r *IM871A, msg uint8, payload []byte, want uint8, fn func(Frame), data *[]byte) (HCIFrame, error) {
	var err error
	c.out, err = AppendHCI(c.out[:0], HCIFrame{Endpoint: EndpointDevMgmt, MsgID: msg, Payload: payload})
	if err != nil {
		return HCIFrame{}, err
	}
	if err := c.write(c.out); err != nil {
		return HCIFrame{}, err
	}
	deadline := time.Now().Add(r.o.Timeout)
	for {
		n, err := c.next(ctx, deadline)
		if err != nil {
			if errors.Is(err, errTimeout) {
				return HCIFrame{}, fmt.Errorf("wmbus: im871a %s: no answer to message 0x%02x within %s: %w", r.o.Device, msg, r.o.Timeout, err)
			}
			return HCIFrame{}, err
		}
		f := c.f
		c.consume(n)
		if f.Endpoint == EndpointDevMgmt && f.MsgID == want {
			return f, nil
		}
		r.deliver(f, fn, data)
	}
}

// deliver hands a received telegram to fn; other messages are ignored.
func (r *IM871A) deliver(f HCIFrame, fn func(Frame), data *[]byte) {
	if f.Endpoint != EndpointRadioLink || f.MsgID != MsgWMBusInd || len(f.Payload) == 0 {
		return
	}
	*data = append(append((*data)[:0], byte(len(f.Payload))), f.Payload...)
	fr := Frame{Data: *data, CRC: CRCStripped, Time: r.o.Now()}
	if f.Control&HCIRSSI != 0 {
		fr.RSSI, fr.HasRSSI = IM871ARSSI(f.RSSI), true
	}
	if r.o.Mode != ModeC1T1 {
		fr.Mode = r.o.Mode
	}
	r.mu.Lock()
	r.stats.Frames++
	r.mu.Unlock()
	fn(fr)
}

// Run opens the device, resets and configures it, and delivers received
// telegrams until ctx ends.
func (r *IM871A) Run(ctx context.Context, fn func(Frame)) error {
	p, err := openSerial(r.o.Device, r.o.Baud)
	if err != nil {
		return fmt.Errorf("wmbus: im871a: open %s: %w", r.o.Device, err)
	}
	defer p.Close()
	r.mu.Lock()
	if r.runs > 0 {
		r.stats.Restarts++
	}
	r.runs++
	r.mu.Unlock()
	c := &im871aConn{}
	c.link = &link{p: p, name: r.o.Device, stats: &r.stats, mu: &r.mu, sof: hciSOF, onBad: r.o.OnBad, stale: 500 * time.Millisecond}
	c.parse = func(b []byte) (int, error) {
		f, n, err := ParseHCI(b)
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

func (r *IM871A) configure(ctx context.Context, c *im871aConn, fn func(Frame), data *[]byte) error {
	if !r.o.NoReset {
		if _, err := c.request(ctx, r, MsgResetReq, nil, MsgResetRsp, fn, data); err != nil {
			return err
		}
	}
	// The module restarts after a reset: ping until it answers.
	var err error
	for try := 0; try < 5; try++ {
		if _, err = c.request(ctx, r, MsgPingReq, nil, MsgPingRsp, fn, data); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return err
	}
	f, err := c.request(ctx, r, MsgGetDeviceInfoReq, nil, MsgGetDeviceInfoRsp, fn, data)
	if err != nil {
		return err
	}
	var info IM871AInfo
	if len(f.Payload) >= 8 {
		info = IM871AInfo{ModuleType: f.Payload[0], DeviceMode: f.Payload[1], Firmware: f.Payload[2],
			HCIVersion: f.Payload[3], UID: binary.LittleEndian.Uint32(f.Payload[4:8])}
	} else {
		r.o.Log.Warn("wmbus: im871a: short device information", "device", r.o.Device, "bytes", len(f.Payload))
	}
	r.mu.Lock()
	r.info = info
	r.mu.Unlock()
	mode, err := im871aMode(r.o.Mode, info.Firmware)
	if err != nil {
		return err
	}
	// SET_CONFIG, temporary (not saved in the module's flash): IIFlag1
	// 0x02 (link mode), the mode; IIFlag2 0x30 (auto RSSI, auto
	// timestamp), both on.
	cfg := []byte{0x00, 0x02, mode, 0x30, 0x01, 0x01}
	f, err = c.request(ctx, r, MsgSetConfigReq, cfg, MsgSetConfigRsp, fn, data)
	if err != nil {
		return err
	}
	if len(f.Payload) > 0 && f.Payload[0] != 0 {
		return fmt.Errorf("wmbus: im871a %s: the module refused the configuration (status 0x%02x)", r.o.Device, f.Payload[0])
	}
	r.o.Log.Info("wmbus: im871a configured", "device", r.o.Device, "mode", r.o.Mode.String(),
		"module_type", fmt.Sprintf("0x%02x", info.ModuleType), "firmware", fmt.Sprintf("0x%02x", info.Firmware),
		"hci", fmt.Sprintf("0x%02x", info.HCIVersion), "uid", fmt.Sprintf("%08x", info.UID))
	return nil
}

var _ Receiver = (*IM871A)(nil)
