package zigbee

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"
	"unicode/utf8"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/tariff"
)

// IDOf maps a tariff model id (a message's or event's) to the 32-bit id
// Zigbee carries: FNV-1a, never 0 or 0xffffffff.
func IDOf(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	v := h.Sum32()
	if v == 0 || v == 0xffffffff {
		v = 1
	}
	return v
}

// currencies maps ISO 4217 letter codes to their numeric codes (the Price
// cluster's Currency field).
var currencies = map[string]uint16{
	"EUR": 978, "GBP": 826, "USD": 840, "CHF": 756, "SEK": 752, "DKK": 208, "NOK": 578,
	"PLN": 985, "CZK": 203, "HUF": 348, "RON": 946, "BGN": 975, "ISK": 352, "CAD": 124, "AUD": 36, "NZD": 554, "JPY": 392,
}

// priceField converts a price per unit to the Price field and its
// trailing digits; prices below zero are sent as 0 (SE 1.1 has no
// negative prices) and ok is false then.
func priceField(v meter.Value) (uint32, uint8, bool) {
	if v.M < 0 {
		return 0, 0, false
	}
	v = v.Normalize()
	if v.E > 0 {
		w, err := v.Rescale(0)
		if err != nil {
			return 0xfffffffe, 0, false
		}
		v = w
	}
	if -v.E > 15 {
		w, _ := v.Round(-15)
		v = w
	}
	for v.M > 0xfffffffe && v.E < 0 {
		w, _ := v.Round(v.E + 1)
		v = w
	}
	if v.M > 0xfffffffe {
		return 0xfffffffe, 0, false
	}
	return uint32(v.M), uint8(-v.E), true
}

// publishPrice builds the PublishPrice of p starting at start (0: now),
// valid until end (zero: until changed).
func (s *Service) publishPrice(p tariff.Price, id uint32, start, end time.Time) zcl.PublishPrice {
	now := s.o.Now()
	pp := zcl.PublishPrice{ProviderID: s.o.ProviderID, IssuerEventID: id, CurrentTime: zcl.UTCTime(now), Duration: 0xffff}
	pp.UnusedPriceFields()
	label := p.Label
	for len(label) > 12 {
		_, n := utf8.DecodeLastRuneInString(label)
		label = label[:len(label)-n]
	}
	pp.RateLabel = []byte(label)
	v := p.Price
	switch p.Unit {
	case "MWh":
		v.E -= 3
		pp.UnitOfMeasure = zcl.UnitKWh
	case "m3":
		pp.UnitOfMeasure = zcl.UnitCubicMetre
	case "l":
		pp.UnitOfMeasure = zcl.UnitLitre
	default:
		pp.UnitOfMeasure = zcl.UnitKWh
	}
	pp.Currency = currencies[p.Currency]
	var ok bool
	pp.Price, pp.TrailingDigit, ok = priceField(v)
	if !ok {
		s.log.Warn("price not representable in the Price cluster; sent clamped", "price", p.Price.String(), "currency", p.Currency)
	}
	if p.Tier >= 1 && p.Tier <= 15 {
		pp.PriceTier, pp.RegisterTier = uint8(p.Tier), uint8(p.Tier)
	}
	if sch, ok := s.o.Tariff.ScheduleAt(now); ok {
		pp.NumberOfTiers = uint8(min(len(sch.Tiers), 15))
	}
	pp.NumberOfBlockThresholds = uint8(min(len(p.Blocks), 15))
	if !start.IsZero() {
		pp.StartTime = zcl.UTCTime(start)
	} else {
		start = now
	}
	if !end.IsZero() {
		pp.Duration = uint16(min(max(end.Sub(start)/time.Minute, 1), 0xfffe))
	}
	return pp
}

