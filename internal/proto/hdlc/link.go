package hdlc

import (
	"errors"
	"fmt"
)

// Role says which end of the link a Link is.
type Role uint8

// Roles. The client is the primary station (it polls), the server the
// secondary (it answers).
const (
	RoleClient Role = 1
	RoleServer Role = 2
)

// LinkConfig configures a Link.
type LinkConfig struct {
	Role Role
	// Client is the client's address (1 byte). A server Link with a zero
	// Client accepts the first client that sends SNRM and then keeps to it.
	Client Address
	// Server is the server's address (1, 2 or 4 bytes).
	Server Address
	// Params: for a client, what its SNRM proposes (from the client's point
	// of view; zero fields are not sent and mean the default); for a
	// server, the largest values it accepts (zero fields: the default).
	// Windows are capped at MaxWindow and information fields at MaxInfo.
	Params Params
	// MaxAPDU bounds the size of a reassembled APDU; 0 means 65535+16.
	MaxAPDU int
}

// Event is what a received frame did to the link, besides data.
type Event uint8

// Events reported in Output.
const (
	EventNone         Event = iota
	EventConnected          // the client got UA to its SNRM, or the server got SNRM
	EventDisconnected       // the client got UA to its DISC, or the server got DISC
	EventRefused            // the client got DM (the server is in disconnected mode)
)

func (e Event) String() string {
	switch e {
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	case EventRefused:
		return "refused"
	}
	return "none"
}

// Output is what the caller must do after Receive.
type Output struct {
	// Frames are encoded frames to write to the line, in order.
	Frames [][]byte
	// APDU is an APDU that has arrived whole (LLC header removed), or nil.
	APDU []byte
	// Event is a change of the link's state.
	Event Event
}

type linkState uint8

const (
	stateDisconnected linkState = iota
	stateConnecting
	stateConnected
	stateDisconnecting
)

// segment is one information field waiting to be sent or acknowledged.
type segment struct {
	info []byte
	more bool // S bit
	ns   uint8
}

// Link is the bookkeeping of one HDLC connection between a client and a
// server (IEC 62056-46 normal response mode): connection set-up and
// release, negotiated parameters, send and receive sequence numbers,
// segmentation of APDUs into I frames with up to the negotiated window of
// frames outstanding, acknowledgement, go-back-N retransmission, and
// reassembly. It does no I/O and keeps no time: the caller writes the frames
// it returns, feeds it the frames it reads (from a Scanner) and calls
// Retransmit when its reply timeout expires. A Link is not safe for
// concurrent use.
type Link struct {
	cfg   LinkConfig
	state linkState
	neg   Params // effective, from this end's point of view
	vs    uint8  // send state variable V(S)
	vr    uint8  // receive state variable V(R)

	txq      []segment // waiting to be sent
	unacked  []segment // sent, not yet acknowledged
	peerBusy bool      // RNR received

	rx     []byte
	rxBusy bool // a segmented APDU is being reassembled
	rxBad  bool // the APDU being received is being discarded
	lastTx []byte
}

// NewLink returns a Link in the disconnected state.
func NewLink(cfg LinkConfig) (*Link, error) {
	if cfg.Role != RoleClient && cfg.Role != RoleServer {
		return nil, fmt.Errorf("%w: role %d", ErrState, cfg.Role)
	}
	if !cfg.Server.valid() {
		return nil, fmt.Errorf("%w: server address %+v", ErrAddress, cfg.Server)
	}
	if (cfg.Role == RoleClient || cfg.Client != Address{}) && (!cfg.Client.valid() || cfg.Client.Size != 1) {
		return nil, fmt.Errorf("%w: client address %+v (1 byte)", ErrAddress, cfg.Client)
	}
	clamp := func(v *uint32, hi uint32) {
		if *v > hi {
			*v = hi
		}
	}
	clamp(&cfg.Params.MaxInfoTx, MaxInfo)
	clamp(&cfg.Params.MaxInfoRx, MaxInfo)
	clamp(&cfg.Params.WindowTx, MaxWindow)
	clamp(&cfg.Params.WindowRx, MaxWindow)
	if cfg.MaxAPDU <= 0 {
		cfg.MaxAPDU = 0xFFFF + 16
	}
	return &Link{cfg: cfg, neg: Params{}.Effective()}, nil
}

// Connected reports whether the link is connected.
func (l *Link) Connected() bool { return l.state == stateConnected }

// Negotiated returns the parameters in force, from this end's point of
// view (MaxInfoTx is the largest information field this end sends).
func (l *Link) Negotiated() Params { return l.neg }

// Idle reports whether nothing waits to be sent or acknowledged and no
// APDU is half received.
func (l *Link) Idle() bool { return len(l.txq) == 0 && len(l.unacked) == 0 && !l.rxBusy }

