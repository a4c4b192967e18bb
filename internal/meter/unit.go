package meter

import (
	"fmt"
	"strconv"
)

// Unit is a DLMS/COSEM unit code (IEC 62056-62, the enumeration of the
// scaler_unit attribute). The codes are the standard's and are persisted.
type Unit uint8

// The units of IEC 62056-62. Only those with a symbol in the standard's
// table are named; 0 means "not set".
const (
	UnitNone          Unit = 0
	UnitYear          Unit = 1   // a
	UnitMonth         Unit = 2   // mo
	UnitWeek          Unit = 3   // wk
	UnitDay           Unit = 4   // d
	UnitHour          Unit = 5   // h
	UnitMinute        Unit = 6   // min
	UnitSecond        Unit = 7   // s
	UnitDegree        Unit = 8   // ° (phase angle)
	UnitCelsius       Unit = 9   // °C
	UnitCurrency      Unit = 10  // local currency
	UnitMetre         Unit = 11  // m
	UnitMetrePerSec   Unit = 12  // m/s
	UnitCubicMetre    Unit = 13  // m³
	UnitCubicMetreCor Unit = 14  // m³, corrected volume
	UnitCubicMetreH   Unit = 15  // m³/h
	UnitCubicMetreHC  Unit = 16  // m³/h, corrected
	UnitCubicMetreD   Unit = 17  // m³/d
	UnitCubicMetreDC  Unit = 18  // m³/d, corrected
	UnitLitre         Unit = 19  // l
	UnitKilogram      Unit = 20  // kg
	UnitNewton        Unit = 21  // N
	UnitNewtonMetre   Unit = 22  // Nm
	UnitPascal        Unit = 23  // Pa
	UnitBar           Unit = 24  // bar
	UnitJoule         Unit = 25  // J
	UnitJoulePerHour  Unit = 26  // J/h
	UnitWatt          Unit = 27  // W
	UnitVoltAmpere    Unit = 28  // VA
	UnitVar           Unit = 29  // var
	UnitWattHour      Unit = 30  // Wh
	UnitVoltAmpHour   Unit = 31  // VAh
	UnitVarHour       Unit = 32  // varh
	UnitAmpere        Unit = 33  // A
	UnitCoulomb       Unit = 34  // C
	UnitVolt          Unit = 35  // V
	UnitVoltPerMetre  Unit = 36  // V/m
	UnitFarad         Unit = 37  // F
	UnitOhm           Unit = 38  // Ω
	UnitOhmM2PerM     Unit = 39  // Ωm²/m
	UnitWeber         Unit = 40  // Wb
	UnitTesla         Unit = 41  // T
	UnitAmpPerMetre   Unit = 42  // A/m
	UnitHenry         Unit = 43  // H
	UnitHertz         Unit = 44  // Hz
	UnitPerWh         Unit = 45  // 1/(Wh), active energy meter constant
	UnitPerVarh       Unit = 46  // 1/(varh), reactive energy meter constant
	UnitPerVAh        Unit = 47  // 1/(VAh), apparent energy meter constant
	UnitVolt2Hour     Unit = 48  // V²h
	UnitAmp2Hour      Unit = 49  // A²h
	UnitKgPerSecond   Unit = 50  // kg/s
	UnitSiemens       Unit = 51  // S (mho)
	UnitKelvin        Unit = 52  // K
	UnitPerV2h        Unit = 53  // 1/(V²h)
	UnitPerA2h        Unit = 54  // 1/(A²h)
	UnitPerCubicMetre Unit = 55  // 1/m³, volume meter constant
	UnitPercent       Unit = 56  // %
	UnitAmpHour       Unit = 57  // Ah
	UnitWhPerM3       Unit = 60  // Wh/m³
	UnitJPerM3        Unit = 61  // J/m³
	UnitMolPercent    Unit = 62  // Mol %
	UnitGramPerM3     Unit = 63  // g/m³
	UnitPascalSecond  Unit = 64  // Pa s
	UnitJoulePerKg    Unit = 65  // J/kg
	UnitGramPerCm2    Unit = 66  // g/cm²
	UnitAtmosphere    Unit = 67  // atm
	UnitDBm           Unit = 70  // dBm
	UnitDBMicroVolt   Unit = 71  // dBµV
	UnitDB            Unit = 72  // dB
	UnitOther         Unit = 254 // other unit
	UnitCount         Unit = 255 // no unit, unitless, count
)

type unitInfo struct{ symbol, name string }

