package profile

import (
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/meter"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestBuiltinProfiles loads every shipped profile: each parses clean, and
// maps import energy in Wh.
func TestBuiltinProfiles(t *testing.T) {
	names := Names()
	want := []string{"abb-b23", "abb-b24", "em24", "em340", "sdm120", "sdm630", "sdm72"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		p, err := Builtin(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if p.Name != n || p.Model == "" || p.Datasheet == "" || len(p.Registers) == 0 {
			t.Errorf("%s: %+v", n, p)
		}
		found := false
		for _, r := range p.Registers {
			if r.OBIS == meter.OBISActiveEnergyImport {
				found = r.Unit == meter.UnitWattHour
			}
			if r.Line == 0 {
				t.Errorf("%s: register %s has no line", n, r.OBIS)
			}
		}
		if !found {
			t.Errorf("%s: no 1-0:1.8.0 in Wh", n)
		}
	}
	if _, err := Builtin("sdm999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Builtin(sdm999) = %v", err)
	}
	if p, err := Open("sdm630"); err != nil || p.Model != "Eastron SDM630" {
		t.Errorf("Open(sdm630) = %v", err)
	}
	if _, err := Open("testdata/nonexistent.toml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing file) = %v", err)
	}
}

// TestBadProfiles compares the problems of each testdata/bad/*.toml with
// its .golden file (-update rewrites them).
func TestBadProfiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.toml")
	if len(files) < 5 {
		t.Fatalf("only %d bad profiles", len(files))
	}
	for _, f := range files {
		_, err := Load(f)
		var pe *Error
		if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Load = %v, want *Error", f, err)
			continue
		}
		for _, p := range pe.Problems {
			if p.File != f || p.Line == 0 && p.Key != "model" && p.Key != "register" {
				t.Errorf("%s: problem without file or line: %+v", f, p)
			}
		}
		got := err.Error() + "\n"
		golden := strings.TrimSuffix(f, ".toml") + ".golden"
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		want, _ := os.ReadFile(golden)
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, want)
		}
	}
}