// currentPrice returns the PublishPrice of the price now, or false.
func (s *Service) currentPrice() (zcl.PublishPrice, bool) {
	if s.o.Tariff == nil {
		return zcl.PublishPrice{}, false
	}
	now := s.o.Now()
	p, ok := s.o.Tariff.PriceAt(now)
	if !ok {
		return zcl.PublishPrice{}, false
	}
	if !samePrice(p, s.lastPrice) || s.priceID == 0 {
		s.lastPrice, s.priceID = p, max(zcl.UTCTime(now), s.priceID+1)
	}
	next, _, hasNext := s.o.Tariff.NextChange(now)
	s.nextPrice = time.Time{}
	if hasNext {
		s.nextPrice = next
	}
	var end time.Time
	if hasNext {
		end = next
	}
	return s.publishPrice(p, s.priceID, time.Time{}, end), true
}

func samePrice(a, b tariff.Price) bool {
	return a.Price.Cmp(b.Price) == 0 && a.Currency == b.Currency && a.Unit == b.Unit && a.Tier == b.Tier &&
		a.Dynamic == b.Dynamic && a.Schedule == b.Schedule && a.Label == b.Label
}

// scheduledPrices lists the prices from t on (the one in effect at t and
// the changes after it), at most n.
func (s *Service) scheduledPrices(t time.Time, n int) []zcl.PublishPrice {
	if s.o.Tariff == nil {
		return nil
	}
	var out []zcl.PublishPrice
	cur, ok := s.o.Tariff.PriceAt(t)
	at := t
	for len(out) < n {
		next, np, more := s.o.Tariff.NextChange(at)
		var end time.Time
		if more {
			end = next
		}
		if ok {
			start := at
			if !at.After(s.o.Now()) {
				start = time.Time{}
			}
			out = append(out, s.publishPrice(cur, max(zcl.UTCTime(at), 1), start, end))
		}
		if !more {
			break
		}
		at, cur, ok = next, np, true
	}
	return out
}

func (s *Service) device(nwk uint16) *pushState {
	ps, ok := s.sent[nwk]
	if !ok {
		ps = &pushState{messages: map[string]bool{}, cancels: map[string]bool{}, events: map[string]bool{}, evCancel: map[string]bool{}}
		s.sent[nwk] = ps
	}
	return ps
}

// pushAll sends each device what it has not had: the current price,
// messages and their cancellations, DR events and their cancellations.
// Devices are reached on the endpoint they last spoke from.
func (s *Service) pushAll(ctx context.Context) {
	if s.o.Tariff == nil {
		return
	}
	var targets []DeviceInfo
	for _, d := range s.Devices() {
		if d.Endpoint != 0 {
			targets = append(targets, d)
		}
	}
	pp, havePrice := s.currentPrice()
	now := s.o.Now()
	msgs := s.o.Tariff.AllMessages()
	evs := s.o.Tariff.AllEvents()
	for _, d := range targets {
		ps := s.device(d.NWK)
		if havePrice && ps.price != pp.IssuerEventID {
			ps.price = pp.IssuerEventID
			s.sendCluster(d, zcl.ClusterPrice, zcl.CmdPublishPrice, mustPrice(pp))
		}
		for _, m := range msgs {
			end, ends := m.End()
			live := !ends || end.After(now)
			switch {
			case m.Cancelled != nil && ps.messages[m.ID] && !ps.cancels[m.ID]:
				ps.cancels[m.ID] = true
				s.sendCluster(d, zcl.ClusterMessaging, zcl.CmdCancelMessage, zcl.AppendCancelMessage(nil, zcl.CancelMessage{ID: IDOf(m.ID), Control: msgControl(m)}))
			case live && m.Cancelled == nil && !ps.messages[m.ID]:
				ps.messages[m.ID] = true
				s.sendCluster(d, zcl.ClusterMessaging, zcl.CmdDisplayMessage, s.displayMessage(m))
			}
		}
		for _, e := range evs {
			switch {
			case e.Cancelled != nil && ps.events[e.ID] && !ps.evCancel[e.ID]:
				ps.evCancel[e.ID] = true
				s.sendCluster(d, zcl.ClusterDRLC, zcl.CmdCancelLoadControlEvent, zcl.AppendCancelLoadControlEvent(nil, zcl.CancelLoadControlEvent{
					IssuerEventID: IDOf(e.ID), DeviceClass: deviceClass(e.DeviceClasses), EffectiveTime: zcl.UTCTime(*e.Cancelled)}))
			case e.Cancelled == nil && e.End().After(now) && !ps.events[e.ID]:
				ps.events[e.ID] = true
				s.sendCluster(d, zcl.ClusterDRLC, zcl.CmdLoadControlEvent, zcl.AppendLoadControlEvent(nil, loadControlEvent(e)))
			}
		}
	}
}

