package zigbee

import (
	"context"
	"fmt"
	"slices"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/proto/zcl"
)

// served reports whether cluster is served (as server) on endpoint ep.
func (s *Service) served(ep uint8, cluster uint16) (*meterEP, bool) {
	for i := range s.eps {
		e := &s.eps[i]
		if e.id != ep {
			continue
		}
		switch cluster {
		case zcl.ClusterBasic, zcl.ClusterIdentify, zcl.ClusterMetering:
			return e, true
		case zcl.ClusterTime, zcl.ClusterPrice, zcl.ClusterDRLC, zcl.ClusterMessaging:
			return e, e.esi
		}
		return e, false
	}
	return nil, false
}

// reply is what handling a frame produced.
type reply struct {
	cmd     uint8
	cluster bool // a cluster-specific response
	payload []byte
}

// handleFrame answers one received ZCL frame.
func (s *Service) handleFrame(ctx context.Context, in hal.Frame) {
	s.mu.Lock()
	s.stats.Received++
	learned := false
	for _, d := range s.devices {
		if d.NWK == in.SrcAddr {
			learned = learned || d.Endpoint != in.SrcEndpoint
			d.LastSeen, d.LQI, d.Endpoint = s.o.Now(), in.LinkQuality, in.SrcEndpoint
		}
	}
	s.mu.Unlock()
	if learned {
		// Now that the device's endpoint is known, it gets what is
		// pushed (after this frame's answer).
		defer s.pushAll(ctx)
	}
	f, err := zcl.ParseFrame(in.Payload)
	if err != nil {
		s.mu.Lock()
		s.stats.Malformed++
		s.mu.Unlock()
		s.log.Warn("malformed ZCL frame", "src", fmt.Sprintf("0x%04X", in.SrcAddr), "cluster", fmt.Sprintf("0x%04X", in.Cluster), "err", err)
		return // no sequence number to answer with
	}
	bcast := in.WasBroadcast || in.GroupID != 0
	ep, ok := s.served(in.DstEndpoint, in.Cluster)
	var replies []reply
	st := zcl.StatusSuccess
	switch {
	case ep == nil:
		return // not our endpoint: the NCP should not have delivered it
	case f.Direction == zcl.ServerToClient:
		// A response or a server's command to a client cluster we do
		// not have: only global responses are expected; ignore.
		if f.Type == zcl.FrameCluster {
			st = zcl.StatusUnsupClusterCommand
		} else {
			return
		}
	case !ok:
		st = zcl.StatusUnsupportedCluster
	case f.ManufacturerSpecific && f.Type == zcl.FrameGlobal:
		st = zcl.StatusUnsupManufGeneralCommand
	case f.ManufacturerSpecific:
		st = zcl.StatusUnsupManufClusterCommand
	case f.Type == zcl.FrameGlobal:
		replies, st = s.global(ctx, ep, in, f)
	default:
		replies, st = s.clusterCommand(ctx, ep, in, f)
	}
	if st != zcl.StatusSuccess {
		s.log.Debug("ZCL command refused", "src", fmt.Sprintf("0x%04X", in.SrcAddr), "cluster", fmt.Sprintf("0x%04X", in.Cluster), "frame", f.Header.String(), "status", st)
	}
	for _, r := range replies {
		h := zcl.Header{Type: zcl.FrameGlobal, Direction: zcl.ServerToClient, DisableDefaultResponse: true, Seq: f.Seq, Command: r.cmd}
		if r.cluster {
			h.Type = zcl.FrameCluster
		}
		if f.Direction == zcl.ServerToClient {
			h.Direction = zcl.ClientToServer
		}
		s.send(in.SrcAddr, in.SrcEndpoint, in.DstEndpoint, in.Cluster, zcl.AppendFrame(nil, zcl.Frame{Header: h, Payload: r.payload}))
	}
	if zcl.NeedsDefaultResponse(f.Header, bcast, len(replies) > 0, st) {
		h := zcl.Header{Type: zcl.FrameGlobal, Direction: zcl.ServerToClient, DisableDefaultResponse: true, Seq: f.Seq, Command: zcl.CmdDefaultResponse}
		if f.Direction == zcl.ServerToClient {
			h.Direction = zcl.ClientToServer
		}
		p := zcl.AppendDefaultResponse(zcl.AppendHeader(nil, h), zcl.DefaultResponse{Command: f.Command, Status: st})
		s.send(in.SrcAddr, in.SrcEndpoint, in.DstEndpoint, in.Cluster, p)
	}
}

