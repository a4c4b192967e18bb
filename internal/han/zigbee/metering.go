package zigbee

import (
	"context"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
)

// The Metering cluster's units. Every energy attribute is sent in kWh
// (UnitOfMeasure 0) with Multiplier 1 and Divisor 1000: a raw value is a
// whole number of Wh (W for demand). Gas and water are sent in m³
// (UnitOfMeasure 1) with the same Multiplier and Divisor: a raw value is
// a whole number of litres (l/h for flow). The stored readings' exact
// decimals are rounded half away from zero to that resolution.
const (
	Multiplier = 1
	Divisor    = 1000
	// MaxTiers is the number of tier registers served (SE 1.1's 15).
	MaxTiers = 15
	// StaleAfter: the meter's Status has CheckMeter set when its main
	// register has no reading this recent.
	StaleAfter = time.Hour
)

// meterEP is one Metering cluster endpoint and how its attributes map to
// OBIS codes.
type meterEP struct {
	id        uint8
	m         Meter
	esi       bool
	unit      uint8 // UnitOfMeasure
	devType   uint8 // MeteringDeviceType
	delivered meter.OBIS
	received  meter.OBIS // zero when none
	tierDel   func(n int) meter.OBIS
	tierRec   func(n int) meter.OBIS
	demandIn  meter.OBIS // zero when none
	demandOut meter.OBIS
	baseUnit  meter.Unit // the register's unit: Wh, m³ or l
}

func newMeterEP(id uint8, m Meter, esi bool) (meterEP, error) {
	ep := meterEP{id: id, m: m, esi: esi}
	switch m.Kind {
	case KindElectricity, "":
		ep.m.Kind = KindElectricity
		ep.unit, ep.devType = zcl.UnitKWh, zcl.DeviceElectric
		ep.delivered, ep.received = meter.MustOBIS("1-0:1.8.0"), meter.MustOBIS("1-0:2.8.0")
		ep.tierDel = func(n int) meter.OBIS { return meter.OBIS{1, 0, 1, 8, byte(n), 255} }
		ep.tierRec = func(n int) meter.OBIS { return meter.OBIS{1, 0, 2, 8, byte(n), 255} }
		ep.demandIn, ep.demandOut = meter.MustOBIS("1-0:1.7.0"), meter.MustOBIS("1-0:2.7.0")
		ep.baseUnit = meter.UnitWattHour
	case KindGas:
		ep.unit, ep.devType = zcl.UnitCubicMetre, zcl.DeviceMirroredGas
		ep.delivered = meter.MustOBIS("7-0:3.0.0")
		ep.baseUnit = meter.UnitCubicMetre
	case KindWater:
		ep.unit, ep.devType = zcl.UnitCubicMetre, zcl.DeviceMirroredWater
		ep.delivered = meter.MustOBIS("8-0:1.0.0")
		ep.baseUnit = meter.UnitCubicMetre
	default:
		return ep, fmt.Errorf("kind %q: want %s, %s or %s", m.Kind, KindElectricity, KindGas, KindWater)
	}
	if esi {
		ep.devType = map[string]uint8{KindElectricity: zcl.DeviceElectric, KindGas: zcl.DeviceGas, KindWater: zcl.DeviceWater}[ep.m.Kind]
	}
	return ep, nil
}

// raw converts a stored reading to the cluster's raw units (Wh, W, l,
// l/h); ok is false for a unit the mapping does not know.
func raw(r meter.Reading) (int64, bool) {
	v := r.Value
	switch r.Unit {
	case meter.UnitWattHour, meter.UnitWatt, meter.UnitLitre:
	case meter.UnitCubicMetre, meter.UnitCubicMetreCor, meter.UnitCubicMetreH:
		v.E += 3 // m³ → l
	case meter.UnitJoule: // → Wh
		w, err := v.Round(0)
		if err != nil {
			return 0, false
		}
		return (w.M + 1800) / 3600, true
	default:
		return 0, false
	}
	w, err := v.Round(0)
	if err != nil {
		return 0, false
	}
	return w.M, true
}

// latestRaw is the raw value of the latest reading of o.
func (s *Service) latestRaw(ep *meterEP, o meter.OBIS) (int64, time.Time, bool) {
	if o == (meter.OBIS{}) {
		return 0, time.Time{}, false
	}
	r, ok := s.st.Latest(ep.m.ID, o)
	if !ok {
		return 0, time.Time{}, false
	}
	v, ok := raw(r)
	return v, r.Time, ok
}