var units = map[Unit]unitInfo{
	UnitYear: {"a", "year"}, UnitMonth: {"mo", "month"}, UnitWeek: {"wk", "week"},
	UnitDay: {"d", "day"}, UnitHour: {"h", "hour"}, UnitMinute: {"min", "minute"},
	UnitSecond: {"s", "second"}, UnitDegree: {"°", "phase angle degree"},
	UnitCelsius: {"°C", "temperature"}, UnitCurrency: {"currency", "local currency"},
	UnitMetre: {"m", "length"}, UnitMetrePerSec: {"m/s", "speed"},
	UnitCubicMetre: {"m³", "volume"}, UnitCubicMetreCor: {"m³", "corrected volume"},
	UnitCubicMetreH: {"m³/h", "volume flux"}, UnitCubicMetreHC: {"m³/h", "corrected volume flux"},
	UnitCubicMetreD: {"m³/d", "volume flux"}, UnitCubicMetreDC: {"m³/d", "corrected volume flux"},
	UnitLitre: {"l", "volume"}, UnitKilogram: {"kg", "mass"}, UnitNewton: {"N", "force"},
	UnitNewtonMetre: {"Nm", "energy"}, UnitPascal: {"Pa", "pressure"}, UnitBar: {"bar", "pressure"},
	UnitJoule: {"J", "energy"}, UnitJoulePerHour: {"J/h", "thermal power"},
	UnitWatt: {"W", "active power"}, UnitVoltAmpere: {"VA", "apparent power"},
	UnitVar: {"var", "reactive power"}, UnitWattHour: {"Wh", "active energy"},
	UnitVoltAmpHour: {"VAh", "apparent energy"}, UnitVarHour: {"varh", "reactive energy"},
	UnitAmpere: {"A", "current"}, UnitCoulomb: {"C", "electrical charge"},
	UnitVolt: {"V", "voltage"}, UnitVoltPerMetre: {"V/m", "electric field strength"},
	UnitFarad: {"F", "capacitance"}, UnitOhm: {"Ω", "resistance"},
	UnitOhmM2PerM: {"Ωm²/m", "resistivity"}, UnitWeber: {"Wb", "magnetic flux"},
	UnitTesla: {"T", "magnetic flux density"}, UnitAmpPerMetre: {"A/m", "magnetic field strength"},
	UnitHenry: {"H", "inductance"}, UnitHertz: {"Hz", "frequency"},
	UnitPerWh:     {"1/(Wh)", "active energy meter constant"},
	UnitPerVarh:   {"1/(varh)", "reactive energy meter constant"},
	UnitPerVAh:    {"1/(VAh)", "apparent energy meter constant"},
	UnitVolt2Hour: {"V²h", "volt-squared hour"}, UnitAmp2Hour: {"A²h", "ampere-squared hour"},
	UnitKgPerSecond: {"kg/s", "mass flux"}, UnitSiemens: {"S", "conductance"},
	UnitKelvin: {"K", "temperature"}, UnitPerV2h: {"1/(V²h)", "volt-squared hour meter constant"},
	UnitPerA2h:        {"1/(A²h)", "ampere-squared hour meter constant"},
	UnitPerCubicMetre: {"1/m³", "volume meter constant"}, UnitPercent: {"%", "percentage"},
	UnitAmpHour: {"Ah", "ampere-hour"}, UnitWhPerM3: {"Wh/m³", "energy per volume"},
	UnitJPerM3: {"J/m³", "calorific value"}, UnitMolPercent: {"Mol %", "molar fraction"},
	UnitGramPerM3: {"g/m³", "mass density"}, UnitPascalSecond: {"Pa s", "dynamic viscosity"},
	UnitJoulePerKg: {"J/kg", "specific energy"}, UnitGramPerCm2: {"g/cm²", "pressure"},
	UnitAtmosphere: {"atm", "pressure"}, UnitDBm: {"dBm", "signal strength"},
	UnitDBMicroVolt: {"dBµV", "signal strength"}, UnitDB: {"dB", "logarithmic unit"},
	UnitOther: {"other", "other unit"}, UnitCount: {"", "count"},
}

// Known reports whether u is a unit code of the standard's table.
func (u Unit) Known() bool {
	_, ok := units[u]
	return ok || u == UnitNone
}

// Symbol returns the unit's symbol ("Wh", "m³", "°C"); "" for a count,
// and "unit(N)" for a code outside the table.
func (u Unit) Symbol() string {
	if i, ok := units[u]; ok {
		return i.symbol
	}
	if u == UnitNone {
		return ""
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// Name returns what the unit measures ("active energy").
func (u Unit) Name() string {
	if i, ok := units[u]; ok {
		return i.name
	}
	return fmt.Sprintf("unit code %d", uint8(u))
}

// String is Symbol, with "count" for the unitless code.
func (u Unit) String() string {
	if u == UnitCount {
		return "count"
	}
	if u == UnitNone {
		return "none"
	}
	return u.Symbol()
}

// ParseUnit maps a symbol ("Wh", "m3", "m³", "degC", "°C", "count") or a
// decimal code ("30") to a Unit. Where two codes share a symbol, the
// uncorrected one is returned.
func ParseUnit(s string) (Unit, error) {
	switch s {
	case "m3":
		return UnitCubicMetre, nil
	case "m3/h":
		return UnitCubicMetreH, nil
	case "degC", "C°":
		return UnitCelsius, nil
	case "count", "":
		return UnitCount, nil
	case "none":
		return UnitNone, nil
	}
	for code := Unit(1); code != 0; code++ {
		if i, ok := units[code]; ok && i.symbol == s {
			return code, nil
		}
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return Unit(n), nil
	}
	return 0, fmt.Errorf("meter: unknown unit %q", s)
}

// MarshalText implements encoding.TextMarshaler with String, except for
// the codes String does not identify (a corrected volume shares its
// symbol with the uncorrected one; codes outside the table print as
// "unit(N)"): those are written as their decimal code, so that
// UnmarshalText always gives back the same Unit.
func (u Unit) MarshalText() ([]byte, error) {
	s := u.String()
	if back, err := ParseUnit(s); err != nil || back != u {
		s = strconv.Itoa(int(u))
	}
	return []byte(s), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseUnit.
func (u *Unit) UnmarshalText(b []byte) error {
	x, err := ParseUnit(string(b))
	if err != nil {
		return err
	}
	*u = x
	return nil
}
