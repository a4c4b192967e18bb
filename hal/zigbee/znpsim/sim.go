package znpsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/hal/zigbee/znp"
)

// Options shape the simulated co-processor. The zero value is a CC2652
// with Z-Stack 3.x.0 answering in 1 ms.
type Options struct {
	IEEE      uint64             // the coordinator's EUI-64 (default 00124B0000C0FFEE)
	Version   *znp.SysVersionRsp // SYS_VERSION answer (default Z-Stack 2.7.1, product 2)
	SRSPDelay time.Duration      // time to answer an SREQ (0: 1 ms; negative: at once)
	// EventDelay is the time between a cause and its indication (reset,
	// formation steps, joins, data confirms; 0: 5 ms; negative: at once).
	EventDelay time.Duration
	Logger     *slog.Logger // nil: discard
}

// Sim is a running simulated co-processor.
type Sim struct {
	f    *os.File
	o    Options
	log  *slog.Logger
	done chan struct{}
	wg   sync.WaitGroup
	wmu  sync.Mutex

	mu          sync.Mutex
	nv          map[uint16][]byte
	state       uint8 // znp.DevHold … DevZBCoord
	endpoints   map[uint8]znp.AfRegister
	primary     uint32
	tcKeys      map[uint64][16]byte
	needCode    bool
	permitUntil time.Time
	devices     map[uint64]*device
	silentUntil time.Time
	received    []znp.Frame
	badFrames   int
	closed      bool
}

type device struct {
	eui     uint64
	key     [16]byte
	hasCode bool
	ep      uint8
	handle  func(zigbee.Frame) [][]byte
	joined  bool
	online  bool
	seq     uint8
	inbox   chan zigbee.Frame // frames for handle, in order
	gone    chan struct{}     // closed when the device is replaced
}

// NWKAddr is the network address the simulator gives the device eui64.
func NWKAddr(eui64 uint64) uint16 {
	a := uint16(eui64) ^ uint16(eui64>>16) ^ uint16(eui64>>32) ^ uint16(eui64>>48)
	a &= 0x7FFF // below the reserved 0xFFF8…
	if a == 0 {
		a = 1
	}
	return a
}

// Start serves the simulated co-processor on the pty at path until Close.
func Start(path string, opts *Options) (*Sim, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.IEEE == 0 {
		o.IEEE = 0x00124B0000C0FFEE
	}
	if o.Version == nil {
		o.Version = &znp.SysVersionRsp{TransportRev: 2, Product: znp.ProductZStack30x, Major: 2, Minor: 7, Maint: 1,
			Revision: 20230507, HasRevision: true}
	}
	if o.SRSPDelay == 0 {
		o.SRSPDelay = time.Millisecond
	}
	if o.EventDelay == 0 {
		o.EventDelay = 5 * time.Millisecond
	}
	if o.EventDelay < 0 {
		o.EventDelay = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("znpsim: %w", err)
	}
	s := &Sim{f: f, o: o, log: o.Logger, done: make(chan struct{}),
		nv: map[uint16][]byte{
			znp.NvStartupOption:       {0},
			znp.NvLogicalType:         {znp.LogicalRouter},
			znp.NvPANID:               {0xFF, 0xFF},
			znp.NvExtendedPANID:       make([]byte, 8),
			znp.NvAPSUseExtPANID:      make([]byte, 8),
			znp.NvChanList:            {0x00, 0x08, 0x00, 0x00},
			znp.NvPreCfgKey:           make([]byte, 16),
			znp.NvPreCfgKeysEnable:    {0},
			znp.NvZdoDirectCB:         {0},
			znp.NvBdbNodeIsOnANetwork: {0},
		},
		endpoints: map[uint8]znp.AfRegister{},
		tcKeys:    map[uint64][16]byte{},
		devices:   map[uint64]*device{},
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops the simulator, waits for its goroutines and closes its end
// of the pty.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.f.SetReadDeadline(time.Now())
	s.wg.Wait()
	return s.f.Close()
}

// Received returns the good frames received from the host so far.
func (s *Sim) Received() []znp.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]znp.Frame(nil), s.received...)
}