// attr returns the value of attribute id of cluster on ep.
func (s *Service) attr(ctx context.Context, ep *meterEP, cluster, id uint16) (zcl.Value, bool) {
	switch cluster {
	case zcl.ClusterMetering:
		return s.meteringAttr(ctx, ep, id)
	case zcl.ClusterBasic:
		return s.basicAttr(id)
	case zcl.ClusterIdentify:
		if id == zcl.IdentifyTime {
			left := max(time.Until(s.identify), 0)
			if s.identify.IsZero() {
				left = 0
			}
			return zcl.Uint(zcl.TypeUint16, uint64(left/time.Second)), true
		}
	case zcl.ClusterTime:
		return s.timeAttr(id)
	}
	return zcl.Value{}, false
}

// attrIDs lists the attributes of cluster on ep, ascending.
func (s *Service) attrIDs(ep *meterEP, cluster uint16) []uint16 {
	var ids []uint16
	switch cluster {
	case zcl.ClusterMetering:
		ids = meteringIDs(ep)
	case zcl.ClusterBasic:
		ids = []uint16{zcl.BasicZCLVersion, zcl.BasicAppVersion, zcl.BasicStackVersion, zcl.BasicHWVersion,
			zcl.BasicManufacturer, zcl.BasicModel, zcl.BasicDateCode, zcl.BasicPowerSource, zcl.BasicSWBuildID}
	case zcl.ClusterIdentify:
		ids = []uint16{zcl.IdentifyTime}
	case zcl.ClusterTime:
		for id := zcl.TimeTime; id <= zcl.TimeValidUntil; id++ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (s *Service) basicAttr(id uint16) (zcl.Value, bool) {
	switch id {
	case zcl.BasicZCLVersion:
		return zcl.Uint(zcl.TypeUint8, 1), true
	case zcl.BasicAppVersion:
		return zcl.Uint(zcl.TypeUint8, 1), true
	case zcl.BasicStackVersion:
		return zcl.Uint(zcl.TypeUint8, 2), true
	case zcl.BasicHWVersion:
		return zcl.Uint(zcl.TypeUint8, 0), true
	case zcl.BasicManufacturer:
		return zcl.CharString("smgw"), true
	case zcl.BasicModel:
		return zcl.CharString("smgw ESI"), true
	case zcl.BasicDateCode:
		return zcl.CharString(""), true
	case zcl.BasicPowerSource:
		return zcl.Uint(zcl.TypeEnum8, uint64(zcl.PowerSourceMains1Ph)), true
	case zcl.BasicSWBuildID:
		v := s.o.Version
		if len(v) > 16 {
			v = v[:16]
		}
		return zcl.CharString(v), true
	}
	return zcl.Value{}, false
}

// global handles a global command to a served cluster.
func (s *Service) global(ctx context.Context, ep *meterEP, in hal.Frame, f zcl.Frame) ([]reply, zcl.Status) {
	switch f.Command {
	case zcl.CmdReadAttributes:
		ids, err := zcl.ParseReadAttributes(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		recs := make([]zcl.ReadRecord, 0, len(ids))
		for _, id := range ids {
			v, ok := s.attr(ctx, ep, in.Cluster, id)
			if !ok {
				recs = append(recs, zcl.ReadRecord{ID: id, Status: zcl.StatusUnsupportedAttribute})
				continue
			}
			recs = append(recs, zcl.ReadRecord{ID: id, Value: v})
		}
		// Records that do not fit one frame are left out, as the
		// specification allows; the reader asks again for the rest.
		var p []byte
		for _, r := range recs {
			q, err := zcl.AppendReadAttributesResponse(p, []zcl.ReadRecord{r})
			if err != nil || len(q)+3 > s.maxPay {
				break
			}
			p = q
		}
		return []reply{{cmd: zcl.CmdReadAttributesResponse, payload: p}}, zcl.StatusSuccess
	case zcl.CmdWriteAttributes, zcl.CmdWriteAttributesUndivided, zcl.CmdWriteAttributesNoResponse:
		recs, err := zcl.ParseAttrValues(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		var out []zcl.StatusRecord
		for _, r := range recs {
			out = append(out, zcl.StatusRecord{ID: r.ID, Status: s.writeStatus(ep, in.Cluster, r)})
		}
		if f.Command == zcl.CmdWriteAttributesUndivided && slices.ContainsFunc(out, func(r zcl.StatusRecord) bool { return r.Status != zcl.StatusSuccess }) {
			// Undivided: nothing is written unless all can be.
		} else {
			for _, r := range recs {
				if s.writeStatus(ep, in.Cluster, r) == zcl.StatusSuccess {
					s.write(in.Cluster, r)
				}
			}
		}
		if f.Command == zcl.CmdWriteAttributesNoResponse {
			return nil, zcl.StatusSuccess
		}
		return []reply{{cmd: zcl.CmdWriteAttributesResponse, payload: zcl.AppendWriteAttributesResponse(nil, out)}}, zcl.StatusSuccess
	case zcl.CmdConfigureReporting:
		cfgs, err := zcl.ParseConfigureReporting(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		var out []zcl.StatusRecord
		for _, c := range cfgs {
			out = append(out, zcl.StatusRecord{Status: s.configureReporting(ctx, ep, in, c), Direction: c.Direction, ID: c.ID})
		}
		return []reply{{cmd: zcl.CmdConfigureReportingResponse, payload: zcl.AppendConfigureReportingResponse(nil, out)}}, zcl.StatusSuccess
	case zcl.CmdReadReportingConfig:
		refs, err := zcl.ParseReadReportingConfig(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		var out []zcl.ReportingConfigRecord
		for _, r := range refs {
			out = append(out, s.readReportingConfig(ctx, ep, in, r))
		}
		p, err := zcl.AppendReadReportingConfigResponse(nil, out)
		if err != nil {
			return nil, zcl.StatusFailure
		}
		return []reply{{cmd: zcl.CmdReadReportingConfigResp, payload: p}}, zcl.StatusSuccess
	case zcl.CmdDiscoverAttributes:
		d, err := zcl.ParseDiscoverAttributes(f.Payload)
		if err != nil {
			return nil, zcl.StatusOf(err)
		}
		resp := zcl.DiscoverAttributesResponse{Complete: true}
		maxRecs := min(int(d.MaxCount), (s.maxPay-4)/3)
		for _, id := range s.attrIDs(ep, in.Cluster) {
			if id < d.Start {
				continue
			}
			if len(resp.Attrs) >= maxRecs {
				resp.Complete = false
				break
			}
			v, _ := s.attr(ctx, ep, in.Cluster, id)
			resp.Attrs = append(resp.Attrs, zcl.AttrInfo{ID: id, Type: v.Type})
		}
		return []reply{{cmd: zcl.CmdDiscoverAttributesResponse, payload: zcl.AppendDiscoverAttributesResponse(nil, resp)}}, zcl.StatusSuccess
	case zcl.CmdDefaultResponse, zcl.CmdReadAttributesResponse, zcl.CmdWriteAttributesResponse, zcl.CmdConfigureReportingResponse,
		zcl.CmdReadReportingConfigResp, zcl.CmdReportAttributes, zcl.CmdDiscoverAttributesResponse:
		// Responses and reports from a client: nothing to do. (Report
		// Attributes to a server cluster is not how SE devices talk.)
		return nil, zcl.StatusSuccess
	}
	return nil, zcl.StatusUnsupGeneralCommand
}

// writeStatus says whether a write of r would succeed.
func (s *Service) writeStatus(ep *meterEP, cluster uint16, r zcl.AttrValue) zcl.Status {
	v, ok := s.attr(context.Background(), ep, cluster, r.ID)
	switch {
	case !ok:
		return zcl.StatusUnsupportedAttribute
	case v.Type != r.Value.Type:
		return zcl.StatusInvalidDataType
	case cluster == zcl.ClusterIdentify && r.ID == zcl.IdentifyTime:
		return zcl.StatusSuccess
	}
	return zcl.StatusReadOnly
}

func (s *Service) write(cluster uint16, r zcl.AttrValue) {
	if cluster == zcl.ClusterIdentify && r.ID == zcl.IdentifyTime {
		s.setIdentify(time.Duration(r.Value.U) * time.Second)
	}
}

func (s *Service) setIdentify(d time.Duration) {
	if d == 0 {
		s.identify = time.Time{}
		return
	}
	s.identify = time.Now().Add(d)
	s.log.Info("identify requested", "for", d)
}
