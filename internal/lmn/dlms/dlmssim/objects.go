package dlmssim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// register is a class 3 object of the simulator.
type register struct {
	obis  meter.OBIS
	su    dlms.ScalerUnit
	tag   dlms.Tag
	value func(time.Time) int64
}

// DLMS unit codes used here.
const (
	unitW    = 27
	unitV    = 35
	unitA    = 33
	unitWh   = 30
	unitVarh = 32
)

func t1(t time.Time) int64 { a, _ := TariffWh(t); return a }
func t2(t time.Time) int64 { _, b := TariffWh(t); return b }

var registers = []register{
	{OBISImport, dlms.ScalerUnit{Scaler: 0, Unit: unitWh}, dlms.TagUint32, ImportWh},
	{OBISExport, dlms.ScalerUnit{Scaler: 0, Unit: unitWh}, dlms.TagUint32, ExportWh},
	{OBISReactiveImport, dlms.ScalerUnit{Scaler: 0, Unit: unitVarh}, dlms.TagUint32, ReactiveImportVarh},
	{OBISReactiveExport, dlms.ScalerUnit{Scaler: 0, Unit: unitVarh}, dlms.TagUint32, ReactiveExportVarh},
	{OBISImportT1, dlms.ScalerUnit{Scaler: 0, Unit: unitWh}, dlms.TagUint32, t1},
	{OBISImportT2, dlms.ScalerUnit{Scaler: 0, Unit: unitWh}, dlms.TagUint32, t2},
	{OBISPower, dlms.ScalerUnit{Scaler: 0, Unit: unitW}, dlms.TagInt32, PowerW},
	{OBISVoltageL1, dlms.ScalerUnit{Scaler: -1, Unit: unitV}, dlms.TagUint16, VoltageDV},
	{OBISCurrentL1, dlms.ScalerUnit{Scaler: -2, Unit: unitA}, dlms.TagUint16, CurrentCA},
}

func findRegister(o meter.OBIS) *register {
	for i := range registers {
		if registers[i].obis == o {
			return &registers[i]
		}
	}
	return nil
}

func intData(tag dlms.Tag, v int64) dlms.Data {
	switch tag {
	case dlms.TagInt32:
		return dlms.Int32(int32(v))
	case dlms.TagUint16:
		return dlms.Uint16(uint16(v))
	}
	return dlms.Uint32(uint32(v))
}

// profile is a class 7 object.
type profile struct {
	obis    meter.OBIS
	period  time.Duration
	columns []meter.OBIS // value columns after the clock
}

var profiles = []profile{
	{OBISProfile1, 15 * time.Minute, []meter.OBIS{OBISImport, OBISExport, OBISReactiveImport, OBISReactiveExport}},
	{OBISProfile2, 24 * time.Hour, []meter.OBIS{OBISImport, OBISExport}},
}

func findProfile(o meter.OBIS) *profile {
	for i := range profiles {
		if profiles[i].obis == o {
			return &profiles[i]
		}
	}
	return nil
}

func (p *profile) captureObjects() []dlms.CaptureObject {
	out := []dlms.CaptureObject{{Class: 8, Instance: OBISClock, Attribute: 2}}
	for _, c := range p.columns {
		out = append(out, dlms.CaptureObject{Class: 3, Instance: c, Attribute: 2})
	}
	return out
}

// objectList is the association's object_list: {class, version, logical
// name, access rights}.
func objectList() dlms.Data {
	var items []dlms.Data
	add := func(class uint16, version uint8, o meter.OBIS) {
		items = append(items, dlms.Structure(dlms.Uint16(class), dlms.Uint8(version), dlms.OctetString(o[:]),
			dlms.Structure(dlms.Array(), dlms.Array())))
	}
	add(15, 1, OBISAssociation)
	add(8, 0, OBISClock)
	for _, r := range registers {
		add(3, 0, r.obis)
	}
	for _, p := range profiles {
		add(7, 1, p.obis)
	}
	add(70, 0, OBISDisconnect)
	return dlms.Array(items...)
}

// entries returns the times of the profile's entries between from and to
// (inclusive) that exist at now: the buffer starts at Since.
func (m *Meter) entries(p *profile, from, to time.Time) []time.Time {
	now := m.Now()
	if to.After(now) {
		to = now
	}
	start := m.o.Since
	if from.After(start) {
		start = from
	}
	first := start.UTC().Truncate(p.period)
	if first.Before(start) {
		first = first.Add(p.period)
	}
	var out []time.Time
	for t := first; !t.After(to); t = t.Add(p.period) {
		out = append(out, t)
		if len(out) > 100000 {
			break
		}
	}
	return out
}