func mustPrice(pp zcl.PublishPrice) []byte {
	b, _ := zcl.AppendPublishPrice(nil, pp) // fields are in range by construction
	return b
}

// sendCluster sends a server-to-client cluster command to d from the ESI.
func (s *Service) sendCluster(d DeviceInfo, cluster uint16, cmd uint8, payload []byte) {
	h := zcl.Header{Type: zcl.FrameCluster, Direction: zcl.ServerToClient, Seq: s.nextSeq(), Command: cmd}
	s.send(d.NWK, d.Endpoint, s.esi, cluster, zcl.AppendFrame(nil, zcl.Frame{Header: h, Payload: payload}))
}

func msgControl(m tariff.Message) uint8 {
	c := map[string]uint8{"low": zcl.MsgImportanceLow, "medium": zcl.MsgImportanceMedium, "high": zcl.MsgImportanceHigh, "critical": zcl.MsgImportanceCritical}[m.Priority]
	if m.ConfirmationRequired {
		c |= zcl.MsgConfirmRequired
	}
	return c
}

// displayMessage builds a DisplayMessage, the text cut (at a character
// boundary) to what fits one APS frame.
func (s *Service) displayMessage(m tariff.Message) []byte {
	text := m.Text
	room := s.maxPay - 3 - 12
	for len(text) > room {
		_, n := utf8.DecodeLastRuneInString(text)
		text = text[:len(text)-n]
	}
	dur := uint16(0xffff)
	if m.Minutes > 0 {
		dur = uint16(min(m.Minutes, 0xfffe))
	}
	b, _ := zcl.AppendDisplayMessage(nil, zcl.DisplayMessage{ID: IDOf(m.ID), Control: msgControl(m), StartTime: zcl.UTCTime(m.Start), Duration: dur, Message: []byte(text)})
	return b
}

// deviceClass maps the tariff model's device classes to the DRLC bits.
func deviceClass(classes []string) uint16 {
	var c uint16
	for _, n := range classes {
		c |= map[string]uint16{
			"hvac": zcl.ClassHVAC, "heat-pump": zcl.ClassHVAC | zcl.ClassStripHeater, "water-heater": zcl.ClassWaterHeater,
			"pool-pump": zcl.ClassPoolPump, "smart-appliance": zcl.ClassSmartAppl, "ev-charger": zcl.ClassEV,
			"battery": zcl.ClassGeneration, "lighting": zcl.ClassExtLighting | zcl.ClassIntLighting,
			"load-control": zcl.ClassSimpleMisc, "generation": zcl.ClassGeneration,
		}[n]
	}
	return c
}

func loadControlEvent(e tariff.Event) zcl.LoadControlEvent {
	lce := zcl.LoadControlEvent{IssuerEventID: IDOf(e.ID), DeviceClass: deviceClass(e.DeviceClasses),
		StartTime: zcl.UTCTime(e.Start), Duration: uint16(e.Minutes), Criticality: uint8(e.Criticality)}
	lce.UnusedLoadFields()
	if e.LoadReduction > 0 {
		lce.AvgLoadAdjust = int8(-e.LoadReduction)
	}
	return lce
}

