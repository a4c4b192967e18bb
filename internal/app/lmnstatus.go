package app

import (
	"fmt"
	"math"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/lmn/bus"
)

// The RS-485 lines' part of the status (ctl.LMNStatus): every line
// service reports its meters' health as the line's scheduler counts it.

// lmnLine is a service that serves one RS-485 line.
type lmnLine interface {
	lmnStatus() ctl.LMNBus
}

// lmnStatus collects the lines' reports; nil without RS-485 meters.
func (a *App) lmnStatus() *ctl.LMNStatus {
	var lines []lmnLine
	for _, s := range a.modbus {
		lines = append(lines, s)
	}
	for _, s := range a.dlms {
		lines = append(lines, s)
	}
	for _, s := range a.mbus {
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		return nil
	}
	st := &ctl.LMNStatus{}
	for _, l := range lines {
		st.Buses = append(st.Buses, l.lmnStatus())
	}
	return st
}

// lmnMeter is a meter's entry: its health if the line's scheduler has
// it, else waiting.
func lmnMeter(driver, port, id, address string, health map[string]bus.Health) ctl.LMNMeter {
	m := ctl.LMNMeter{Meter: id, Driver: driver, Port: port, Address: address, State: ctl.LMNWaiting}
	h, ok := health[id]
	if !ok {
		return m
	}
	m.State = h.State()
	m.LastSuccess, m.ConsecutiveFailures = h.LastSuccess, h.Failing
	m.Jobs, m.Failures = h.Jobs, h.Failures
	m.Timeouts, m.FrameErrors, m.Other, m.Retries = h.Timeouts, h.FrameErrors, h.Other, h.Retries
	m.Protocol = h.Protocol
	m.LastError, m.LastErrorAt = h.LastError, h.LastErrorAt
	return m
}

func healthByMeter(hs []bus.Health) map[string]bus.Health {
	out := make(map[string]bus.Health, len(hs))
	for _, h := range hs {
		out[h.Meter] = h
	}
	return out
}

func occupancy(b *ctl.LMNBus, o bus.Occupancy) {
	b.Occupancy = math.Round(o.Recent*1e4) / 1e4
	b.BusySeconds = math.Round(o.Busy.Seconds()*1e3) / 1e3
}

func (s *modbusService) lmnStatus() ctl.LMNBus {
	b := ctl.LMNBus{Driver: "modbus", Port: s.line.Name()}
	var health map[string]bus.Health
	if mb := s.bus.Load(); mb != nil {
		b.Open = s.running.Load()
		occupancy(&b, mb.Occupancy())
		health = healthByMeter(mb.Health())
	}
	for _, m := range s.meters {
		b.Meters = append(b.Meters, lmnMeter("modbus", b.Port, string(m.ID), fmt.Sprintf("unit %d", m.Unit), health))
	}
	return b
}

func (s *dlmsService) lmnStatus() ctl.LMNBus {
	b := ctl.LMNBus{Driver: "dlms", Port: s.line.Name()}
	var health map[string]bus.Health
	if l := s.cur.Load(); l != nil {
		b.Open = true
		occupancy(&b, l.Occupancy())
		health = healthByMeter(l.Health())
	}
	for _, m := range s.meters {
		addr := fmt.Sprintf("server %d/%d", m.Server.Upper, m.Server.Lower)
		switch m.Server.Size {
		case 0:
			addr = "server 1/16" // the driver's default
		case 1:
			addr = fmt.Sprintf("server %d", m.Server.Upper)
		}
		b.Meters = append(b.Meters, lmnMeter("dlms", b.Port, string(m.ID), addr, health))
	}
	return b
}

func (s *mbusService) lmnStatus() ctl.LMNBus {
	b := ctl.LMNBus{Driver: "mbus", Port: s.line.Name()}
	var health map[string]bus.Health
	if hs := s.Health(); hs != nil {
		b.Open = true
		health = healthByMeter(hs)
	}
	for _, m := range s.meters {
		addr := fmt.Sprintf("primary %d", m.Primary)
		if m.Secondary != nil {
			addr = fmt.Sprintf("secondary %v", *m.Secondary)
		}
		b.Meters = append(b.Meters, lmnMeter("mbus", b.Port, string(m.ID), addr, health))
	}
	return b
}