func (m *Meter) rows(p *profile, times []time.Time, cols []int) dlms.Data {
	rows := make([]dlms.Data, 0, len(times))
	for i, t := range times {
		var items []dlms.Data
		for _, c := range cols {
			if c == 0 {
				if i > 0 && !m.o.NoCompression && t.Sub(times[i-1]) == p.period {
					items = append(items, dlms.Null())
				} else {
					items = append(items, dlms.DateTimeOf(t.UTC(), false).Octets())
				}
				continue
			}
			r := findRegister(p.columns[c-1])
			items = append(items, intData(r.tag, r.value(t)))
		}
		rows = append(rows, dlms.Structure(items...))
	}
	return dlms.Array(rows...)
}

// buffer answers attribute 2 of a profile with optional selective access.
func (m *Meter) buffer(p *profile, sa *dlms.SelectiveAccess) (dlms.Data, dlms.AccessResult) {
	all := make([]int, len(p.columns)+1)
	for i := range all {
		all[i] = i
	}
	if sa == nil {
		return m.rows(p, m.entries(p, time.Time{}, m.Now()), all), dlms.AccessSuccess
	}
	switch sa.Selector {
	case dlms.SelectorRange:
		rd, err := dlms.ParseRangeDescriptor(sa.Params)
		if err != nil || rd.Restricting.Class != 8 {
			return dlms.Data{}, dlms.AccessOtherReason
		}
		from, ok1 := rd.From.DateTime()
		to, ok2 := rd.To.DateTime()
		if !ok1 || !ok2 {
			return dlms.Data{}, dlms.AccessTypeUnmatched
		}
		ft, err1 := from.Time()
		tt, err2 := to.Time()
		if err1 != nil || err2 != nil {
			return dlms.Data{}, dlms.AccessOtherReason
		}
		cols := all
		if len(rd.Columns) > 0 {
			cols = nil
			for _, c := range rd.Columns {
				found := false
				for i, co := range p.captureObjects() {
					if co.Instance == c.Instance && co.Attribute == c.Attribute {
						cols, found = append(cols, i), true
					}
				}
				if !found {
					return dlms.Data{}, dlms.AccessObjectUndefined
				}
			}
		}
		return m.rows(p, m.entries(p, ft, tt), cols), dlms.AccessSuccess
	case dlms.SelectorEntry:
		ed, err := dlms.ParseEntryDescriptor(sa.Params)
		if err != nil {
			return dlms.Data{}, dlms.AccessOtherReason
		}
		times := m.entries(p, time.Time{}, m.Now())
		lo, hi := int(ed.FromEntry), int(ed.ToEntry)
		if lo < 1 {
			lo = 1
		}
		if hi == 0 || hi > len(times) {
			hi = len(times)
		}
		if lo > hi {
			times = nil
		} else {
			times = times[lo-1 : hi]
		}
		fc, tc := int(ed.FromColumn), int(ed.ToColumn)
		if fc < 1 {
			fc = 1
		}
		if tc == 0 || tc > len(all) {
			tc = len(all)
		}
		var cols []int
		for c := fc - 1; c < tc; c++ {
			cols = append(cols, c)
		}
		return m.rows(p, times, cols), dlms.AccessSuccess
	}
	return dlms.Data{}, dlms.AccessOtherReason
}

