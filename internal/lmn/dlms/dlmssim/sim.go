package dlmssim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/proto/dlms"
	"github.com/smgw/smgw/internal/proto/hdlc"
	"github.com/smgw/smgw/internal/proto/wrapper"
)

// Options configure a simulated meter. The zero value is a meter at
// HDLC address 1/16 without authentication.
type Options struct {
	// Server is the meter's HDLC address (default hdlc.ServerAddress(1, 16)).
	Server hdlc.Address
	// MaxInfo and Window are the largest HDLC information field and
	// window the meter accepts (default 2030 and 7).
	MaxInfo, Window uint32
	// MaxPDU is the largest APDU it sends before switching to block
	// transfer (default 1024; the client's proposal may lower it).
	MaxPDU uint16
	// Password enables LLS with this password; AK, EK and SystemTitle
	// enable HLS-GMAC (both may be set).
	Password    []byte
	AK, EK      []byte
	SystemTitle []byte
	RequireAuth bool // refuse associations without authentication
	// Since is where the load profile's buffer starts (default: 31 days
	// before the simulator's first answer).
	Since time.Time
	// NoCompression sends every profile row's time (else rows after the
	// first carry null-data for the time, as IEC 62056-6-2 allows for
	// regular captures).
	NoCompression bool
	// Now is the simulator's clock (default time.Now).
	Now func() time.Time
}

// Fault is an error answer FailNext arms.
type Fault uint8

// Faults.
const (
	FaultException    Fault = 1 // exception-response
	FaultServiceError Fault = 2 // confirmed-service-error
	FaultAccessDenied Fault = 3 // Data-Access-Result read-write-denied
)

// Meter is one simulated meter.
type Meter struct {
	o     Options
	suite *dlms.Suite0

	silent    atomic.Bool
	delay     atomic.Int64
	failNext  atomic.Uint32
	clockOff  atomic.Int64 // meter clock − Now, ns
	connected atomic.Bool

	mu       sync.Mutex
	link     *hdlc.Link
	as       association
	clientFC map[string]*dlms.FrameCounter
	ic       uint32
	// counters
	requests atomic.Uint64
	frames   atomic.Uint64
}

type association struct {
	open      bool
	ciphered  bool
	hlsDone   bool
	mech      uint8
	clientST  []byte
	stoc      []byte
	ctos      []byte
	maxPDU    int
	block     []byte // pending GET block transfer
	blockNo   uint32
	blockSize int
}

