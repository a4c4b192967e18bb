package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/meter"
)

// Figures from these benchmarks are recorded in BENCHMARKS.md with the
// commands that produced them. They report throughput, latency, size and
// bytes written as metrics; no test asserts a time.

// writeBytes returns this process's bytes written to storage so far
// (/proc/self/io write_bytes), or -1 where that is not available.
func writeBytes() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

const benchSeriesPerMeter = 8

// benchReadings fills rs with one meter's 8 quantities at count
// consecutive seconds from t.
func benchReadings(rs []meter.Reading, id meter.MeterID, t time.Time, count int, base int64) []meter.Reading {
	rs = rs[:0]
	for i := range count {
		for o := range benchSeriesPerMeter {
			rs = append(rs, meter.Reading{Meter: id, OBIS: meter.OBIS{1, 0, 1, 8, byte(o), 255},
				Time: t.Add(time.Duration(i) * time.Second), Value: meter.V(base+int64(i*37+o), 0),
				Unit: meter.UnitWattHour, Source: meter.SourceSim})
		}
	}
	return rs
}

// BenchmarkIngestPlainBolt is the reference: the simplest durable bbolt
// ingest, one goroutine putting one key per reading and committing (with
// fsync) every 50 ms.
func BenchmarkIngestPlainBolt(b *testing.B) {
	path := filepath.Join(b.TempDir(), "plain.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w0 := writeBytes()
	b.ResetTimer()
	start := time.Now()
	tx, _ := db.Begin(true)
	bk, _ := tx.CreateBucketIfNotExists([]byte("readings"))
	last := time.Now()
	var key [28]byte
	var val [16]byte
	var maxLat time.Duration
	for i := range b.N {
		m := i % 64
		o := (i / 64) % 8
		ts := int64(i / 512)
		copy(key[:], fmt.Appendf(key[:0], "meter-%02d", m))
		copy(key[8:], []byte{1, 0, 1, 8, byte(o), 255})
		binary.BigEndian.PutUint64(key[14:], uint64(t0.Add(time.Duration(ts)*time.Second).UnixNano()))
		binary.BigEndian.PutUint64(val[:], uint64(i))
		val[8], val[9] = 0, byte(meter.UnitWattHour)
		if err := bk.Put(key[:22], val[:12]); err != nil {
			b.Fatal(err)
		}
		if time.Since(last) >= 50*time.Millisecond {
			c := time.Now()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			maxLat = max(maxLat, time.Since(last))
			_ = c
			tx, _ = db.Begin(true)
			bk = tx.Bucket([]byte("readings"))
			last = time.Now()
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	fi, _ := os.Stat(path)
	b.ReportMetric(float64(b.N)/el.Seconds(), "readings/s")
	b.ReportMetric(float64(fi.Size())/float64(b.N), "file-B/reading")
	if w0 >= 0 {
		b.ReportMetric(float64(writeBytes()-w0)/float64(b.N), "written-B/reading")
	}
	b.ReportMetric(float64(maxLat.Milliseconds()), "max-latency-ms")
}

// BenchmarkIngest measures sustained durable ingest through the full
// Append path (validation, journal encoding, sealing, group commit, fsync,
// compaction) with 1, 8 and 64 concurrent producers. Each producer owns
// meters of 8 quantities and appends a meter read (8 quantities × 8
// seconds = 64 readings) at a time with AppendAsync; the producers share a
// depth of 512 appends in flight (512, 64 and 8 each), so the three runs
// differ in concurrency, not in how much they ask at once. Latency is from
// submit to durable.
func BenchmarkIngest(b *testing.B) {
	for _, producers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			benchIngest(b, producers, 0)
		})
	}
}

// BenchmarkIngestPaced measures the latency from submit to durable at a
// fixed offered load of 300,000 readings/s (above 70% of the plain bbolt
// reference), spread over 1, 8 and 64 producers that each submit their
// meter reads on schedule, whether or not earlier ones are done (open
// loop). BenchmarkIngest saturates the store instead, where latency only
// measures the queue.
func BenchmarkIngestPaced(b *testing.B) {
	for _, producers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			benchIngest(b, producers, 300_000)
		})
	}
}

