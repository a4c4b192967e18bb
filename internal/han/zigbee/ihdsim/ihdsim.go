package ihdsim

import (
	"sync"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/proto/zcl"
)

// IHD is a simulated display. Its zero value is not usable; use New.
type IHD struct {
	// Endpoint is the display's endpoint (default 1) and ESI the ESI's.
	Endpoint, ESI uint8
	// OptOut makes the display opt out of every load control event it
	// gets (after reporting it received).
	OptOut bool
	// Now is the display's clock for confirmation times; nil is time.Now.
	Now func() time.Time

	mu       sync.Mutex
	changed  chan struct{}
	seq      uint8
	attrs    map[uint16]map[uint16]zcl.Value // cluster → attribute → value
	reports  int
	prices   []zcl.PublishPrice
	messages []zcl.DisplayMessage
	cancels  []zcl.CancelMessage
	events   []zcl.LoadControlEvent
	evCancel []zcl.CancelLoadControlEvent
	defaults []Default
	profiles []zcl.GetProfileResponse
	other    []zcl.Frame
	cfgResp  []zcl.StatusRecord
}

// Default is a Default Response the display received.
type Default struct {
	Cluster uint16
	Seq     uint8
	zcl.DefaultResponse
}

// New returns a display on endpoint 1 talking to the ESI on endpoint 1.
func New() *IHD {
	return &IHD{Endpoint: 1, ESI: 1, changed: make(chan struct{}), attrs: map[uint16]map[uint16]zcl.Value{}}
}

