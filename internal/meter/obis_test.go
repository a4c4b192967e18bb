package meter

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseOBIS(t *testing.T) {
	tests := []struct {
		in   string
		want OBIS
	}{
		// Every documented form of the same code.
		{"1-0:1.8.0*255", OBIS{1, 0, 1, 8, 0, 255}},
		{"1-0:1.8.0", OBIS{1, 0, 1, 8, 0, 255}},
		{"1-0:1.8.0.255", OBIS{1, 0, 1, 8, 0, 255}},
		{"1.0.1.8.0.255", OBIS{1, 0, 1, 8, 0, 255}},
		{"1.0.1.8.0", OBIS{1, 0, 1, 8, 0, 255}},
		{"0100010800FF", OBIS{1, 0, 1, 8, 0, 255}},
		{"0100010800ff", OBIS{1, 0, 1, 8, 0, 255}},
		// F other than 255.
		{"1-0:1.8.0*1", OBIS{1, 0, 1, 8, 0, 1}},
		{"1-0:1.8.0.0", OBIS{1, 0, 1, 8, 0, 0}},
		{"1.0.1.8.0.7", OBIS{1, 0, 1, 8, 0, 7}},
		// Extremes and leading zeros.
		{"0-0:0.0.0*0", OBIS{}},
		{"255-255:255.255.255*255", OBIS{255, 255, 255, 255, 255, 255}},
		{"000000000000", OBIS{}},
		{"FFFFFFFFFFFF", OBIS{255, 255, 255, 255, 255, 255}},
		{"001-000:001.008.000*255", OBIS{1, 0, 1, 8, 0, 255}},
		// Surrounding space is trimmed.
		{"  1-0:2.8.0*255\t", OBIS{1, 0, 2, 8, 0, 255}},
		{"\n8-0:1.0.0 ", OBIS{8, 0, 1, 0, 0, 255}},
		// The gateway's named codes.
		{"6-0:10.0.0*255", OBISFlowTemperature},
		{"1-0:1.7.0", OBISActivePowerImport},
		// A twelve-digit decimal string is read as hex.
		{"010203040506", OBIS{1, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		got, err := ParseOBIS(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseOBIS(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseOBISErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "\t\n",
		// Empty groups.
		"-0:1.8.0*255", "1-:1.8.0*255", "1-0:.8.0*255", "1-0:1..0*255", "1-0:1.8.*255", "1-0:1.8.0*",
		"1.0.1.8..255", ".0.1.8.0.255", "1.0.1.8.0.", "1.0.1.8.0.255.",
		// Out of range.
		"256-0:1.8.0*255", "1-256:1.8.0*255", "1-0:256.8.0*255", "1-0:1.999.0*255", "1-0:1.8.256*255",
		"1-0:1.8.0*256", "1.0.1.8.0.256", "1000-0:1.8.0", "0001-0:1.8.0",
		// Wrong separators and shapes.
		"1-0.1.8.0*255", "1:0:1.8.0*255", "1-0:1.8.0-255", "1-0:1:8.0*255", "1-0:1.8*255", "1-0:1.8.0.255*255",
		"1-0:1.8.0.1.2", "1-0:1.8", "1-0-0:1.8.0", "1-0:1.8.0*255*1", "1.0.1.8", "1.0.1.8.0.255.1", "1,0,1,8,0,255",
		"1-0:1.8.0 *255", "1 -0:1.8.0", "1-0: 1.8.0",
		// Not decimal.
		"a-0:1.8.0*255", "1-0:1.8.x", "1-0:+1.8.0", "1-0:-1.8.0", "1-0:0x1.8.0", "1.0.1.8.0.ff",
		// Hex of the wrong length or with junk.
		"0100010800F", "0100010800FFF", "0100010800FG", "0x0100010800",
		"1-0:1.8.0*２５５",
	} {
		o, err := ParseOBIS(in)
		if !errors.Is(err, ErrOBIS) {
			t.Errorf("ParseOBIS(%q) = %v, %v; want ErrOBIS", in, o, err)
		}
		if err != nil && o != (OBIS{}) {
			t.Errorf("ParseOBIS(%q) returned %v with an error", in, o)
		}
	}
}

func TestOBISFormat(t *testing.T) {
	tests := []struct {
		o           OBIS
		str, dotted string
	}{
		{OBIS{1, 0, 1, 8, 0, 255}, "1-0:1.8.0*255", "1.0.1.8.0.255"},
		{OBIS{}, "0-0:0.0.0*0", "0.0.0.0.0.0"},
		{OBIS{255, 255, 255, 255, 255, 255}, "255-255:255.255.255*255", "255.255.255.255.255.255"},
		{OBIS{6, 0, 10, 0, 0, 255}, "6-0:10.0.0*255", "6.0.10.0.0.255"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.str {
			t.Errorf("%v.String() = %q, want %q", [6]byte(tt.o), got, tt.str)
		}
		if got := tt.o.Dotted(); got != tt.dotted {
			t.Errorf("Dotted() = %q, want %q", got, tt.dotted)
		}
		if got := string(tt.o.Append([]byte("x="))); got != "x="+tt.str {
			t.Errorf("Append = %q", got)
		}
		b, err := tt.o.MarshalText()
		if err != nil || string(b) != tt.str {
			t.Errorf("MarshalText = %q, %v", b, err)
		}
		// Every form parses back to the same code.
		for _, s := range []string{tt.str, tt.dotted} {
			var back OBIS
			if err := back.UnmarshalText([]byte(s)); err != nil || back != tt.o {
				t.Errorf("UnmarshalText(%q) = %v, %v", s, back, err)
			}
		}
	}
}

func TestOBISRoundTripAll(t *testing.T) {
	// Each group over its full range, the others fixed.
	for g := range 6 {
		for v := range 256 {
			o := OBIS{1, 0, 1, 8, 0, 255}
			o[g] = byte(v)
			for _, s := range []string{o.String(), o.Dotted()} {
				back, err := ParseOBIS(s)
				if err != nil || back != o {
					t.Fatalf("ParseOBIS(%q) = %v, %v; want %v", s, back, err, o)
				}
			}
		}
	}
}

func TestOBISUnmarshalTextError(t *testing.T) {
	o := OBISHeatPower
	if err := o.UnmarshalText([]byte("nope")); !errors.Is(err, ErrOBIS) {
		t.Errorf("UnmarshalText(nope) = %v, want ErrOBIS", err)
	}
	if o != OBISHeatPower {
		t.Errorf("failed UnmarshalText changed the code to %v", o)
	}
}

func TestOBISJSON(t *testing.T) {
	in := map[string]OBIS{"code": OBISActiveEnergyExport}
	b, err := json.Marshal(in)
	if err != nil || string(b) != `{"code":"1-0:2.8.0*255"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var out map[string]OBIS
	if err := json.Unmarshal(b, &out); err != nil || out["code"] != OBISActiveEnergyExport {
		t.Errorf("json.Unmarshal = %v, %v", out, err)
	}
}

func TestMustOBIS(t *testing.T) {
	if got := MustOBIS("1-0:1.8.0"); got != OBISActiveEnergyImport {
		t.Errorf("MustOBIS = %v", got)
	}
	defer func() {
		r := recover()
		err, _ := r.(error)
		if !errors.Is(err, ErrOBIS) {
			t.Errorf("MustOBIS(bad) panicked with %v, want an ErrOBIS error", r)
		}
	}()
	MustOBIS("bad")
}

func TestOBISValidate(t *testing.T) {
	for _, o := range []OBIS{OBISActiveEnergyImport, OBISVolumeWater, OBISHeatEnergy, {15, 0, 1, 8, 0, 255}, {0, 0, 96, 1, 0, 255}, {0, 0, 0, 0, 0, 1}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%v.Validate() = %v", o, err)
		}
	}
	for _, o := range []OBIS{{}, {16, 0, 1, 8, 0, 255}, {255, 0, 0, 0, 0, 0}} {
		if err := o.Validate(); !errors.Is(err, ErrOBIS) {
			t.Errorf("%v.Validate() = %v, want ErrOBIS", o, err)
		}
	}
}

func TestOBISInstantaneous(t *testing.T) {
	tests := []struct {
		o    OBIS
		want bool
	}{
		{OBISActivePowerImport, true},
		{OBISActivePowerExport, true},
		{MustOBIS("1-0:32.7.0"), true}, // voltage L1
		{MustOBIS("1-0:31.7.0"), true}, // current L1
		{MustOBIS("0-0:1.7.0"), true},
		{OBISActiveEnergyImport, false},
		{OBISVolumeWater, false},
		{OBISHeatPower, false},
		{MustOBIS("1-0:128.7.0"), false}, // manufacturer-specific C
		{MustOBIS("8-0:1.7.0"), false},   // not electricity
	}
	for _, tt := range tests {
		if got := tt.o.Instantaneous(); got != tt.want {
			t.Errorf("%v.Instantaneous() = %v, want %v", tt.o, got, tt.want)
		}
	}
	if OBISVolumeWater.Medium() != 8 || OBISHeatEnergy.Medium() != 6 {
		t.Error("Medium")
	}
}
