package wmbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/lmn/wmbus/sim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/testutil"
)

var (
	waterKey = []byte("water-key-16byte")
	heatKey  = []byte("heat-key-16bytes")
)

// memSink collects readings.
type memSink struct {
	mu   sync.Mutex
	regs []meter.Reading
	live []meter.Reading
	err  error
}

func (m *memSink) Append(ctx context.Context, rs ...meter.Reading) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.regs = append(m.regs, rs...)
	return nil
}

func (m *memSink) Live(rs ...meter.Reading) {
	m.mu.Lock()
	m.live = append(m.live, rs...)
	m.mu.Unlock()
}

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.regs)
}

type nopReceiver struct{}

func (nopReceiver) Run(ctx context.Context, fn func(halwmbus.Frame)) error { <-ctx.Done(); return nil }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testMeters(t testing.TB) (*sim.Meter, *sim.Meter) {
	w, err := sim.New(sim.Options{Kind: sim.Water, Manufacturer: "SMG", Address: "10000001", Key: waterKey, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	h, err := sim.New(sim.Options{Kind: sim.Heat, Manufacturer: "SMG", Address: "10000002", Key: heatKey, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return w, h
}

func newTestService(t testing.TB, c *clock, sink Sink, keys KeySource, extra ...MeterConfig) *Service {
	t.Helper()
	ms := append([]MeterConfig{
		{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey},
		{ID: "heat-w", Manufacturer: "smg", Address: "10000002"},
	}, extra...)
	s, err := New(&Options{Receiver: nopReceiver{}, Meters: ms, Sink: sink, Keys: keys, Now: c.now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type mapKeys map[meter.MeterID][]byte

func (m mapKeys) MeterKey(id meter.MeterID) ([]byte, error) {
	if k, ok := m[id]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoKey, id)
}

func frame(data []byte, at time.Time) halwmbus.Frame {
	return halwmbus.Frame{Data: data, Time: at, RSSI: -70, HasRSSI: true}
}

func TestDecodeAndStore(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	sink := &memSink{}
	s := newTestService(t, c, sink, mapKeys{"heat-w": heatKey})
	w, h := testMeters(t)
	rs := s.Handle(frame(w.Telegram(c.t), c.t))
	want := w.Values(c.t)[0]
	vol := find(rs, meter.OBIS{8, 0, 1, 0, 0, 255})
	if vol == nil {
		t.Fatalf("water: no volume 8-0:1.0.0 in %+v (health %+v, bad %+v)", rs, s.Health()[0], s.BadTelegrams())
	}
	if r := *vol; r.Meter != "water-w" || r.Value.Cmp(meter.V(want, -3)) != 0 ||
		r.Unit != meter.UnitCubicMetre || r.Source != meter.SourceWMBus || !r.Time.Equal(c.t) || r.Quality != 0 {
		t.Errorf("water reading %+v; want volume %d l", r, want)
	}
	rs = s.Handle(frame(h.Telegram(c.t), c.t))
	hv := h.Values(c.t)
	if e := find(rs, meter.OBIS{6, 0, 1, 0, 0, 255}); e == nil || e.Value.Cmp(meter.V(hv[0], 3)) != 0 || e.Unit != meter.UnitWattHour {
		t.Errorf("heat: energy %+v, want %d kWh, in %+v", e, hv[0], rs)
	}
	hs := s.Health()
	if hs[0].Stored != 1 || hs[1].Stored != 1 || hs[0].RSSI != -70 || hs[1].Security != "mode 5" || hs[0].AccessNumber != 0 {
		t.Errorf("health %+v", hs)
	}
}

func TestNearbyAndBad(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	other, _ := sim.New(sim.Options{Kind: sim.Water, Manufacturer: "KAM", Address: "55555555", Key: waterKey})
	for range 3 {
		if rs := s.Handle(frame(other.Telegram(c.t), c.t)); rs != nil {
			t.Fatal("readings of an unknown meter")
		}
	}
	nb := s.Nearby()
	if len(nb) != 1 || nb[0].Manufacturer != "KAM" || nb[0].ID != "55555555" || nb[0].Count != 3 || !nb[0].Encrypted || nb[0].DeviceType != 7 {
		t.Errorf("nearby %+v", nb)
	}
	// Garbage and truncation: unreadable, kept.
	for _, g := range [][]byte{{}, {0x01}, {0xFF, 0x44, 0x01}} {
		s.Handle(frame(g, c.t))
	}
	// The heat meter has no key: no-key error, nothing stored.
	_, h := testMeters(t)
	if rs := s.Handle(frame(h.Telegram(c.t), c.t)); rs != nil {
		t.Error("stored a telegram without its key")
	}
	st := s.Stats()
	if st.Unreadable != 3 || st.Unknown != 3 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
	bad := s.BadTelegrams()
	if len(bad) != 4 || bad[3].Meter != "heat-w" || bad[3].Reason != "no-key" || bad[3].Hex == "" {
		t.Errorf("bad telegrams %+v", bad)
	}
	if e := s.Health()[1].Errors; e["no-key"] != 1 {
		t.Errorf("heat errors %v", e)
	}
}

func TestWrongKeyNeverStored(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	sink := &memSink{}
	s := newTestService(t, c, sink, mapKeys{"heat-w": waterKey}) // the wrong key
	_, h := testMeters(t)
	for range 3 {
		if rs := s.Handle(frame(h.Telegram(c.t), c.t)); rs != nil {
			t.Fatal("stored a telegram decrypted with a wrong key")
		}
		c.t = c.t.Add(time.Minute)
	}
	if len(sink.live) != 0 {
		t.Error("live readings from a wrong key")
	}
	if e := s.Health()[1].Errors; e["decrypt"] != 3 {
		t.Errorf("errors %v", e)
	}
}

func TestDuplicates(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	f := w.Telegram(c.t)
	if rs := s.Handle(frame(f, c.t)); len(rs) == 0 {
		t.Fatal("first copy not stored")
	}
	c.t = c.t.Add(3 * time.Second)
	if rs := s.Handle(frame(f, c.t)); rs != nil {
		t.Error("a repeat was stored")
	}
	if h := s.Health()[0]; h.Duplicates != 1 || h.Stored != 1 || h.Telegrams != 2 {
		t.Errorf("health %+v", h)
	}
}

func TestReplayAccessNumber(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	var old []byte
	for i := range 5 {
		f := w.Telegram(c.t)
		if i == 1 {
			old = f
		}
		if rs := s.Handle(frame(f, c.t)); len(rs) == 0 {
			t.Fatalf("telegram %d not stored: %+v", i, s.BadTelegrams())
		}
		c.t = c.t.Add(30 * time.Second)
	}
	c.t = c.t.Add(5 * time.Minute) // beyond the duplicate window
	if rs := s.Handle(frame(old, c.t)); rs != nil {
		t.Fatal("a replayed old telegram was stored")
	}
	h := s.Health()[0]
	if h.Replays != 1 || h.Errors["replay"] != 1 || !strings.Contains(h.LastError, "access number") {
		t.Errorf("health %+v", h)
	}
	// After a long silence the access number may have wrapped: accepted.
	c.t = c.t.Add(24 * time.Hour)
	if rs := s.Handle(frame(w.TelegramACC(c.t, 0), c.t)); len(rs) == 0 {
		t.Errorf("telegram after a day of silence rejected: %s", s.Health()[0].LastError)
	}
}

func TestReplayMeterClock(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	// A telegram recorded two days ago, replayed now (CVE-2021-34572).
	recorded := w.Telegram(c.t.Add(-48 * time.Hour))
	if rs := s.Handle(frame(recorded, c.t)); rs != nil {
		t.Fatal("a telegram with a meter time two days off was stored")
	}
	if h := s.Health()[0]; h.Replays != 1 || !strings.Contains(h.LastError, "clock") {
		t.Errorf("health %+v", h)
	}
	// A meter clock running in local time 1 h off UTC is fine.
	if rs := s.Handle(frame(w.Telegram(c.t.Add(time.Hour)), c.t)); len(rs) == 0 {
		t.Errorf("meter an hour off rejected: %s", s.Health()[0].LastError)
	}
}

func TestIVReuseFlag(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	for i := range 257 {
		if rs := s.Handle(frame(w.Telegram(c.t), c.t)); len(rs) == 0 {
			t.Fatalf("telegram %d: %+v", i, s.Health()[0])
		}
		c.t = c.t.Add(16 * time.Second)
	}
	h := s.Health()[0]
	if h.IVReuse != 1 || len(h.Flags) != 1 || !strings.Contains(h.Flags[0], "CVE-2021-34576") {
		t.Errorf("health after 257 telegrams: IVReuse %d flags %v", h.IVReuse, h.Flags)
	}
}

func TestNewErrors(t *testing.T) {
	for _, ms := range [][]MeterConfig{
		{{ID: "a", Manufacturer: "SM", Address: "12345678"}},
		{{ID: "a", Manufacturer: "SMG", Address: "1234567"}},
		{{ID: "a", Manufacturer: "SMG", Address: "1234567x"}},
		{{ID: "a", Manufacturer: "SMG", Address: "12345678", Key: []byte{1}}},
		{{ID: "a", Manufacturer: "SMG", Address: "12345678", Medium: "lava"}},
		{{ID: "a", Manufacturer: "SMG", Address: "12345678"}, {ID: "b", Manufacturer: "SMG", Address: "12345678"}},
		{{ID: "a", Manufacturer: "SMG", Address: "12345678"}, {ID: "a", Manufacturer: "SMG", Address: "12345679"}},
		{{ID: "", Manufacturer: "SMG", Address: "12345678"}},
	} {
		if _, err := New(&Options{Receiver: nopReceiver{}, Sink: &memSink{}, Meters: ms}); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v", ms, err)
		}
	}
	if _, err := New(&Options{Sink: &memSink{}}); !errors.Is(err, ErrOptions) {
		t.Errorf("no receiver: %v", err)
	}
}

// TestRunLines runs the service on a line reader fed by the simulator
// through a pipe, as the demo does.
func TestRunLines(t *testing.T) {
	testutil.CheckGoroutines(t)
	pr, pw := io.Pipe()
	w, h := testMeters(t)
	sink := &memSink{}
	s, err := New(&Options{
		Receiver: halwmbus.NewLines(pr, nil),
		Meters: []MeterConfig{
			{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey},
			{ID: "heat-w", Manufacturer: "SMG", Address: "10000002", Key: heatKey},
		},
		Sink:     sink,
		Location: time.UTC,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sim.Run(ctx, pw, []*sim.Meter{w, h}, 20*time.Millisecond, func() time.Time { return time.Now().UTC() })
	}()
	runErr := make(chan error, 1)
	go func() { defer wg.Done(); runErr <- s.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for sink.count() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d readings in 20 s; stats %+v bad %+v", sink.count(), s.Stats(), s.BadTelegrams())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	pw.Close()
	wg.Wait()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	if st := s.Stats(); st.Unreadable != 0 || st.Stored == 0 {
		t.Errorf("stats %+v", st)
	}
}

func find(rs []meter.Reading, o meter.OBIS) *meter.Reading {
	for i := range rs {
		if rs[i].OBIS == o {
			return &rs[i]
		}
	}
	return nil
}

// flakyReceiver fails its first run, then delivers its frames.
type flakyReceiver struct {
	runs   int
	frames [][]byte
}

func (r *flakyReceiver) Run(ctx context.Context, fn func(halwmbus.Frame)) error {
	r.runs++
	if r.runs == 1 {
		return errors.New("unplugged")
	}
	for _, f := range r.frames {
		fn(halwmbus.Frame{Data: f, Time: time.Now()})
	}
	<-ctx.Done()
	return nil
}

func TestReceiverRestart(t *testing.T) {
	testutil.CheckGoroutines(t)
	w, _ := testMeters(t)
	r := &flakyReceiver{frames: [][]byte{w.Telegram(time.Now().UTC())}}
	sink := &memSink{}
	s, err := New(&Options{Receiver: r, Sink: sink, Restart: 10 * time.Millisecond, Location: time.UTC,
		Meters: []MeterConfig{{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing stored; stats %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Stats(); st.Receiver != "running" || r.runs != 2 {
		t.Errorf("stats %+v, runs %d", st, r.runs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestAppendFailure(t *testing.T) {
	testutil.CheckGoroutines(t)
	w, _ := testMeters(t)
	r := &flakyReceiver{runs: 1, frames: [][]byte{w.Telegram(time.Now().UTC())}}
	sink := &memSink{err: errors.New("disk full")}
	s, _ := New(&Options{Receiver: r, Sink: sink, Location: time.UTC,
		Meters: []MeterConfig{{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().AppendErrs == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no append error counted; stats %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// stripCRC removes format-A block CRCs (not checking them).
func stripCRC(f []byte) []byte {
	var out []byte
	for i, n := 0, 10; i < len(f); n = 16 {
		n = min(n, len(f)-i-2)
		out = append(out, f[i:i+n]...)
		i += n + 2
	}
	return out
}

// A frame whose CRCs the receiver removed decodes whether the receiver
// says so (a dongle) or not (a plain hex line).
func TestStrippedFrames(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	for _, crc := range []halwmbus.CRCState{halwmbus.CRCStripped, halwmbus.CRCUnknown} {
		f := stripCRC(w.Telegram(c.t))
		if int(f[0]) != len(f)-1 {
			t.Fatalf("stripped frame: L %d, %d bytes", f[0], len(f))
		}
		if rs := s.Handle(halwmbus.Frame{Data: f, CRC: crc, Time: c.t}); len(rs) == 0 {
			t.Errorf("CRC %v: not stored: %+v", crc, s.BadTelegrams())
		}
		c.t = c.t.Add(time.Minute)
	}
}

// A key replaced in the key source while the gateway runs is used after
// the old one fails, within keyRetry.
func TestKeyReplaced(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	keys := mapKeys{}
	s := newTestService(t, c, &memSink{}, keys)
	_, h := testMeters(t)
	send := func() bool {
		c.t = c.t.Add(20 * time.Second)
		return len(s.Handle(frame(h.Telegram(c.t), c.t))) > 0
	}
	if send() {
		t.Fatal("stored without a key")
	}
	keys["heat-w"] = waterKey // the wrong key arrives
	if send() {
		t.Fatal("stored before the key was fetched again")
	}
	c.t = c.t.Add(keyRetry)
	if send() {
		t.Fatal("stored with the wrong key")
	}
	keys["heat-w"] = heatKey // replaced by the right one
	if send() {
		t.Fatal("the new key was used before keyRetry passed")
	}
	c.t = c.t.Add(keyRetry)
	if !send() {
		t.Fatalf("the new key was not used: %+v", s.Health()[1])
	}
	if e := s.Health()[1].Errors; e["no-key"] != 2 || e["decrypt"] != 2 {
		t.Errorf("errors %v", e)
	}
}