func (d *IHD) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// notify wakes waiters; called with mu held.
func (d *IHD) notify() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Wait calls cond (with the display locked) until it returns true or
// timeout passes; it reports whether cond became true.
func (d *IHD) Wait(timeout time.Duration, cond func(v *View) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		ok := cond(&View{d})
		ch := d.changed
		d.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// View is the display's state as Wait's condition sees it.
type View struct{ d *IHD }

// Attr returns the last value of an attribute read or reported.
func (v *View) Attr(cluster, id uint16) (zcl.Value, bool) {
	a, ok := v.d.attrs[cluster][id]
	return a, ok
}

// Reports counts the Report Attributes frames received.
func (v *View) Reports() int { return v.d.reports }

// Prices are the PublishPrice commands received, in order.
func (v *View) Prices() []zcl.PublishPrice { return v.d.prices }

// Messages are the DisplayMessage commands received.
func (v *View) Messages() []zcl.DisplayMessage { return v.d.messages }

// Cancels are the CancelMessage commands received.
func (v *View) Cancels() []zcl.CancelMessage { return v.d.cancels }

// Events are the LoadControlEvent commands received.
func (v *View) Events() []zcl.LoadControlEvent { return v.d.events }

// EventCancels are the CancelLoadControlEvent commands received.
func (v *View) EventCancels() []zcl.CancelLoadControlEvent { return v.d.evCancel }

// Defaults are the Default Responses received.
func (v *View) Defaults() []Default { return v.d.defaults }

// Profiles are the GetProfileResponse commands received.
func (v *View) Profiles() []zcl.GetProfileResponse { return v.d.profiles }

// ConfigureResponses are the Configure Reporting Response records received.
func (v *View) ConfigureResponses() []zcl.StatusRecord { return v.d.cfgResp }

// Other are frames the display did not understand.
func (v *View) Other() []zcl.Frame { return v.d.other }

// Handle is the display's application: it takes a frame the ESI sent and
// returns the frames the display answers with.
func (d *IHD) Handle(in hal.Frame) [][]byte {
	f, err := zcl.ParseFrame(in.Payload)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.notify()
	var out [][]byte
	if f.Type == zcl.FrameGlobal {
		switch f.Command {
		case zcl.CmdReadAttributesResponse:
			recs, err := zcl.ParseReadAttributesResponse(f.Payload)
			if err == nil {
				for _, r := range recs {
					if r.Status == zcl.StatusSuccess {
						d.set(in.Cluster, r.ID, r.Value)
					}
				}
			}
		case zcl.CmdReportAttributes:
			recs, err := zcl.ParseAttrValues(f.Payload)
			if err == nil {
				d.reports++
				for _, r := range recs {
					d.set(in.Cluster, r.ID, r.Value)
				}
			}
		case zcl.CmdDefaultResponse:
			if dr, err := zcl.ParseDefaultResponse(f.Payload); err == nil {
				d.defaults = append(d.defaults, Default{Cluster: in.Cluster, Seq: f.Seq, DefaultResponse: dr})
			}
		case zcl.CmdConfigureReportingResponse:
			if rs, err := zcl.ParseConfigureReportingResponse(f.Payload); err == nil {
				d.cfgResp = append(d.cfgResp, rs...)
			}
		default:
			d.other = append(d.other, f)
		}
		return out
	}
	switch {
	case in.Cluster == zcl.ClusterPrice && f.Command == zcl.CmdPublishPrice:
		if p, err := zcl.ParsePublishPrice(f.Payload); err == nil {
			d.prices = append(d.prices, p)
		}
	case in.Cluster == zcl.ClusterMessaging && f.Command == zcl.CmdDisplayMessage:
		m, err := zcl.ParseDisplayMessage(f.Payload)
		if err != nil {
			break
		}
		d.messages = append(d.messages, m)
		if m.Control&zcl.MsgConfirmRequired != 0 {
			out = append(out, d.frame(zcl.FrameCluster, zcl.CmdMessageConfirmation,
				zcl.AppendMessageConfirmation(nil, zcl.MessageConfirmation{ID: m.ID, Time: zcl.UTCTime(d.now())})))
		}
	case in.Cluster == zcl.ClusterMessaging && f.Command == zcl.CmdCancelMessage:
		if c, err := zcl.ParseCancelMessage(f.Payload); err == nil {
			d.cancels = append(d.cancels, c)
		}
	case in.Cluster == zcl.ClusterDRLC && f.Command == zcl.CmdLoadControlEvent:
		e, err := zcl.ParseLoadControlEvent(f.Payload)
		if err != nil {
			break
		}
		d.events = append(d.events, e)
		out = append(out, d.frame(zcl.FrameCluster, zcl.CmdReportEventStatus, zcl.AppendReportEventStatus(nil, d.status(e, zcl.EventReceived))))
		if d.OptOut {
			out = append(out, d.frame(zcl.FrameCluster, zcl.CmdReportEventStatus, zcl.AppendReportEventStatus(nil, d.status(e, zcl.EventOptOut))))
		}
	case in.Cluster == zcl.ClusterDRLC && f.Command == zcl.CmdCancelLoadControlEvent:
		if c, err := zcl.ParseCancelLoadControlEvent(f.Payload); err == nil {
			d.evCancel = append(d.evCancel, c)
		}
	case in.Cluster == zcl.ClusterMetering && f.Command == zcl.CmdGetProfileResponse:
		if p, err := zcl.ParseGetProfileResponse(f.Payload); err == nil {
			d.profiles = append(d.profiles, p)
		}
	default:
		d.other = append(d.other, f)
	}
	return out
}

func (d *IHD) status(e zcl.LoadControlEvent, st uint8) zcl.ReportEventStatus {
	return zcl.ReportEventStatus{IssuerEventID: e.IssuerEventID, Status: st, Time: zcl.UTCTime(d.now()),
		CriticalityApplied: e.Criticality, CoolingSetPoint: 0x8000, HeatingSetPoint: 0x8000, AvgLoadAdjust: -128, DutyCycle: 0xff}
}

func (d *IHD) set(cluster, id uint16, v zcl.Value) {
	if d.attrs[cluster] == nil {
		d.attrs[cluster] = map[uint16]zcl.Value{}
	}
	d.attrs[cluster][id] = v
}

// frame builds a client-to-server frame; called with mu held.
func (d *IHD) frame(t zcl.FrameType, cmd uint8, payload []byte) []byte {
	d.seq++
	return zcl.AppendFrame(nil, zcl.Frame{Header: zcl.Header{Type: t, Direction: zcl.ClientToServer, Seq: d.seq, Command: cmd}, Payload: payload})
}

// Frame builds a client-to-server frame with the display's next sequence
// number (to send with the transport of the test).
func (d *IHD) Frame(t zcl.FrameType, cmd uint8, payload []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame(t, cmd, payload)
}

// ReadAttributes builds a Read Attributes request.
func (d *IHD) ReadAttributes(ids ...uint16) []byte {
	return d.Frame(zcl.FrameGlobal, zcl.CmdReadAttributes, zcl.AppendReadAttributes(nil, ids))
}

// ConfigureReporting builds a Configure Reporting request.
func (d *IHD) ConfigureReporting(cfgs ...zcl.ReportingConfig) []byte {
	p, _ := zcl.AppendConfigureReporting(nil, cfgs)
	return d.Frame(zcl.FrameGlobal, zcl.CmdConfigureReporting, p)
}

// GetCurrentPrice builds a GetCurrentPrice request (receiver on when idle).
func (d *IHD) GetCurrentPrice() []byte {
	return d.Frame(zcl.FrameCluster, zcl.CmdGetCurrentPrice, zcl.AppendGetCurrentPrice(nil, zcl.GetCurrentPrice{Options: 1}))
}

// GetScheduledPrices builds a GetScheduledPrices request from now.
func (d *IHD) GetScheduledPrices(n uint8) []byte {
	return d.Frame(zcl.FrameCluster, zcl.CmdGetScheduledPrices, zcl.AppendGetScheduled(nil, zcl.GetScheduled{Count: n}))
}

// GetProfile builds a GetProfile request for the latest n intervals.
func (d *IHD) GetProfile(n uint8) []byte {
	return d.Frame(zcl.FrameCluster, zcl.CmdGetProfile, zcl.AppendGetProfile(nil, zcl.GetProfile{Channel: zcl.ChannelDelivered, Periods: n}))
}