func (l *Link) local() Address {
	if l.cfg.Role == RoleClient {
		return l.cfg.Client
	}
	return l.cfg.Server
}

func (l *Link) peer() Address {
	if l.cfg.Role == RoleClient {
		return l.cfg.Server
	}
	return l.cfg.Client
}

func (l *Link) frame(c Control, info []byte, more bool) []byte {
	f := Frame{Segmented: more, Dest: l.peer(), Src: l.local(), Control: c, Info: info}
	return f.Append(make([]byte, 0, f.Len()))
}

// Connect returns the SNRM frame that opens the link (client only). It
// resets the sequence numbers and drops whatever was queued.
func (l *Link) Connect() ([]byte, error) {
	if l.cfg.Role != RoleClient {
		return nil, fmt.Errorf("%w: only a client sends SNRM", ErrState)
	}
	l.reset()
	l.state = stateConnecting
	l.lastTx = l.frame(SNRM, l.cfg.Params.Append(nil), false)
	return l.lastTx, nil
}

// Disconnect returns the DISC frame that closes the link (client only).
func (l *Link) Disconnect() ([]byte, error) {
	if l.cfg.Role != RoleClient {
		return nil, fmt.Errorf("%w: only a client sends DISC", ErrState)
	}
	l.state = stateDisconnecting
	l.lastTx = l.frame(DISC, nil, false)
	return l.lastTx, nil
}

func (l *Link) reset() {
	l.vs, l.vr = 0, 0
	l.txq, l.unacked, l.rx = nil, nil, nil
	l.rxBusy, l.peerBusy, l.rxBad = false, false, false
	l.neg = Params{}.Effective()
}

// Send queues an APDU and returns the frames that may be written now: up
// to the negotiated transmit window of I frames, the last of them with the
// P/F bit. The rest follow from Receive as the peer acknowledges. The APDU
// gets its LLC header and is split into segments of the negotiated
// information field length.
func (l *Link) Send(apdu []byte) ([][]byte, error) {
	if l.state != stateConnected {
		return nil, fmt.Errorf("%w: Send while not connected", ErrState)
	}
	llc := LLCRequest
	if l.cfg.Role == RoleServer {
		llc = LLCResponse
	}
	data := make([]byte, 0, len(llc)+len(apdu))
	data = append(append(data, llc...), apdu...)
	max := int(l.neg.MaxInfoTx)
	for len(data) > 0 {
		n := min(max, len(data))
		l.txq = append(l.txq, segment{info: data[:n:n], more: n < len(data)})
		data = data[n:]
	}
	return l.pump(), nil
}

// pump sends queued segments while the window allows.
func (l *Link) pump() [][]byte {
	var out [][]byte
	win := int(l.neg.WindowTx)
	for !l.peerBusy && len(l.txq) > 0 && len(l.unacked) < win {
		s := l.txq[0]
		l.txq = l.txq[1:]
		s.ns = l.vs
		l.vs = (l.vs + 1) & 7
		poll := len(l.unacked)+1 == win || len(l.txq) == 0
		l.unacked = append(l.unacked, s)
		out = append(out, l.frame(IControl(s.ns, l.vr, poll), s.info, s.more))
		if poll {
			break
		}
	}
	return out
}

// resend sends every unacknowledged frame again (go-back-N), the last with P/F.
func (l *Link) resend() [][]byte {
	out := make([][]byte, 0, len(l.unacked))
	for i, s := range l.unacked {
		out = append(out, l.frame(IControl(s.ns, l.vr, i == len(l.unacked)-1), s.info, s.more))
	}
	return out
}

// ack processes a received N(R).
func (l *Link) ack(nr uint8) error {
	if len(l.unacked) == 0 {
		if nr != l.vs {
			return fmt.Errorf("%w: N(R)=%d, V(S)=%d with nothing outstanding", ErrProtocol, nr, l.vs)
		}
		return nil
	}
	n := int((nr - l.unacked[0].ns) & 7)
	if n > len(l.unacked) {
		return fmt.Errorf("%w: N(R)=%d acknowledges frames never sent (oldest outstanding N(S)=%d, %d outstanding)",
			ErrProtocol, nr, l.unacked[0].ns, len(l.unacked))
	}
	l.unacked = l.unacked[n:]
	return nil
}

// Ack returns an RR frame acknowledging everything received, with P/F
// set: what a server sends when a request it received needs no answer,
// since in normal response mode every poll must be answered.
func (l *Link) Ack() []byte { return l.frame(RRControl(l.vr, true), nil, false) }

