package wmbus_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
	"github.com/smgw/smgw/internal/proto/wmbus"
)

// corpusRow is one line of testdata/wmbusmeters-corpus.jsonl.
type corpusRow struct {
	Driver       string         `json:"driver"`
	MeterID      string         `json:"meter_id"`
	Key          string         `json:"key"`
	Telegram     string         `json:"telegram"`
	Expected     map[string]any `json:"expected"`
	Mfct         string         `json:"mfct"`
	PayloadState string         `json:"payload_state"`
	GenericOMS   bool           `json:"generic_oms"`
	SecurityMode string         `json:"security_mode"`
	LinkLayer    struct {
		Bus     string   `json:"bus"`
		DLLCRC  *string  `json:"dll_crc"`
		CIChain []string `json:"ci_chain"`
	} `json:"link_layer"`
}

func loadCorpus(t testing.TB) []corpusRow {
	t.Helper()
	f, err := os.Open("testdata/wmbusmeters-corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r corpusRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func (r corpusRow) frame(t testing.TB) []byte {
	b, err := r.frameErr()
	if err != nil {
		t.Fatalf("%s: telegram hex: %v", r.Driver, err)
	}
	return b
}

// frameErr returns the telegram's bytes. The reference's test telegrams
// mark field boundaries with | and #.
func (r corpusRow) frameErr() ([]byte, error) {
	return hex.DecodeString(strings.NewReplacer("|", "", "#", "", " ", "").Replace(r.Telegram))
}

func (r corpusRow) key(t testing.TB) []byte {
	if r.Key == "NOKEY" || r.Key == "" {
		return nil
	}
	b, err := hex.DecodeString(r.Key)
	if err != nil {
		t.Fatalf("%s: key hex: %v", r.Driver, err)
	}
	if len(b) != 16 {
		return nil // DES keys of mode 2: not ours
	}
	return b
}

// unitConv gives, for a field-name suffix, the DLMS units it matches and
// the factor from that unit to the suffix's unit.
var unitConv = map[string][]struct {
	u meter.Unit
	f float64
}{
	"m3":    {{meter.UnitCubicMetre, 1}, {meter.UnitLitre, 1e-3}},
	"l":     {{meter.UnitCubicMetre, 1e3}, {meter.UnitLitre, 1}},
	"kwh":   {{meter.UnitWattHour, 1e-3}, {meter.UnitJoule, 1 / 3.6e6}},
	"mwh":   {{meter.UnitWattHour, 1e-6}, {meter.UnitJoule, 1 / 3.6e9}},
	"mj":    {{meter.UnitJoule, 1e-6}, {meter.UnitWattHour, 3.6e-3}},
	"gj":    {{meter.UnitJoule, 1e-9}, {meter.UnitWattHour, 3.6e-6}},
	"c":     {{meter.UnitCelsius, 1}, {meter.UnitKelvin, 1}}, // a temperature difference in °C is one in K
	"k":     {{meter.UnitKelvin, 1}},
	"kw":    {{meter.UnitWatt, 1e-3}, {meter.UnitJoulePerHour, 1 / 3.6e6}},
	"w":     {{meter.UnitWatt, 1}, {meter.UnitJoulePerHour, 1 / 3.6e3}},
	"m3h":   {{meter.UnitCubicMetreH, 1}},
	"lh":    {{meter.UnitCubicMetreH, 1e3}},
	"v":     {{meter.UnitVolt, 1}},
	"a":     {{meter.UnitAmpere, 1}},
	"hz":    {{meter.UnitHertz, 1}},
	"bar":   {{meter.UnitBar, 1}},
	"kvarh": {{meter.UnitVarHour, 1e-3}},
	"kvah":  {{meter.UnitVoltAmpHour, 1e-3}},
	"kvar":  {{meter.UnitVar, 1e-3}},
	"kva":   {{meter.UnitVoltAmpere, 1e-3}},
	"h":     {{meter.UnitHour, 1}, {meter.UnitSecond, 1.0 / 3600}, {meter.UnitMinute, 1.0 / 60}, {meter.UnitDay, 24}},
	"s":     {{meter.UnitSecond, 1}, {meter.UnitMinute, 60}, {meter.UnitHour, 3600}, {meter.UnitDay, 86400}},
	"d":     {{meter.UnitDay, 1}, {meter.UnitHour, 1.0 / 24}},
	"y":     {{meter.UnitYear, 1}, {meter.UnitDay, 1 / 365.2425}, {meter.UnitDay, 1 / 365.0}, {meter.UnitMonth, 1.0 / 12}}, // the reference divides days by 365 or 365.2425
	"hca":   {{meter.UnitCount, 1}},
	"rh":    {{meter.UnitPercent, 1}},
	"pct":   {{meter.UnitPercent, 1}},
	"ppm":   {{meter.UnitOther, 1}, {meter.UnitCount, 1}},
	"m3c":   {{meter.UnitOther, 1}},
	"kg":    {{meter.UnitKilogram, 1}},
	"t":     {{meter.UnitKilogram, 1e-3}},
	"dbm":   {{meter.UnitDBm, 1}},
}

// matchField reports whether a record carries value v in the unit of
// suffix.
func matchField(recs []mbus.Record, suffix string, v float64) bool {
	for _, r := range recs {
		if r.Kind != mbus.KindNumber {
			continue
		}
		for _, c := range unitConv[suffix] {
			if r.Unit != c.u {
				continue
			}
			got := r.Value.Float64() * c.f
			// The reference prints derived figures (kWh from J, years
			// from days) rounded to 6 decimals or 8 significant digits.
			if d := math.Abs(got - v); d <= 1e-6 || d <= 1e-7*math.Abs(v) {
				return true
			}
		}
	}
	return false
}

// fieldSuffix returns the unit suffix of an expected field name, "" if it
// has none.
func fieldSuffix(name string) string {
	i := strings.LastIndexByte(name, '_')
	if i < 0 {
		return ""
	}
	s := name[i+1:]
	if _, ok := unitConv[s]; ok {
		return s
	}
	return ""
}

// knownGaps are the corpus telegrams (driver and line) we do not decode,
// read from testdata/known-gaps.txt: "driver line reason".
func knownGaps(t testing.TB) map[string]string {
	gaps := map[string]string{}
	b, err := os.ReadFile("testdata/known-gaps.txt")
	if errors.Is(err, os.ErrNotExist) {
		return gaps
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.SplitN(l, " ", 3)
		if len(f) < 3 {
			t.Fatalf("known-gaps.txt: %q: want \"driver line reason\"", l)
		}
		gaps[f[0]+" "+f[1]] = f[2]
	}
	return gaps
}

func corpusDecoder(t testing.TB) *wmbus.Decoder {
	return wmbus.NewDecoder(&wmbus.Options{Profiles: testProfiles(t)})
}

// TestCorpus decodes every telegram of the shared corpus with its key
// and checks every expected numeric field with a unit suffix against
// the records, by value and unit.
func TestCorpus(t *testing.T) {
	rows := loadCorpus(t)
	gaps := knownGaps(t)
	d := corpusDecoder(t)
	var tg wmbus.Telegram
	pass := map[bool]int{}
	total := map[bool]int{}
	var failures []string
	for i, row := range rows {
		name := fmt.Sprintf("%d_%s", i+1, row.Driver)
		gapKey := fmt.Sprintf("%s %d", row.Driver, i+1)
		t.Run(name, func(t *testing.T) {
			total[row.GenericOMS]++
			frame, err := row.frameErr()
			if err == nil {
				err = d.Decode(frame, row.key(t), &tg)
			}
			if strings.HasSuffix(row.PayloadState, "_not_decoded_here") {
				if err == nil {
					t.Fatalf("%s: decoded; want an error", row.PayloadState)
				}
				pass[row.GenericOMS]++
				return
			}
			var missing []string
			if err != nil {
				missing = append(missing, "error: "+err.Error())
			} else {
				for k, v := range row.Expected {
					f, ok := v.(float64)
					if !ok {
						continue
					}
					suf := fieldSuffix(k)
					if suf == "" {
						continue
					}
					if !matchField(tg.Records, suf, f) {
						missing = append(missing, fmt.Sprintf("%s=%v", k, f))
					}
				}
			}
			sort.Strings(missing)
			if len(missing) == 0 {
				if _, ok := gaps[gapKey]; ok {
					t.Errorf("listed in known-gaps.txt but decodes: remove it")
				}
				pass[row.GenericOMS]++
				return
			}
			if reason, ok := gaps[gapKey]; ok {
				t.Skipf("known gap: %s", reason)
				return
			}
			failures = append(failures, fmt.Sprintf("%s %d %s: %s", row.Driver, i+1, row.PayloadState, strings.Join(missing, ", ")))
			t.Errorf("%s (%s, %s): missing %s\nrecords:\n%s", row.Driver, row.PayloadState, strings.Join(row.LinkLayer.CIChain, " "), strings.Join(missing, ", "), dumpRecords(tg.Records))
		})
	}
	t.Logf("corpus: generic %d/%d, manufacturer-specific %d/%d pass", pass[true], total[true], pass[false], total[false])
	if os.Getenv("CORPUS_FAILURES") != "" {
		os.WriteFile(os.Getenv("CORPUS_FAILURES"), []byte(strings.Join(failures, "\n")+"\n"), 0o644)
	}
}

func dumpRecords(recs []mbus.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\t%X %s %s %s %s st%d t%d su%d %v\n", r.Header, r.OBIS, r.Quantity, r.Value, r.Unit, r.Storage, r.Tariff, r.Subunit, r.Kind)
	}
	return b.String()
}

func decodeRow(d *wmbus.Decoder, row corpusRow, t testing.TB) (*wmbus.Telegram, error) {
	tg := new(wmbus.Telegram)
	err := d.Decode(row.frame(t), row.key(t), tg)
	return tg, err
}
