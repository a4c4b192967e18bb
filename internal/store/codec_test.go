package store

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

func randPoints(rng *rand.Rand, n int) []point {
	pts := make([]point, n)
	t := rng.Int64N(1 << 42)
	m := rng.Int64()
	step := int64(rng.IntN(3)+1) * 1000 * int64(rng.IntN(900)+1)
	for i := range pts {
		switch rng.IntN(8) {
		case 0:
			t += rng.Int64N(1<<20) + 1
		default:
			t += step
		}
		switch rng.IntN(4) {
		case 0:
			m = rng.Int64() // wild jumps wrap the delta
		default:
			m += rng.Int64N(1000)
		}
		pts[i] = point{t: t, m: m, e: -3, unit: meter.UnitWattHour, src: meter.SourceDLMS}
		if rng.IntN(5) == 0 {
			pts[i].q = meter.Quality(rng.IntN(math.MaxUint16) + 1)
		}
		if rng.IntN(7) == 0 {
			pts[i].src = meter.SourceSim
		}
	}
	return pts
}

func TestBlockRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		pts := randPoints(rng, rng.IntN(maxBlockPoints)+1)
		enc := appendBlock(nil, pts)
		got, err := decodeBlock(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(pts) {
			t.Fatalf("%d points back of %d", len(got), len(pts))
		}
		for i := range pts {
			if got[i] != pts[i] {
				t.Fatalf("point %d: %+v, want %+v", i, got[i], pts[i])
			}
		}
	}
}

// TestBlockSize pins the cost of a regular 15-minute register: the storage
// budget depends on it.
func TestBlockSize(t *testing.T) {
	pts := make([]point, 96)
	for i := range pts {
		pts[i] = point{t: t0.UnixMilli() + int64(i)*900_000, m: 12_345_678 + int64(i)*250, unit: meter.UnitWattHour, src: meter.SourceSim}
	}
	n := len(appendBlock(nil, pts))
	if n > 96*3+16 {
		t.Fatalf("a day of 15-minute register values takes %d bytes, want ≤ %d", n, 96*3+16)
	}
	t.Logf("96 points: %d bytes (%.2f a point)", n, float64(n)/96)
}

