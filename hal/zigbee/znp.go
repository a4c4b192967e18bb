package zigbee

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/zigbee/znp"
)

// Baud is the ZNP firmware's UART speed (8N1, no flow control used).
const Baud = 115200

// ZNPOptions tune the ZNP driver. The zero value (or nil) gives the
// defaults in the comments.
type ZNPOptions struct {
	Logger *slog.Logger // nil: slog.Default()
	// SREQTimeout is how long an SRSP may take (default 3 s; Z-Stack
	// answers within milliseconds, but an NV write can take longer).
	SREQTimeout time.Duration
	// ConfirmTimeout is how long AF_DATA_CONFIRM and the answers of ZDO
	// management requests may take (default 15 s: an APS acknowledged
	// frame to a sleepy device is retried for several seconds).
	ConfirmTimeout time.Duration
	// ResetTimeout is how long SYS_RESET_IND may take after a reset
	// request (default 5 s).
	ResetTimeout time.Duration
	// FormTimeout is how long forming or resuming the network may take
	// (default 60 s: formation scans the channel first).
	FormTimeout time.Duration
	// MaxTimeouts is the number of consecutive unanswered SREQs after
	// which the co-processor is reset and the network restarted
	// (default 3).
	MaxTimeouts int
	// PingInterval is how often an idle co-processor is pinged to notice
	// it has gone silent (default 30 s; negative: never).
	PingInterval time.Duration
	// RetryDelay is the first wait between attempts to bring a failed
	// co-processor back; it doubles up to 30 s (default 1 s).
	RetryDelay time.Duration
	// TxPower, if not nil, is set with SYS_SET_TX_POWER at start (dBm).
	TxPower *int8
	// DataOptions are the AF_DATA_REQUEST options (default
	// znp.AfOptAPSAck: the confirm reports the device's APS ack).
	DataOptions *uint8
	// EventBuffer is the capacity of the Events channel (default 256).
	// When it is full, further events are dropped and counted.
	EventBuffer int
}

func (o *ZNPOptions) defaults() ZNPOptions {
	var r ZNPOptions
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&r.SREQTimeout, 3*time.Second)
	def(&r.ConfirmTimeout, 15*time.Second)
	def(&r.ResetTimeout, 5*time.Second)
	def(&r.FormTimeout, 60*time.Second)
	def(&r.RetryDelay, time.Second)
	if r.PingInterval == 0 {
		r.PingInterval = 30 * time.Second
	}
	if r.MaxTimeouts <= 0 {
		r.MaxTimeouts = 3
	}
	if r.DataOptions == nil {
		o := znp.AfOptAPSAck
		r.DataOptions = &o
	}
	if r.EventBuffer <= 0 {
		r.EventBuffer = 256
	}
	return r
}

// Stats are counters of the ZNP driver.
type Stats struct {
	FramesIn      uint64 // good frames from the co-processor
	FramesOut     uint64 // frames sent
	BadFrames     uint64 // garbage, bad FCS, wrong length (each skip counts once)
	Timeouts      uint64 // SREQs without SRSP in time
	Resets        uint64 // unexpected resets and silences that led to a restart
	Recoveries    uint64 // successful restarts after one
	DroppedEvents uint64 // events lost because Events was full
	Unexpected    uint64 // SRSPs nobody waited for
}

// ZNP drives a TI Z-Stack 3.x co-processor over MT. Create it with
// NewZNP or OpenZNP; it implements NCP.
type ZNP struct {
	portMu sync.Mutex
	port   serial.Port                 // the line; replaced when reopened
	reopen func() (serial.Port, error) // OpenZNP's: opens the device again
	o      ZNPOptions
	log    *slog.Logger

	sreq chan struct{} // one outstanding SREQ: a token
	wmu  sync.Mutex    // serialises writes

	mu       sync.Mutex
	pending  *pendingSREQ
	waiters  map[*waiter]struct{}
	confirms map[uint8]chan znp.AfDataConfirm
	info     Info
	cfg      *NetworkConfig
	running  bool
	nextTID  uint8

	events    chan Event
	trigger   chan string
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	consecTimeouts atomic.Int32
	lastRx         atomic.Int64
	st             struct {
		in, out, bad, timeouts, resets, recoveries, dropped, unexpected atomic.Uint64
	}
}

type pendingSREQ struct {
	cmd znp.Cmd
	ch  chan znp.Frame
}

type waiter struct {
	match func(znp.Frame) bool
	ch    chan znp.Frame
}

var _ NCP = (*ZNP)(nil)

// NewZNP makes a driver on an open port (115200 8N1), which it owns from
// now on: Close closes it. No goroutine starts before Start.
func NewZNP(port serial.Port, opts *ZNPOptions) *ZNP {
	o := opts.defaults()
	z := &ZNP{
		port:     port,
		o:        o,
		log:      o.Logger.With("ncp", "znp", "port", port.Name()),
		sreq:     make(chan struct{}, 1),
		waiters:  map[*waiter]struct{}{},
		confirms: map[uint8]chan znp.AfDataConfirm{},
		events:   make(chan Event, o.EventBuffer),
		trigger:  make(chan string, 1),
		done:     make(chan struct{}),
		info:     Info{Driver: "znp", State: StateDown},
	}
	z.sreq <- struct{}{}
	return z
}

