package mbus

import "github.com/smgw/smgw/internal/meter"

// durationUnits are the units of the nn (or pp) bits of duration VIFs.
var durationUnits = [4]meter.Unit{meter.UnitSecond, meter.UnitMinute, meter.UnitHour, meter.UnitDay}

// set names r's quantity, unit and decimal exponent.
func (r *Record) set(q Quantity, u meter.Unit, e int) {
	r.Quantity, r.Unit, r.Value.E = q, u, int8(e)
}

// count names a quantity without a physical unit.
func (r *Record) count(q Quantity) {
	r.Quantity, r.Unit, r.Unitless = q, meter.UnitCount, true
}

// applyVIF sets the quantity, unit and scale of r.Table/r.VIFCode, or
// marks it reserved.
func applyVIF(r *Record) {
	c := r.VIFCode
	n := int(c & 7)
	nn := int(c & 3)
	switch r.Table {
	case TablePrimary:
		switch {
		case c <= 0x07:
			r.set(QuantityEnergy, meter.UnitWattHour, n-3)
		case c <= 0x0F:
			r.set(QuantityEnergy, meter.UnitJoule, n)
		case c <= 0x17:
			r.set(QuantityVolume, meter.UnitCubicMetre, n-6)
		case c <= 0x1F:
			r.set(QuantityMass, meter.UnitKilogram, n-3)
		case c <= 0x23:
			r.set(QuantityOnTime, durationUnits[nn], 0)
		case c <= 0x27:
			r.set(QuantityOperatingTime, durationUnits[nn], 0)
		case c <= 0x2F:
			r.set(QuantityPower, meter.UnitWatt, n-3)
		case c <= 0x37:
			r.set(QuantityPower, meter.UnitJoulePerHour, n)
		case c <= 0x3F:
			r.set(QuantityVolumeFlow, meter.UnitCubicMetreH, n-6)
		case c <= 0x47: // m³/min → m³/h
			r.set(QuantityVolumeFlow, meter.UnitCubicMetreH, n-7)
			r.factor = 60
		case c <= 0x4F: // m³/s → m³/h
			r.set(QuantityVolumeFlow, meter.UnitCubicMetreH, n-9)
			r.factor = 3600
		case c <= 0x57: // kg/h: no DLMS unit; kept as "other"
			r.set(QuantityMassFlow, meter.UnitOther, n-3)
		case c <= 0x5B:
			r.set(QuantityFlowTemperature, meter.UnitCelsius, nn-3)
		case c <= 0x5F:
			r.set(QuantityReturnTemperature, meter.UnitCelsius, nn-3)
		case c <= 0x63:
			r.set(QuantityTemperatureDifference, meter.UnitKelvin, nn-3)
		case c <= 0x67:
			r.set(QuantityExternalTemperature, meter.UnitCelsius, nn-3)
		case c <= 0x6B:
			r.set(QuantityPressure, meter.UnitBar, nn-3)
		case c == 0x6C:
			r.Quantity = QuantityDate
		case c == 0x6D:
			r.Quantity = QuantityDateTime
		case c == 0x6E:
			r.count(QuantityHCA)
		case c == 0x6F:
			r.reserved = true
		case c <= 0x73:
			r.set(QuantityAveragingDuration, durationUnits[nn], 0)
		case c <= 0x77:
			r.set(QuantityActualityDuration, durationUnits[nn], 0)
		case c == 0x78:
			r.count(QuantityFabricationNumber)
		case c == 0x79:
			r.count(QuantityEnhancedID)
		case c == 0x7A:
			r.count(QuantityBusAddress)
		}
	case TableFB:
		applyFB(r, c)
	case TableFD:
		applyFD(r, c)
	}
	if r.reserved {
		r.Quantity = QuantityUnknown
	}
}

func applyFB(r *Record, c byte) {
	n1 := int(c & 1)
	nn := int(c & 3)
	switch {
	case c <= 0x01: // 10^(n-1) MWh
		r.set(QuantityEnergy, meter.UnitWattHour, n1+5)
	case c <= 0x03: // 10^n kVARh
		r.set(QuantityReactiveEnergy, meter.UnitVarHour, n1+3)
	case c <= 0x05: // 10^n kVAh
		r.set(QuantityApparentEnergy, meter.UnitVoltAmpHour, n1+3)
	case c <= 0x07:
	case c <= 0x09: // 10^(n-1) GJ
		r.set(QuantityEnergy, meter.UnitJoule, n1+8)
	case c <= 0x0B:
	case c <= 0x0F: // 10^(nn-1) MCal = 4.184 × 10^(nn+5) J
		r.set(QuantityEnergy, meter.UnitJoule, nn+2)
		r.factor = 4184
	case c <= 0x11: // 10^(n+2) m³
		r.set(QuantityVolume, meter.UnitCubicMetre, n1+2)
	case c <= 0x13:
	case c <= 0x17: // 10^(nn-3) kVAR
		r.set(QuantityReactivePower, meter.UnitVar, nn)
	case c <= 0x19: // 10^(n+2) t
		r.set(QuantityMass, meter.UnitKilogram, n1+5)
	case c <= 0x1B: // relative humidity 10^(n-1) %
		r.set("relative_humidity", meter.UnitPercent, n1-1)
	case c <= 0x1F:
	case c <= 0x27: // volume in feet³ or US gallons, flow in gallons: no metric unit
		r.set(QuantityVolume, meter.UnitOther, 0)
	case c <= 0x29: // 10^(n-1) MW
		r.set(QuantityPower, meter.UnitWatt, n1+5)
	case c <= 0x2B: // phase U-U, U-I: 0.1 degree
		r.set(QuantityPhase, meter.UnitDegree, -1)
	case c <= 0x2F:
		r.set(QuantityFrequency, meter.UnitHertz, nn-3)
	case c <= 0x31: // 10^(n-1) GJ/h
		r.set(QuantityPower, meter.UnitJoulePerHour, n1+8)
	case c <= 0x33:
	case c <= 0x37: // 10^(nn-3) kVA
		r.set(QuantityApparentPower, meter.UnitVoltAmpere, nn)
	case c <= 0x57:
	case c <= 0x67: // temperatures in °F
		q := [4]Quantity{QuantityFlowTemperature, QuantityReturnTemperature, QuantityTemperatureDifference, QuantityExternalTemperature}[(c-0x58)/4]
		r.set(q, meter.UnitOther, nn-3)
	case c <= 0x6F:
	case c <= 0x73: // cold/warm temperature limit °F
		r.set(QuantityTemperatureLimit, meter.UnitOther, nn-3)
	case c <= 0x77:
		r.set(QuantityTemperatureLimit, meter.UnitCelsius, nn-3)
	default: // cumulative count of max power 10^(nnn-3) W
		r.set(QuantityMaxPowerCount, meter.UnitWatt, int(c&7)-3)
	}
	if r.Quantity == "" {
		r.reserved = true
	}
}

