package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// model is the reference the store is checked against: the last value
// appended for each (meter, OBIS, ms).
type model map[seriesKey]map[int64]meter.Reading

func (m model) add(rs ...meter.Reading) {
	for _, r := range rs {
		k := seriesKey{r.Meter, r.OBIS}
		if m[k] == nil {
			m[k] = map[int64]meter.Reading{}
		}
		r.Time = time.UnixMilli(r.Time.UnixMilli()).UTC()
		m[k][r.Time.UnixMilli()] = r
	}
}

func (m model) meters() map[meter.MeterID]bool {
	out := map[meter.MeterID]bool{}
	for k := range m {
		out[k.meter] = true
	}
	return out
}

func (m model) query(q Query) []meter.Reading {
	var out []meter.Reading
	for k, pts := range m {
		if q.Meter != "" && k.meter != q.Meter || q.OBIS != (meter.OBIS{}) && q.OBIS != k.obis {
			continue
		}
		for _, r := range pts {
			if !q.From.IsZero() && r.Time.Before(q.From) || !q.To.IsZero() && !r.Time.Before(q.To) {
				continue
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b meter.Reading) int {
		if a.Meter != b.Meter {
			if a.Meter < b.Meter {
				return -1
			}
			return 1
		}
		if c := cmpOBIS(a.OBIS, b.OBIS); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	return out
}

func sameReadings(t *testing.T, what string, got, want []meter.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d readings, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Meter != w.Meter || g.OBIS != w.OBIS || !g.Time.Equal(w.Time) || g.Value != w.Value || g.Unit != w.Unit || g.Quality != w.Quality || g.Source != w.Source {
			t.Fatalf("%s: reading %d: got %v, want %v", what, i, g, w)
		}
	}
}

// TestModel appends random readings (out of order, duplicates, unit and
// exponent changes, several days, many meters), compacting and reopening
// at random, and checks every query against the model.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	opts := testOptions()
	opts.CompactBytes = 1 << 30 // compaction only when the test says
	opts.stepPoints = 50        // many small steps
	s, path := openTest(t, opts)
	ctx := context.Background()
	m := model{}
	meters := []string{"a", "b", "elec-1", "x"}
	obis := []string{"1-0:1.8.0", "1-0:2.8.0", "8-0:1.0.0", "1-0:1.7.0"}
	for round := range 40 {
		var batch []meter.Reading
		for range rng.IntN(300) + 1 {
			r := rd(meters[rng.IntN(len(meters))], obis[rng.IntN(len(obis))],
				t0.Add(time.Duration(rng.IntN(5*24*3600))*time.Second+time.Duration(rng.IntN(1000))*time.Millisecond),
				rng.Int64N(1<<40)-1<<39, int8(rng.IntN(3)-2), meter.Unit(27+rng.IntN(2)))
			if rng.IntN(10) == 0 {
				r.Quality = meter.QualityEstimated
			}
			if rng.IntN(10) == 0 {
				r.Source = meter.SourceDLMS
			}
			batch = append(batch, r)
		}
		if err := s.Append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		m.add(batch...)
		switch rng.IntN(5) {
		case 0:
			s.Compact(ctx)
		case 4:
			// Leave a compaction part done, with appends between its steps
			// and a reopen (a crash would leave the same state on disk).
			s.Append(ctx, rd("x", "1-0:1.8.0", t0.Add(time.Duration(round)*time.Second), 1, 0, meter.UnitWattHour))
			m.add(rd("x", "1-0:1.8.0", t0.Add(time.Duration(round)*time.Second), 1, 0, meter.UnitWattHour))
			s.testStartCompaction(ctx, 1)
			fallthrough
		case 1:
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var err error
			if s, err = Open(path, opts); err != nil {
				t.Fatal(err)
			}
		}
		for range 5 {
			q := Query{}
			if rng.IntN(2) == 0 {
				q.Meter = meter.MeterID(meters[rng.IntN(len(meters))])
			}
			if rng.IntN(2) == 0 {
				q.OBIS = meter.MustOBIS(obis[rng.IntN(len(obis))])
			}
			if rng.IntN(2) == 0 {
				q.From = t0.Add(time.Duration(rng.IntN(5*24)) * time.Hour)
				q.To = q.From.Add(time.Duration(rng.IntN(72)+1) * time.Hour)
			}
			sameReadings(t, "round "+string(rune('0'+round%10)), collect(t, s, q), m.query(q))
		}
	}
	t.Cleanup(func() { s.Close() })
	// Latest and Meters agree with the model.
	for k, pts := range m {
		var latest meter.Reading
		for _, r := range pts {
			if latest.Time.IsZero() || r.Time.After(latest.Time) {
				latest = r
			}
		}
		got, ok := s.Latest(k.meter, k.obis)
		if !ok || got.Value != latest.Value || !got.Time.Equal(latest.Time) {
			t.Errorf("Latest(%s %s) = %v, want %v", k.meter, k.obis, got, latest)
		}
	}
	if n := len(s.Meters()); n != len(m.meters()) {
		t.Errorf("Meters: %d, want %d", n, len(meters))
	}
}

func TestQueryLimitAndStop(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	var rs []meter.Reading
	for i := range 5000 {
		rs = append(rs, rd("m", "1-0:1.8.0", t0.Add(time.Duration(i)*time.Minute), int64(i), 0, meter.UnitWattHour))
	}
	if err := s.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	s.Compact(ctx)
	if got := collect(t, s, Query{Limit: 10}); len(got) != 10 || got[9].Value.M != 9 {
		t.Fatalf("limit: %d", len(got))
	}
	stop := errors.New("enough")
	n := 0
	err := s.Query(ctx, Query{}, func(meter.Reading) error {
		n++
		if n == 3000 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3000 {
		t.Fatalf("stop: %v after %d", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Query(cctx, Query{}, func(meter.Reading) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled query: %v", err)
	}
}

func TestAppendInvalid(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	good := rd("m", "1-0:1.8.0", t0, 1, 0, meter.UnitWattHour)
	bad := good
	bad.Meter = "no spaces allowed"
	if err := s.Append(ctx, good, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if got := collect(t, s, Query{}); len(got) != 0 {
		t.Fatalf("a failed append stored %d readings", len(got))
	}
	old := good
	old.Time = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Append(ctx, old); !errors.Is(err, ErrInvalid) {
		t.Fatalf("pre-1970: %v", err)
	}
}

func TestGroupCommit(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	const producers, each = 16, 50
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := rd("p"+string(rune('a'+p)), "1-0:1.8.0", t0.Add(time.Duration(i)*time.Second), int64(i), 0, meter.UnitWattHour)
				if err := s.Append(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Appended != producers*each {
		t.Fatalf("appended %d", st.Appended)
	}
	if st.Commits >= producers*each {
		t.Errorf("%d commits for %d appends: no group commit", st.Commits, producers*each)
	}
	t.Logf("%d appends in %d commits", producers*each, st.Commits)
}

func TestAppendAsyncAndDeferred(t *testing.T) {
	opts := testOptions()
	opts.DeferredFlush = time.Hour
	s, path := openTest(t, opts)
	ctx := context.Background()
	var ps []*Pending
	for i := range 100 {
		ps = append(ps, s.AppendAsync(rd("m", "1-0:1.8.0", t0.Add(time.Duration(i)*time.Second), int64(i), 0, meter.UnitWattHour)))
	}
	for _, p := range ps {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendDeferred(rd("m", "1-0:1.7.0", t0, 1500, 0, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s, Query{OBIS: meter.OBISActivePowerImport}); len(got) != 0 {
		t.Fatalf("deferred visible before its flush: %d", len(got))
	}
	if s.Stats().Deferred != 1 {
		t.Fatalf("deferred count %d", s.Stats().Deferred)
	}
	if err := s.Close(); err != nil { // Close flushes deferred readings.
		t.Fatal(err)
	}
	s2, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := collect(t, s2, Query{OBIS: meter.OBISActivePowerImport}); len(got) != 1 || got[0].Value.M != 1500 {
		t.Fatalf("deferred reading not durable after Close: %v", got)
	}
	if err := s2.AppendDeferred(rd("m", "1-0:1.7.0", t0.Add(time.Minute), 1600, 0, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s2, Query{OBIS: meter.OBISActivePowerImport}); len(got) != 2 {
		t.Fatalf("Flush: %d", len(got))
	}
}

func TestDeferredFlushTimer(t *testing.T) {
	opts := testOptions()
	opts.DeferredFlush = 10 * time.Millisecond
	s, _ := openTest(t, opts)
	if err := s.AppendDeferred(rd("m", "1-0:1.7.0", t0, 1, 0, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Appended == 0 {
		if time.Now().After(deadline) {
			t.Fatal("deferred reading never flushed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSubscribe(t *testing.T) {
	s, _ := openTest(t, nil)
	sub := s.Subscribe(10)
	r := rd("m", "1-0:1.8.0", t0, 7, 0, meter.UnitWattHour)
	if err := s.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub.C():
		if got.Value != r.Value || got.Meter != r.Meter {
			t.Fatalf("got %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reading delivered")
	}
	sub.Close()
	sub.Close()
	if _, ok := <-sub.C(); ok {
		t.Fatal("channel open after Close")
	}
}

func TestOutbox(t *testing.T) {
	opts := testOptions()
	opts.OutboxChannels = []string{"mqtt"}
	s, path := openTest(t, opts)
	ctx := context.Background()
	for i := range 10 {
		if err := s.Append(ctx, rd("m", "1-0:1.8.0", t0.Add(time.Duration(i)*time.Minute), int64(i), 0, meter.UnitWattHour),
			rd("m", "1-0:2.8.0", t0.Add(time.Duration(i)*time.Minute), int64(i), 0, meter.UnitWattHour)); err != nil {
			t.Fatal(err)
		}
	}
	items, err := s.Outbox("mqtt", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 20 || items[0].Seq != 1 || items[19].Seq != 20 {
		t.Fatalf("outbox: %d items", len(items))
	}
	r, err := DecodeReading(items[3].Payload)
	if err != nil || r.OBIS != meter.OBISActiveEnergyExport || r.Value.M != 1 {
		t.Fatalf("item 4: %v %v", r, err)
	}
	// Partial ack inside an entry: only later items come back.
	if err := s.Ack(ctx, "mqtt", 5); err != nil {
		t.Fatal(err)
	}
	items, _ = s.Outbox("mqtt", 0, 100)
	if len(items) != 15 || items[0].Seq != 6 {
		t.Fatalf("after ack 5: %d items from %d", len(items), items[0].Seq)
	}
	if err := s.Ack(ctx, "mqtt", 99); err == nil {
		t.Fatal("ack beyond the queue accepted")
	}
	seq, err := s.Enqueue(ctx, "events", []byte("a"), []byte("b"))
	if err != nil || seq != 1 {
		t.Fatalf("enqueue: %d %v", seq, err)
	}
	if _, err := s.Enqueue(ctx, "bad channel!", []byte("x")); err == nil {
		t.Fatal("bad channel name accepted")
	}
	s.Close()
	s, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	items, _ = s.Outbox("mqtt", 0, 100)
	if len(items) != 15 || items[0].Seq != 6 {
		t.Fatalf("after reopen: %d items", len(items))
	}
	if next, acked := s.OutboxState("mqtt"); next != 21 || acked != 5 {
		t.Fatalf("state after reopen: next %d acked %d", next, acked)
	}
	if err := s.Ack(ctx, "mqtt", 20); err != nil {
		t.Fatal(err)
	}
	if items, _ = s.Outbox("mqtt", 0, 100); len(items) != 0 {
		t.Fatalf("after full ack: %d", len(items))
	}
	seq, _ = s.Enqueue(ctx, "events", []byte("c"))
	if seq != 3 {
		t.Fatalf("sequence after reopen: %d", seq)
	}
	items, _ = s.Outbox("events", 1, 10)
	if len(items) != 2 || string(items[0].Payload) != "b" || string(items[1].Payload) != "c" {
		t.Fatalf("events after 1: %v", items)
	}
}

func TestEventLog(t *testing.T) {
	s, path := openTest(t, nil)
	ctx := context.Background()
	var evs []Event
	for i := range 20 {
		ev, err := s.Log(ctx, LogSystem, Event{Kind: "test", Message: "entry", Attrs: map[string]string{"i": string(rune('a' + i)), "z": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != uint64(i+1) {
			t.Fatalf("seq %d", ev.Seq)
		}
		if i > 0 && ev.Prev != evs[i-1].Hash {
			t.Fatal("prev hash does not link")
		}
		evs = append(evs, ev)
	}
	rep, err := s.VerifyLog(ctx, LogSystem)
	if err != nil || rep.Entries != 20 || rep.Head != evs[19].Hash {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	if rep, err := s.VerifyLog(ctx, LogConsumer); err != nil || rep.Entries != 0 {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
	var got []Event
	if err := s.Events(ctx, LogSystem, 15, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Seq != 16 || got[0].Attrs["i"] != evs[15].Attrs["i"] || got[0].Hash != evs[15].Hash {
		t.Fatalf("events after 15: %+v", got)
	}
	if _, err := s.Log(ctx, "nope", Event{Kind: "x"}); err == nil {
		t.Fatal("unknown log accepted")
	}
	s.Close()

	tamper := func(name string, fn func(lb *bolt.Bucket, meta *bolt.Bucket)) {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "copy.db")
			b, _ := os.ReadFile(path)
			os.WriteFile(p, b, 0o600)
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error {
				fn(tx.Bucket(bucketLog).Bucket([]byte(LogSystem)), tx.Bucket(bucketMeta))
				return nil
			})
			db.Close()
			s, err := Open(p, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.VerifyLog(context.Background(), LogSystem)
			if !errors.Is(err, ErrChainBroken) {
				t.Fatalf("got %v, want ErrChainBroken", err)
			}
			t.Log(err)
		})
	}
	key := func(i uint64) []byte { return []byte{0, 0, 0, 0, 0, 0, 0, byte(i)} }
	tamper("edit", func(lb, _ *bolt.Bucket) {
		v := append([]byte(nil), lb.Get(key(7))...)
		v[24] ^= 1 // a letter of the message
		lb.Put(key(7), v)
	})
	tamper("gap", func(lb, _ *bolt.Bucket) { lb.Delete(key(7)) })
	tamper("tail", func(lb, _ *bolt.Bucket) { lb.Delete(key(20)) })
	tamper("head", func(_, meta *bolt.Bucket) {
		v := append([]byte(nil), meta.Get([]byte(metaLogHead+"system"))...)
		v[9] ^= 1
		meta.Put([]byte(metaLogHead+"system"), v)
	})
	tamper("rewritten-chain", func(lb, _ *bolt.Bucket) {
		// Re-link entry 7 correctly to a changed entry 6: entry 8's link breaks.
		v := append([]byte(nil), lb.Get(key(6))...)
		v[20] ^= 1
		lb.Put(key(6), v)
	})
}

func TestReopenKeepsLogChain(t *testing.T) {
	s, path := openTest(t, nil)
	ctx := context.Background()
	s.Log(ctx, LogMetrology, Event{Kind: "a"})
	s.Close()
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev, err := s.Log(ctx, LogMetrology, Event{Kind: "b"}); err != nil || ev.Seq != 2 {
		t.Fatalf("%v %v", ev, err)
	}
	if _, err := s.VerifyLog(ctx, LogMetrology); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusals(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t, nil)
	var rs []meter.Reading
	for i := range 500 {
		rs = append(rs, rd("m", "1-0:1.8.0", t0.Add(time.Duration(i)*time.Minute), int64(i), 0, meter.UnitWattHour))
	}
	if err := s.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	s.Compact(ctx)
	s.Log(ctx, LogSystem, Event{Kind: "x"})

	t.Run("locked", func(t *testing.T) {
		o := testOptions()
		o.LockTimeout = 50 * time.Millisecond
		if _, err := Open(path, o); !errors.Is(err, ErrLocked) {
			t.Fatalf("got %v, want ErrLocked", err)
		}
	})
	s.Close()
	orig, _ := os.ReadFile(path)

	copyTo := func(t *testing.T, b []byte) string {
		p := filepath.Join(t.TempDir(), "x.db")
		os.WriteFile(p, b, 0o600)
		return p
	}
	unchanged := func(t *testing.T, p string, want []byte) {
		got, _ := os.ReadFile(p)
		if !slices.Equal(got, want) {
			t.Fatal("the refused file was changed")
		}
	}
	t.Run("wrong-key", func(t *testing.T) {
		p := copyTo(t, orig)
		o := &Options{Keys: keys.Static{Key: make([]byte, 32)}}
		_, err := Open(p, o)
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("got %v, want ErrWrongKey", err)
		}
		t.Log(err)
		unchanged(t, p, orig)
	})
	t.Run("truncated", func(t *testing.T) {
		// Cut inside the pages in use (bbolt preallocates past them, and a
		// cut there loses nothing).
		m0, err0 := parseMeta(orig)
		m1, err1 := parseMeta(orig[m0.pageSize:])
		if err0 != nil || err1 != nil {
			t.Fatal(err0, err1)
		}
		used := int(max(m0.pgid, m1.pgid)) * int(m0.pageSize)
		for _, cut := range []int{used - 1, used - int(m0.pageSize), used / 2} {
			p := copyTo(t, orig[:cut])
			_, err := Open(p, testOptions())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d of %d: got %v, want ErrCorrupt", cut, used, err)
			}
			unchanged(t, p, orig[:cut])
		}
		t.Log(Open(copyTo(t, orig[:used/2]), testOptions()))
	})
	t.Run("tiny", func(t *testing.T) {
		for _, n := range []int{0, 10, 4096} {
			p := copyTo(t, orig[:n])
			if _, err := Open(p, testOptions()); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d bytes: got %v, want ErrCorrupt", n, err)
			}
			unchanged(t, p, orig[:n])
		}
	})
	t.Run("garbage", func(t *testing.T) {
		g := make([]byte, 64<<10)
		for i := range g {
			g[i] = byte(i * 7)
		}
		p := copyTo(t, g)
		if _, err := Open(p, testOptions()); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("got %v, want ErrCorrupt", err)
		}
		unchanged(t, p, g)
	})
	t.Run("damaged-block", func(t *testing.T) {
		p := copyTo(t, orig)
		db, _ := bolt.Open(p, 0o600, nil)
		db.Update(func(tx *bolt.Tx) error {
			mb := tx.Bucket(bucketReadings).Bucket([]byte("m"))
			k, v := mb.Cursor().First()
			v = append([]byte(nil), v...)
			v[len(v)-1] ^= 0xff
			return mb.Put(append([]byte(nil), k...), v)
		})
		db.Close()
		s, err := Open(p, testOptions())
		if err == nil { // the damaged block may not be one Open reads
			defer s.Close()
			err = s.Query(ctx, Query{}, func(meter.Reading) error { return nil })
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("got %v, want ErrCorrupt", err)
		}
	})
	t.Run("schema-too-new", func(t *testing.T) {
		p := copyTo(t, orig)
		db, _ := bolt.Open(p, 0o600, nil)
		db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaSchema, []byte{0, 0, 0, 99})
		})
		db.Close()
		if _, err := Open(p, testOptions()); !errors.Is(err, ErrSchema) {
			t.Fatalf("got %v, want ErrSchema", err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		p := copyTo(t, orig)
		o := testOptions()
		o.ReadOnly = true
		s, err := Open(p, o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if n := len(collect(t, s, Query{})); n != 500 {
			t.Fatalf("read-only sees %d", n)
		}
		if err := s.Append(ctx, rd("m", "1-0:1.8.0", t0, 1, 0, meter.UnitWattHour)); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("append read-only: %v", err)
		}
		if _, err := Open(filepath.Join(t.TempDir(), "none.db"), o); err == nil {
			t.Fatal("read-only open of a missing file succeeded")
		}
	})
	t.Run("closed", func(t *testing.T) {
		p := copyTo(t, orig)
		s, err := Open(p, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := s.Append(ctx, rd("m", "1-0:1.8.0", t0, 1, 0, meter.UnitWattHour)); !errors.Is(err, ErrClosed) {
			t.Fatalf("append after close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRetentionByAge(t *testing.T) {
	now := t0.Add(30 * 24 * time.Hour)
	opts := testOptions()
	opts.Now = func() time.Time { return now }
	opts.MaxAge = 10 * 24 * time.Hour
	s, path := openTest(t, opts)
	ctx := context.Background()
	var rs []meter.Reading
	for i := range 30 * 96 {
		rs = append(rs, rd("m", "1-0:1.8.0", t0.Add(time.Duration(i)*15*time.Minute), int64(i), 0, meter.UnitWattHour))
	}
	rs = append(rs, rd("old", "1-0:1.8.0", t0, 1, 0, meter.UnitWattHour))
	if err := s.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	s.Compact(ctx)
	s.maintainNow(ctx)
	got := collect(t, s, Query{})
	cut := now.Add(-10 * 24 * time.Hour)
	if len(got) != 10*96 || got[0].Time.Before(cut) {
		t.Fatalf("after retention: %d readings from %v", len(got), got[0].Time)
	}
	if len(s.Meters()) != 1 {
		t.Fatalf("emptied meter still listed: %v", s.Meters())
	}
	s.Close()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(collect(t, s, Query{})); n != 10*96 {
		t.Fatalf("after reopen: %d", n)
	}
}

func TestRetentionBySize(t *testing.T) {
	now := t0.Add(400 * 24 * time.Hour)
	opts := testOptions()
	opts.Now = func() time.Time { return now }
	opts.NoSync = true
	s, _ := openTest(t, opts)
	ctx := context.Background()
	for d := range 400 {
		var rs []meter.Reading
		for i := range 96 {
			for o := range 8 {
				rs = append(rs, rd("m", "1-0:1.8."+string(rune('0'+o)), t0.Add(time.Duration(d*96+i)*15*time.Minute), rand.Int64N(1<<30), 0, meter.UnitWattHour))
			}
		}
		if err := s.Append(ctx, rs...); err != nil {
			t.Fatal(err)
		}
	}
	s.Compact(ctx)
	before := s.liveBytes()
	s.opts.MaxBytes = before / 2
	s.maintainNow(ctx)
	after := s.liveBytes()
	got := collect(t, s, Query{OBIS: meter.MustOBIS("1-0:1.8.0")})
	if after > before/2 || len(got) == 0 || len(got) >= 400*96 {
		t.Fatalf("size retention: %d → %d bytes (bound %d), %d readings left", before, after, before/2, len(got))
	}
	if last := got[len(got)-1]; !last.Time.Equal(t0.Add(time.Duration(400*96-1) * 15 * time.Minute)) {
		t.Fatalf("newest reading dropped: %v", last.Time)
	}
	t.Logf("live %d → %d bytes; %d of %d days kept", before, after, len(got)/96, 400)
}

// TestLogRejectsOversizedEvent: an event whose fields the log could not
// read back must be refused, not stored (it would break the chain for
// good).
func TestLogRejectsOversizedEvent(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	big := strings.Repeat("x", maxEventField+1)
	for name, ev := range map[string]Event{
		"message":    {Kind: "k", Message: big},
		"attr key":   {Kind: "k", Attrs: map[string]string{big: "v"}},
		"attr value": {Kind: "k", Attrs: map[string]string{"a": big}},
	} {
		if _, err := s.Log(ctx, LogSystem, ev); err == nil {
			t.Errorf("%s over %d bytes accepted", name, maxEventField)
		}
	}
	if _, err := s.Log(ctx, LogSystem, Event{Kind: "k", Attrs: map[string]string{"a": strings.Repeat("y", maxEventField)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyLog(ctx, LogSystem); err != nil {
		t.Fatal(err)
	}
}