// OpenZNP opens the serial device at path (e.g. /dev/smgw/zigbee) at
// 115200 8N1 and makes a driver on it.
func OpenZNP(path string, opts *ZNPOptions) (*ZNP, error) {
	p, err := serial.Open(&serial.Config{Name: path, Baud: Baud})
	if err != nil {
		return nil, fmt.Errorf("zigbee: %w", err)
	}
	z := NewZNP(p, opts)
	z.reopen = func() (serial.Port, error) { return serial.Open(&serial.Config{Name: path, Baud: Baud}) }
	return z, nil
}

func (z *ZNP) line() serial.Port {
	z.portMu.Lock()
	defer z.portMu.Unlock()
	return z.port
}

// Events implements NCP.
func (z *ZNP) Events() <-chan Event { return z.events }

// Info implements NCP.
func (z *ZNP) Info() Info {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.info
}

// Stats returns the driver's counters.
func (z *ZNP) Stats() Stats {
	return Stats{
		FramesIn: z.st.in.Load(), FramesOut: z.st.out.Load(), BadFrames: z.st.bad.Load(),
		Timeouts: z.st.timeouts.Load(), Resets: z.st.resets.Load(), Recoveries: z.st.recoveries.Load(),
		DroppedEvents: z.st.dropped.Load(), Unexpected: z.st.unexpected.Load(),
	}
}

func (z *ZNP) setState(s string) {
	z.mu.Lock()
	if z.info.State != StateClosed {
		z.info.State = s
	}
	z.mu.Unlock()
}

func (z *ZNP) closed() bool {
	select {
	case <-z.done:
		return true
	default:
		return false
	}
}

// Close implements NCP: it stops the goroutines (within about 100 ms,
// the port's read timeout), closes the port and the Events channel.
func (z *ZNP) Close() error {
	z.closeOnce.Do(func() {
		z.setState(StateClosed)
		close(z.done)
		z.portMu.Lock()
		z.closeErr = z.port.Close()
		z.portMu.Unlock()
		z.wg.Wait()
		close(z.events)
	})
	return z.closeErr
}

// Start implements NCP. It may be called again after it failed.
func (z *ZNP) Start(ctx context.Context, cfg NetworkConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	z.mu.Lock()
	if z.closed() {
		z.mu.Unlock()
		return ErrClosed
	}
	if !z.running {
		z.running = true
		z.wg.Add(2)
		go z.readLoop()
		go z.supervise()
	}
	z.mu.Unlock()
	z.setState(StateStarting)
	if err := z.bringUp(ctx, &cfg); err != nil {
		z.setState(StateDown)
		return err
	}
	z.mu.Lock()
	z.cfg = &cfg
	z.mu.Unlock()
	return nil
}

// ---- reading and dispatch ----

// staleAfter is the silence after which a partial frame is given up: a
// whole 255-byte frame takes 22 ms at 115200 baud, so this leaves room
// for USB bridges that deliver in bursts.
const staleAfter = 250 * time.Millisecond