// BadFrames counts the malformed data from the host that was dropped: one
// for each run of garbage and each frame with a bad FCS or length.
func (s *Sim) BadFrames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badFrames
}

// State is the co-processor's device state (znp.DevHold … znp.DevZBCoord).
func (s *Sim) State() uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// NV returns a copy of an NV item (nil if absent).
func (s *Sim) NV(id uint16) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.nv[id]...)
}

// Devices returns the joined devices.
func (s *Sim) Devices() []zigbee.Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []zigbee.Device
	for _, d := range s.devices {
		if d.joined {
			out = append(out, zigbee.Device{NWK: NWKAddr(d.eui), EUI64: d.eui})
		}
	}
	return out
}

// AddDevice puts a device in range (see the package doc). installCode
// includes its CRC; nil means the default global link key.
func (s *Sim) AddDevice(eui64 uint64, installCode []byte, ep uint8, handle func(f zigbee.Frame) [][]byte) error {
	d := &device{eui: eui64, ep: ep, handle: handle, online: true,
		inbox: make(chan zigbee.Frame, 256), gone: make(chan struct{})}
	if installCode != nil {
		if len(installCode) < 3 {
			return fmt.Errorf("znpsim: install code of %d bytes", len(installCode))
		}
		d.key = znp.MMOHash(installCode) // a wrong CRC gives a key nobody expects
		d.hasCode = true
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("znpsim: closed")
	}
	if old := s.devices[eui64]; old != nil {
		close(old.gone)
	}
	s.devices[eui64] = d
	s.wg.Add(1)
	s.mu.Unlock()
	go s.run(d)
	s.tryJoins()
	return nil
}

// run is a device's application: it hands the frames the gateway sent
// to handle, one at a time and in order, a little after the data confirm,
// and sends back what handle returns.
func (s *Sim) run(d *device) {
	defer s.wg.Done()
	for {
		var fr zigbee.Frame
		select {
		case <-s.done:
			return
		case <-d.gone:
			return
		case fr = <-d.inbox:
		}
		if s.o.EventDelay > 0 {
			t := time.NewTimer(2 * s.o.EventDelay)
			select {
			case <-s.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
		for _, r := range d.handle(fr) {
			if err := s.Deliver(d.eui, fr.DstEndpoint, fr.SrcEndpoint, fr.Cluster, r); err != nil {
				s.log.Debug("znpsim: reply", "err", err)
			}
		}
	}
}

// SetOnline takes a device out of range (false) or back (true).
func (s *Sim) SetOnline(eui64 uint64, on bool) {
	s.mu.Lock()
	if d := s.devices[eui64]; d != nil {
		d.online = on
	}
	s.mu.Unlock()
}

// Deliver sends a frame from a joined device's endpoint srcEP to the
// gateway's endpoint dstEP as AF_INCOMING_MSG.
func (s *Sim) Deliver(from uint64, srcEP, dstEP uint8, cluster uint16, payload []byte) error {
	s.mu.Lock()
	d := s.devices[from]
	ok := d != nil && d.joined && s.state == znp.DevZBCoord
	var seq uint8
	if ok {
		d.seq++
		seq = d.seq
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("znpsim: device %016X has not joined a running network", from)
	}
	f, err := znp.AfIncomingMsg{Cluster: cluster, SrcAddr: NWKAddr(from), SrcEndpoint: srcEP, DstEndpoint: dstEP,
		LinkQuality: 200, SecurityUse: false, Timestamp: uint32(time.Now().UnixMilli()), TransSeq: seq, Data: payload,
		MacSrcAddr: NWKAddr(from), Radius: 0x1E, HasTrailer: true}.Frame()
	if err != nil {
		return fmt.Errorf("znpsim: %w", err)
	}
	return s.send(f)
}

// Leave makes a joined device leave the network on its own
// (ZDO_LEAVE_IND).
func (s *Sim) Leave(eui64 uint64) error {
	s.mu.Lock()
	d := s.devices[eui64]
	ok := d != nil && d.joined
	if ok {
		d.joined = false
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("znpsim: device %016X has not joined", eui64)
	}
	return s.send(znp.ZdoLeaveInd{SrcAddr: NWKAddr(eui64), ExtAddr: eui64}.Frame())
}

// Kick resets the co-processor as its watchdog would.
func (s *Sim) Kick() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.send(znp.SysResetInd{Reason: znp.ResetWatchdog, TransportRev: s.o.Version.TransportRev,
		Product: s.o.Version.Product, Major: s.o.Version.Major, Minor: s.o.Version.Minor}.Frame())
}

// Reset is Kick.
func (s *Sim) Reset() { s.Kick() }

// Silence makes the co-processor ignore everything from the host for d.
func (s *Sim) Silence(d time.Duration) {
	s.mu.Lock()
	s.silentUntil = time.Now().Add(d)
	s.mu.Unlock()
}

// Inject writes raw bytes to the host.
func (s *Sim) Inject(raw []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.f.Write(raw)
	return err
}

// ---- internals ----

func (s *Sim) send(f znp.Frame) error {
	b, err := znp.AppendFrame(nil, f)
	if err != nil {
		return fmt.Errorf("znpsim: %w", err)
	}
	select {
	case <-s.done:
		return errors.New("znpsim: closed")
	default:
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err = s.f.Write(b)
	return err
}

// later runs fn after d on a goroutine that Close waits for.
func (s *Sim) later(d time.Duration, fn func()) {
	select {
	case <-s.done:
		return
	default:
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			fn()
		}
	}()
}

// indicate sends AREQs in order, one EventDelay apart, unless the
// co-processor is silenced by then.
func (s *Sim) indicate(fs ...znp.Frame) {
	if len(fs) == 0 {
		return
	}
	s.later(s.o.EventDelay, func() {
		for i, f := range fs {
			if i > 0 && s.o.EventDelay > 0 {
				t := time.NewTimer(s.o.EventDelay)
				select {
				case <-s.done:
					t.Stop()
					return
				case <-t.C:
				}
			}
			if !s.silent() {
				s.send(f)
			}
		}
	})
}

func (s *Sim) silent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Before(s.silentUntil)
}