// benchIngest runs producers appending about b.N readings, as fast as 512
// appends in flight allow (rate 0), or on a schedule of rate readings/s
// with no bound on what is in flight; latency counts from when an append
// was due, so a producer that falls behind shows it.
func benchIngest(b *testing.B, producers int, rate float64) {
	path := filepath.Join(b.TempDir(), "smgw.db")
	s, err := Open(path, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	const perAppend = 8 // seconds per meter read
	const readingsPerAppend = perAppend * benchSeriesPerMeter
	inflight := 512 / producers
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(readingsPerAppend*producers) / rate)
	}
	reads := max(producers, b.N/readingsPerAppend)
	var mu sync.Mutex
	var lats []time.Duration
	w0 := writeBytes()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type flight struct {
				p   *Pending
				due time.Time
			}
			var q []flight
			var mine []time.Duration
			wait := func(f flight) {
				if err := f.p.Wait(context.Background()); err != nil {
					b.Error(err)
				}
				mine = append(mine, f.p.r.doneAt.Sub(f.due))
			}
			due := start.Add(interval * time.Duration(p) / time.Duration(producers))
			for r := p; r < reads; r += producers {
				if rate > 0 {
					time.Sleep(time.Until(due))
				} else if len(q) == inflight {
					wait(q[0])
					q = q[1:]
				}
				if rate == 0 {
					due = time.Now()
				}
				id := meter.MeterID(fmt.Sprintf("meter-%02d", r%64))
				buf := benchReadings(make([]meter.Reading, 0, readingsPerAppend), id, t0.Add(time.Duration(r/64*perAppend)*time.Second), perAppend, int64(r))
				q = append(q, flight{s.AppendAsync(buf...), due})
				due = due.Add(interval)
			}
			for _, f := range q {
				wait(f)
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	n := reads * readingsPerAppend
	wb := writeBytes() - w0
	st := s.Stats()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	slices.Sort(lats)
	b.ReportMetric(float64(n)/el.Seconds(), "readings/s")
	b.ReportMetric(float64(fi.Size())/float64(n), "file-B/reading")
	if w0 >= 0 {
		b.ReportMetric(float64(wb)/float64(n), "written-B/reading")
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lats[len(lats)/2]), "p50-latency-ms")
	b.ReportMetric(ms(lats[len(lats)*99/100]), "p99-latency-ms")
	b.ReportMetric(ms(lats[len(lats)-1]), "max-latency-ms")
	b.ReportMetric(float64(n)/float64(max(st.Commits, 1)), "readings/commit")
	b.ReportMetric(ms(st.MaxCompactionStep), "max-compact-step-ms")
}