func (z *ZNP) readLoop() {
	defer z.wg.Done()
	var dec znp.Decoder
	var lastErrLog time.Time
	buf := make([]byte, 512)
	for !z.closed() {
		port := z.line()
		if err := port.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			if z.closed() {
				return
			}
		}
		n, err := port.Read(buf)
		if n > 0 {
			z.lastRx.Store(time.Now().UnixNano())
			dec.Write(buf[:n])
			for {
				f, ok, ferr := dec.Next()
				if ferr != nil {
					z.st.bad.Add(1)
					z.log.Warn("zigbee: malformed data from co-processor", "err", ferr)
					continue
				}
				if !ok {
					break
				}
				z.st.in.Add(1)
				z.dispatch(f)
			}
			continue
		}
		switch {
		case err == nil:
		case errors.Is(err, serial.ErrTimeout):
			// A partial frame with no byte for staleAfter will not be
			// completed: its length field was wrong.
			if dec.Buffered() == 0 || time.Since(time.Unix(0, z.lastRx.Load())) < staleAfter {
				continue
			}
			if ferr := dec.Stale(); ferr != nil {
				z.st.bad.Add(1)
				z.log.Warn("zigbee: malformed data from co-processor", "err", ferr)
				for {
					f, ok, ferr := dec.Next()
					if ferr != nil {
						z.st.bad.Add(1)
						continue
					}
					if !ok {
						break
					}
					z.st.in.Add(1)
					z.dispatch(f)
				}
			}
		default:
			if z.closed() {
				return
			}
			if now := time.Now(); now.Sub(lastErrLog) >= 30*time.Second {
				lastErrLog = now
				z.log.Error("zigbee: reading from co-processor (repeats are logged every 30 s)", "err", err)
			}
			if z.reopen != nil {
				if !z.reopenLine(port, err) {
					return
				}
				dec.Reset()
				continue
			}
			select {
			case <-z.done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// reopenLine closes the failed port (a USB adapter unplugged, reset or
// re-enumerated) and opens the device again, once a second, until it
// succeeds or the driver is closed (false). The co-processor is then
// restarted, as after a reset.
func (z *ZNP) reopenLine(old serial.Port, cause error) bool {
	old.Close()
	z.log.Warn("zigbee: serial line failed; reopening", "err", cause)
	for attempt := 1; ; attempt++ {
		select {
		case <-z.done:
			return false
		case <-time.After(time.Second):
		}
		p, err := z.reopen()
		if err != nil {
			if attempt%30 == 1 {
				z.log.Warn("zigbee: reopening the serial line", "attempt", attempt, "err", err)
			}
			continue
		}
		z.portMu.Lock()
		if z.closed() {
			z.portMu.Unlock()
			p.Close()
			return false
		}
		z.port = p
		z.portMu.Unlock()
		z.log.Info("zigbee: serial line reopened", "attempts", attempt)
		z.recover(fmt.Sprintf("serial line reopened after: %v", cause))
		return true
	}
}

func (z *ZNP) dispatch(f znp.Frame) {
	switch f.Cmd.Type() {
	case znp.SRSP:
		z.mu.Lock()
		p := z.pending
		match := p != nil && f.Cmd == p.cmd.Response()
		if p != nil && f.Cmd == znp.CmdRPCError {
			m, err := znp.ParseRPCError(f)
			match = err == nil && m.ReqCmd == p.cmd
		}
		if match {
			z.pending = nil
		}
		z.mu.Unlock()
		if match {
			p.ch <- f
		} else {
			z.st.unexpected.Add(1)
			z.log.Warn("zigbee: unexpected SRSP", "frame", f.String())
		}
		return
	case znp.AREQ:
	default:
		z.log.Warn("zigbee: unexpected frame type", "frame", f.String())
		return
	}
	matched := false
	z.mu.Lock()
	for w := range z.waiters {
		if w.match(f) {
			delete(z.waiters, w)
			w.ch <- f
			matched = true
		}
	}
	z.mu.Unlock()
	switch f.Cmd {
	case znp.CmdSysResetInd:
		if matched {
			return
		}
		m, _ := znp.ParseSysResetInd(f)
		z.mu.Lock()
		up := z.cfg != nil
		z.mu.Unlock()
		if !up {
			z.log.Info("zigbee: co-processor reset before start", "reason", znp.ResetReasonName(m.Reason))
			return
		}
		z.recover(fmt.Sprintf("co-processor reset (%s)", znp.ResetReasonName(m.Reason)))
	case znp.CmdAfDataConfirm:
		m, err := znp.ParseAfDataConfirm(f)
		if err != nil {
			z.log.Warn("zigbee: bad AF_DATA_CONFIRM", "err", err)
			return
		}
		z.mu.Lock()
		ch := z.confirms[m.TransID]
		delete(z.confirms, m.TransID)
		z.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case znp.CmdAfIncomingMsg:
		m, err := znp.ParseAfIncomingMsg(f)
		if err != nil {
			z.log.Warn("zigbee: bad AF_INCOMING_MSG", "err", err)
			return
		}
		z.emit(Incoming{Frame{SrcAddr: m.SrcAddr, SrcEndpoint: m.SrcEndpoint, DstEndpoint: m.DstEndpoint,
			Cluster: m.Cluster, LinkQuality: m.LinkQuality, Payload: m.Data, GroupID: m.GroupID,
			WasBroadcast: m.WasBroadcast, SecurityUse: m.SecurityUse}})
	case znp.CmdZdoEndDeviceAnnceInd:
		m, err := znp.ParseZdoEndDeviceAnnceInd(f)
		if err != nil {
			z.log.Warn("zigbee: bad ZDO_END_DEVICE_ANNCE_IND", "err", err)
			return
		}
		z.emit(Announce{Device{NWK: m.NwkAddr, EUI64: m.IEEE}})
	case znp.CmdZdoLeaveInd:
		m, err := znp.ParseZdoLeaveInd(f)
		if err != nil {
			z.log.Warn("zigbee: bad ZDO_LEAVE_IND", "err", err)
			return
		}
		if m.Request { // our own leave request passing by, not a departure
			return
		}
		z.emit(Left{Device{NWK: m.SrcAddr, EUI64: m.ExtAddr}})
	case znp.CmdZdoTcDevInd:
		m, err := znp.ParseZdoTcDevInd(f)
		if err == nil {
			z.log.Info("zigbee: device authenticated by the trust centre", "eui64", fmt.Sprintf("%016X", m.IEEE),
				"nwk", fmt.Sprintf("0x%04X", m.NwkAddr))
		}
	case znp.CmdZdoStateChangeInd:
		m, err := znp.ParseZdoStateChangeInd(f)
		if err == nil {
			z.log.Debug("zigbee: co-processor state", "state", znp.DeviceStateName(m.State))
		}
	default:
		if !matched {
			z.log.Debug("zigbee: indication", "frame", f.String())
		}
	}
}

func (z *ZNP) emit(e Event) {
	if z.closed() {
		return
	}
	select {
	case z.events <- e:
	default:
		z.st.dropped.Add(1)
		z.log.Warn("zigbee: event dropped, Events is full", "event", fmt.Sprintf("%T", e))
	}
}

// recover asks the supervisor to restart the co-processor.
func (z *ZNP) recover(reason string) {
	select {
	case z.trigger <- reason:
	default: // one is pending already
	}
}

// ---- requests ----

func (z *ZNP) write(f znp.Frame) error {
	b, err := znp.AppendFrame(make([]byte, 0, len(f.Payload)+znp.Overhead), f)
	if err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	z.wmu.Lock()
	defer z.wmu.Unlock()
	if _, err := z.line().Write(b); err != nil {
		if z.closed() {
			return ErrClosed
		}
		return fmt.Errorf("zigbee: write %s: %w", f.Cmd, err)
	}
	z.st.out.Add(1)
	return nil
}

// request sends an SREQ and returns its SRSP.
func (z *ZNP) request(ctx context.Context, f znp.Frame) (znp.Frame, error) {
	select {
	case <-z.sreq:
	case <-ctx.Done():
		return znp.Frame{}, fmt.Errorf("zigbee: %s: %w", f.Cmd, ctx.Err())
	case <-z.done:
		return znp.Frame{}, ErrClosed
	}
	defer func() { z.sreq <- struct{}{} }()
	p := &pendingSREQ{cmd: f.Cmd, ch: make(chan znp.Frame, 1)}
	z.mu.Lock()
	z.pending = p
	z.mu.Unlock()
	clear := func() {
		z.mu.Lock()
		if z.pending == p {
			z.pending = nil
		}
		z.mu.Unlock()
	}
	if err := z.write(f); err != nil {
		clear()
		return znp.Frame{}, err
	}
	t := time.NewTimer(z.o.SREQTimeout)
	defer t.Stop()
	select {
	case r := <-p.ch:
		z.consecTimeouts.Store(0)
		if r.Cmd == znp.CmdRPCError {
			m, err := znp.ParseRPCError(r)
			if err != nil {
				return znp.Frame{}, fmt.Errorf("zigbee: %s: %w", f.Cmd, err)
			}
			return znp.Frame{}, fmt.Errorf("zigbee: %s: co-processor refused it: %s: %w", f.Cmd, m.Code, ErrUnsupported)
		}
		return r, nil
	case <-t.C:
		clear()
		z.st.timeouts.Add(1)
		if n := z.consecTimeouts.Add(1); int(n) >= z.o.MaxTimeouts {
			z.consecTimeouts.Store(0)
			z.recover(fmt.Sprintf("co-processor not answering (%d requests unanswered)", n))
		}
		return znp.Frame{}, fmt.Errorf("zigbee: %s: no SRSP within %v: %w", f.Cmd, z.o.SREQTimeout, ErrTimeout)
	case <-ctx.Done():
		clear()
		return znp.Frame{}, fmt.Errorf("zigbee: %s: %w", f.Cmd, ctx.Err())
	case <-z.done:
		clear()
		return znp.Frame{}, ErrClosed
	}
}

// requestStatus sends an SREQ whose SRSP is a status and returns an
// error for anything but the statuses in ok (Success if none).
func (z *ZNP) requestStatus(ctx context.Context, f znp.Frame, ok ...znp.Status) (znp.Status, error) {
	r, err := z.request(ctx, f)
	if err != nil {
		return 0, err
	}
	s, err := znp.ParseStatus(r)
	if err != nil {
		return 0, fmt.Errorf("zigbee: %w", err)
	}
	if len(ok) == 0 {
		ok = []znp.Status{znp.Success}
	}
	for _, o := range ok {
		if s == o {
			return s, nil
		}
	}
	return s, fmt.Errorf("%w: %w", ErrStatus, s.Err(f.Cmd))
}

// await registers a waiter for an AREQ before the request that causes it.
func (z *ZNP) await(match func(znp.Frame) bool) *waiter {
	w := &waiter{match: match, ch: make(chan znp.Frame, 1)}
	z.mu.Lock()
	z.waiters[w] = struct{}{}
	z.mu.Unlock()
	return w
}

func (z *ZNP) drop(w *waiter) {
	z.mu.Lock()
	delete(z.waiters, w)
	z.mu.Unlock()
}

func (z *ZNP) wait(ctx context.Context, w *waiter, d time.Duration, what string) (znp.Frame, error) {
	defer z.drop(w)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f := <-w.ch:
		return f, nil
	case <-t.C:
		return znp.Frame{}, fmt.Errorf("zigbee: no %s within %v: %w", what, d, ErrTimeout)
	case <-ctx.Done():
		return znp.Frame{}, fmt.Errorf("zigbee: waiting for %s: %w", what, ctx.Err())
	case <-z.done:
		return znp.Frame{}, ErrClosed
	}
}

func is(c znp.Cmd) func(znp.Frame) bool { return func(f znp.Frame) bool { return f.Cmd == c } }

// ---- bring-up ----

// reset soft-resets the co-processor and waits for SYS_RESET_IND.
func (z *ZNP) reset(ctx context.Context) error {
	w := z.await(is(znp.CmdSysResetInd))
	if err := z.write(znp.SysResetReq{Type: znp.ResetSoft}.Frame()); err != nil {
		z.drop(w)
		return err
	}
	f, err := z.wait(ctx, w, z.o.ResetTimeout, "SYS_RESET_IND after SYS_RESET_REQ")
	if err != nil {
		return err
	}
	m, err := znp.ParseSysResetInd(f)
	if err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	z.log.Debug("zigbee: co-processor reset", "reason", znp.ResetReasonName(m.Reason))
	return nil
}

func (z *ZNP) nvRead(ctx context.Context, id uint16) ([]byte, error) {
	r, err := z.request(ctx, znp.SysOsalNvRead{ID: id}.Frame())
	if err != nil {
		return nil, err
	}
	m, err := znp.ParseSysOsalNvReadRsp(r)
	if err != nil {
		return nil, fmt.Errorf("zigbee: %w", err)
	}
	if m.Status != znp.Success {
		return nil, fmt.Errorf("%w: NV item 0x%04X: %w", ErrStatus, id, m.Status.Err(znp.CmdSysOsalNvRead))
	}
	return m.Value, nil
}

// nvWrite writes an NV item, creating it first if the firmware lacks it.
func (z *ZNP) nvWrite(ctx context.Context, id uint16, v []byte) error {
	s, err := z.requestStatus(ctx, znp.SysOsalNvWrite{ID: id, Value: v}.Frame(), znp.Success, znp.NvItemUninit)
	if err != nil {
		return fmt.Errorf("NV item 0x%04X: %w", id, err)
	}
	if s == znp.Success {
		return nil
	}
	if _, err := z.requestStatus(ctx, znp.SysOsalNvItemInit{ID: id, Len: uint16(len(v)), Init: v}.Frame(),
		znp.Success, znp.NvItemUninit); err != nil {
		return fmt.Errorf("NV item 0x%04X: %w", id, err)
	}
	_, err = z.requestStatus(ctx, znp.SysOsalNvWrite{ID: id, Value: v}.Frame())
	if err != nil {
		return fmt.Errorf("NV item 0x%04X: %w", id, err)
	}
	return nil
}

func chanMask(ch uint8) uint32 { return 1 << ch }

// nvMatches reports whether the co-processor's NV already holds cfg's
// network and says it is on it.
func (z *ZNP) nvMatches(ctx context.Context, cfg *NetworkConfig) (bool, error) {
	want := []struct {
		id uint16
		v  []byte
	}{
		{znp.NvPANID, binary.LittleEndian.AppendUint16(nil, cfg.PANID)},
		{znp.NvExtendedPANID, binary.LittleEndian.AppendUint64(nil, cfg.ExtendedPANID)},
		{znp.NvChanList, binary.LittleEndian.AppendUint32(nil, chanMask(cfg.Channel))},
		{znp.NvPreCfgKey, cfg.NetworkKey[:]},
		{znp.NvLogicalType, []byte{znp.LogicalCoordinator}},
		{znp.NvBdbNodeIsOnANetwork, []byte{1}},
	}
	for _, w := range want {
		v, err := z.nvRead(ctx, w.id)
		if errors.Is(err, ErrStatus) && w.id == znp.NvPreCfgKey {
			// Firmware built without MT key management refuses to read
			// keys: trust the other items.
			z.log.Info("zigbee: co-processor does not disclose the network key; comparing the rest", "err", err)
			continue
		}
		if errors.Is(err, ErrStatus) {
			return false, nil // item missing: not configured
		}
		if err != nil {
			return false, err
		}
		if !bytes.Equal(v, w.v) {
			return false, nil
		}
	}
	return true, nil
}

// waitCoordinator waits for ZDO_STATE_CHANGE_IND DEV_ZB_COORD.
func (z *ZNP) coordWaiter() *waiter {
	return z.await(func(f znp.Frame) bool {
		if f.Cmd != znp.CmdZdoStateChangeInd {
			return false
		}
		m, err := znp.ParseZdoStateChangeInd(f)
		return err == nil && m.State == znp.DevZBCoord
	})
}

// form writes cfg to NV after clearing the old network and forms the
// network with BDB commissioning.
func (z *ZNP) form(ctx context.Context, cfg *NetworkConfig) error {
	z.log.Info("zigbee: forming network", "channel", cfg.Channel, "pan", fmt.Sprintf("0x%04X", cfg.PANID),
		"extpan", fmt.Sprintf("%016X", cfg.ExtendedPANID))
	if err := z.nvWrite(ctx, znp.NvStartupOption, []byte{znp.StartupClearConfig | znp.StartupClearState}); err != nil {
		return err
	}
	if err := z.reset(ctx); err != nil {
		return err
	}
	for _, it := range []struct {
		id uint16
		v  []byte
	}{
		{znp.NvLogicalType, []byte{znp.LogicalCoordinator}},
		{znp.NvPANID, binary.LittleEndian.AppendUint16(nil, cfg.PANID)},
		{znp.NvExtendedPANID, binary.LittleEndian.AppendUint64(nil, cfg.ExtendedPANID)},
		{znp.NvAPSUseExtPANID, binary.LittleEndian.AppendUint64(nil, cfg.ExtendedPANID)},
		{znp.NvChanList, binary.LittleEndian.AppendUint32(nil, chanMask(cfg.Channel))},
		{znp.NvPreCfgKey, cfg.NetworkKey[:]},
		{znp.NvPreCfgKeysEnable, []byte{1}},
		{znp.NvZdoDirectCB, []byte{1}},
	} {
		if err := z.nvWrite(ctx, it.id, it.v); err != nil {
			return err
		}
	}
	if _, err := z.requestStatus(ctx, znp.BdbSetChannel{Primary: true, Channels: chanMask(cfg.Channel)}.Frame()); err != nil {
		return err
	}
	if _, err := z.requestStatus(ctx, znp.BdbSetChannel{Primary: false, Channels: 0}.Frame()); err != nil {
		return err
	}
	coord := z.coordWaiter()
	defer z.drop(coord)
	done := z.await(func(f znp.Frame) bool {
		if f.Cmd != znp.CmdAppCnfBdbCommissioningNotification {
			return false
		}
		m, err := znp.ParseBdbCommissioningNotification(f)
		return err == nil && m.Mode == znp.BdbNetworkFormation && m.Status != znp.BdbInProgress
	})
	if _, err := z.requestStatus(ctx, znp.BdbStartCommissioning{Mode: znp.BdbNetworkFormation}.Frame()); err != nil {
		z.drop(done)
		return err
	}
	f, err := z.wait(ctx, done, z.o.FormTimeout, "result of network formation")
	if err != nil {
		return err
	}
	if m, _ := znp.ParseBdbCommissioningNotification(f); m.Status != znp.BdbSuccess {
		return fmt.Errorf("%w: network formation failed: %s", ErrStatus, znp.BdbStatusName(m.Status))
	}
	_, err = z.wait(ctx, coord, z.o.FormTimeout, "coordinator state after formation")
	return err
}

// resume starts the network held in NV.
func (z *ZNP) resume(ctx context.Context) error {
	coord := z.coordWaiter()
	defer z.drop(coord)
	if _, err := z.requestStatus(ctx, znp.ZdoStartupFromApp{StartDelay: 100}.Frame(),
		znp.StartupRestored, znp.StartupNewNetwork); err != nil {
		return err
	}
	_, err := z.wait(ctx, coord, z.o.FormTimeout, "coordinator state after ZDO_STARTUP_FROM_APP")
	return err
}

// bringUp runs the whole start sequence.
func (z *ZNP) bringUp(ctx context.Context, cfg *NetworkConfig) error {
	if err := z.line().Flush(); err != nil && z.closed() {
		return ErrClosed
	}
	if err := z.reset(ctx); err != nil {
		return err
	}
	r, err := z.request(ctx, znp.Request(znp.CmdSysPing))
	if err != nil {
		return err
	}
	ping, err := znp.ParseSysPingRsp(r)
	if err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	need := znp.CapSYS | znp.CapAF | znp.CapZDO | znp.CapUTIL | znp.CapAPPCNF
	if ping.Capabilities&need != need {
		return fmt.Errorf("%w: capabilities 0x%04X lack some of SYS, AF, ZDO, UTIL, APP_CNF (0x%04X)", ErrUnsupported, ping.Capabilities, need)
	}
	if r, err = z.request(ctx, znp.Request(znp.CmdSysVersion)); err != nil {
		return err
	}
	ver, err := znp.ParseSysVersionRsp(r)
	if err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	if ver.Product == znp.ProductZStack12 {
		return fmt.Errorf("%w: %s is Z-Stack Home 1.2, which lacks Base Device Behaviour commissioning; flash Z-Stack 3.x ZNP", ErrUnsupported, ver)
	}
	if r, err = z.request(ctx, znp.Request(znp.CmdUtilGetDeviceInfo)); err != nil {
		return err
	}
	dev, err := znp.ParseUtilGetDeviceInfoRsp(r)
	if err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	z.mu.Lock()
	z.info.Firmware, z.info.IEEE = ver.String(), dev.IEEE
	z.mu.Unlock()
	same, err := z.nvMatches(ctx, cfg)
	if err != nil {
		return err
	}
	if same {
		err = z.resume(ctx)
	} else {
		err = z.form(ctx, cfg)
	}
	if err != nil {
		return err
	}
	// Only devices whose install-code key the trust centre has may join.
	if _, err := z.requestStatus(ctx, znp.BdbSetJoinUsesInstallCodeKey{On: true}.Frame()); err != nil {
		return err
	}
	for _, ep := range cfg.Endpoints {
		f, err := znp.AfRegister{Endpoint: ep.ID, Profile: ep.Profile, DeviceID: ep.DeviceID,
			InClusters: ep.InClusters, OutClusters: ep.OutClusters}.Frame()
		if err != nil {
			return fmt.Errorf("zigbee: %w", err)
		}
		if _, err := z.requestStatus(ctx, f, znp.Success, znp.ApsDuplicateEntry); err != nil {
			return fmt.Errorf("endpoint %d: %w", ep.ID, err)
		}
	}
	if _, err := z.requestStatus(ctx, znp.ZdoMgmtPermitJoinReq{AddrMode: znp.AddrModeBroadcast, DstAddr: 0xFFFC,
		Duration: 0, TCSignificance: 0}.Frame()); err != nil {
		return err
	}
	if z.o.TxPower != nil {
		if _, err := z.request(ctx, znp.SysSetTxPower{Power: *z.o.TxPower}.Frame()); err != nil {
			return err
		}
	}
	z.mu.Lock()
	z.info.Channel, z.info.PANID, z.info.ExtendedPANID = cfg.Channel, cfg.PANID, cfg.ExtendedPANID
	if z.info.State != StateClosed {
		z.info.State = StateUp
	}
	z.mu.Unlock()
	z.consecTimeouts.Store(0)
	z.log.Info("zigbee: network up", "firmware", ver.String(), "ieee", fmt.Sprintf("%016X", dev.IEEE),
		"resumed", same)
	return nil
}

// ---- supervision ----

func (z *ZNP) supervise() {
	defer z.wg.Done()
	var tick <-chan time.Time
	if z.o.PingInterval > 0 {
		t := time.NewTicker(z.o.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		var reason string
		select {
		case <-z.done:
			return
		case reason = <-z.trigger:
		case <-tick:
			if z.Info().State != StateUp ||
				time.Since(time.Unix(0, z.lastRx.Load())) < z.o.PingInterval {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*z.o.SREQTimeout)
			_, err := z.request(ctx, znp.Request(znp.CmdSysPing))
			cancel()
			if err != nil && !errors.Is(err, ErrClosed) {
				z.log.Warn("zigbee: keep-alive ping failed", "err", err)
			}
			continue
		}
		z.mu.Lock()
		cfg := z.cfg
		z.mu.Unlock()
		if cfg == nil { // not started yet: Start reports its own failures
			continue
		}
		z.st.resets.Add(1)
		z.log.Warn("zigbee: restarting co-processor", "reason", reason)
		z.setState(StateRecovering)
		z.failConfirms()
		delay := z.o.RetryDelay
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-z.done:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := z.bringUp(ctx, cfg)
			cancel()
			if err == nil {
				z.st.recoveries.Add(1)
				select { // a trigger raised by the restart itself is stale
				case <-z.trigger:
				default:
				}
				z.log.Info("zigbee: co-processor restarted", "reason", reason, "attempts", attempt)
				z.emit(Reset{Reason: reason})
				break
			}
			if z.closed() {
				return
			}
			z.setState(StateRecovering)
			z.log.Error("zigbee: co-processor restart failed", "attempt", attempt, "err", err, "retry_in", delay)
			select {
			case <-z.done:
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 30*time.Second)
		}
	}
}

// failConfirms ends the waits of data requests lost with a reset.
func (z *ZNP) failConfirms() {
	z.mu.Lock()
	defer z.mu.Unlock()
	for id, ch := range z.confirms {
		ch <- znp.AfDataConfirm{Status: znp.Failure, TransID: id}
		delete(z.confirms, id)
	}
}

// ---- NCP operations ----

// Ping sends SYS_PING and waits for its answer: a health check of the
// co-processor (the supervisor pings an idle one every PingInterval).
func (z *ZNP) Ping(ctx context.Context) error {
	if z.closed() {
		return ErrClosed
	}
	r, err := z.request(ctx, znp.Request(znp.CmdSysPing))
	if err != nil {
		return err
	}
	if _, err := znp.ParseSysPingRsp(r); err != nil {
		return fmt.Errorf("zigbee: %w", err)
	}
	return nil
}

func (z *ZNP) ready() error {
	if z.closed() {
		return ErrClosed
	}
	if s := z.Info().State; s != StateUp {
		return fmt.Errorf("%w (state %s)", ErrNotReady, s)
	}
	return nil
}

// Send implements NCP.
func (z *ZNP) Send(ctx context.Context, dst uint16, dstEP, srcEP uint8, cluster uint16, payload []byte) error {
	if err := z.ready(); err != nil {
		return err
	}
	ch := make(chan znp.AfDataConfirm, 1)
	z.mu.Lock()
	tid, found := z.nextTID, false
	for range 256 {
		tid++
		if _, busy := z.confirms[tid]; !busy {
			found = true
			break
		}
	}
	if !found {
		z.mu.Unlock()
		return fmt.Errorf("zigbee: 256 data requests awaiting confirmation: %w", ErrNotReady)
	}
	z.nextTID = tid
	z.confirms[tid] = ch
	z.mu.Unlock()
	forget := func() {
		z.mu.Lock()
		if z.confirms[tid] == ch {
			delete(z.confirms, tid)
		}
		z.mu.Unlock()
	}
	f, err := znp.AfDataRequest{DstAddr: dst, DstEndpoint: dstEP, SrcEndpoint: srcEP, Cluster: cluster,
		TransID: tid, Options: *z.o.DataOptions, Radius: znp.DefaultRadius, Data: payload}.Frame()
	if err != nil {
		forget()
		return fmt.Errorf("zigbee: %w: %w", ErrConfig, err)
	}
	if _, err := z.requestStatus(ctx, f); err != nil {
		forget()
		return fmt.Errorf("send to 0x%04X: %w", dst, err)
	}
	t := time.NewTimer(z.o.ConfirmTimeout)
	defer t.Stop()
	select {
	case c := <-ch:
		if c.Status != znp.Success {
			return fmt.Errorf("zigbee: send to 0x%04X cluster 0x%04X: %w: %w", dst, cluster, ErrStatus, c.Status.Err(znp.CmdAfDataConfirm))
		}
		return nil
	case <-t.C:
		forget()
		return fmt.Errorf("zigbee: send to 0x%04X: no AF_DATA_CONFIRM within %v: %w", dst, z.o.ConfirmTimeout, ErrTimeout)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("zigbee: send to 0x%04X: %w", dst, ctx.Err())
	case <-z.done:
		return ErrClosed
	}
}

// MaxPermitJoin is the longest PermitJoin the co-processor accepts at
// once (254 s; 255 would mean forever, which the driver never asks for).
const MaxPermitJoin = 254 * time.Second

// PermitJoin implements NCP: it gives the trust centre the link key
// derived from installCode for eui64 and opens the network (coordinator
// and routers) for d, at most MaxPermitJoin. Devices without an
// install-code key are refused by the trust centre throughout.
func (z *ZNP) PermitJoin(ctx context.Context, eui64 uint64, installCode []byte, d time.Duration) error {
	if d <= 0 || d > MaxPermitJoin {
		return fmt.Errorf("%w: permit-join duration %v: must be 1 s…%v", ErrConfig, d, MaxPermitJoin)
	}
	key, err := InstallCodeKey(installCode)
	if err != nil {
		return err
	}
	if err := z.ready(); err != nil {
		return err
	}
	if _, err := z.requestStatus(ctx, znp.BdbAddInstallCode{Format: znp.InstallCodeDerivedKey, IEEE: eui64, Code: key[:]}.Frame()); err != nil {
		return fmt.Errorf("install code of %016X: %w", eui64, err)
	}
	secs := uint8((d + time.Second - 1) / time.Second)
	if _, err := z.requestStatus(ctx, znp.ZdoMgmtPermitJoinReq{AddrMode: znp.AddrModeBroadcast, DstAddr: 0xFFFC,
		Duration: secs, TCSignificance: 1}.Frame()); err != nil {
		return fmt.Errorf("permit join: %w", err)
	}
	z.log.Info("zigbee: joining open", "eui64", fmt.Sprintf("%016X", eui64), "seconds", secs)
	return nil
}

// Remove implements NCP: ZDO_MGMT_LEAVE_REQ to the device, waiting for
// its ZDO_MGMT_LEAVE_RSP. A device that does not answer (gone, asleep
// past ConfirmTimeout) gives ErrTimeout.
func (z *ZNP) Remove(ctx context.Context, d Device) error {
	if err := z.ready(); err != nil {
		return err
	}
	w := z.await(func(f znp.Frame) bool {
		if f.Cmd != znp.CmdZdoMgmtLeaveRsp {
			return false
		}
		m, err := znp.ParseZdoMgmtRsp(f, znp.CmdZdoMgmtLeaveRsp)
		return err == nil && m.SrcAddr == d.NWK
	})
	if _, err := z.requestStatus(ctx, znp.ZdoMgmtLeaveReq{DstAddr: d.NWK, DeviceAddr: d.EUI64}.Frame()); err != nil {
		z.drop(w)
		return fmt.Errorf("remove %s: %w", d, err)
	}
	f, err := z.wait(ctx, w, z.o.ConfirmTimeout, "ZDO_MGMT_LEAVE_RSP from "+d.String())
	if err != nil {
		return err
	}
	m, _ := znp.ParseZdoMgmtRsp(f, znp.CmdZdoMgmtLeaveRsp)
	if m.Status != znp.Success {
		return fmt.Errorf("zigbee: remove %s: %w: %w", d, ErrStatus, m.Status.Err(znp.CmdZdoMgmtLeaveRsp))
	}
	return nil
}