// New returns a simulated meter.
func New(o *Options) (*Meter, error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Server.Size == 0 {
		opt.Server = hdlc.ServerAddress(1, 16)
	}
	if opt.MaxInfo == 0 {
		opt.MaxInfo = 2030
	}
	if opt.Window == 0 {
		opt.Window = 7
	}
	if opt.MaxPDU == 0 {
		opt.MaxPDU = 1024
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Since.IsZero() {
		opt.Since = opt.Now().Add(-31 * 24 * time.Hour)
	}
	opt.Since = opt.Since.UTC().Truncate(QuarterSeconds * time.Second)
	m := &Meter{o: opt, clientFC: map[string]*dlms.FrameCounter{}}
	m.connected.Store(true)
	if opt.AK != nil || opt.EK != nil {
		s, err := dlms.NewSuite0(opt.EK, opt.AK)
		if err != nil {
			return nil, err
		}
		if len(opt.SystemTitle) != dlms.SystemTitleLen {
			return nil, errors.New("dlmssim: HLS needs an 8-byte system title")
		}
		m.suite = s
	}
	l, err := hdlc.NewLink(hdlc.LinkConfig{Role: hdlc.RoleServer, Server: opt.Server,
		Params: hdlc.Params{MaxInfoTx: opt.MaxInfo, MaxInfoRx: opt.MaxInfo, WindowTx: opt.Window, WindowRx: opt.Window}})
	if err != nil {
		return nil, err
	}
	m.link = l
	return m, nil
}

// SetSilent makes the meter stop answering (true) or come back.
func (m *Meter) SetSilent(v bool) { m.silent.Store(v) }

// SetDelay makes every answer wait d first.
func (m *Meter) SetDelay(d time.Duration) { m.delay.Store(int64(d)) }

// FailNext makes the next GET, SET or ACTION fail with f.
func (m *Meter) FailNext(f Fault) { m.failNext.Store(uint32(f)) }

// SetClockOffset sets the meter's clock to Now + d.
func (m *Meter) SetClockOffset(d time.Duration) { m.clockOff.Store(int64(d)) }

// ClockOffset returns meter clock − Now.
func (m *Meter) ClockOffset() time.Duration { return time.Duration(m.clockOff.Load()) }

// Connected reports the disconnector's state.
func (m *Meter) Connected() bool { return m.connected.Load() }

// Requests counts the service requests answered.
func (m *Meter) Requests() uint64 { return m.requests.Load() }

// Address returns the meter's HDLC address.
func (m *Meter) Address() hdlc.Address { return m.o.Server }

// Now returns the meter's clock: the simulated time plus its offset.
func (m *Meter) Now() time.Time { return m.o.Now().Add(m.ClockOffset()) }

// ServeLine answers on port for the meters (a multi-drop line: each
// frame goes to the meter it is addressed to) until ctx ends or the port
// is closed; it returns nil then.
func ServeLine(ctx context.Context, port serial.Port, meters ...*Meter) error {
	var sc hdlc.Scanner
	buf := make([]byte, 4096)
	for {
		n, err := serial.ReadContext(ctx, port, buf)
		if ctx.Err() != nil || errors.Is(err, serial.ErrClosed) {
			return nil
		}
		if err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				continue
			}
			return err
		}
		sc.Write(buf[:n])
		for {
			f, ok, err := sc.Next()
			if err != nil {
				continue // a garbled frame: the client will poll again
			}
			if !ok {
				break
			}
			for _, m := range meters {
				if f.Dest != m.o.Server && !(f.Dest.Size == m.o.Server.Size && f.Dest.Lower == 0x7F) {
					continue
				}
				if m.silent.Load() {
					continue
				}
				out := m.frame(f)
				if d := time.Duration(m.delay.Load()); d > 0 && len(out) > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(d):
					}
				}
				for _, b := range out {
					if _, err := port.Write(b); err != nil {
						if errors.Is(err, serial.ErrClosed) || ctx.Err() != nil {
							return nil
						}
						return err
					}
				}
			}
		}
	}
}

// Serve answers on port until ctx ends.
func (m *Meter) Serve(ctx context.Context, port serial.Port) error { return ServeLine(ctx, port, m) }

// frame processes one received frame and returns the frames to send.
func (m *Meter) frame(f hdlc.Frame) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frames.Add(1)
	out, err := m.link.Receive(f)
	if err != nil && len(out.Frames) == 0 {
		return nil
	}
	if out.Event == hdlc.EventConnected || out.Event == hdlc.EventDisconnected {
		m.as = association{}
	}
	frames := out.Frames
	if out.APDU != nil {
		resp := m.apdu(out.APDU)
		if resp != nil {
			more, err := m.link.Send(resp)
			if err == nil {
				frames = append(frames, more...)
			}
		} else if len(frames) == 0 {
			frames = append(frames, m.link.Ack())
		}
	}
	return frames
}

// Handle answers one APDU (for a wrapper transport or a test): the
// response APDU, or nil.
func (m *Meter) Handle(apdu []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apdu(apdu)
}

// ServeWrapper answers IEC 62056-47 wrapper PDUs on a TCP connection.
func (m *Meter) ServeWrapper(ctx context.Context, port serial.Port) error {
	m.mu.Lock()
	m.as = association{} // a new connection is a new association
	m.mu.Unlock()
	buf := make([]byte, 4096)
	var rx []byte
	for {
		n, err := serial.ReadContext(ctx, port, buf)
		if ctx.Err() != nil || errors.Is(err, serial.ErrClosed) {
			return nil
		}
		if err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				continue
			}
			return err
		}
		rx = append(rx, buf[:n]...)
		for {
			k, h, err := wrapper.Split(rx, 0xFFFF)
			if errors.Is(err, wrapper.ErrShort) {
				break
			}
			if err != nil {
				rx = rx[:0]
				break
			}
			apdu := append([]byte(nil), rx[8:k]...)
			rx = append(rx[:0], rx[k:]...)
			if m.silent.Load() || h.Dst != m.o.Server.Upper {
				continue
			}
			resp := m.Handle(apdu)
			if resp == nil {
				continue
			}
			if _, err := port.Write(wrapper.Append(nil, h.Dst, h.Src, resp)); err != nil {
				return nil
			}
		}
	}
}

