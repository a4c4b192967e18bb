package meter

import (
	"strconv"
	"testing"
)

func TestUnitCodesAndSymbols(t *testing.T) {
	tests := []struct {
		u      Unit
		code   uint8
		symbol string
		str    string
	}{
		{UnitWattHour, 30, "Wh", "Wh"},
		{UnitWatt, 27, "W", "W"},
		{UnitCubicMetre, 13, "m³", "m³"},
		{UnitCelsius, 9, "°C", "°C"},
		{UnitVar, 29, "var", "var"},
		{UnitVolt, 35, "V", "V"},
		{UnitAmpere, 33, "A", "A"},
		{UnitHertz, 44, "Hz", "Hz"},
		{UnitCount, 255, "", "count"},
		{UnitNone, 0, "", "none"},
		{UnitVarHour, 32, "varh", "varh"},
		{UnitVoltAmpere, 28, "VA", "VA"},
		{UnitKelvin, 52, "K", "K"},
		{UnitCubicMetreH, 15, "m³/h", "m³/h"},
		{UnitLitre, 19, "l", "l"},
		{UnitPercent, 56, "%", "%"},
		{UnitDBm, 70, "dBm", "dBm"},
		{UnitOther, 254, "other", "other"},
		{Unit(99), 99, "unit(99)", "unit(99)"},
	}
	for _, tt := range tests {
		if uint8(tt.u) != tt.code {
			t.Errorf("%s has code %d, want %d (codes are persisted)", tt.str, uint8(tt.u), tt.code)
		}
		if got := tt.u.Symbol(); got != tt.symbol {
			t.Errorf("Unit(%d).Symbol() = %q, want %q", tt.code, got, tt.symbol)
		}
		if got := tt.u.String(); got != tt.str {
			t.Errorf("Unit(%d).String() = %q, want %q", tt.code, got, tt.str)
		}
	}
}

func TestParseUnit(t *testing.T) {
	tests := []struct {
		in   string
		want Unit
	}{
		{"Wh", UnitWattHour}, {"W", UnitWatt}, {"var", UnitVar}, {"varh", UnitVarHour},
		{"V", UnitVolt}, {"A", UnitAmpere}, {"Hz", UnitHertz},
		{"m³", UnitCubicMetre}, {"m3", UnitCubicMetre}, // the uncorrected code of a shared symbol
		{"m³/h", UnitCubicMetreH}, {"m3/h", UnitCubicMetreH}, {"m³/d", UnitCubicMetreD},
		{"°C", UnitCelsius}, {"degC", UnitCelsius}, {"C°", UnitCelsius}, {"C", UnitCoulomb},
		{"°", UnitDegree}, {"count", UnitCount}, {"", UnitCount}, {"none", UnitNone},
		{"30", UnitWattHour}, {"0", UnitNone}, {"255", UnitCount}, {"14", UnitCubicMetreCor}, {"99", Unit(99)},
		{"Ω", UnitOhm}, {"dBµV", UnitDBMicroVolt}, {"Mol %", UnitMolPercent}, {"1/(Wh)", UnitPerWh},
	}
	for _, tt := range tests {
		got, err := ParseUnit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUnit(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"wh", "WH", "kWh", "256", "-1", "unit(99)", " Wh", "m^3", "celsius"} {
		if got, err := ParseUnit(in); err == nil {
			t.Errorf("ParseUnit(%q) = %d, want an error", in, got)
		}
	}
}

// Every code survives MarshalText → UnmarshalText, including the corrected
// volumes that share a symbol and the codes outside the table.
func TestUnitTextRoundTrip(t *testing.T) {
	for c := range 256 {
		u := Unit(c)
		b, err := u.MarshalText()
		if err != nil {
			t.Fatalf("Unit(%d).MarshalText() = %v", c, err)
		}
		var back Unit
		if err := back.UnmarshalText(b); err != nil || back != u {
			t.Errorf("Unit(%d) → %q → %d, %v", c, b, back, err)
		}
	}
	if b, _ := UnitWattHour.MarshalText(); string(b) != "Wh" {
		t.Errorf("Wh marshals as %q", b)
	}
	if b, _ := UnitCubicMetreCor.MarshalText(); string(b) != "14" {
		t.Errorf("corrected m³ marshals as %q, want its code", b)
	}
	u := UnitWatt
	if err := u.UnmarshalText([]byte("bogus")); err == nil || u != UnitWatt {
		t.Errorf("UnmarshalText(bogus) = %v, unit now %d", err, u)
	}
}

func TestUnitKnownName(t *testing.T) {
	known := 0
	for c := range 256 {
		u := Unit(c)
		if u.Known() {
			known++
			if u != UnitNone && u.Name() == "unit code "+strconv.Itoa(c) {
				t.Errorf("known Unit(%d) has no name", c)
			}
		} else if u.Name() != "unit code "+strconv.Itoa(c) || u.Symbol() != "unit("+strconv.Itoa(c)+")" {
			t.Errorf("unknown Unit(%d): Name %q Symbol %q", c, u.Name(), u.Symbol())
		}
	}
	if known != 71 { // 70 table entries (1…57, 60…67, 70…72, 254, 255) and UnitNone
		t.Errorf("%d known units, want 71", known)
	}
	if UnitWattHour.Name() != "active energy" || UnitCelsius.Name() != "temperature" {
		t.Errorf("names: %q %q", UnitWattHour.Name(), UnitCelsius.Name())
	}
}