var fdCounts = map[byte]Quantity{
	0x08: QuantityAccessNumber, 0x09: QuantityMedium, 0x0A: QuantityManufacturer,
	0x0B: QuantityParameterSet, 0x0C: QuantityModelVersion, 0x0D: QuantityHardwareVersion,
	0x0E: QuantityFirmwareVersion, 0x0F: QuantitySoftwareVersion, 0x10: QuantityCustomerLocation,
	0x11: QuantityCustomer, 0x12: QuantityAccessCodeUser, 0x13: QuantityAccessCodeOperator,
	0x14: QuantityAccessCodeSysOperator, 0x15: QuantityAccessCodeDeveloper, 0x16: QuantityPassword,
	0x17: QuantityErrorFlags, 0x18: QuantityErrorMask, 0x19: QuantitySecurityKey,
	0x1A: QuantityDigitalOutput, 0x1B: QuantityDigitalInput, 0x1C: QuantityBaudRate,
	0x1D: QuantityResponseDelay, 0x1E: QuantityRetry, 0x1F: QuantityRemoteControl,
	0x20: QuantityFirstStorage, 0x21: QuantityLastStorage, 0x22: QuantityStorageBlockSize,
	0x23: QuantityDescriptorTariff, 0x2A: "operator_data", 0x2B: "time_point_second",
	0x3A: QuantityDimensionless, 0x3B: QuantityDataContainer,
	0x60: QuantityResetCounter, 0x61: QuantityCumulationCounter, 0x62: QuantityControlSignal,
	0x63: QuantityDayOfWeek, 0x64: QuantityWeekNumber, 0x65: QuantityDayChange,
	0x66: QuantityParameterActivation, 0x67: QuantitySupplierInfo, 0x72: QuantityDST,
	0x73: QuantityListeningWindow, 0x75: QuantityMeterStops, 0x76: QuantityDataContainerMfct,
}

var longDurations = [4]meter.Unit{meter.UnitHour, meter.UnitDay, meter.UnitMonth, meter.UnitYear}

func applyFD(r *Record, c byte) {
	nn := int(c & 3)
	if q, ok := fdCounts[c]; ok {
		r.count(q)
		return
	}
	switch {
	case c <= 0x03:
		r.set(QuantityCreditCurrency, meter.UnitCurrency, nn-3)
	case c <= 0x07:
		r.set(QuantityDebitCurrency, meter.UnitCurrency, nn-3)
	case c <= 0x27: // 0x24–0x27 storage interval s, min, h, d
		r.set(QuantityStorageInterval, durationUnits[nn], 0)
	case c == 0x28:
		r.set(QuantityStorageInterval, meter.UnitMonth, 0)
	case c == 0x29:
		r.set(QuantityStorageInterval, meter.UnitYear, 0)
	case c >= 0x2C && c <= 0x2F:
		r.set(QuantityDurationSinceReadout, durationUnits[nn], 0)
	case c == 0x30:
		r.Quantity = QuantityTariffStart
	case c <= 0x33: // 0x31–0x33 duration of tariff min, h, d
		r.set(QuantityTariffDuration, durationUnits[nn], 0)
	case c <= 0x37:
		r.set(QuantityTariffPeriod, durationUnits[nn], 0)
	case c == 0x38:
		r.set(QuantityTariffPeriod, meter.UnitMonth, 0)
	case c == 0x39:
		r.set(QuantityTariffPeriod, meter.UnitYear, 0)
	case c >= 0x3C && c <= 0x3F: // period of nominal data transmissions
		r.set("transmission_period", durationUnits[nn], 0)
	case c >= 0x40 && c <= 0x4F:
		r.set(QuantityVoltage, meter.UnitVolt, int(c&0x0F)-9)
	case c >= 0x50 && c <= 0x5F:
		r.set(QuantityCurrent, meter.UnitAmpere, int(c&0x0F)-12)
	case c >= 0x68 && c <= 0x6B:
		r.set(QuantitySinceCumulation, longDurations[nn], 0)
	case c >= 0x6C && c <= 0x6F:
		r.set(QuantityBatteryOperatingTime, longDurations[nn], 0)
	case c == 0x70:
		r.Quantity = QuantityBatteryChangeDate
	case c == 0x71:
		r.set(QuantityRFLevel, meter.UnitDBm, 0)
	case c == 0x74:
		r.set(QuantityRemainingBattery, meter.UnitDay, 0)
	default:
		r.reserved = true
	}
}