// BenchmarkSize90Days stores 90 days of 15-minute data for 32 meters × 8
// quantities (2.2 million readings, one Append per meter per interval, as
// meters are read) and reports the bytes at rest per reading: the file
// size, and the pages in use. Run it once: -benchtime=1x.
func BenchmarkSize90Days(b *testing.B) {
	days := 90
	if testing.Short() {
		days = 3
	}
	for range b.N {
		path := filepath.Join(b.TempDir(), "smgw.db")
		o := testOptions()
		o.NoSync = true // size does not depend on fsync; this keeps the run short
		s, err := Open(path, o)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		n := 0
		var rs []meter.Reading
		var ps []*Pending
		for iv := range days * 96 {
			at := t0.Add(time.Duration(iv) * 15 * time.Minute)
			for m := range 32 {
				rs = make([]meter.Reading, 0, 8)
				for o := range 8 {
					rs = append(rs, meter.Reading{Meter: meter.MeterID(fmt.Sprintf("meter-%02d", m)), OBIS: meter.OBIS{1, 0, byte(1 + o), 8, 0, 255},
						Time: at, Value: meter.V(int64(1_000_000*m+iv*(50+o*3)+iv%7), 0), Unit: meter.UnitWattHour, Source: meter.SourceDLMS})
				}
				ps = append(ps, s.AppendAsync(rs...))
				n += len(rs)
			}
			if len(ps) > 256 {
				for _, p := range ps {
					if err := p.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
				ps = ps[:0]
			}
		}
		for _, p := range ps {
			p.Wait(ctx)
		}
		s.Compact(ctx)
		live := s.liveBytes()
		s.Close()
		fi, _ := os.Stat(path)
		b.ReportMetric(float64(fi.Size())/float64(n), "file-B/reading")
		b.ReportMetric(float64(live)/float64(n), "live-B/reading")
		b.ReportMetric(float64(n), "readings")
	}
}

// BenchmarkHouseholdDay replays one day of a household's load with the
// store's default options: one electricity meter whose 1-second power,
// export power and voltage are kept as 1-minute means through
// AppendDeferred (they ride along with the next commit); its registers, a
// water and a heat meter every 15 minutes through Append; compaction
// hourly. It reports the bytes written to storage for the day.
func BenchmarkHouseholdDay(b *testing.B) {
	for range b.N {
		path := filepath.Join(b.TempDir(), "smgw.db")
		o := testOptions()
		s, err := Open(path, o)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		w0 := writeBytes()
		readings := 0
		for minute := range 24 * 60 {
			at := t0.Add(time.Duration(minute) * time.Minute)
			s.AppendDeferred(
				meter.Reading{Meter: "elec-1", OBIS: meter.OBISActivePowerImport, Time: at, Value: meter.V(int64(300+minute%97), 0), Unit: meter.UnitWatt, Quality: meter.QualityAggregated, Source: meter.SourceSim},
				meter.Reading{Meter: "elec-1", OBIS: meter.OBISActivePowerExport, Time: at, Value: meter.V(0, 0), Unit: meter.UnitWatt, Quality: meter.QualityAggregated, Source: meter.SourceSim},
				meter.Reading{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:32.7.0"), Time: at, Value: meter.V(int64(2300+minute%11), -1), Unit: meter.UnitVolt, Quality: meter.QualityAggregated, Source: meter.SourceSim},
			)
			readings += 3
			if minute%15 == 0 {
				iv := int64(minute / 15)
				regs := []meter.Reading{
					{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, Time: at, Value: meter.V(1_000_000+iv*90, 0), Unit: meter.UnitWattHour},
					{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.1"), Time: at, Value: meter.V(600_000+iv*60, 0), Unit: meter.UnitWattHour},
					{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.2"), Time: at, Value: meter.V(400_000+iv*30, 0), Unit: meter.UnitWattHour},
					{Meter: "elec-1", OBIS: meter.OBISActiveEnergyExport, Time: at, Value: meter.V(50_000+iv*2, 0), Unit: meter.UnitWattHour},
				}
				if err := s.Append(ctx, regs...); err != nil {
					b.Fatal(err)
				}
				if err := s.Append(ctx, meter.Reading{Meter: "water-1", OBIS: meter.OBISVolumeWater, Time: at, Value: meter.V(123_456+iv*3, -3), Unit: meter.UnitCubicMetre}); err != nil {
					b.Fatal(err)
				}
				heat := []meter.Reading{
					{Meter: "heat-1", OBIS: meter.OBISHeatEnergy, Time: at, Value: meter.V(8_000+iv/4, 3), Unit: meter.UnitWattHour},
					{Meter: "heat-1", OBIS: meter.OBISHeatVolume, Time: at, Value: meter.V(4_000+iv, -2), Unit: meter.UnitCubicMetre},
					{Meter: "heat-1", OBIS: meter.OBISFlowTemperature, Time: at, Value: meter.V(550+iv%9, -1), Unit: meter.UnitCelsius},
					{Meter: "heat-1", OBIS: meter.OBISReturnTemperature, Time: at, Value: meter.V(380+iv%5, -1), Unit: meter.UnitCelsius},
				}
				if err := s.Append(ctx, heat...); err != nil {
					b.Fatal(err)
				}
				readings += 9
				if minute%60 == 0 {
					s.Compact(ctx) // as CompactEvery's default does
				}
			}
		}
		wb := writeBytes() - w0
		st := s.Stats()
		s.Close()
		if w0 >= 0 {
			b.ReportMetric(float64(wb)/1e6, "written-MB/day")
			b.ReportMetric(float64(wb)/float64(readings), "written-B/reading")
		}
		b.ReportMetric(float64(st.Commits), "commits/day")
		b.ReportMetric(float64(readings), "readings/day")
	}
}

func benchQueryStore(b *testing.B, days int) (*Store, context.Context) {
	path := filepath.Join(b.TempDir(), "smgw.db")
	o := testOptions()
	o.NoSync = true
	s, err := Open(path, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	rs := make([]meter.Reading, 0, 96)
	for d := range days {
		rs = rs[:0]
		for i := range 96 {
			iv := d*96 + i
			rs = append(rs, meter.Reading{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, Time: t0.Add(time.Duration(iv) * 15 * time.Minute),
				Value: meter.V(int64(1_000_000+iv*91+iv%13), 0), Unit: meter.UnitWattHour, Source: meter.SourceDLMS})
		}
		if err := s.Append(ctx, rs...); err != nil {
			b.Fatal(err)
		}
	}
	s.Compact(ctx)
	return s, ctx
}

// BenchmarkQueryDay reads one day of 15-minute data of one quantity from
// a year of it.
func BenchmarkQueryDay(b *testing.B) {
	s, ctx := benchQueryStore(b, 366)
	q := Query{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, From: t0.Add(200 * 24 * time.Hour), To: t0.Add(201 * 24 * time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := s.Query(ctx, q, func(meter.Reading) error { n++; return nil }); err != nil || n != 96 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkQueryYear reads a year of 15-minute data of one quantity.
func BenchmarkQueryYear(b *testing.B) {
	s, ctx := benchQueryStore(b, 366)
	q := Query{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, From: t0, To: t0.Add(365 * 24 * time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := s.Query(ctx, q, func(meter.Reading) error { n++; return nil }); err != nil || n != 365*96 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkDecodeBlock is the hot decoder of every query.
func BenchmarkDecodeBlock(b *testing.B) {
	pts := make([]point, 96)
	for i := range pts {
		pts[i] = point{t: t0.UnixMilli() + int64(i)*900_000, m: 12_345_678 + int64(i)*250, unit: meter.UnitWattHour}
	}
	enc := appendBlock(nil, pts)
	var dst []point
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for range b.N {
		dst, _ = decodeBlock(dst[:0], enc)
	}
}