func (s *Sim) serve() {
	defer s.wg.Done()
	var dec znp.Decoder
	buf := make([]byte, 512)
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			dec.Write(buf[:n])
			for {
				f, ok, ferr := dec.Next()
				if ferr != nil {
					s.mu.Lock()
					s.badFrames++
					s.mu.Unlock()
					s.log.Debug("znpsim: dropped", "err", ferr)
					continue
				}
				if !ok {
					break
				}
				s.handle(f)
			}
		}
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			s.log.Debug("znpsim: read", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func (s *Sim) reply(f znp.Frame) {
	if s.o.SRSPDelay > 0 {
		time.Sleep(s.o.SRSPDelay)
	}
	s.send(f)
}

func status(c znp.Cmd, st znp.Status) znp.Frame {
	return znp.StatusRsp{Cmd: c.Response(), Status: st}.Frame()
}

// resetLocked is what a reset does to the co-processor's RAM.
func (s *Sim) resetLocked() {
	s.state = znp.DevHold
	s.endpoints = map[uint8]znp.AfRegister{}
	s.permitUntil = time.Time{}
	s.needCode = false
	if opt := s.nv[znp.NvStartupOption]; len(opt) == 1 && opt[0]&znp.StartupClearState != 0 {
		s.nv[znp.NvBdbNodeIsOnANetwork] = []byte{0}
		s.tcKeys = map[uint64][16]byte{}
		for _, d := range s.devices {
			d.joined = false
		}
		s.nv[znp.NvStartupOption] = []byte{0}
	}
}

func (s *Sim) handle(f znp.Frame) {
	s.mu.Lock()
	if time.Now().Before(s.silentUntil) {
		s.mu.Unlock()
		return
	}
	s.received = append(s.received, f)
	s.mu.Unlock()
	if f.Cmd.Type() != znp.SREQ && f.Cmd != znp.CmdSysResetReq {
		s.log.Debug("znpsim: ignoring", "frame", f.String())
		return
	}
	rsp, after := s.answer(f)
	if f.Cmd.Type() == znp.SREQ {
		s.reply(rsp)
	}
	s.indicate(after...)
}

// answer computes the SRSP of an SREQ and the indications that follow.
func (s *Sim) answer(f znp.Frame) (znp.Frame, []znp.Frame) {
	bad := func(err error) (znp.Frame, []znp.Frame) {
		s.log.Debug("znpsim: malformed request", "err", err)
		return znp.RPCErrorRsp{Code: znp.RPCInvalidParameter, ReqCmd: f.Cmd}.Frame(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.o.Version
	switch f.Cmd {
	case znp.CmdSysResetReq:
		if _, err := znp.ParseSysResetReq(f); err != nil {
			return znp.Frame{}, nil
		}
		s.resetLocked()
		return znp.Frame{}, []znp.Frame{znp.SysResetInd{Reason: znp.ResetExternal, TransportRev: v.TransportRev,
			Product: v.Product, Major: v.Major, Minor: v.Minor}.Frame()}
	case znp.CmdSysPing:
		return znp.SysPingRsp{Capabilities: znp.CapSYS | znp.CapMAC | znp.CapAF | znp.CapZDO | znp.CapSAPI |
			znp.CapUTIL | znp.CapAPP | znp.CapAPPCNF}.Frame(), nil
	case znp.CmdSysVersion:
		return v.Frame(), nil
	case znp.CmdSysOsalNvRead:
		m, err := znp.ParseSysOsalNvRead(f)
		if err != nil {
			return bad(err)
		}
		it, ok := s.nv[m.ID]
		if !ok {
			return znp.SysOsalNvReadRsp{Status: znp.InvalidParameter}.Frame(), nil
		}
		if int(m.Offset) > len(it) {
			return znp.SysOsalNvReadRsp{Status: znp.NvBadItemLen}.Frame(), nil
		}
		return znp.SysOsalNvReadRsp{Status: znp.Success, Value: append([]byte(nil), it[m.Offset:]...)}.Frame(), nil
	case znp.CmdSysOsalNvWrite:
		m, err := znp.ParseSysOsalNvWrite(f)
		if err != nil {
			return bad(err)
		}
		it, ok := s.nv[m.ID]
		if !ok {
			return status(f.Cmd, znp.NvItemUninit), nil
		}
		if int(m.Offset)+len(m.Value) > len(it) {
			return status(f.Cmd, znp.NvBadItemLen), nil
		}
		copy(it[m.Offset:], m.Value)
		return status(f.Cmd, znp.Success), nil
	case znp.CmdSysOsalNvItemInit:
		m, err := znp.ParseSysOsalNvItemInit(f)
		if err != nil {
			return bad(err)
		}
		if _, ok := s.nv[m.ID]; ok {
			return status(f.Cmd, znp.Success), nil
		}
		it := make([]byte, m.Len)
		copy(it, m.Init)
		s.nv[m.ID] = it
		return status(f.Cmd, znp.NvItemUninit), nil
	case znp.CmdSysSetTxPower:
		if _, err := znp.ParseSysSetTxPower(f); err != nil {
			return bad(err)
		}
		return status(f.Cmd, znp.Success), nil
	case znp.CmdUtilGetDeviceInfo:
		nwk := uint16(0xFFFE)
		if s.state == znp.DevZBCoord {
			nwk = 0
		}
		var assoc []uint16
		for _, d := range s.devices {
			if d.joined && len(assoc) < 100 {
				assoc = append(assoc, NWKAddr(d.eui))
			}
		}
		return znp.UtilGetDeviceInfoRsp{Status: znp.Success, IEEE: s.o.IEEE, NWK: nwk, DeviceType: 0x07,
			State: s.state, Assoc: assoc}.Frame(), nil
	case znp.CmdZdoStartupFromApp:
		if _, err := znp.ParseZdoStartupFromApp(f); err != nil {
			return bad(err)
		}
		st := znp.StartupRestored
		if s.nv[znp.NvBdbNodeIsOnANetwork][0] == 0 {
			st = znp.StartupNewNetwork
		}
		return status(f.Cmd, st), s.startLocked(false)
	case znp.CmdAppCnfBdbSetChannel:
		m, err := znp.ParseBdbSetChannel(f)
		if err != nil {
			return bad(err)
		}
		if m.Channels&^0x07FFF800 != 0 {
			return status(f.Cmd, znp.InvalidParameter), nil
		}
		if m.Primary {
			s.primary = m.Channels
		}
		return status(f.Cmd, znp.Success), nil
	case znp.CmdAppCnfBdbStartCommissioning:
		m, err := znp.ParseBdbStartCommissioning(f)
		if err != nil {
			return bad(err)
		}
		var after []znp.Frame
		if m.Mode&znp.BdbNetworkFormation != 0 {
			if s.nv[znp.NvLogicalType][0] != znp.LogicalCoordinator || s.primary == 0 {
				after = append(after, znp.BdbCommissioningNotification{Status: znp.BdbFormationFailure,
					Mode: znp.BdbNetworkFormation}.Frame())
			} else {
				after = append(after, s.startLocked(true)...)
			}
		}
		if m.Mode&znp.BdbNetworkSteering != 0 && s.state == znp.DevZBCoord {
			s.permitUntil = time.Now().Add(180 * time.Second)
			after = append(after, znp.BdbCommissioningNotification{Status: znp.BdbSuccess, Mode: znp.BdbNetworkSteering}.Frame())
		}
		return status(f.Cmd, znp.Success), after
	case znp.CmdAppCnfBdbSetJoinUsesInstallCodeKey:
		m, err := znp.ParseBdbSetJoinUsesInstallCodeKey(f)
		if err != nil {
			return bad(err)
		}
		s.needCode = m.On
		return status(f.Cmd, znp.Success), nil
	case znp.CmdAppCnfBdbAddInstallCode:
		m, err := znp.ParseBdbAddInstallCode(f)
		if err != nil {
			return bad(err)
		}
		var key [16]byte
		switch m.Format {
		case znp.InstallCodeWithCRC:
			k, err := znp.InstallCodeKey(m.Code)
			if err != nil {
				return status(f.Cmd, znp.InvalidParameter), nil
			}
			key = k
		case znp.InstallCodeDerivedKey:
			copy(key[:], m.Code)
		default:
			return status(f.Cmd, znp.InvalidParameter), nil
		}
		s.tcKeys[m.IEEE] = key
		return status(f.Cmd, znp.Success), nil
	case znp.CmdZdoMgmtPermitJoinReq:
		m, err := znp.ParseZdoMgmtPermitJoinReq(f)
		if err != nil {
			return bad(err)
		}
		if s.state != znp.DevZBCoord {
			return status(f.Cmd, znp.NwkInvalidRequest), nil
		}
		switch {
		case m.Duration == 0:
			s.permitUntil = time.Time{}
		case m.Duration == 0xFF:
			s.permitUntil = time.Now().Add(100 * 365 * 24 * time.Hour)
		default:
			s.permitUntil = time.Now().Add(time.Duration(m.Duration) * time.Second)
		}
		after := []znp.Frame{
			znp.ZdoMgmtRsp{Cmd: znp.CmdZdoMgmtPermitJoinRsp, SrcAddr: 0, Status: znp.Success}.Frame(),
			znp.ZdoPermitJoinInd{Duration: m.Duration}.Frame(),
		}
		if m.Duration != 0 {
			s.later(3*s.o.EventDelay, s.tryJoins)
		}
		return status(f.Cmd, znp.Success), after
	case znp.CmdZdoMgmtLeaveReq:
		m, err := znp.ParseZdoMgmtLeaveReq(f)
		if err != nil {
			return bad(err)
		}
		if s.state != znp.DevZBCoord {
			return status(f.Cmd, znp.NwkInvalidRequest), nil
		}
		d := s.byNWK(m.DstAddr)
		if d == nil || !d.online {
			return status(f.Cmd, znp.Success), nil // sent into the void: no answer comes
		}
		d.joined = false
		return status(f.Cmd, znp.Success), []znp.Frame{
			znp.ZdoMgmtRsp{Cmd: znp.CmdZdoMgmtLeaveRsp, SrcAddr: m.DstAddr, Status: znp.Success}.Frame(),
			znp.ZdoLeaveInd{SrcAddr: m.DstAddr, ExtAddr: d.eui}.Frame(),
		}
	case znp.CmdZdoActiveEpReq:
		m, err := znp.ParseZdoActiveEpReq(f)
		if err != nil {
			return bad(err)
		}
		if s.state != znp.DevZBCoord {
			return status(f.Cmd, znp.NwkInvalidRequest), nil
		}
		d := s.byNWK(m.NwkAddrOfInterest)
		if d == nil || !d.online {
			return status(f.Cmd, znp.Success), nil
		}
		return status(f.Cmd, znp.Success), []znp.Frame{znp.ZdoActiveEpRsp{SrcAddr: m.DstAddr, Status: znp.Success,
			NwkAddr: m.NwkAddrOfInterest, Endpoints: []uint8{d.ep}}.Frame()}
	case znp.CmdAfRegister:
		m, err := znp.ParseAfRegister(f)
		if err != nil {
			return bad(err)
		}
		if m.Endpoint == 0 || m.Endpoint > 240 {
			return status(f.Cmd, znp.InvalidParameter), nil
		}
		if _, dup := s.endpoints[m.Endpoint]; dup {
			return status(f.Cmd, znp.ApsDuplicateEntry), nil
		}
		s.endpoints[m.Endpoint] = m
		return status(f.Cmd, znp.Success), nil
	case znp.CmdAfDataRequest:
		m, err := znp.ParseAfDataRequest(f)
		if err != nil {
			return bad(err)
		}
		return s.dataLocked(f.Cmd, m)
	case znp.CmdAfDataRequestExt:
		m, err := znp.ParseAfDataRequestExt(f)
		if err != nil {
			return bad(err)
		}
		if m.DstAddrMode != znp.AfAddr16 && m.DstAddrMode != znp.AfAddr64 {
			return status(f.Cmd, znp.InvalidParameter), nil
		}
		dst := uint16(m.DstAddr)
		if m.DstAddrMode == znp.AfAddr64 {
			dst = NWKAddr(m.DstAddr)
		}
		return s.dataLocked(f.Cmd, znp.AfDataRequest{DstAddr: dst, DstEndpoint: m.DstEndpoint, SrcEndpoint: m.SrcEndpoint,
			Cluster: m.Cluster, TransID: m.TransID, Options: m.Options, Radius: m.Radius, Data: m.Data})
	}
	code := znp.RPCInvalidCommandID
	switch f.Cmd.Subsystem() {
	case znp.SYS, znp.MAC, znp.AF, znp.ZDO, znp.SAPI, znp.UTIL, znp.APP, znp.APPCNF:
	default:
		code = znp.RPCInvalidSubsystem
	}
	return znp.RPCErrorRsp{Code: code, ReqCmd: f.Cmd}.Frame(), nil
}

// startLocked brings the coordinator up from NV (or forms the network:
// formation) and returns the indications that report it.
func (s *Sim) startLocked(formation bool) []znp.Frame {
	var after []znp.Frame
	if formation {
		after = append(after, znp.BdbCommissioningNotification{Status: znp.BdbInProgress, Mode: znp.BdbNetworkFormation,
			Remaining: 0}.Frame())
	}
	after = append(after, znp.ZdoStateChangeInd{State: znp.DevCoordStarting}.Frame(),
		znp.ZdoStateChangeInd{State: znp.DevZBCoord}.Frame())
	if formation {
		after = append(after, znp.BdbCommissioningNotification{Status: znp.BdbSuccess, Mode: znp.BdbNetworkFormation}.Frame())
	}
	s.state = znp.DevZBCoord
	s.nv[znp.NvBdbNodeIsOnANetwork] = []byte{1}
	return after
}

func (s *Sim) byNWK(nwk uint16) *device {
	for _, d := range s.devices {
		if d.joined && NWKAddr(d.eui) == nwk {
			return d
		}
	}
	return nil
}

// dataLocked handles a unicast data request.
func (s *Sim) dataLocked(c znp.Cmd, m znp.AfDataRequest) (znp.Frame, []znp.Frame) {
	if s.state != znp.DevZBCoord {
		return status(c, znp.NwkInvalidRequest), nil
	}
	if _, ok := s.endpoints[m.SrcEndpoint]; !ok {
		return status(c, znp.InvalidParameter), nil
	}
	confirm := func(st znp.Status) []znp.Frame {
		return []znp.Frame{znp.AfDataConfirm{Status: st, Endpoint: m.SrcEndpoint, TransID: m.TransID}.Frame()}
	}
	d := s.byNWK(m.DstAddr)
	switch {
	case d == nil:
		return status(c, znp.Success), confirm(znp.NwkNoRoute)
	case !d.online:
		return status(c, znp.Success), confirm(znp.MacNoAck)
	}
	if d.handle != nil {
		fr := zigbee.Frame{SrcAddr: 0x0000, SrcEndpoint: m.SrcEndpoint, DstEndpoint: m.DstEndpoint, Cluster: m.Cluster,
			LinkQuality: 255, Payload: append([]byte(nil), m.Data...)}
		select {
		case d.inbox <- fr:
		default:
			s.log.Warn("znpsim: device's inbox is full; frame lost", "eui64", fmt.Sprintf("%016X", d.eui))
		}
	}
	return status(c, znp.Success), confirm(znp.Success)
}

// tryJoins lets every eligible device join while joining is open.
func (s *Sim) tryJoins() {
	s.mu.Lock()
	var joined []*device
	if s.state == znp.DevZBCoord && time.Now().Before(s.permitUntil) {
		for _, d := range s.devices {
			if d.joined || !d.online {
				continue
			}
			key, has := s.tcKeys[d.eui]
			ok := false
			switch {
			case d.hasCode:
				ok = has && key == d.key
			default:
				ok = !s.needCode
			}
			if ok {
				d.joined = true
				joined = append(joined, d)
			}
		}
	}
	s.mu.Unlock()
	for _, d := range joined {
		nwk := NWKAddr(d.eui)
		s.indicate(znp.ZdoTcDevInd{NwkAddr: nwk, IEEE: d.eui, ParentAddr: 0}.Frame(),
			znp.ZdoEndDeviceAnnceInd{SrcAddr: nwk, NwkAddr: nwk, IEEE: d.eui, Capabilities: 0x8C}.Frame())
	}
}

// Pair starts socat with a raw pseudo-terminal pair linked at dir/gw (for
// the driver) and dir/ncp (for Start), waits until socat has set both up
// (its "starting data transfer loop" log line: only then are the raw
// settings applied), and returns the paths and a function that stops
// socat.
func Pair(ctx context.Context, dir string) (gw, ncp string, stop func(), err error) {
	if _, err := exec.LookPath("socat"); err != nil {
		return "", "", nil, fmt.Errorf("znpsim: socat is not installed (apt-get install socat): %w", err)
	}
	gw, ncp = filepath.Join(dir, "gw"), filepath.Join(dir, "ncp")
	cmd := exec.Command("socat", "-d", "-d", "pty,raw,echo=0,link="+gw, "pty,raw,echo=0,link="+ncp)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", "", nil, fmt.Errorf("znpsim: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", "", nil, fmt.Errorf("znpsim: socat: %w", err)
	}
	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "starting data transfer loop") {
				close(ready)
				signalled = true
			}
		}
		cmd.Wait()
		close(exited)
	}()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	select {
	case <-ready:
	case <-exited:
		return "", "", nil, errors.New("znpsim: socat exited before making the pty pair")
	case <-ctx.Done():
		stop()
		return "", "", nil, ctx.Err()
	case <-time.After(10 * time.Second):
		stop()
		return "", "", nil, errors.New("znpsim: socat made no pty pair within 10 s")
	}
	for _, p := range []string{gw, ncp} {
		if _, err := os.Stat(p); err != nil {
			stop()
			return "", "", nil, fmt.Errorf("znpsim: socat is ready but %w", err)
		}
	}
	return gw, ncp, stop, nil
}
