package sep2

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/smgw/smgw/internal/meter"
)

// mRID returns a stable 128-bit mRID (32 upper-case hex digits) for an
// object of the given kind and key: the first 16 bytes of
// SHA-256("smgw-sep2\x00" kind "\x00" key). It changes only when the
// object's identity does, as the standard asks of an mRID.
func mRID(kind, key string) string {
	h := sha256.New()
	h.Write([]byte("smgw-sep2\x00"))
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)[:16]))
}

// String32 clips s to 32 bytes at a rune boundary (description fields).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// Service kinds (ServiceKind).
const (
	serviceElectricity = 0
	serviceGas         = 1
	serviceWater       = 2
	serviceHeat        = 5
	serviceCooling     = 6
)

// serviceKind maps an OBIS medium (value group A) to ServiceKind; ok is
// false for abstract objects (A=0) and media without a service kind.
func serviceKind(a byte) (uint8, bool) {
	switch a {
	case 1:
		return serviceElectricity, true
	case 7:
		return serviceGas, true
	case 8, 9:
		return serviceWater, true
	case 6:
		return serviceHeat, true
	case 5:
		return serviceCooling, true
	}
	return 0, false
}

// commodity maps an OBIS medium to CommodityType.
func commodity(a byte) uint8 {
	switch a {
	case 1:
		return 1 // electricity secondary metered (a premises meter)
	case 7:
		return 7 // natural gas
	case 8, 9:
		return 9 // potable water (cold and hot)
	case 6:
		return 12 // heating fluid
	case 5:
		return 13 // cooling fluid
	}
	return 0
}

// uom maps a DLMS unit (IEC 62056-62) to the UomType of IEC 61968-9 that
// IEEE 2030.5 uses; ok is false for units without one.
func uom(u meter.Unit) (uint8, bool) {
	switch u {
	case meter.UnitAmpere:
		return 5, true
	case meter.UnitKelvin:
		return 6, true
	case meter.UnitCelsius:
		return 23, true
	case meter.UnitVolt:
		return 29, true
	case meter.UnitJoule:
		return 31, true
	case meter.UnitHertz:
		return 33, true
	case meter.UnitWatt:
		return 38, true
	case meter.UnitCubicMetre, meter.UnitCubicMetreCor:
		return 42, true
	case meter.UnitVoltAmpere:
		return 61, true
	case meter.UnitVar:
		return 63, true
	case meter.UnitVoltAmpHour:
		return 71, true
	case meter.UnitWattHour:
		return 72, true
	case meter.UnitVarHour:
		return 73, true
	case meter.UnitAmpHour:
		return 106, true
	case meter.UnitCubicMetreH, meter.UnitCubicMetreHC:
		return 125, true
	case meter.UnitLitre:
		return 134, true
	}
	return 0, false
}

// Enumerations of ReadingType (values from sep.xsd's documentation).
const (
	accumDeltaData     = 4
	accumIndicating    = 6
	accumSummation     = 9
	accumInstantaneous = 12

	kindDemand = 8
	kindEnergy = 12
	kindPower  = 37

	flowForward = 1  // delivered to the customer
	flowReverse = 19 // received from the customer

	qualAverage = 2
	qualMaximum = 8
)

func p8(v uint8) *uint8 { return &v }

// seriesType is the ReadingType of one OBIS quantity in unit u with the
// given power-of-ten multiplier.
func seriesType(o meter.OBIS, u meter.Unit, mult int8) readingType {
	a, c, d := o[0], o[2], o[3]
	rt := readingType{}
	if cm := commodity(a); cm != 0 {
		rt.Commodity = p8(cm)
	}
	if code, ok := uom(u); ok {
		rt.UOM = p8(code)
		rt.PowerOfTenMultiplier = &mult
	}
	energy := u == meter.UnitWattHour || u == meter.UnitVarHour || u == meter.UnitVoltAmpHour || u == meter.UnitJoule
	power := u == meter.UnitWatt || u == meter.UnitVar || u == meter.UnitVoltAmpere
	switch {
	case energy:
		rt.Kind = p8(kindEnergy)
	case power && (d == 4 || d == 5 || d == 6 || d == 15 || d == 16):
		rt.Kind = p8(kindDemand)
	case power:
		rt.Kind = p8(kindPower)
	}
	switch d {
	case 8: // time integral 1: the register since its reset
		rt.AccumulationBehaviour = p8(accumSummation)
	case 9, 29: // time integral 2 / over the recording interval
		rt.AccumulationBehaviour = p8(accumDeltaData)
	case 7: // instantaneous value
		rt.AccumulationBehaviour = p8(accumInstantaneous)
	case 4, 5: // current / last average
		rt.AccumulationBehaviour, rt.DataQualifier = p8(accumIndicating), p8(qualAverage)
	case 6: // maximum 1
		rt.AccumulationBehaviour, rt.DataQualifier = p8(accumIndicating), p8(qualMaximum)
	}
	volume := u == meter.UnitCubicMetre || u == meter.UnitCubicMetreCor || u == meter.UnitLitre
	if rt.AccumulationBehaviour == nil && a != 1 && (energy || volume) && d != 7 {
		// Registers of gas, water and heat meters (e.g. 7-0:3.0.0,
		// 8-0:1.0.0, 6-0:1.0.0) count up like an energy register.
		rt.AccumulationBehaviour = p8(accumSummation)
	}
	if a == 1 {
		if f, ph := elecFlowPhase(c); f != 0 || ph != 0 {
			if f != 0 {
				rt.FlowDirection = p8(f)
			}
			if ph != 0 {
				rt.Phase = p8(ph)
			}
		}
	}
	return rt
}

