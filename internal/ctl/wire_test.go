package ctl

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smgw/smgw/internal/meter"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.* files")

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// wireCases are readings with their exact JSON form.
var wireCases = []struct {
	name string
	r    meter.Reading
	json string
}{
	{
		"energy",
		meter.Reading{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, Time: t0, Value: meter.V(123456, -3), Unit: meter.UnitWattHour, Source: meter.SourceSim},
		`{"meter":"elec-1","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"123.456","unit":"Wh","unit_code":30,"quality":"ok","source":"sim"}`,
	},
	{
		"water-nanos-quality",
		meter.Reading{Meter: "KAM-12345678", OBIS: meter.OBISVolumeWater, Time: t0.Add(123456789), Value: meter.V(-5, -2), Unit: meter.UnitCubicMetre,
			Quality: meter.QualityEstimated | meter.QualityClockUnsynced, Source: meter.SourceWMBus},
		`{"meter":"KAM-12345678","obis":"8-0:1.0.0*255","time":"2026-01-02T03:04:05.123456789Z","value":"-0.05","unit":"m³","unit_code":13,"quality":"estimated,clock-unsynced","source":"wmbus"}`,
	},
	{
		"temperature-unknown-bits",
		meter.Reading{Meter: "heat.2", OBIS: meter.OBISFlowTemperature, Time: time.Unix(0, 0).UTC(), Value: meter.V(655, -1), Unit: meter.UnitCelsius,
			Quality: meter.QualityTampered | 0x0100, Source: meter.Source(42)},
		`{"meter":"heat.2","obis":"6-0:10.0.0*255","time":"1970-01-01T00:00:00Z","value":"65.5","unit":"°C","unit_code":9,"quality":"tampered,0x0100","source":"source(42)"}`,
	},
	{
		"count-zero",
		meter.Reading{Meter: "m:0", OBIS: meter.OBIS{0, 0, 96, 1, 0, 255}, Time: t0, Value: meter.V(0, 0), Unit: meter.UnitCount, Source: meter.SourceDLMS},
		`{"meter":"m:0","obis":"0-0:96.1.0*255","time":"2026-01-02T03:04:05Z","value":"0","unit":"","unit_code":255,"quality":"ok","source":"dlms"}`,
	},
}

func TestEncodeReadingJSON(t *testing.T) {
	for _, c := range wireCases {
		t.Run(c.name, func(t *testing.T) {
			got := string(EncodeReadingJSON(nil, c.r))
			if got != c.json {
				t.Errorf("EncodeReadingJSON:\n got %s\nwant %s", got, c.json)
			}
			r, err := DecodeReadingJSON([]byte(c.json + "\n"))
			if err != nil {
				t.Fatalf("DecodeReadingJSON: %v", err)
			}
			if !sameReading(r, c.r) {
				t.Errorf("DecodeReadingJSON:\n got %+v\nwant %+v", r, c.r)
			}
		})
	}
}

// sameReading compares readings by value: times with Equal, values after
// Normalize (the wire keeps the value, not its exponent when E > 0).
func sameReading(a, b meter.Reading) bool {
	return a.Meter == b.Meter && a.OBIS == b.OBIS && a.Time.Equal(b.Time) &&
		a.Value.Normalize() == b.Value.Normalize() && a.Unit == b.Unit &&
		a.Quality == b.Quality && a.Source == b.Source
}

// TestGolden checks the NDJSON of the wire cases against
// testdata/readings.golden.ndjson (go test -update rewrites it); the file
// also seeds the fuzz targets.
func TestGolden(t *testing.T) {
	var b []byte
	for _, c := range wireCases {
		b = EncodeReadingJSON(b, c.r)
		b = append(b, '\n')
	}
	path := filepath.Join("testdata", "readings.golden.ndjson")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoding differs from %s (run with -update if intended):\n%s", path, b)
	}
}