// Retransmit returns what to send when the reply timeout expired without
// an answer: a client repeats SNRM or DISC, resends its unacknowledged I
// frames, or polls with RR. A server returns nothing (the client polls).
func (l *Link) Retransmit() [][]byte {
	if l.cfg.Role != RoleClient {
		return nil
	}
	switch l.state {
	case stateConnecting, stateDisconnecting:
		return [][]byte{l.lastTx}
	case stateConnected:
		if len(l.unacked) > 0 {
			return l.resend()
		}
		return [][]byte{l.frame(RRControl(l.vr, true), nil, false)}
	}
	return nil
}

// ErrOtherStation is returned by Receive for a frame between other
// stations (on a multi-drop line); the caller ignores it.
var ErrOtherStation = errors.New("hdlc: frame for another station")

// Receive processes one received frame and returns what to send and what
// arrived. An error leaves the link usable unless the Output says
// otherwise (EventRefused, EventDisconnected); errors wrap ErrProtocol,
// ErrOtherStation, ErrTooLong, ErrLLC or ErrParams.
func (l *Link) Receive(f Frame) (Output, error) {
	if f.Dest != l.local() {
		if !(l.cfg.Role == RoleServer && f.Dest.Size == l.cfg.Server.Size && (f.Dest.Upper == AddrBroadcast1 || f.Dest.Upper == AddrBroadcast2)) {
			return Output{}, fmt.Errorf("%w: to %v, this end is %v", ErrOtherStation, f.Dest, l.local())
		}
	}
	if l.cfg.Role == RoleServer {
		return l.receiveServer(f)
	}
	if f.Src != l.cfg.Server {
		return Output{}, fmt.Errorf("%w: from %v, the server is %v", ErrOtherStation, f.Src, l.cfg.Server)
	}
	return l.receiveClient(f)
}

func (l *Link) receiveClient(f Frame) (Output, error) {
	k := f.Control.Kind()
	switch l.state {
	case stateConnecting:
		switch k {
		case KindUA:
			p, err := ParseParams(f.Info)
			if err != nil {
				return Output{}, fmt.Errorf("UA to SNRM: %w", err)
			}
			l.negotiateClient(p)
			l.state = stateConnected
			return Output{Event: EventConnected}, nil
		case KindDM:
			l.state = stateDisconnected
			return Output{Event: EventRefused}, fmt.Errorf("%w: DM in reply to SNRM", ErrProtocol)
		}
		return Output{}, fmt.Errorf("%w: %v while waiting for UA to SNRM", ErrProtocol, f.Control)
	case stateDisconnecting:
		switch k {
		case KindUA, KindDM:
			l.state = stateDisconnected
			l.reset()
			return Output{Event: EventDisconnected}, nil
		}
		return Output{}, fmt.Errorf("%w: %v while waiting for UA to DISC", ErrProtocol, f.Control)
	case stateDisconnected:
		return Output{}, fmt.Errorf("%w: %v while disconnected", ErrProtocol, f.Control)
	}
	switch k {
	case KindI, KindRR, KindRNR:
		return l.receiveData(f)
	case KindDM:
		l.state = stateDisconnected
		l.reset()
		return Output{Event: EventDisconnected}, fmt.Errorf("%w: DM: the server dropped the link", ErrProtocol)
	case KindFRMR:
		return Output{}, fmt.Errorf("%w: FRMR (% X)", ErrProtocol, f.Info)
	case KindUI:
		return Output{}, nil
	}
	return Output{}, fmt.Errorf("%w: unexpected %v", ErrProtocol, f.Control)
}

// negotiateClient applies a UA's parameters (the server's view) to a
// client's proposal.
func (l *Link) negotiateClient(ua Params) {
	u := ua.Effective()
	own := l.cfg.Params.Effective()
	l.neg = Params{
		MaxInfoTx: min(u.MaxInfoRx, own.MaxInfoTx, MaxInfo),
		MaxInfoRx: min(u.MaxInfoTx, own.MaxInfoRx, MaxInfo),
		WindowTx:  max(1, min(u.WindowRx, own.WindowTx, MaxWindow)),
		WindowRx:  max(1, min(u.WindowTx, own.WindowRx, MaxWindow)),
	}
}