func reg(typ string, scale meter.Value, decimals int) Register {
	return Register{OBIS: meter.MustOBIS("1-0:1.8.0"), Type: Type(typ), Scale: scale, Decimals: decimals}
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		r      Register
		little bool
		b      []byte
		want   string
	}{
		// 230.3 V as float32 0x43664CCD = 230.300003…: 1 decimal keeps 230.3.
		{reg("float32", meter.V(1, 0), 1), false, []byte{0x43, 0x66, 0x4C, 0xCD}, "230.3"},
		// 12345.67 kWh (float32 12345.669921875) to 2 decimals, ×1000 → Wh.
		{reg("float32", meter.V(1, 3), 2), false, []byte{0x46, 0x40, 0xE6, 0xAE}, "12345670"},
		// low word first
		{reg("float32", meter.V(1, 0), 1), true, []byte{0x4C, 0xCD, 0x43, 0x66}, "230.3"},
		{reg("float32", meter.V(1, 0), 3), false, []byte{0xBF, 0x80, 0, 0}, "-1.000"},
		{reg("int32", meter.V(1, -1), -1), true, []byte{0x09, 0x00, 0x00, 0x00}, "230.4"},
		{reg("int32", meter.V(1, 2), -1), false, []byte{0xFF, 0xFF, 0xFF, 0xFE}, "-200"},
		{reg("uint16", meter.V(1, -2), -1), false, []byte{0x13, 0x88}, "50.00"},
		{reg("int16", meter.V(1, -3), -1), false, []byte{0xFC, 0x18}, "-1.000"},
		{reg("uint64", meter.V(1, 1), -1), false, []byte{0, 0, 0, 0, 0, 1, 0xE2, 0x40}, "1234560"},
		{reg("uint64", meter.V(1, 1), -1), true, []byte{0xE2, 0x40, 0, 1, 0, 0, 0, 0}, "1234560"},
		{reg("int64", meter.V(1, 0), -1), false, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "-1"},
		{reg("uint32", meter.V(1, 0), -1), false, []byte{0xFF, 0xFF, 0xFF, 0xFF}, "4294967295"},
	} {
		v, err := tt.r.Decode(tt.b, tt.little)
		if err != nil || v.String() != tt.want {
			t.Errorf("%s % X (little %v): %v, %v; want %s", tt.r.Type, tt.b, tt.little, v, err, tt.want)
			continue
		}
		back, err := tt.r.Encode(v, tt.little)
		if err != nil {
			t.Errorf("Encode(%s): %v", v, err)
			continue
		}
		if again, _ := tt.r.Decode(back, tt.little); again.Cmp(v) != 0 {
			t.Errorf("%s: Encode→Decode gives %s", v, again)
		}
	}
	bad := []struct {
		r Register
		b []byte
	}{
		{reg("float32", meter.V(1, 0), 1), []byte{0x7F, 0xC0, 0, 0}},          // NaN
		{reg("float32", meter.V(1, 0), 1), []byte{0x7F, 0x80, 0, 0}},          // +Inf
		{reg("float32", meter.V(1, 0), 1), []byte{0x43, 0x66}},                // short
		{reg("uint64", meter.V(1, 0), -1), []byte{0x80, 0, 0, 0, 0, 0, 0, 0}}, // beyond int64
		{reg("int64", meter.V(7, 0), -1), []byte{0x7F, 0, 0, 0, 0, 0, 0, 0}},  // overflows when scaled
		{Register{Type: "uint32", Scale: meter.V(1, 0), Invalid: []byte{0xFF, 0xFF, 0xFF, 0xFF}}, []byte{0xFF, 0xFF, 0xFF, 0xFF}},
	}
	for _, tt := range bad {
		if v, err := tt.r.Decode(tt.b, false); !errors.Is(err, ErrValue) {
			t.Errorf("%s % X: %v, %v; want ErrValue", tt.r.Type, tt.b, v, err)
		}
	}
}

// FuzzParse: Parse never panics, and a profile it accepts has registers
// that fit the limits it checks.
func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		data, _ := os.ReadFile(filepath.Join("..", "..", "..", "..", "profiles", "meters", "modbus", n+".toml"))
		f.Add(data)
	}
	files, _ := filepath.Glob("testdata/bad/*.toml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.toml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if p.MaxRegisters < 1 || p.MaxRegisters > 125 {
			t.Fatalf("MaxRegisters %d", p.MaxRegisters)
		}
		for _, r := range p.Registers {
			if r.Count() == 0 || int(r.Address)+r.Count() > 0x10000 {
				t.Fatalf("register %+v", r)
			}
			_, _ = r.Decode(make([]byte, 2*r.Count()), p.LittleEndian)
		}
	})
}

// TestDecodeFloatRounding checks the documented rounding of float32
// registers against strconv and ParseValue, over a spread of values.
func TestDecodeFloatRounding(t *testing.T) {
	for _, f := range []float32{0, float32(math.Copysign(0, -1)), 0.05, 0.15, 0.25, 1.005, 230.35, -1234.5678, 16777216, 3.4e38, 1e-30, 99999.995} {
		for _, d := range []int{0, 1, 2, 3, 9} {
			r := reg("float32", meter.V(1, 0), d)
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], math.Float32bits(f))
			got, err := r.Decode(b[:], false)
			text := strconv.FormatFloat(float64(f), 'f', d, 32)
			if digits := len(strings.Trim(text, "-.")); digits > 18 { // beyond an int64 mantissa
				if !errors.Is(err, ErrValue) {
					t.Errorf("%v to %d decimals (%s): %v, %v; want ErrValue", f, d, text, got, err)
				}
				continue
			}
			want, _ := meter.ParseValue(text)
			if err != nil || got != want {
				t.Errorf("%v to %d decimals: %s (%d×10^%d), %v; want %s", f, d, got, got.M, got.E, err, want)
			}
		}
	}
}
