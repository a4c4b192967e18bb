package mbus

import "github.com/smgw/smgw/internal/meter"

// obisFor maps a record onto an OBIS code (IEC 62056-61 with the M-Bus
// media groups of EN 13757-1). medium is the OBIS value group A of the
// meter's device type (0 when it has none).
//
// Value group B is the subunit, E the tariff, F the storage number (255
// for storage 0, 254 for storage numbers above 253). For the media 4–9,
// D is 0 for the current value, 4 for a minimum and 5 for a maximum; for
// electricity D is 8 for energies, 7 for instantaneous values, 6 for a
// maximum and 3 for a minimum. Records without a code (manufacturer
// data, configuration, backward flow on non-electricity media) get the
// zero OBIS.
func obisFor(r *Record, medium byte) meter.OBIS {
	if r.Kind == KindNone || r.Kind == KindBytes || r.Kind == KindText {
		return meter.OBIS{}
	}
	if r.Modifiers&(ModLimitDate|ModLimitDuration|ModLimitExceeds|ModLowerLimit|ModUpperLimit|ModFuture|ModErrorCode|ModMfct|ModPerUnit|ModPerPulse|ModStartDate) != 0 {
		return meter.OBIS{}
	}
	b := byte(r.Subunit)
	if r.Subunit > 255 {
		return meter.OBIS{}
	}
	e := r.Tariff
	if e > 255 {
		return meter.OBIS{}
	}
	f := byte(255)
	if r.Storage > 0 {
		f = byte(min(r.Storage, 254))
		if r.Storage > 253 {
			f = 254
		}
	}
	abstract := func(c, d, e byte) meter.OBIS { return meter.OBIS{0, b, c, d, e, f} }
	switch r.Quantity {
	case QuantityDate, QuantityDateTime:
		return abstract(1, 0, 0)
	case QuantityFabricationNumber:
		if r.Kind != KindNumber {
			return meter.OBIS{}
		}
		return abstract(96, 1, 0)
	case QuantityErrorFlags:
		return abstract(97, 97, 0)
	case QuantityOperatingTime:
		return abstract(96, 8, 0)
	}
	back := r.Modifiers&ModBackward != 0
	if medium == 0 {
		switch r.Quantity {
		case QuantityVolume, QuantityVolumeFlow:
			medium = 8
		case QuantityEnergy, QuantityPower, QuantityFlowTemperature, QuantityReturnTemperature, QuantityTemperatureDifference:
			medium = 6
		case QuantityHCA:
			medium = 4
		default:
			return meter.OBIS{}
		}
	}
	o := meter.OBIS{medium, b, 0, 0, byte(e), f}
	if medium == 1 {
		d := byte(8)
		var c byte
		switch r.Quantity {
		case QuantityEnergy:
			c = 1
		case QuantityReactiveEnergy:
			c = 3
		case QuantityApparentEnergy:
			c = 9
		case QuantityPower:
			c, d = 1, 7
		case QuantityReactivePower:
			c, d = 3, 7
		case QuantityApparentPower:
			c, d = 9, 7
		case QuantityVoltage:
			c, d = 32, 7
		case QuantityCurrent:
			c, d = 31, 7
		case QuantityFrequency:
			c, d = 14, 7
		default:
			return meter.OBIS{}
		}
		if back {
			c++
		}
		switch r.Function {
		case Maximum:
			d = 6
		case Minimum:
			d = 3
		case ValueDuringError:
			return meter.OBIS{}
		}
		o[2], o[3] = c, d
		return o
	}
	if back && !(medium == 6 && r.Quantity == QuantityEnergy) {
		return meter.OBIS{}
	}
	var c byte
	switch medium {
	case 5, 6: // cooling, heat
		switch r.Quantity {
		case QuantityEnergy:
			c = 1
			if back {
				o[0] = 5
			}
		case QuantityVolume:
			c = 2
		case QuantityMass:
			c = 3
		case QuantityPower:
			c = 8
		case QuantityVolumeFlow:
			c = 9
		case QuantityFlowTemperature:
			c = 10
		case QuantityReturnTemperature:
			c = 11
		case QuantityTemperatureDifference:
			c = 12
		case QuantityPressure:
			c = 13
		}
	case 7: // gas
		switch r.Quantity {
		case QuantityVolume:
			c = 3
			if r.Modifiers&ModBaseConditions != 0 {
				c = 13
			}
		case QuantityEnergy:
			c = 31
		case QuantityFlowTemperature, QuantityExternalTemperature:
			c = 41
		case QuantityPressure:
			c = 42
		case QuantityVolumeFlow:
			c = 43
		}
	case 8, 9: // water
		switch r.Quantity {
		case QuantityVolume:
			c = 1
		case QuantityVolumeFlow:
			c = 2
		case QuantityFlowTemperature:
			c = 3
		}
	case 4: // heat cost allocator
		switch r.Quantity {
		case QuantityHCA:
			c = 1
		case QuantityFlowTemperature:
			c = 3
		case QuantityReturnTemperature:
			c = 6
		case QuantityExternalTemperature:
			c = 7
		}
	}
	if c == 0 {
		return meter.OBIS{}
	}
	o[2] = c
	switch r.Function {
	case Minimum:
		o[3] = 4
	case Maximum:
		o[3] = 5
	case ValueDuringError:
		return meter.OBIS{}
	}
	return o
}

// MapOBIS returns the OBIS code the mapping of this package gives r on a
// meter of device type dev (for records built outside AppendRecords, such
// as a manufacturer profile's).
func MapOBIS(r *Record, dev DeviceType) meter.OBIS { return obisFor(r, dev.ObisMedium()) }