func (l *Link) receiveServer(f Frame) (Output, error) {
	k := f.Control.Kind()
	if l.cfg.Client != (Address{}) && f.Src != l.cfg.Client {
		if k != KindSNRM || l.state == stateConnected {
			return Output{}, fmt.Errorf("%w: from %v, the client is %v", ErrOtherStation, f.Src, l.cfg.Client)
		}
	}
	switch k {
	case KindSNRM:
		p, err := ParseParams(f.Info)
		if err != nil {
			return Output{}, fmt.Errorf("SNRM: %w", err)
		}
		l.reset()
		l.cfg.Client = f.Src
		ua := l.negotiateServer(p)
		l.state = stateConnected
		return Output{Frames: [][]byte{l.frame(UA, ua.Append(nil), false)}, Event: EventConnected}, nil
	case KindDISC:
		if l.state != stateConnected {
			return Output{Frames: [][]byte{l.frame(DM, nil, false)}}, nil
		}
		l.reset()
		l.state = stateDisconnected
		return Output{Frames: [][]byte{l.frame(UA, nil, false)}, Event: EventDisconnected}, nil
	}
	if l.state != stateConnected {
		if f.Control.PF() {
			return Output{Frames: [][]byte{l.frame(DM, nil, false)}}, fmt.Errorf("%w: %v while disconnected", ErrProtocol, f.Control)
		}
		return Output{}, fmt.Errorf("%w: %v while disconnected", ErrProtocol, f.Control)
	}
	switch k {
	case KindI, KindRR, KindRNR:
		return l.receiveData(f)
	case KindUI:
		return Output{}, nil
	}
	return Output{}, fmt.Errorf("%w: unexpected %v", ErrProtocol, f.Control)
}

// negotiateServer settles the parameters for a SNRM (the client's view)
// and returns the UA's (the server's view).
func (l *Link) negotiateServer(snrm Params) Params {
	s := snrm.Effective()
	own := l.cfg.Params.Effective()
	ua := Params{
		MaxInfoTx: min(s.MaxInfoRx, own.MaxInfoTx, MaxInfo),
		MaxInfoRx: min(s.MaxInfoTx, own.MaxInfoRx, MaxInfo),
		WindowTx:  max(1, min(s.WindowRx, own.WindowTx, MaxWindow)),
		WindowRx:  max(1, min(s.WindowTx, own.WindowRx, MaxWindow)),
	}
	l.neg = ua
	return ua
}

// receiveData handles I, RR and RNR on a connected link.
func (l *Link) receiveData(f Frame) (Output, error) {
	var out Output
	c := f.Control
	if err := l.ack(c.NR()); err != nil {
		return out, err
	}
	switch c.Kind() {
	case KindRNR:
		l.peerBusy = true
		return out, nil
	case KindRR:
		l.peerBusy = false
		if c.PF() && len(l.unacked) > 0 {
			out.Frames = l.resend()
			return out, nil
		}
		out.Frames = l.pump()
		if len(out.Frames) == 0 && c.PF() && l.cfg.Role == RoleServer {
			// A poll must be answered even when there is nothing to send.
			out.Frames = [][]byte{l.Ack()}
		}
		return out, nil
	}
	// I frame.
	if c.NS() != l.vr {
		// A repeat (our acknowledgement was lost) or a gap (a frame was
		// lost): discard it; if polled, say where we are, or repeat what
		// the peer has not acknowledged.
		if c.PF() {
			if len(l.unacked) > 0 {
				out.Frames = l.resend()
			} else {
				out.Frames = [][]byte{l.frame(RRControl(l.vr, true), nil, false)}
			}
		}
		return out, fmt.Errorf("%w: I frame N(S)=%d, expected %d: discarded", ErrProtocol, c.NS(), l.vr)
	}
	l.vr = (l.vr + 1) & 7
	info := f.Info
	var err error
	switch {
	case l.rxBad:
		err = fmt.Errorf("%w: rest of a discarded APDU", ErrProtocol)
	case !l.rxBusy:
		if info, err = StripLLC(info, l.cfg.Role == RoleClient); err == nil {
			l.rx = l.rx[:0]
		}
	}
	if err == nil && len(l.rx)+len(info) > l.cfg.MaxAPDU {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLong, l.cfg.MaxAPDU)
	}
	if err != nil {
		// Drop the APDU but keep the numbering: acknowledge as usual.
		l.rx, l.rxBusy, l.rxBad = nil, false, f.Segmented
		if f.Segmented && c.PF() {
			out.Frames = [][]byte{l.frame(RRControl(l.vr, true), nil, false)}
		} else if !f.Segmented {
			out.Frames = l.pump()
			if len(out.Frames) == 0 && c.PF() && l.cfg.Role == RoleServer {
				out.Frames = [][]byte{l.Ack()}
			}
		}
		return out, err
	}
	l.rx = append(l.rx, info...)
	if f.Segmented {
		l.rxBusy = true
		if c.PF() {
			out.Frames = [][]byte{l.frame(RRControl(l.vr, true), nil, false)}
		}
		return out, nil
	}
	l.rxBusy = false
	out.APDU = l.rx
	if out.APDU == nil {
		out.APDU = []byte{}
	}
	l.rx = nil
	// A client that still has segments queued (the server answered early)
	// keeps sending them; normally nothing is queued here.
	out.Frames = l.pump()
	return out, nil
}