// rawAt is the raw value of o at t: the last reading at or before t
// within the day before, else the first reading after t within the day
// after.
func (s *Service) rawAt(ctx context.Context, ep *meterEP, o meter.OBIS, t time.Time) (int64, bool) {
	var last meter.Reading
	found := false
	_ = s.st.Query(ctx, store.Query{Meter: ep.m.ID, OBIS: o, From: t.Add(-36 * time.Hour), To: t.Add(time.Millisecond)}, func(r meter.Reading) error {
		last, found = r, true
		return nil
	})
	if !found {
		_ = s.st.Query(ctx, store.Query{Meter: ep.m.ID, OBIS: o, From: t, To: t.Add(36 * time.Hour), Limit: 1}, func(r meter.Reading) error {
			last, found = r, true
			return nil
		})
	}
	if !found {
		return 0, false
	}
	return raw(last)
}

func (s *Service) midnight(t time.Time) time.Time {
	lt := t.In(s.loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, s.loc)
}

func u48(v int64, ok bool) zcl.Value {
	if !ok || v < 0 || v >= 0xffffffffffff {
		return zcl.Invalid(zcl.TypeUint48)
	}
	return zcl.Uint(zcl.TypeUint48, uint64(v))
}

func u24(v int64, ok bool) zcl.Value {
	if !ok || v < 0 {
		return zcl.Invalid(zcl.TypeUint24)
	}
	return zcl.Uint(zcl.TypeUint24, uint64(min(v, 0xfffffe)))
}

func i24(v int64, ok bool) zcl.Value {
	if !ok {
		return zcl.Invalid(zcl.TypeInt24)
	}
	return zcl.Int(zcl.TypeInt24, max(min(v, 0x7fffff), -0x7fffff))
}

// meteringAttr returns the value of a Metering attribute of ep; ok is
// false for an attribute not served.
func (s *Service) meteringAttr(ctx context.Context, ep *meterEP, id uint16) (zcl.Value, bool) {
	now := s.o.Now()
	elec := ep.m.Kind == KindElectricity
	switch id {
	case zcl.MeterCurrentSummationDelivered:
		v, _, ok := s.latestRaw(ep, ep.delivered)
		return u48(v, ok), true
	case zcl.MeterCurrentSummationReceived:
		if !elec {
			return zcl.Value{}, false
		}
		v, _, ok := s.latestRaw(ep, ep.received)
		return u48(v, ok), true
	case zcl.MeterStatus:
		st := uint8(0)
		if _, t, ok := s.latestRaw(ep, ep.delivered); !ok || now.Sub(t) > StaleAfter {
			st |= zcl.MeterStatusCheckMeter
		}
		return zcl.Uint(zcl.TypeBitmap8, uint64(st)), true
	case zcl.MeterUnitOfMeasure:
		return zcl.Uint(zcl.TypeEnum8, uint64(ep.unit)), true
	case zcl.MeterMultiplier:
		return zcl.Uint(zcl.TypeUint24, Multiplier), true
	case zcl.MeterDivisor:
		return zcl.Uint(zcl.TypeUint24, Divisor), true
	case zcl.MeterSummationFormatting:
		return zcl.Uint(zcl.TypeBitmap8, uint64(zcl.Formatting(3, 6, true))), true
	case zcl.MeterDemandFormatting:
		return zcl.Uint(zcl.TypeBitmap8, uint64(zcl.Formatting(3, 5, true))), true
	case zcl.MeterHistoricalFormatting:
		return zcl.Uint(zcl.TypeBitmap8, uint64(zcl.Formatting(3, 5, true))), true
	case zcl.MeterDeviceType:
		return zcl.Uint(zcl.TypeBitmap8, uint64(ep.devType)), true
	case zcl.MeterProfileIntervalPeriod:
		return zcl.Uint(zcl.TypeEnum8, uint64(zcl.Period15Min)), true
	case zcl.MeterReadingSnapshotTime:
		if _, t, ok := s.latestRaw(ep, ep.delivered); ok {
			return zcl.UTC(t), true
		}
		return zcl.Invalid(zcl.TypeUTC), true
	case zcl.MeterInstantaneousDemand:
		if !elec {
			return zcl.Value{}, false
		}
		in, _, ok := s.latestRaw(ep, ep.demandIn)
		out, _, ok2 := s.latestRaw(ep, ep.demandOut)
		if !ok && !ok2 {
			return i24(0, false), true
		}
		return i24(in-out, true), true
	case zcl.MeterCurrentDayConsumptionDelivered:
		cur, _, ok := s.latestRaw(ep, ep.delivered)
		base, ok2 := s.rawAt(ctx, ep, ep.delivered, s.midnight(now))
		return u24(cur-base, ok && ok2), true
	case zcl.MeterPreviousDayConsumptionDelivered:
		today := s.midnight(now)
		end, ok := s.rawAt(ctx, ep, ep.delivered, today)
		start, ok2 := s.rawAt(ctx, ep, ep.delivered, s.midnight(today.Add(-12*time.Hour)))
		return u24(end-start, ok && ok2), true
	}
	if elec && id >= zcl.MeterCurrentTier1SummationDelivered && id <= zcl.MeterTierSummationReceived(MaxTiers) {
		n := int(id-zcl.MeterCurrentTier1SummationDelivered)/2 + 1
		o := ep.tierDel(n)
		if id&1 == 1 {
			o = ep.tierRec(n)
		}
		v, _, ok := s.latestRaw(ep, o)
		return u48(v, ok), true
	}
	return zcl.Value{}, false
}