func TestDecodeReadingJSONForms(t *testing.T) {
	cases := []struct {
		name, in string
		check    func(meter.Reading) bool
	}{
		{"reordered-spaced-unknown-keys",
			" {\"value\" : \"1.50\", \"x\":{\"a\":[1,-2.5e3,true,null,\"s\"]}, \"time\":\"2026-01-02T04:04:05+01:00\",\r\n\t\"obis\":\"1.0.1.8.0.255\",\"meter\":\"e\\u002d1\"}\n",
			func(r meter.Reading) bool {
				return r.Meter == "e-1" && r.OBIS == meter.OBISActiveEnergyImport && r.Time.Equal(t0) &&
					r.Value == meter.V(150, -2) && r.Unit == meter.UnitNone && r.Quality == 0 && r.Source == meter.SourceUnknown
			}},
		{"unit-symbol-only",
			`{"meter":"a","obis":"1-0:1.7.0","time":"2026-01-02T03:04:05Z","value":"7","unit":"W"}`,
			func(r meter.Reading) bool { return r.Unit == meter.UnitWatt && r.OBIS == meter.OBISActivePowerImport }},
		{"unit-code-wins",
			`{"meter":"a","obis":"1-0:1.7.0*255","time":"2026-01-02T03:04:05Z","value":"7","unit":"W","unit_code":28}`,
			func(r meter.Reading) bool { return r.Unit == meter.UnitVoltAmpere }},
		{"escapes-surrogates",
			`{"meter":"\ud83d\ude00\"\\\/\b\f\n\r\t","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"1"}`,
			func(r meter.Reading) bool { return r.Meter == "😀\"\\/\b\f\n\r\t" }},
		{"long-value",
			`{"meter":"a","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"-9223372036854775808"}`,
			func(r meter.Reading) bool { return r.Value == meter.V(math.MinInt64, 0) }},
		{"big-exponent",
			`{"meter":"a","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"1` + strings.Repeat("0", 130) + `"}`,
			func(r meter.Reading) bool { return r.Value.Normalize() == meter.V(1000, 127) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := DecodeReadingJSON([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(r) {
				t.Errorf("decoded %+v", r)
			}
		})
	}
}

func TestDecodeReadingJSONErrors(t *testing.T) {
	const ok = `{"meter":"a","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"1"}`
	if _, err := DecodeReadingJSON([]byte(ok)); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	bad := []string{
		``, `[]`, `{`, `{"meter"}`, `{"meter":1}`, ok + `x`, ok + `{}`,
		`{"obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"1"}`,
		`{"meter":"a","time":"2026-01-02T03:04:05Z","value":"1"}`,
		`{"meter":"a","obis":"1-0:1.8.0*255","value":"1"}`,
		`{"meter":"a","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z"}`,
		strings.Replace(ok, `"1"}`, `"1.2.3"}`, 1),
		strings.Replace(ok, `"1"}`, `1}`, 1),
		strings.Replace(ok, `2026-01-02T03:04:05Z`, `yesterday`, 1),
		strings.Replace(ok, `1-0:1.8.0*255`, `1-0:1.8.0*256`, 1),
		strings.Replace(ok, `}`, `,"unit_code":256}`, 1),
		strings.Replace(ok, `}`, `,"unit_code":-1}`, 1),
		strings.Replace(ok, `}`, `,"unit_code":1.5}`, 1),
		strings.Replace(ok, `}`, `,"quality":"shiny"}`, 1),
		strings.Replace(ok, `}`, `,"source":"moon"}`, 1),
		strings.Replace(ok, `}`, `,"x":tru}`, 1),
		strings.Replace(ok, `}`, `,"x":01}`, 1),
		strings.Replace(ok, `}`, `,"x":[1,]}`, 1),
		strings.Replace(ok, `}`, `,"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, 1),
		strings.Replace(ok, `"a"`, "\"a\x01\"", 1),
		strings.Replace(ok, `"a"`, "\"a\xff\"", 1),
		strings.Replace(ok, `"a"`, `"\x"`, 1),
		strings.Replace(ok, `"a"`, `"\u12"`, 1),
		`{"meter":"a",}`, `{"meter":"a" "obis":"x"}`,
	}
	for _, in := range bad {
		if _, err := DecodeReadingJSON([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("DecodeReadingJSON(%q) = %v, want ErrSyntax", in, err)
		}
	}
}

func TestParseWireValueRoundTrip(t *testing.T) {
	vals := []meter.Value{
		meter.V(0, 0), meter.V(1, 127), meter.V(10, 127), meter.V(-7, 100), meter.V(math.MaxInt64, 0),
		meter.V(math.MinInt64, 0), meter.V(math.MaxInt64, 5), meter.V(math.MinInt64, -128),
		meter.V(1, -128), meter.V(123456789, -3), meter.V(12, 2),
	}
	for _, v := range vals {
		got, err := parseWireValue(v.String())
		if err != nil || got.Normalize() != v.Normalize() {
			t.Errorf("parseWireValue(%s) = %v, %v; want %v", v, got, err, v)
		}
	}
}

func TestParseQuality(t *testing.T) {
	for q := meter.Quality(0); q < 0x200; q++ {
		got, err := parseQuality(q.String())
		if err != nil || got != q {
			t.Fatalf("parseQuality(%q) = %v, %v; want %#x", q.String(), got, err, uint16(q))
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":    `"plain"`,
		"a\"b\\c":  `"a\"b\\c"`,
		"\x00\x1f": `"\u0000\u001f"`,
		"m³ °C Ω":  `"m³ °C Ω"`,
		"bad\xffx": `"bad\ufffdx"`,
		"\n\r\t":   `"\n\r\t"`,
	} {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

// fuzzSeeds are the golden lines and some broken ones.
func fuzzSeeds(f *testing.F) {
	fh, err := os.Open(filepath.Join("testdata", "readings.golden.ndjson"))
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(bytes.Clone(sc.Bytes()))
	}
	for _, c := range wireCases {
		f.Add([]byte(c.json[:len(c.json)/2]))
	}
	f.Add([]byte(`{"meter":"\ud83d","obis":"1.0.1.8.0","time":"2026-01-02T03:04:05.5+02:00","value":"1e127","x":[{}]}`))
}

// FuzzDecodeReadingJSON: the decoder never panics, and what it accepts
// encodes to a form that decodes to the same reading and encodes the same.
func FuzzDecodeReadingJSON(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := DecodeReadingJSON(p)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error does not wrap ErrSyntax: %v", err)
			}
			return
		}
		if r.Time.Year() < 0 || r.Time.Year() > 9999 {
			return // RFC 3339 cannot carry it back
		}
		b1 := EncodeReadingJSON(nil, r)
		r2, err := DecodeReadingJSON(b1)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b1, err)
		}
		if !sameReading(r, r2) {
			t.Fatalf("round trip changed the reading:\n%+v\n%+v", r, r2)
		}
		if b2 := EncodeReadingJSON(nil, r2); !bytes.Equal(b1, b2) {
			t.Fatalf("encoding not stable:\n%s\n%s", b1, b2)
		}
	})
}

// FuzzReadingRoundtrip: any reading with a valid UTF-8 meter id and a time
// in years 1970…9999 comes back from its JSON form unchanged (values
// compared after Normalize).
func FuzzReadingRoundtrip(f *testing.F) {
	for _, c := range wireCases {
		r := c.r
		f.Add(string(r.Meter), r.OBIS[:], r.Time.UnixNano(), r.Value.M, r.Value.E, uint8(r.Unit), uint16(r.Quality), uint8(r.Source))
	}
	f.Add("x", []byte{1, 0, 1, 8, 0, 255}, int64(math.MaxInt64), int64(math.MinInt64), int8(-128), uint8(0), uint16(0xffff), uint8(255))
	f.Fuzz(func(t *testing.T, id string, obis []byte, ns int64, m int64, e int8, unit uint8, q uint16, src uint8) {
		if !utf8.ValidString(id) {
			return
		}
		var o meter.OBIS
		copy(o[:], obis)
		r := meter.Reading{Meter: meter.MeterID(id), OBIS: o, Time: time.Unix(0, ns).UTC(), Value: meter.V(m, e),
			Unit: meter.Unit(unit), Quality: meter.Quality(q), Source: meter.Source(src)}
		b := EncodeReadingJSON(nil, r)
		got, err := DecodeReadingJSON(b)
		if err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		if !sameReading(got, r) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", b, got, r)
		}
	})
}

func BenchmarkEncodeReadingJSON(b *testing.B) {
	r := wireCases[0].r
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeReadingJSON(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeReadingJSON(b *testing.B) {
	p := []byte(wireCases[1].json)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeReadingJSON(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAllowed(t *testing.T) {
	const self, group = 1000, 990
	cases := []struct {
		p        peerCred
		allowGID uint32
		want     bool
	}{
		{peerCred{UID: 0, GID: 0}, 0, true},
		{peerCred{UID: self, GID: 5}, 0, true},
		{peerCred{UID: 1001, GID: 1001}, 0, false},
		{peerCred{UID: 1001, GID: 0}, 0, false}, // the root group is not granted by AllowGID 0
		{peerCred{UID: 1001, GID: group}, group, true},
		{peerCred{UID: 1001, GID: 1001, Groups: []uint32{4, group}}, group, true},
		{peerCred{UID: 1001, GID: 1001, Groups: []uint32{4, 24}}, group, false},
		{peerCred{UID: 1001, GID: group}, 0, false},
	}
	for _, c := range cases {
		if got := allowed(c.p, self, c.allowGID); got != c.want {
			t.Errorf("allowed(%+v, self %d, group %d) = %v, want %v", c.p, self, c.allowGID, got, c.want)
		}
	}
}

func TestParseGroupsLine(t *testing.T) {
	status := "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 990 \nNSpid:\t1\n"
	got := parseGroupsLine([]byte(status))
	want := []uint32{4, 24, 27, 990}
	if len(got) != len(want) {
		t.Fatalf("parseGroupsLine = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parseGroupsLine = %v, want %v", got, want)
		}
	}
	if got := parseGroupsLine([]byte("Name:\tx\n")); got != nil {
		t.Errorf("no Groups line: %v", got)
	}
}
