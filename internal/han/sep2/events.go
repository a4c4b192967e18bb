package sep2

import (
	"net/url"
	"slices"
	"time"

	"github.com/smgw/smgw/internal/tariff"
)

func (h *Handler) messaging(seg []string, pg Page) (any, string, error) {
	base := h.href("msg", "0")
	now := h.now()
	all := h.src.Messages()
	prog := func() messagingProgram {
		return messagingProgram{
			Href:                      base,
			identified:                identified{MRID: mRID("MessagingProgram", "0"), Description: "utility messages"},
			ActiveTextMessageListLink: &listLink{Href: base + "/acttm"},
			Locale:                    h.o.Locale,
			Primacy:                   1,
			TextMessageListLink:       &listLink{Href: base + "/tm", All: u32p(clampAll(len(all)))},
		}
	}
	switch {
	case len(seg) == 0:
		l := &messagingProgramList{PollRate: h.poll}
		l.Href, l.All = h.href("msg"), 1
		if lo, hi := pg.window(1, nil); hi > lo {
			l.Items = append(l.Items, prog())
		}
		l.Results = uint32(len(l.Items))
		return l, "MessagingProgramList", nil
	case seg[0] != "0":
		return nil, "", errNotFound
	case len(seg) == 1:
		x := prog()
		return &x, "MessagingProgram", nil
	case len(seg) == 2 && (seg[1] == "tm" || seg[1] == "acttm"):
		ms := all
		if seg[1] == "acttm" {
			ms = slices.DeleteFunc(slices.Clone(ms), func(m tariff.Message) bool { return !m.ActiveAt(now) })
		}
		l := &textMessageList{}
		l.Href, l.All = base+"/"+seg[1], clampAll(len(ms))
		lo, hi := pg.window(len(ms), func(i int) int64 { return ms[i].Start.Unix() })
		for _, m := range ms[lo:hi] {
			l.Items = append(l.Items, h.textMessage(base, m, now))
		}
		l.Results = uint32(len(l.Items))
		return l, "TextMessageList", nil
	case len(seg) == 3 && seg[1] == "tm":
		k := slices.IndexFunc(all, func(m tariff.Message) bool { return url.PathEscape(m.ID) == seg[2] || m.ID == seg[2] })
		if k < 0 {
			return nil, "", errNotFound
		}
		x := h.textMessage(base, all[k], now)
		return &x, "TextMessage", nil
	}
	return nil, "", errNotFound
}

// Event status codes (EventStatus currentStatus).
const (
	statusScheduled = 0
	statusActive    = 1
	statusCancelled = 2
)

func (h *Handler) textMessage(base string, m tariff.Message, now time.Time) textMessage {
	status, at := uint8(statusScheduled), m.Start
	switch {
	case m.Cancelled != nil:
		status, at = statusCancelled, *m.Cancelled
	case m.ActiveAt(now):
		status = statusActive
	}
	dur := uint32(1<<32 - 1) // shown until further notice
	if end, ok := m.End(); ok {
		dur = uint32(max(end.Sub(m.Start), 0) / time.Second)
	}
	rr := "" // the schema's default, 00: no response asked
	if m.ConfirmationRequired {
		rr = "04" // bit 2: the user's response is required (status 11, acknowledged)
	}
	return textMessage{
		Href:             base + "/tm/" + url.PathEscape(m.ID),
		ReplyTo:          h.href("rsps", "0", "rsp"),
		ResponseRequired: rr,
		event: event{
			identified:   identified{MRID: mRID("TextMessage", m.ID), Description: clip(m.ID, 32)},
			CreationTime: m.Start.Unix(),
			EventStatus:  eventStatus{CurrentStatus: status, DateTime: at.Unix()},
			Interval:     dateTimeInterval{Start: m.Start.Unix(), Duration: dur},
		},
		Priority:    priorities[m.Priority],
		TextMessage: m.Text,
	}
}

// ---- Demand response ----

func (h *Handler) demandResponse(seg []string, pg Page) (any, string, error) {
	base := h.href("drp", "0")
	now := h.now()
	all := h.src.Events()
	prog := func() demandResponseProgram {
		return demandResponseProgram{
			Href:                           base,
			identified:                     identified{MRID: mRID("DemandResponseProgram", "0"), Description: "utility demand response"},
			ActiveEndDeviceControlListLink: &listLink{Href: base + "/actedc"},
			EndDeviceControlListLink:       &listLink{Href: base + "/edc", All: u32p(clampAll(len(all)))},
			Primacy:                        1,
		}
	}
	switch {
	case len(seg) == 0:
		l := &demandResponseProgramList{PollRate: h.poll}
		l.Href, l.All = h.href("drp"), 1
		if lo, hi := pg.window(1, nil); hi > lo {
			l.Items = append(l.Items, prog())
		}
		l.Results = uint32(len(l.Items))
		return l, "DemandResponseProgramList", nil
	case seg[0] != "0":
		return nil, "", errNotFound
	case len(seg) == 1:
		x := prog()
		return &x, "DemandResponseProgram", nil
	case len(seg) == 2 && (seg[1] == "edc" || seg[1] == "actedc"):
		evs := all
		if seg[1] == "actedc" {
			evs = slices.DeleteFunc(slices.Clone(evs), func(e tariff.Event) bool { return !e.ActiveAt(now) })
		}
		l := &endDeviceControlList{}
		l.Href, l.All = base+"/"+seg[1], clampAll(len(evs))
		lo, hi := pg.window(len(evs), func(i int) int64 { return evs[i].Start.Unix() })
		for _, e := range evs[lo:hi] {
			l.Items = append(l.Items, h.edc(base, e, now))
		}
		l.Results = uint32(len(l.Items))
		return l, "EndDeviceControlList", nil
	case len(seg) == 3 && seg[1] == "edc":
		k := slices.IndexFunc(all, func(e tariff.Event) bool { return url.PathEscape(e.ID) == seg[2] || e.ID == seg[2] })
		if k < 0 {
			return nil, "", errNotFound
		}
		x := h.edc(base, all[k], now)
		return &x, "EndDeviceControl", nil
	}
	return nil, "", errNotFound
}

func (h *Handler) edc(base string, e tariff.Event, now time.Time) endDeviceControl {
	status, at := uint8(statusScheduled), e.Start
	switch {
	case e.Cancelled != nil:
		status, at = statusCancelled, *e.Cancelled
	case e.ActiveAt(now):
		status = statusActive
	}
	x := endDeviceControl{
		Href:    base + "/edc/" + url.PathEscape(e.ID),
		ReplyTo: h.href("rsps", "0", "rsp"),
		event: event{
			identified:   identified{MRID: mRID("EndDeviceControl", e.ID), Description: clip(e.ID, 32)},
			CreationTime: e.Start.Unix(),
			EventStatus:  eventStatus{CurrentStatus: status, DateTime: at.Unix()},
			Interval:     dateTimeInterval{Start: e.Start.Unix(), Duration: uint32(e.Minutes) * 60},
		},
		DeviceCategory:     deviceCategory(e.DeviceClasses),
		DRProgramMandatory: !e.OptOutAllowed,
	}
	if e.LoadReduction > 0 {
		x.Offset = &offset{LoadAdjustmentPercentageOffset: uint16(e.LoadReduction) * 100} // hundredths of a percent
	}
	return x
}