// meteringIDs lists the Metering attributes served on ep (discovery).
func meteringIDs(ep *meterEP) []uint16 {
	ids := []uint16{zcl.MeterCurrentSummationDelivered}
	if ep.m.Kind == KindElectricity {
		ids = append(ids, zcl.MeterCurrentSummationReceived)
	}
	ids = append(ids, zcl.MeterReadingSnapshotTime, zcl.MeterProfileIntervalPeriod)
	if ep.m.Kind == KindElectricity {
		for n := 1; n <= MaxTiers; n++ {
			ids = append(ids, zcl.MeterTierSummationDelivered(n), zcl.MeterTierSummationReceived(n))
		}
	}
	ids = append(ids, zcl.MeterStatus, zcl.MeterUnitOfMeasure, zcl.MeterMultiplier, zcl.MeterDivisor,
		zcl.MeterSummationFormatting, zcl.MeterDemandFormatting, zcl.MeterHistoricalFormatting, zcl.MeterDeviceType)
	if ep.m.Kind == KindElectricity {
		ids = append(ids, zcl.MeterInstantaneousDemand)
	}
	return append(ids, zcl.MeterCurrentDayConsumptionDelivered, zcl.MeterPreviousDayConsumptionDelivered)
}

// getProfile answers GetProfile: 15-minute consumption intervals of the
// delivered register, the most recent first.
func (s *Service) getProfile(ctx context.Context, ep *meterEP, g zcl.GetProfile) zcl.GetProfileResponse {
	const period = 15 * time.Minute
	resp := zcl.GetProfileResponse{EndTime: g.EndTime, Period: zcl.Period15Min}
	if g.Channel > zcl.ChannelReceived {
		resp.Status = zcl.ProfileUndefinedChannel
		return resp
	}
	o := ep.delivered
	if g.Channel == zcl.ChannelReceived {
		o = ep.received
		if o == (meter.OBIS{}) {
			resp.Status = zcl.ProfileChannelUnsupported
			return resp
		}
	}
	now := s.o.Now()
	end := now.Truncate(period)
	if g.EndTime != 0 {
		end = zcl.TimeOf(g.EndTime).Truncate(period)
		if end.After(now) {
			resp.Status = zcl.ProfileInvalidEndTime
			return resp
		}
	}
	n := int(g.Periods)
	const maxPeriods = 24 // 3 bytes each: fits one APS frame
	if n == 0 {
		n = 1
	}
	n = min(n, maxPeriods)
	start := end.Add(-time.Duration(n) * period)
	// The register's value at each boundary: the last reading at or
	// before it.
	bounds := make([]int64, n+1)
	have := make([]bool, n+1)
	var last meter.Reading
	got := false
	i := 0
	_ = s.st.Query(ctx, store.Query{Meter: ep.m.ID, OBIS: o, From: start.Add(-period), To: end.Add(time.Millisecond)}, func(r meter.Reading) error {
		for i <= n && r.Time.After(start.Add(time.Duration(i)*period)) {
			if got {
				bounds[i], have[i] = mustRaw(last)
			}
			i++
		}
		last, got = r, true
		return nil
	})
	for ; i <= n && got; i++ {
		bounds[i], have[i] = mustRaw(last)
	}
	resp.EndTime = zcl.UTCTime(end)
	valid := 0
	for k := n; k >= 1; k-- { // most recent first; 0xffffff where unknown
		if !have[k] || !have[k-1] || bounds[k] < bounds[k-1] {
			resp.Intervals = append(resp.Intervals, 0xffffff)
			continue
		}
		resp.Intervals = append(resp.Intervals, uint32(min(bounds[k]-bounds[k-1], 0xfffffe)))
		valid++
	}
	if valid == 0 {
		resp.Status, resp.Intervals = zcl.ProfileNoIntervals, nil
	}
	return resp
}

func mustRaw(r meter.Reading) (int64, bool) { return raw(r) }