// attribute returns an attribute's value.
func (m *Meter) attribute(a dlms.AttributeDescriptor, sa *dlms.SelectiveAccess) (dlms.Data, dlms.AccessResult) {
	now := m.Now()
	switch a.Class {
	case 1:
	case 3:
		r := findRegister(a.Instance)
		if r == nil {
			return dlms.Data{}, dlms.AccessObjectUndefined
		}
		switch a.Attribute {
		case 1:
			return dlms.OctetString(r.obis[:]), dlms.AccessSuccess
		case 2:
			return intData(r.tag, r.value(now)), dlms.AccessSuccess
		case 3:
			return r.su.Data(), dlms.AccessSuccess
		}
	case 7:
		p := findProfile(a.Instance)
		if p == nil {
			return dlms.Data{}, dlms.AccessObjectUndefined
		}
		switch a.Attribute {
		case 1:
			return dlms.OctetString(p.obis[:]), dlms.AccessSuccess
		case 2:
			return m.buffer(p, sa)
		case 3:
			var items []dlms.Data
			for _, c := range p.captureObjects() {
				items = append(items, c.Data())
			}
			return dlms.Array(items...), dlms.AccessSuccess
		case 4:
			return dlms.Uint32(uint32(p.period / time.Second)), dlms.AccessSuccess
		case 5:
			return dlms.Enum(1), dlms.AccessSuccess // sort by unsorted (FIFO)
		case 7:
			return dlms.Uint32(uint32(len(m.entries(p, time.Time{}, now)))), dlms.AccessSuccess
		case 8:
			return dlms.Uint32(100000), dlms.AccessSuccess
		}
	case 8:
		if a.Instance != OBISClock {
			return dlms.Data{}, dlms.AccessObjectUndefined
		}
		switch a.Attribute {
		case 1:
			return dlms.OctetString(OBISClock[:]), dlms.AccessSuccess
		case 2:
			return dlms.DateTimeOf(now.UTC(), false).Octets(), dlms.AccessSuccess
		case 3:
			return dlms.Int16(0), dlms.AccessSuccess
		case 4:
			return dlms.Uint8(0), dlms.AccessSuccess
		}
	case 15:
		if a.Instance != OBISAssociation {
			return dlms.Data{}, dlms.AccessObjectUndefined
		}
		switch a.Attribute {
		case 1:
			return dlms.OctetString(OBISAssociation[:]), dlms.AccessSuccess
		case 2:
			return objectList(), dlms.AccessSuccess
		}
	case 70:
		if a.Instance != OBISDisconnect {
			return dlms.Data{}, dlms.AccessObjectUndefined
		}
		switch a.Attribute {
		case 1:
			return dlms.OctetString(OBISDisconnect[:]), dlms.AccessSuccess
		case 2:
			return dlms.Bool(m.connected.Load()), dlms.AccessSuccess
		case 3:
			if m.connected.Load() {
				return dlms.Enum(1), dlms.AccessSuccess
			}
			return dlms.Enum(0), dlms.AccessSuccess
		case 4:
			return dlms.Enum(4), dlms.AccessSuccess
		}
	}
	return dlms.Data{}, dlms.AccessObjectUndefined
}

// get answers GET normal and GET next (block transfer).
func (m *Meter) get(g dlms.GetRequest) dlms.APDU {
	if m.as.ciphered && !m.as.hlsDone {
		return dlms.GetResponse{Kind: dlms.KindNormal, InvokeID: g.InvokeID, Result: dlms.ResultError(dlms.AccessReadWriteDenied)}
	}
	switch g.Kind {
	case dlms.KindNext:
		if m.as.block == nil || g.Block != m.as.blockNo {
			return dlms.GetResponse{Kind: dlms.GetResponseWithDatablock, InvokeID: g.InvokeID,
				Block: dlms.DataBlockG{Last: true, Number: g.Block, Result: dlms.AccessNoLongGetInProgress}}
		}
		return m.nextBlock(g.InvokeID)
	case dlms.KindWithList:
		var rs []dlms.DataResult
		for _, it := range g.List {
			d, res := m.attribute(it.Attr, it.Access)
			if res != dlms.AccessSuccess {
				rs = append(rs, dlms.ResultError(res))
			} else {
				rs = append(rs, dlms.ResultData(d))
			}
		}
		return dlms.GetResponse{Kind: dlms.KindWithList, InvokeID: g.InvokeID, Results: rs}
	}
	d, res := m.attribute(g.Attr, g.Access)
	if res != dlms.AccessSuccess {
		return dlms.GetResponse{Kind: dlms.KindNormal, InvokeID: g.InvokeID, Result: dlms.ResultError(res)}
	}
	resp := dlms.GetResponse{Kind: dlms.KindNormal, InvokeID: g.InvokeID, Result: dlms.ResultData(d)}
	overhead := 0
	if m.as.ciphered {
		overhead = 5 + 1 + 4 + dlms.TagLen + 3
	}
	if len(resp.Append(nil))+overhead <= m.as.maxPDU {
		return resp
	}
	m.as.block = d.Append(nil)
	m.as.blockNo = 0
	// GetResponse with datablock header: tag, kind, invoke, last, number
	// (4), choice, length (up to 3).
	m.as.blockSize = m.as.maxPDU - overhead - 13
	return m.nextBlock(g.InvokeID)
}