// clusterCommand handles a cluster-specific command to a served cluster.
func (s *Service) clusterCommand(ctx context.Context, ep *meterEP, in hal.Frame, f zcl.Frame) ([]reply, zcl.Status) {
	dev := s.euiOf(in.SrcAddr)
	switch in.Cluster {
	case zcl.ClusterMetering:
		if f.Command != zcl.CmdGetProfile {
			return nil, zcl.StatusUnsupClusterCommand
		}
		g, err := zcl.ParseGetProfile(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		p, err := zcl.AppendGetProfileResponse(nil, s.getProfile(ctx, ep, g))
		if err != nil {
			return nil, zcl.StatusFailure
		}
		return []reply{{cmd: zcl.CmdGetProfileResponse, cluster: true, payload: p}}, zcl.StatusSuccess
	case zcl.ClusterIdentify:
		switch f.Command {
		case zcl.CmdIdentify:
			if len(f.Payload) < 2 {
				return nil, zcl.StatusMalformedCommand
			}
			s.setIdentify(time.Duration(uint16(f.Payload[0])|uint16(f.Payload[1])<<8) * time.Second)
			return nil, zcl.StatusSuccess
		case zcl.CmdIdentifyQuery:
			left := time.Until(s.identify)
			if s.identify.IsZero() || left <= 0 {
				return nil, zcl.StatusSuccess
			}
			t := uint16(min(left/time.Second+1, 0xffff))
			return []reply{{cmd: zcl.CmdIdentifyQueryResponse, cluster: true, payload: []byte{byte(t), byte(t >> 8)}}}, zcl.StatusSuccess
		}
		return nil, zcl.StatusUnsupClusterCommand
	case zcl.ClusterPrice:
		if s.o.Tariff == nil {
			if f.Command <= zcl.CmdGetScheduledPrices {
				return nil, zcl.StatusNotFound
			}
			return nil, zcl.StatusUnsupClusterCommand
		}
		switch f.Command {
		case zcl.CmdGetCurrentPrice:
			if _, err := zcl.ParseGetCurrentPrice(f.Payload); err != nil {
				return nil, zcl.StatusOf(err)
			}
			pp, ok := s.currentPrice()
			if !ok {
				return nil, zcl.StatusNotFound
			}
			s.device(in.SrcAddr).price = pp.IssuerEventID
			return []reply{{cmd: zcl.CmdPublishPrice, cluster: true, payload: mustPrice(pp)}}, zcl.StatusSuccess
		case zcl.CmdGetScheduledPrices:
			g, err := zcl.ParseGetScheduled(f.Payload)
			if err != nil {
				return nil, zcl.StatusOf(err)
			}
			t := s.o.Now()
			if g.StartTime != 0 {
				t = zcl.TimeOf(g.StartTime)
			}
			n := int(g.Count)
			if n == 0 || n > 8 {
				n = 8
			}
			var rs []reply
			for _, pp := range s.scheduledPrices(t, n) {
				rs = append(rs, reply{cmd: zcl.CmdPublishPrice, cluster: true, payload: mustPrice(pp)})
			}
			if len(rs) == 0 {
				return nil, zcl.StatusNotFound
			}
			return rs, zcl.StatusSuccess
		case zcl.CmdPriceAcknowledgement:
			return nil, zcl.StatusSuccess
		}
		return nil, zcl.StatusUnsupClusterCommand
	case zcl.ClusterMessaging:
		switch f.Command {
		case zcl.CmdGetLastMessage:
			if s.o.Tariff == nil {
				return nil, zcl.StatusNotFound
			}
			ms := s.o.Tariff.Messages(s.o.Now())
			if len(ms) == 0 {
				return nil, zcl.StatusNotFound
			}
			last := ms[len(ms)-1]
			s.device(in.SrcAddr).messages[last.ID] = true
			return []reply{{cmd: zcl.CmdDisplayMessage, cluster: true, payload: s.displayMessage(last)}}, zcl.StatusSuccess
		case zcl.CmdMessageConfirmation:
			c, err := zcl.ParseMessageConfirmation(f.Payload)
			if err != nil {
				return nil, zcl.StatusOf(err)
			}
			if s.o.Tariff == nil {
				return nil, zcl.StatusNotFound
			}
			for _, m := range s.o.Tariff.AllMessages() {
				if IDOf(m.ID) != c.ID {
					continue
				}
				at := s.o.Now()
				if c.Time != 0 && c.Time != 0xffffffff && !zcl.TimeOf(c.Time).After(at) {
					at = zcl.TimeOf(c.Time)
				}
				if err := s.o.Tariff.Confirm(ctx, m.ID, dev, at); err != nil {
					s.log.Warn("message confirmation", "message", m.ID, "device", dev, "err", err)
					return nil, zcl.StatusFailure
				}
				s.log.Info("message confirmed", "message", m.ID, "device", dev)
				return nil, zcl.StatusSuccess
			}
			return nil, zcl.StatusNotFound
		}
		return nil, zcl.StatusUnsupClusterCommand
	case zcl.ClusterDRLC:
		switch f.Command {
		case zcl.CmdReportEventStatus:
			r, err := zcl.ParseReportEventStatus(f.Payload)
			if err != nil {
				return nil, zcl.StatusOf(err)
			}
			return nil, s.eventStatus(ctx, dev, r)
		case zcl.CmdGetScheduledEvents:
			g, err := zcl.ParseGetScheduled(f.Payload)
			if err != nil {
				return nil, zcl.StatusOf(err)
			}
			if s.o.Tariff == nil {
				return nil, zcl.StatusNotFound
			}
			t := s.o.Now()
			if g.StartTime != 0 {
				t = zcl.TimeOf(g.StartTime)
			}
			var rs []reply
			for _, e := range s.o.Tariff.AllEvents() {
				if e.Cancelled != nil || !e.End().After(t) || (g.Count != 0 && len(rs) >= int(g.Count)) {
					continue
				}
				s.device(in.SrcAddr).events[e.ID] = true
				rs = append(rs, reply{cmd: zcl.CmdLoadControlEvent, cluster: true, payload: zcl.AppendLoadControlEvent(nil, loadControlEvent(e))})
			}
			if len(rs) == 0 {
				return nil, zcl.StatusNotFound
			}
			return rs, zcl.StatusSuccess
		}
		return nil, zcl.StatusUnsupClusterCommand
	}
	return nil, zcl.StatusUnsupClusterCommand
}

var eventStatusNames = map[uint8]string{
	zcl.EventReceived: "received", zcl.EventStarted: "started", zcl.EventCompleted: "completed",
	zcl.EventOptOut: "opted out", zcl.EventOptIn: "opted in", zcl.EventCancelled: "cancelled",
	zcl.EventSuperseded: "superseded", zcl.EventPartialOptOut: "partially completed (opt-out)",
	zcl.EventPartialOptIn: "partially completed (opt-in)", zcl.EventCompletedNoPart: "completed without participation",
	zcl.EventRejectedCancel: "rejected: invalid cancel", zcl.EventRejectedExpired: "rejected: expired",
	zcl.EventRejectedUndef: "rejected: undefined event", zcl.EventRejected: "rejected",
}

// eventStatus records a device's ReportEventStatus in the consumer log
// and passes an opt-out to the tariff model.
func (s *Service) eventStatus(ctx context.Context, dev string, r zcl.ReportEventStatus) zcl.Status {
	if s.o.Tariff == nil {
		return zcl.StatusNotFound
	}
	var ev *tariff.Event
	for _, e := range s.o.Tariff.AllEvents() {
		if IDOf(e.ID) == r.IssuerEventID {
			ev = &e
			break
		}
	}
	if ev == nil {
		s.log.Info("event status for an unknown event", "issuer_event_id", r.IssuerEventID, "device", dev)
		return zcl.StatusNotFound
	}
	name := eventStatusNames[r.Status]
	if name == "" {
		name = fmt.Sprintf("status 0x%02x", r.Status)
	}
	s.consumerLog(ctx, "dr-event-status", fmt.Sprintf("Device %s: demand-response event %s %s", dev, ev.ID, name),
		map[string]string{"event": ev.ID, "device": dev, "status": fmt.Sprintf("0x%02x", r.Status)})
	if r.Status == zcl.EventOptOut || r.Status == zcl.EventPartialOptOut {
		if err := s.o.Tariff.OptOut(ctx, ev.ID, dev); err != nil {
			s.log.Warn("opt-out refused", "event", ev.ID, "device", dev, "err", err)
			return zcl.StatusActionDenied
		}
		s.log.Info("device opted out", "event", ev.ID, "device", dev)
	}
	return zcl.StatusSuccess
}
