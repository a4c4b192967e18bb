package wmbus

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/meter"
)

// corpusEntry is one line of testdata/corpus.jsonl: the wireless
// telegrams of the shared corpus that EN 13757-3 rules decode alone
// (generic OMS), plain or mode-5/7 with their key, one per meter.
type corpusEntry struct {
	Driver   string `json:"driver"`
	Mfct     string `json:"mfct"`
	ID       string `json:"id"`
	Key      string `json:"key"`
	Telegram string `json:"telegram"`
}

func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestCorpus configures every meter of the corpus and runs its telegram
// through the service as a plain hex line would arrive: each is stored
// with readings, none is dropped.
func TestCorpus(t *testing.T) {
	entries := loadCorpus(t)
	var ms []MeterConfig
	for _, e := range entries {
		var key []byte
		if e.Key != "" {
			key, _ = hex.DecodeString(e.Key)
		}
		ms = append(ms, MeterConfig{ID: meter.MeterID(e.Driver + "-" + e.Mfct + "-" + e.ID), Manufacturer: e.Mfct, Address: e.ID, Key: key})
	}
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s, err := New(&Options{Receiver: nopReceiver{}, Meters: ms, Sink: &memSink{}, Now: c.now, MaxClockSkew: -1, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	// Telegrams the decoder does not read yet (its known gaps,
	// internal/proto/wmbus/testdata/known-gaps.txt): counted as errors,
	// never stored — or stored, once the decoder reads them.
	gaps := map[string]bool{"bfw240radio": true, "evo868": true, "qwaterv2": true, "emerlin868": true}
	readings := uint64(0)
	for i, e := range entries {
		// As a plain hex line (wmbusmeters' '|' separators included).
		_, f, err := halwmbus.ParseLine(nil, []byte(e.Telegram))
		if err != nil {
			t.Fatalf("%s: %v", e.Driver, err)
		}
		c.t = c.t.Add(time.Second)
		f.Time = c.t
		rs := s.Handle(f)
		readings += uint64(len(rs))
		h := s.Health()[i]
		if gaps[e.Driver] {
			if h.Stored == 0 && (len(h.Errors) == 0 || len(rs) != 0) {
				t.Errorf("%s: neither stored nor counted as an error: %+v", e.Driver, h)
			}
			continue
		}
		if h.Stored != 1 || len(h.Errors) != 0 {
			t.Errorf("%s %s-%s: not stored: telegrams %d stored %d errors %v %s",
				e.Driver, e.Mfct, e.ID, h.Telegrams, h.Stored, h.Errors, h.LastError)
		}
	}
	if st := s.Stats(); st.Unknown != 0 || st.Unreadable != 0 || st.Readings < uint64(len(entries)) {
		t.Errorf("stats %+v; bad %+v", st, s.BadTelegrams())
	}
}

// BenchmarkCorpus runs the corpus telegrams (plain, mode 5, mode 7, ELL;
// 104 meters, all configured) through Handle in turn.
func BenchmarkCorpus(b *testing.B) {
	entries := loadCorpus(b)
	var ms []MeterConfig
	var frames []halwmbus.Frame
	for _, e := range entries {
		var key []byte
		if e.Key != "" {
			key, _ = hex.DecodeString(e.Key)
		}
		ms = append(ms, MeterConfig{ID: meter.MeterID(e.Driver + "-" + e.Mfct + "-" + e.ID), Manufacturer: e.Mfct, Address: e.ID, Key: key})
		_, f, err := halwmbus.ParseLine(nil, []byte(e.Telegram))
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f)
	}
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s, err := New(&Options{Receiver: nopReceiver{}, Meters: ms, Sink: discardSink{}, Now: c.now, MaxClockSkew: -1,
		DupWindow: time.Nanosecond, Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.t = c.t.Add(time.Millisecond)
		f := frames[i%len(frames)]
		f.Time = c.t
		s.Handle(f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "telegrams/s")
}
