package zigbee

import (
	"context"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
)

// Attribute reporting (ZCL 2.5.7–2.5.11): a device configures, per
// attribute, a minimum and maximum interval and (for analog types) a
// reportable change; the ESI then sends Report Attributes when the value
// changed by at least that much and the minimum interval has passed, and
// at the latest every maximum interval. A maximum of 0xffff stops the
// reports; 0 sends only on change.

// MaxReportConfigs bounds the reporting configurations over all devices.
const MaxReportConfigs = 512

type reportKey struct {
	nwk     uint16
	ep      uint8 // the device's endpoint
	srcEP   uint8 // our endpoint
	cluster uint16
	attr    uint16
}

type reportCfg struct {
	min, max time.Duration
	change   zcl.Value
	lastSent time.Time
	last     zcl.Value
	sentOnce bool
}

func (s *Service) configureReporting(ctx context.Context, ep *meterEP, in hal.Frame, c zcl.ReportingConfig) zcl.Status {
	if c.Direction != zcl.ReportSent {
		// We expect no reports from devices.
		return zcl.StatusUnreportableAttribute
	}
	v, ok := s.attr(ctx, ep, in.Cluster, c.ID)
	if !ok {
		return zcl.StatusUnsupportedAttribute
	}
	if c.Type != v.Type {
		return zcl.StatusInvalidDataType
	}
	if in.Cluster != zcl.ClusterMetering {
		return zcl.StatusUnreportableAttribute
	}
	if c.MaxInterval != 0 && c.MaxInterval != 0xffff && c.MinInterval > c.MaxInterval {
		return zcl.StatusInvalidValue
	}
	k := reportKey{nwk: in.SrcAddr, ep: in.SrcEndpoint, srcEP: in.DstEndpoint, cluster: in.Cluster, attr: c.ID}
	if c.MaxInterval == 0xffff {
		delete(s.reports, k)
		return zcl.StatusSuccess
	}
	if _, exists := s.reports[k]; !exists && len(s.reports) >= MaxReportConfigs {
		return zcl.StatusInsufficientSpace
	}
	s.reports[k] = &reportCfg{min: time.Duration(c.MinInterval) * time.Second, max: time.Duration(c.MaxInterval) * time.Second, change: c.Change}
	return zcl.StatusSuccess
}

func (s *Service) readReportingConfig(ctx context.Context, ep *meterEP, in hal.Frame, r zcl.AttrRef) zcl.ReportingConfigRecord {
	out := zcl.ReportingConfigRecord{ReportingConfig: zcl.ReportingConfig{Direction: r.Direction, ID: r.ID}}
	v, ok := s.attr(ctx, ep, in.Cluster, r.ID)
	switch {
	case !ok:
		out.Status = zcl.StatusUnsupportedAttribute
		return out
	case r.Direction != zcl.ReportSent || in.Cluster != zcl.ClusterMetering:
		out.Status = zcl.StatusUnreportableAttribute
		return out
	}
	k := reportKey{nwk: in.SrcAddr, ep: in.SrcEndpoint, srcEP: in.DstEndpoint, cluster: in.Cluster, attr: r.ID}
	rc, ok := s.reports[k]
	if !ok {
		out.Status = zcl.StatusNotFound
		return out
	}
	out.Type, out.MinInterval, out.MaxInterval = v.Type, uint16(rc.min/time.Second), uint16(rc.max/time.Second)
	out.Change = rc.change
	return out
}

// servesReading reports whether r is a reading of a served meter.
func (s *Service) servesReading(r meter.Reading) bool {
	for i := range s.eps {
		if s.eps[i].m.ID == r.Meter {
			return true
		}
	}
	return false
}

// changedEnough applies the reportable change.
func changedEnough(old, cur, change zcl.Value, analog bool) bool {
	if old.IsInvalid() != cur.IsInvalid() {
		return true
	}
	if !analog {
		return old.U != cur.U || old.I != cur.I || string(old.B) != string(cur.B)
	}
	var d uint64
	if cur.Type.Signed() {
		x := cur.I - old.I
		if x < 0 {
			x = -x
		}
		d = uint64(x)
		if change.I > 0 {
			return d >= uint64(change.I)
		}
	} else {
		if cur.U > old.U {
			d = cur.U - old.U
		} else {
			d = old.U - cur.U
		}
		if change.U > 0 {
			return d >= change.U
		}
	}
	return d > 0
}

// checkReports sends the reports that are due: periodic ones when
// periodic is set (the tick), changed values always.
func (s *Service) checkReports(ctx context.Context, periodic bool) {
	if len(s.reports) == 0 {
		return
	}
	now := time.Now()
	type dest struct {
		nwk   uint16
		ep    uint8
		srcEP uint8
		cl    uint16
	}
	due := map[dest][]zcl.AttrValue{}
	var order []dest
	for k, rc := range s.reports {
		ep := s.epByID(k.srcEP)
		if ep == nil {
			continue
		}
		v, ok := s.attr(ctx, ep, k.cluster, k.attr)
		if !ok {
			continue
		}
		since := now.Sub(rc.lastSent)
		send := false
		switch {
		case !rc.sentOnce:
			send = true
		case rc.max > 0 && since >= rc.max:
			send = true
		case since >= rc.min && changedEnough(rc.last, v, rc.change, v.Type.Analog()):
			send = true
		}
		if !send {
			continue
		}
		rc.lastSent, rc.last, rc.sentOnce = now, v, true
		d := dest{k.nwk, k.ep, k.srcEP, k.cluster}
		if _, ok := due[d]; !ok {
			order = append(order, d)
		}
		due[d] = append(due[d], zcl.AttrValue{ID: k.attr, Value: v})
	}
	for _, d := range order {
		recs := due[d]
		for len(recs) > 0 {
			h := zcl.Header{Type: zcl.FrameGlobal, Direction: zcl.ServerToClient, DisableDefaultResponse: true, Seq: s.nextSeq(), Command: zcl.CmdReportAttributes}
			p := zcl.AppendHeader(nil, h)
			n := 0
			for n < len(recs) {
				q, err := zcl.AppendAttrValues(p, recs[n:n+1])
				if err != nil || len(q) > s.maxPay {
					break
				}
				p, n = q, n+1
			}
			if n == 0 {
				break
			}
			recs = recs[n:]
			s.send(d.nwk, d.ep, d.srcEP, d.cl, p)
			s.mu.Lock()
			s.stats.Reports++
			s.mu.Unlock()
		}
	}
}

func (s *Service) epByID(id uint8) *meterEP {
	for i := range s.eps {
		if s.eps[i].id == id {
			return &s.eps[i]
		}
	}
	return nil
}