func (m *Meter) nextBlock(invoke uint8) dlms.APDU {
	n := min(m.as.blockSize, len(m.as.block))
	raw := m.as.block[:n]
	m.as.block = m.as.block[n:]
	m.as.blockNo++
	last := len(m.as.block) == 0
	resp := dlms.GetResponse{Kind: dlms.GetResponseWithDatablock, InvokeID: invoke,
		Block: dlms.DataBlockG{Last: last, Number: m.as.blockNo, IsRaw: true, Raw: raw}}
	if last {
		m.as.block = nil
	}
	return resp
}

func (m *Meter) set(s dlms.SetRequest) dlms.APDU {
	resp := dlms.SetResponse{Kind: dlms.KindNormal, InvokeID: s.InvokeID, Result: dlms.AccessReadWriteDenied}
	if s.Kind != dlms.KindNormal || m.as.mech == dlms.MechanismNone || m.as.ciphered && !m.as.hlsDone {
		if s.Kind == dlms.KindNormal && s.Attr.Class == 8 && s.Attr.Attribute == 2 && m.as.mech == dlms.MechanismNone && !m.o.RequireAuth && m.o.Password == nil && m.suite == nil {
			// An open meter (no authentication configured) lets anyone set it.
		} else {
			return resp
		}
	}
	if s.Attr.Class == 8 && s.Attr.Instance == OBISClock && s.Attr.Attribute == 2 {
		dt, ok := s.Value.DateTime()
		if !ok {
			resp.Result = dlms.AccessTypeUnmatched
			return resp
		}
		t, err := dt.Time()
		if err != nil {
			resp.Result = dlms.AccessOtherReason
			return resp
		}
		m.clockOff.Store(int64(t.Sub(m.o.Now())))
		resp.Result = dlms.AccessSuccess
		return resp
	}
	resp.Result = dlms.AccessObjectUndefined
	return resp
}

func (m *Meter) action(a dlms.ActionRequest) dlms.APDU {
	resp := dlms.ActionResponse{Kind: dlms.KindNormal, InvokeID: a.InvokeID, Outcome: dlms.ActionOutcome{Result: dlms.ActionObjectUndefined}}
	md := a.Method
	if a.Kind != dlms.KindNormal {
		resp.Outcome.Result = dlms.ActionOtherReason
		return resp
	}
	if md.Class == 15 && md.Instance == OBISAssociation && md.Method == 1 {
		if !m.as.ciphered || m.as.hlsDone {
			resp.Outcome.Result = dlms.ActionReadWriteDenied
			return resp
		}
		if _, err := m.suite.VerifyHLSReply(m.as.clientST, m.as.stoc, a.Params.Bytes()); err != nil {
			resp.Outcome.Result = dlms.ActionOtherReason
			return resp
		}
		m.ic++
		reply, err := m.suite.HLSReply(m.o.SystemTitle, m.ic, m.as.ctos)
		if err != nil {
			resp.Outcome.Result = dlms.ActionOtherReason
			return resp
		}
		m.as.hlsDone = true
		resp.Outcome = dlms.ActionOutcome{Result: dlms.ActionSuccess, HasReturn: true, Return: dlms.ResultData(dlms.OctetString(reply))}
		return resp
	}
	if m.as.ciphered && !m.as.hlsDone {
		resp.Outcome.Result = dlms.ActionReadWriteDenied
		return resp
	}
	open := !m.o.RequireAuth && m.o.Password == nil && m.suite == nil
	if m.as.mech == dlms.MechanismNone && !open {
		resp.Outcome.Result = dlms.ActionReadWriteDenied
		return resp
	}
	switch {
	case md.Class == 70 && md.Instance == OBISDisconnect && (md.Method == 1 || md.Method == 2):
		m.connected.Store(md.Method == 2)
		resp.Outcome.Result = dlms.ActionSuccess
	case md.Class == 8 && md.Instance == OBISClock && md.Method == 6:
		secs, ok := a.Params.Int()
		if !ok || secs < -900 || secs > 900 {
			resp.Outcome.Result = dlms.ActionOtherReason
			return resp
		}
		m.clockOff.Add(int64(time.Duration(secs) * time.Second))
		resp.Outcome.Result = dlms.ActionSuccess
	case md.Class == 8 && md.Instance == OBISClock && md.Method == 1:
		// adjust_to_quarter
		t := m.Now()
		q := t.Round(15 * time.Minute)
		m.clockOff.Add(int64(q.Sub(t)))
		resp.Outcome.Result = dlms.ActionSuccess
	}
	return resp
}