func TestBlockRejects(t *testing.T) {
	good := appendBlock(nil, randPoints(rand.New(rand.NewPCG(5, 6)), 10))
	cases := map[string][]byte{
		"empty":      {},
		"version":    append([]byte{9}, good[1:]...),
		"truncated":  good[:len(good)-1],
		"trailing":   append(bytes.Clone(good), 0),
		"zero count": {1, 30, 0, 1, 0},
		"huge count": {1, 30, 0, 1, 0xff, 0xff, 0x03},
		"bad flags":  {1, 30, 0, 1, 1, 0x80, 2, 2},
		"time order": append(appendBlock(nil, []point{{t: 10, unit: 30}}), 0, 0x13, 0), // dod -10 → time goes back
	}
	for name, b := range cases {
		if _, err := decodeBlock(nil, b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	var e batchEncoder
	e.reset()
	rng := rand.New(rand.NewPCG(7, 8))
	type kp struct {
		k seriesKey
		p point
	}
	var want []kp
	for i := range 1000 {
		k := seriesKey{meter.MeterID("m" + string(rune('a'+i%7))), meter.OBIS{1, 0, byte(i % 5), 8, 0, 255}}
		p := randPoints(rng, 1)[0]
		e.add(k, p)
		want = append(want, kp{k, p})
	}
	enc := e.appendTo(nil)
	i := 0
	err := decodeBatch(enc, func(k seriesKey, p point) {
		if want[i].k != k || want[i].p != p {
			t.Fatalf("point %d: %v %+v, want %v %+v", i, k, p, want[i].k, want[i].p)
		}
		i++
	})
	if err != nil || i != 1000 {
		t.Fatalf("%v after %d", err, i)
	}
	if err := decodeBatch(enc[:len(enc)-1], func(seriesKey, point) {}); err == nil {
		t.Fatal("truncated batch decoded")
	}
}

func TestReadingCodec(t *testing.T) {
	r := meter.Reading{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, Time: time.UnixMilli(1767225600123).UTC(),
		Value: meter.V(-123456789, -3), Unit: meter.UnitWattHour, Quality: meter.QualityEstimated | meter.QualityManual, Source: meter.SourceDLMS}
	b := EncodeReading(nil, r)
	got, err := DecodeReading(b)
	if err != nil || got != r {
		t.Fatalf("%v %v", got, err)
	}
	for i := range b {
		if _, err := DecodeReading(b[:i]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", i)
		}
	}
}

func TestEventCodec(t *testing.T) {
	ev := Event{Seq: 42, Time: time.Unix(0, 1767225600123456789).UTC(), Kind: "k", Message: "m ü", Attrs: map[string]string{"b": "2", "a": "1"}, Prev: [32]byte{1, 2, 3}}
	enc := appendEvent(nil, &ev)
	got, err := decodeEvent(enc)
	if err != nil || got.Seq != 42 || !got.Time.Equal(ev.Time) || got.Message != ev.Message || got.Attrs["a"] != "1" || got.Prev != ev.Prev {
		t.Fatalf("%+v %v", got, err)
	}
	if !bytes.Equal(appendEvent(nil, &got), enc) {
		t.Fatal("re-encoding differs: the hash would not be stable")
	}
}

func FuzzDecodeBlock(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 10, 96} {
		f.Add(appendBlock(nil, randPoints(rng, n)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := decodeBlock(nil, b)
		if err != nil {
			return
		}
		// Whatever decodes is a valid run: it encodes and decodes back to
		// the same points. (The bytes may differ: a varint may be given in
		// more bytes than needed. Blocks are authenticated before they are
		// decoded, so that is no way in for an attacker.)
		again, err := decodeBlock(nil, appendBlock(nil, pts))
		if err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		for i := range pts {
			if again[i] != pts[i] {
				t.Fatalf("point %d changed in a round trip", i)
			}
		}
	})
}

func FuzzBlockRoundTrip(f *testing.F) {
	f.Add(int64(0), int64(900_000), int64(100), int64(5), uint16(0), 96)
	f.Add(int64(-1), int64(1), int64(math.MaxInt64), int64(math.MinInt64), uint16(3), 2)
	f.Fuzz(func(t *testing.T, start, step, m0, dm int64, q uint16, n int) {
		if step <= 0 || n <= 0 || n > maxBlockPoints {
			return
		}
		pts := make([]point, n)
		for i := range pts {
			tt := start + int64(i)*step
			if i > 0 && tt <= pts[i-1].t {
				return // overflowed
			}
			pts[i] = point{t: tt, m: m0 + int64(i)*dm, q: meter.Quality(q), unit: meter.UnitWatt}
		}
		got, err := decodeBlock(nil, appendBlock(nil, pts))
		if err != nil {
			t.Fatal(err)
		}
		for i := range pts {
			if got[i] != pts[i] {
				t.Fatalf("point %d differs", i)
			}
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	var e batchEncoder
	e.reset()
	e.add(seriesKey{"m", meter.OBISActiveEnergyImport}, point{t: 1, m: 2, unit: 30})
	e.add(seriesKey{"n", meter.OBISVolumeWater}, point{t: 3, m: -4, e: -3, unit: 13, q: 1})
	f.Add(e.appendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBatch(b, func(seriesKey, point) {})
	})
}

func FuzzDecodeReading(f *testing.F) {
	f.Add(EncodeReading(nil, meter.Reading{Meter: "m", OBIS: meter.OBISActiveEnergyImport, Time: t0, Value: meter.V(5, -1), Unit: 30}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReading(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeReading(nil, r), b) {
			// Varints have one canonical form each; anything else is rejected above.
			if _, err := DecodeReading(EncodeReading(nil, r)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(appendEvent(nil, &Event{Seq: 1, Time: t0, Kind: "start", Message: "hello", Attrs: map[string]string{"a": "b"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvent(b)
		if err != nil {
			return
		}
		if _, err := decodeEvent(appendEvent(nil, &ev)); err != nil {
			t.Fatal(err)
		}
	})
}