func (m *Meter) failure() Fault { return Fault(m.failNext.Swap(0)) }

// apdu answers a request APDU; m.mu is held.
func (m *Meter) apdu(p []byte) []byte {
	m.requests.Add(1)
	a, err := dlms.ParseAPDU(p)
	if err != nil && !errors.Is(err, dlms.ErrTrailing) {
		return dlms.ExceptionResponse{StateError: dlms.StateServiceUnknown, ServiceError: dlms.ServiceNotSupported}.Append(nil)
	}
	if aarq, ok := a.(dlms.AARQ); ok {
		return m.aarq(aarq)
	}
	if _, ok := a.(dlms.RLRQ); ok {
		m.as = association{}
		return dlms.RLRE{HasReason: true, Reason: dlms.ReleaseNormal}.Append(nil)
	}
	if !m.as.open {
		return dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceOperationNotPossible}.Append(nil)
	}
	ciphered := false
	if ci, ok := a.(dlms.Ciphered); ok {
		if !m.as.ciphered {
			return dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceDecipheringError}.Append(nil)
		}
		plain, err := m.decrypt(ci)
		if err != nil {
			return dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceDecipheringError}.Append(nil)
		}
		if a, err = dlms.ParseAPDU(plain); err != nil && !errors.Is(err, dlms.ErrTrailing) {
			return dlms.ExceptionResponse{StateError: dlms.StateServiceUnknown, ServiceError: dlms.ServiceNotSupported}.Append(nil)
		}
		ciphered = true
	} else if m.as.ciphered {
		return dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceDecipheringError}.Append(nil)
	}
	var resp dlms.APDU
	switch f := m.failure(); f {
	case FaultException:
		return dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceOtherReason}.Append(nil)
	case FaultServiceError:
		return dlms.ConfirmedServiceError{Service: 5, ErrorType: 3, Value: 2}.Append(nil)
	case FaultAccessDenied:
		if g, ok := a.(dlms.GetRequest); ok {
			resp = dlms.GetResponse{Kind: dlms.KindNormal, InvokeID: g.InvokeID, Result: dlms.ResultError(dlms.AccessReadWriteDenied)}
		}
	}
	if resp == nil {
		switch r := a.(type) {
		case dlms.GetRequest:
			resp = m.get(r)
		case dlms.SetRequest:
			resp = m.set(r)
		case dlms.ActionRequest:
			resp = m.action(r)
		default:
			return dlms.ExceptionResponse{StateError: dlms.StateServiceUnknown, ServiceError: dlms.ServiceNotSupported}.Append(nil)
		}
	}
	out := resp.Append(nil)
	if ciphered {
		tag, _ := dlms.GloTag(resp.APDUTag())
		m.ic++
		c, err := m.suite.Encrypt(tag, dlms.SCAuthEnc, m.o.SystemTitle, m.ic, out)
		if err != nil {
			return nil
		}
		out = c.Append(nil)
	}
	return out
}

func (m *Meter) decrypt(ci dlms.Ciphered) ([]byte, error) {
	fc := m.clientFC[string(m.as.clientST)]
	if fc == nil {
		fc = &dlms.FrameCounter{}
		m.clientFC[string(m.as.clientST)] = fc
	}
	if err := fc.Check(ci.IC); err != nil {
		return nil, err
	}
	plain, err := m.suite.Decrypt(ci, m.as.clientST)
	if err != nil {
		return nil, err
	}
	fc.Accept(ci.IC)
	return plain, nil
}

