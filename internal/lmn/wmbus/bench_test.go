package wmbus

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/lmn/wmbus/sim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

type discardSink struct{}

func (discardSink) Append(context.Context, ...meter.Reading) error { return nil }
func (discardSink) Live(...meter.Reading)                          {}

// benchService configures n meters: the simulated water meter 10000001
// and n-1 others.
func benchService(b *testing.B, n int, c *clock) *Service {
	ms := []MeterConfig{{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey}}
	for i := 1; i < n; i++ {
		ms = append(ms, MeterConfig{ID: meter.MeterID(fmt.Sprintf("m-%d", i)), Manufacturer: "KAM",
			Address: fmt.Sprintf("%08d", 20000000+i), Key: heatKey})
	}
	s, err := New(&Options{Receiver: nopReceiver{}, Meters: ms, Sink: discardSink{}, Now: c.now,
		MaxClockSkew: -1, Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkHandle is the cost of one mode-5 telegram of a configured
// meter (header, lookup, repeat and replay checks, decryption, decoding,
// OBIS mapping) with 1, 100 and 10,000 meters configured: it must not
// grow with the number of meters.
func BenchmarkHandle(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("meters=%d", n), func(b *testing.B) {
			c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
			s := benchService(b, n, c)
			w, _ := testMeters(b)
			frames := make([]halwmbus.Frame, 256)
			for i := range frames {
				frames[i] = halwmbus.Frame{Data: w.TelegramACC(c.t, byte(i)), RSSI: -80, HasRSSI: true}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.t = c.t.Add(16 * time.Second)
				f := frames[i%len(frames)]
				f.Time = c.t
				if rs := s.Handle(f); len(rs) == 0 {
					b.Fatalf("not stored: %+v", s.Health()[0])
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "telegrams/s")
		})
	}
}

// storeSink is the store as the gateway's ingest uses it.
type storeSink struct{ st *store.Store }

func (s storeSink) Append(ctx context.Context, rs ...meter.Reading) error {
	return s.st.Append(ctx, rs...)
}
func (s storeSink) Live(rs ...meter.Reading) { s.st.AppendDeferred(rs...) }

// BenchmarkEndToEnd runs hex lines of the two simulated meters' encrypted
// telegrams through the line reader, the service and into a real store
// (durable, group-committed), and reports telegrams/s and readings/s.
func BenchmarkEndToEnd(b *testing.B) {
	const perOp = 2000
	w, h := testMeters(b)
	t0 := time.Now().UTC().Add(-time.Hour)
	var in bytes.Buffer
	for i := range perOp / 2 {
		at := t0.Add(time.Duration(i) * time.Second)
		for _, m := range []*sim.Meter{w, h} {
			in.WriteString(hex.EncodeToString(m.Telegram(at)))
			in.WriteByte('\n')
		}
	}
	lines := in.Bytes()
	var readings uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{
			Keys: keys.NewDev(filepath.Join(dir, "key"), slog.New(slog.DiscardHandler)),
		})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(&Options{
			Receiver: halwmbus.NewLines(bytes.NewReader(lines), nil),
			Meters: []MeterConfig{
				{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey},
				{ID: "heat-w", Manufacturer: "SMG", Address: "10000002", Key: heatKey},
			},
			Sink:         storeSink{st},
			MaxClockSkew: -1,
			DupWindow:    time.Nanosecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- s.Run(ctx) }()
		for s.Stats().Frames < perOp {
			time.Sleep(100 * time.Microsecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stats := s.Stats()
		if stats.Stored != perOp || stats.AppendErrs != 0 {
			b.Fatalf("stats %+v", stats)
		}
		readings += stats.Readings
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*perOp)/sec, "telegrams/s")
	b.ReportMetric(float64(readings)/sec, "readings/s")
}

// BenchmarkHandleSpread is BenchmarkHandle with the telegrams coming from
// all the configured meters in turn (up to 10,000 water meters, each with
// its own key): the meter table and the decoders' key caches are
// exercised across the whole population.
func BenchmarkHandleSpread(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("meters=%d", n), func(b *testing.B) {
			c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
			var ms []MeterConfig
			var frames []halwmbus.Frame
			for i := range n {
				key := []byte(fmt.Sprintf("key-%012d", i))
				addr := fmt.Sprintf("%08d", 30000000+i)
				ms = append(ms, MeterConfig{ID: meter.MeterID("m-" + addr), Manufacturer: "SMG", Address: addr, Key: key})
				m, err := sim.New(sim.Options{Kind: sim.Water, Manufacturer: "SMG", Address: addr, Key: key, Location: time.UTC})
				if err != nil {
					b.Fatal(err)
				}
				frames = append(frames, halwmbus.Frame{Data: m.Telegram(c.t)})
			}
			s, err := New(&Options{Receiver: nopReceiver{}, Meters: ms, Sink: discardSink{}, Now: c.now,
				MaxClockSkew: -1, DupWindow: time.Nanosecond, Location: time.UTC})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.t = c.t.Add(time.Millisecond)
				f := frames[i%len(frames)]
				f.Time = c.t
				if rs := s.Handle(f); len(rs) == 0 {
					b.Fatalf("not stored: %+v", s.BadTelegrams())
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "telegrams/s")
		})
	}
}