// elecFlowPhase maps an electricity OBIS quantity (value group C) to its
// flow direction and phase (IEC 62056-61 Table 3 grouping: C = 1…20
// totals, 21…40 L1, 41…60 L2, 61…80 L3).
func elecFlowPhase(c byte) (flow, phase uint8) {
	base := c
	switch {
	case c >= 21 && c <= 40:
		base, phase = c-20, 129 // phase A to neutral
	case c >= 41 && c <= 60:
		base, phase = c-40, 65 // phase B to neutral
	case c >= 61 && c <= 80:
		base, phase = c-60, 33 // phase C to neutral
	}
	switch base {
	case 1, 3, 9: // +A, +R (QI+QII), +VA: import
		flow = flowForward
	case 2, 4, 10: // -A, -R, -VA: export
		flow = flowReverse
	}
	return flow, phase
}

// touTier is the tier of an OBIS register (value group E = 1…15 on a
// register or demand quantity); 0 for a total or other quantity.
func touTier(o meter.OBIS) uint8 {
	if o[4] >= 1 && o[4] <= 15 && o[3] != 7 {
		return o[4]
	}
	return 0
}

// qualityFlags maps the reading's quality to ReadingBase qualityFlags
// (bit 0 valid, 1 manually edited, 2 estimated using reference day,
// 4 questionable, 5 derived); "" for a plain good value.
func qualityFlags(q meter.Quality) string {
	if q == 0 {
		return ""
	}
	var f uint16
	bad := meter.QualityInvalid | meter.QualityMeterError | meter.QualityTampered | meter.QualityClockUnsynced | meter.QualityOverflow
	if q&bad == 0 && q&meter.QualityEstimated == 0 {
		f |= 1 << 0
	}
	if q&meter.QualityManual != 0 {
		f |= 1 << 1
	}
	if q&meter.QualityEstimated != 0 {
		f |= 1 << 2
	}
	if q&bad != 0 {
		f |= 1 << 4
	}
	if q&meter.QualityAggregated != 0 {
		f |= 1 << 5
	}
	return strings.ToUpper(hex.EncodeToString([]byte{byte(f >> 8), byte(f)}))
}

// Int48 bounds (sep.xsd's Int48).
const (
	maxInt48 = 1<<47 - 1
	minInt48 = -(1 << 47)
)

// scaled returns v as an integer count of 10^mult units, rounding half
// away from zero when v has more digits; ok is false when it does not fit
// Int48.
func scaled(v meter.Value, mult int8) (int64, bool) {
	w, err := v.Rescale(mult)
	if err != nil {
		if w, err = v.Round(mult); err != nil {
			return 0, false
		}
		if w.E != mult {
			if w, err = w.Rescale(mult); err != nil {
				return 0, false
			}
		}
	}
	if w.M > maxInt48 || w.M < minInt48 {
		return 0, false
	}
	return w.M, true
}

// ISO 4217 numeric codes of the currencies a schedule may use (the
// alphabetic code is what the tariff model keeps).
var currencies = map[string]uint16{
	"AUD": 36, "CAD": 124, "CHF": 756, "CZK": 203, "DKK": 208, "EUR": 978,
	"GBP": 826, "HUF": 348, "ISK": 352, "JPY": 392, "NOK": 578, "NZD": 554,
	"PLN": 985, "RON": 946, "SEK": 752, "USD": 840, "ZAR": 710, "BGN": 975,
	"INR": 356, "CNY": 156, "BRL": 986, "MXN": 484, "TRY": 949, "KRW": 410,
}

// Device classes of the tariff model to DeviceCategoryType bits.
var deviceBits = map[string]uint32{
	"hvac":            1 << 0, // programmable communicating thermostat
	"heat-pump":       1 << 0,
	"water-heater":    1 << 3,
	"pool-pump":       1 << 4,
	"smart-appliance": 1 << 7,
	"ev-charger":      1<<13 | 1<<17, // electric vehicle, EVSE
	"battery":         1 << 18,       // residential energy storage unit
	"lighting":        1<<11 | 1<<12, // exterior and interior lighting
	"load-control":    1 << 15,       // load control switch
	"generation":      1 << 14,       // generation systems
}

func deviceCategory(classes []string) string {
	var b uint32
	for _, c := range classes {
		b |= deviceBits[c]
	}
	return strings.ToUpper(hex.EncodeToString([]byte{byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)}))
}

// Message priorities of the tariff model to PriorityType.
var priorities = map[string]uint8{"low": 0, "medium": 1, "high": 2, "critical": 3}