func (m *Meter) aarq(q dlms.AARQ) []byte {
	m.as = association{}
	reject := func(diag uint8) []byte {
		return dlms.AARE{ApplicationContext: q.ApplicationContext, Result: dlms.AssociationRejectedPermanent, Diagnostic: diag}.Append(nil)
	}
	level := uint8(dlms.MechanismNone)
	if q.Mechanism != nil {
		l, ok := dlms.MechanismLevel(q.Mechanism)
		if !ok {
			return reject(dlms.DiagMechanismNotRecognised)
		}
		level = l
	}
	ui := q.UserInfo
	as := association{mech: level}
	switch level {
	case dlms.MechanismNone:
		if m.o.RequireAuth {
			return reject(dlms.DiagAuthenticationRequired)
		}
		if !bytes.Equal(q.ApplicationContext, dlms.ContextLN) {
			return reject(dlms.DiagContextNotSupported)
		}
	case dlms.MechanismLow:
		if m.o.Password == nil || !bytes.Equal(q.AuthValue, m.o.Password) {
			return reject(dlms.DiagAuthenticationFailure)
		}
		if !bytes.Equal(q.ApplicationContext, dlms.ContextLN) {
			return reject(dlms.DiagContextNotSupported)
		}
	case dlms.MechanismGMAC:
		if m.suite == nil || len(q.CallingAPTitle) != dlms.SystemTitleLen || len(q.AuthValue) < 8 {
			return reject(dlms.DiagAuthenticationFailure)
		}
		if !bytes.Equal(q.ApplicationContext, dlms.ContextLNCiphered) {
			return reject(dlms.DiagContextNotSupported)
		}
		as.ciphered = true
		as.clientST = append([]byte(nil), q.CallingAPTitle...)
		m.as = as
		a, err := dlms.ParseAPDU(ui)
		ci, ok := a.(dlms.Ciphered)
		if err != nil || !ok {
			return reject(dlms.DiagNoReasonGiven)
		}
		plain, err := m.decrypt(ci)
		if err != nil {
			return reject(dlms.DiagAuthenticationFailure)
		}
		ui = plain
		as.stoc = make([]byte, 16)
		rand.Read(as.stoc)
	default:
		return reject(dlms.DiagMechanismNotRecognised)
	}
	ia, err := dlms.ParseAPDU(ui)
	init, ok := ia.(dlms.InitiateRequest)
	if err != nil || !ok {
		return reject(dlms.DiagNoReasonGiven)
	}
	if init.DLMSVersion < 6 {
		return dlms.AARE{ApplicationContext: q.ApplicationContext, Result: dlms.AssociationRejectedPermanent,
			UserInfo: dlms.ConfirmedServiceError{Service: 1, ErrorType: 6, Value: 1}.Append(nil)}.Append(nil)
	}
	as.open = true
	as.maxPDU = int(min(m.o.MaxPDU, max(init.MaxPDU, 64)))
	m.as = as
	resp := dlms.InitiateResponse{DLMSVersion: 6, Conformance: init.Conformance & serverConformance, MaxPDU: m.o.MaxPDU, VAAName: dlms.VAANameLN}
	aare := dlms.AARE{ApplicationContext: q.ApplicationContext, Result: dlms.AssociationAccepted, UserInfo: resp.Append(nil)}
	switch level {
	case dlms.MechanismLow:
		aare.ACSERequirements = true
		aare.Mechanism = q.Mechanism
	case dlms.MechanismGMAC:
		aare.ACSERequirements = true
		aare.Mechanism = q.Mechanism
		aare.RespondingAPTitle = m.o.SystemTitle
		aare.AuthValue = m.as.stoc
		m.ic++
		c, err := m.suite.Encrypt(dlms.TagGloInitiateResponse, dlms.SCAuthEnc, m.o.SystemTitle, m.ic, aare.UserInfo)
		if err != nil {
			return reject(dlms.DiagNoReasonGiven)
		}
		aare.UserInfo = c.Append(nil)
		m.as.ctos = append([]byte(nil), q.AuthValue...)
	}
	return aare.Append(nil)
}

const serverConformance = dlms.ConfGet | dlms.ConfSet | dlms.ConfAction | dlms.ConfSelectiveAccess |
	dlms.ConfBlockTransferWithGet | dlms.ConfMultipleReferences | dlms.ConfAttribute0SupportedGet | dlms.ConfPriorityMgmtSupported
