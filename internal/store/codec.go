package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// The codecs of this file are pure: bytes in, values out. They define what
// lies at rest (inside the sealed envelope) and are versioned by their
// first byte.

// errFormat is returned (wrapped) for plaintext that does not decode.
var errFormat = errors.New("store: malformed record")

// point is one reading of a known series, as kept in blocks and tails.
type point struct {
	t    int64 // milliseconds since 1970, UTC
	m    int64 // mantissa
	e    int8  // exponent
	unit meter.Unit
	q    meter.Quality
	src  meter.Source
}

func pointOf(r meter.Reading) point {
	return point{t: r.Time.UnixMilli(), m: r.Value.M, e: r.Value.E, unit: r.Unit, q: r.Quality, src: r.Source}
}

func (p point) reading(id meter.MeterID, o meter.OBIS) meter.Reading {
	return meter.Reading{Meter: id, OBIS: o, Time: time.UnixMilli(p.t).UTC(),
		Value: meter.Value{M: p.m, E: p.e}, Unit: p.unit, Quality: p.q, Source: p.src}
}

// maxBlockPoints bounds a block, so that the blocks a compaction rewrites
// stay small even for 1-second data.
const maxBlockPoints = 1024

// dayMillis is the length of the period a block never crosses.
const dayMillis = 24 * 3600 * 1000

func dayOf(t int64) int64 { return floorDiv(t, dayMillis) * dayMillis }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Block format, version 1. A block holds the points of one series, in
// strictly increasing time, all of one unit and exponent, within one UTC
// day, at most maxBlockPoints of them:
//
//	version=1 | unit | exponent | source | count (uvarint)
//	then per point: flags byte, then
//	  first point: time (zigzag varint, ms) and value (zigzag varint mantissa)
//	  others:      [time delta-of-delta (zigzag varint) unless flag dodZero]
//	               value delta (zigzag varint, two's complement wrapping)
//	  [quality (uvarint) if flag quality] [source byte if flag source]
//
// A 15-minute register costs 2–3 bytes a point.
const (
	blockV1 = 1

	flagDoDZero = 0x01
	flagQuality = 0x02
	flagSource  = 0x04
	flagsKnown  = flagDoDZero | flagQuality | flagSource
)

// appendBlock encodes pts (one run: same unit and exponent, sorted).
func appendBlock(dst []byte, pts []point) []byte {
	if len(pts) == 0 {
		return dst
	}
	src := pts[0].src
	dst = append(dst, blockV1, byte(pts[0].unit), byte(pts[0].e), byte(src))
	dst = binary.AppendUvarint(dst, uint64(len(pts)))
	var prevT, prevDT, prevM int64
	for i, p := range pts {
		var flags byte
		var dod int64
		if i > 0 {
			dt := p.t - prevT
			dod = dt - prevDT
			if dod == 0 {
				flags |= flagDoDZero
			}
			prevDT = dt
		}
		if p.q != 0 {
			flags |= flagQuality
		}
		if p.src != src {
			flags |= flagSource
		}
		dst = append(dst, flags)
		if i == 0 {
			dst = binary.AppendVarint(dst, p.t)
			dst = binary.AppendVarint(dst, p.m)
		} else {
			if dod != 0 {
				dst = binary.AppendVarint(dst, dod)
			}
			dst = binary.AppendVarint(dst, p.m-prevM)
		}
		if p.q != 0 {
			dst = binary.AppendUvarint(dst, uint64(p.q))
		}
		if p.src != src {
			dst = append(dst, byte(p.src))
		}
		prevT, prevM = p.t, p.m
	}
	return dst
}

// decodeBlock appends the points of a block to dst. It checks everything a
// damaged or hostile block could get wrong: bounds, counts, order.
func decodeBlock(dst []point, b []byte) ([]point, error) {
	if len(b) < 5 {
		return dst, fmt.Errorf("%w: block of %d bytes", errFormat, len(b))
	}
	if b[0] != blockV1 {
		return dst, fmt.Errorf("%w: block version %d", errFormat, b[0])
	}
	unit, exp, src := meter.Unit(b[1]), int8(b[2]), meter.Source(b[3])
	n, k := binary.Uvarint(b[4:])
	if k <= 0 || n == 0 || n > maxBlockPoints {
		return dst, fmt.Errorf("%w: block count", errFormat)
	}
	b = b[4+k:]
	if uint64(len(b)) < n*2 {
		return dst, fmt.Errorf("%w: block of %d points in %d bytes", errFormat, n, len(b))
	}
	dst = slices.Grow(dst, int(n))
	var t, dt, m int64
	for i := uint64(0); i < n; i++ {
		if len(b) == 0 {
			return dst, fmt.Errorf("%w: block ends at point %d of %d", errFormat, i, n)
		}
		flags := b[0]
		b = b[1:]
		if flags&^flagsKnown != 0 {
			return dst, fmt.Errorf("%w: point %d: flags %#x", errFormat, i, flags)
		}
		var v int64
		var err error
		if i == 0 {
			if flags&flagDoDZero != 0 {
				return dst, fmt.Errorf("%w: first point without a time", errFormat)
			}
			if t, b, err = varint(b); err != nil {
				return dst, err
			}
			if m, b, err = varint(b); err != nil {
				return dst, err
			}
		} else {
			var dod int64
			if flags&flagDoDZero == 0 {
				if dod, b, err = varint(b); err != nil {
					return dst, err
				}
				if dod == 0 {
					return dst, fmt.Errorf("%w: point %d: explicit zero delta-of-delta", errFormat, i)
				}
			}
			dt += dod
			nt := t + dt
			if dt <= 0 || nt < t {
				return dst, fmt.Errorf("%w: point %d: time does not increase", errFormat, i)
			}
			t = nt
			if v, b, err = varint(b); err != nil {
				return dst, err
			}
			m += v // wraps exactly as the encoder's subtraction did
		}
		p := point{t: t, m: m, e: exp, unit: unit, src: src}
		if flags&flagQuality != 0 {
			u, k := binary.Uvarint(b)
			if k <= 0 || u == 0 || u > math.MaxUint16 {
				return dst, fmt.Errorf("%w: point %d: quality", errFormat, i)
			}
			p.q, b = meter.Quality(u), b[k:]
		}
		if flags&flagSource != 0 {
			if len(b) == 0 || meter.Source(b[0]) == src {
				return dst, fmt.Errorf("%w: point %d: source", errFormat, i)
			}
			p.src, b = meter.Source(b[0]), b[1:]
		}
		dst = append(dst, p)
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: %d bytes after the last point", errFormat, len(b))
	}
	return dst, nil
}

func varint(b []byte) (int64, []byte, error) {
	v, k := binary.Varint(b)
	if k <= 0 {
		return 0, b, fmt.Errorf("%w: bad varint", errFormat)
	}
	return v, b[k:], nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, b, fmt.Errorf("%w: bad uvarint", errFormat)
	}
	return v, b[k:], nil
}

func lenPrefixed(b []byte, max int) ([]byte, []byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, b, err
	}
	if n > uint64(max) || n > uint64(len(b)) {
		return nil, b, fmt.Errorf("%w: length %d", errFormat, n)
	}
	return b[:n], b[n:], nil
}

// Journal batch format, version 1: the readings one commit adds, as
// written to the journal before compaction folds them into blocks.
//
//	version=1 | series count (uvarint)
//	per series: meter id (uvarint length + bytes) | OBIS (6)
//	point count (uvarint)
//	per point: series index (uvarint) | time (zigzag varint, ms)
//	           | mantissa (zigzag varint) | exponent | unit | quality (uvarint) | source
const journalV1 = 1

type seriesKey struct {
	meter meter.MeterID
	obis  meter.OBIS
}

// batchEncoder builds journal batches; it is reused across commits.
type batchEncoder struct {
	index  map[seriesKey]int
	series []seriesKey
	body   []byte
	n      int
}

func (e *batchEncoder) reset() {
	if e.index == nil {
		e.index = make(map[seriesKey]int)
	}
	clear(e.index)
	e.series = e.series[:0]
	e.body = e.body[:0]
	e.n = 0
}

func (e *batchEncoder) add(k seriesKey, p point) {
	i, ok := e.index[k]
	if !ok {
		i = len(e.series)
		e.index[k] = i
		e.series = append(e.series, k)
	}
	b := binary.AppendUvarint(e.body, uint64(i))
	b = binary.AppendVarint(b, p.t)
	b = binary.AppendVarint(b, p.m)
	b = append(b, byte(p.e), byte(p.unit))
	b = binary.AppendUvarint(b, uint64(p.q))
	e.body = append(b, byte(p.src))
	e.n++
}

func (e *batchEncoder) appendTo(dst []byte) []byte {
	dst = append(dst, journalV1)
	dst = binary.AppendUvarint(dst, uint64(len(e.series)))
	for _, s := range e.series {
		dst = binary.AppendUvarint(dst, uint64(len(s.meter)))
		dst = append(dst, s.meter...)
		dst = append(dst, s.obis[:]...)
	}
	dst = binary.AppendUvarint(dst, uint64(e.n))
	return append(dst, e.body...)
}

// decodeBatch calls fn for every point of a journal batch.
func decodeBatch(b []byte, fn func(seriesKey, point)) error {
	if len(b) == 0 || b[0] != journalV1 {
		return fmt.Errorf("%w: journal batch version", errFormat)
	}
	b = b[1:]
	ns, b, err := uvarint(b)
	if err != nil {
		return err
	}
	if ns > uint64(len(b))/7 {
		return fmt.Errorf("%w: journal series count %d", errFormat, ns)
	}
	series := make([]seriesKey, ns)
	for i := range series {
		var id []byte
		if id, b, err = lenPrefixed(b, meter.MaxMeterIDLen); err != nil {
			return err
		}
		if len(b) < 6 {
			return fmt.Errorf("%w: journal series %d", errFormat, i)
		}
		series[i] = seriesKey{meter: meter.MeterID(id), obis: meter.OBIS(b[:6])}
		b = b[6:]
	}
	np, b, err := uvarint(b)
	if err != nil {
		return err
	}
	for i := uint64(0); i < np; i++ {
		var si, q uint64
		var p point
		if si, b, err = uvarint(b); err != nil {
			return err
		}
		if si >= ns {
			return fmt.Errorf("%w: journal point %d names series %d of %d", errFormat, i, si, ns)
		}
		if p.t, b, err = varint(b); err != nil {
			return err
		}
		if p.m, b, err = varint(b); err != nil {
			return err
		}
		if len(b) < 2 {
			return fmt.Errorf("%w: journal point %d", errFormat, i)
		}
		p.e, p.unit, b = int8(b[0]), meter.Unit(b[1]), b[2:]
		if q, b, err = uvarint(b); err != nil {
			return err
		}
		if q > math.MaxUint16 || len(b) < 1 {
			return fmt.Errorf("%w: journal point %d", errFormat, i)
		}
		p.q, p.src, b = meter.Quality(q), meter.Source(b[0]), b[1:]
		fn(series[si], p)
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the journal batch", errFormat, len(b))
	}
	return nil
}

// EncodeReading appends the compact binary form of r that the store queues
// on outbox channels (the uplink decodes it with DecodeReading):
//
//	version=1 | meter id (uvarint length + bytes) | OBIS (6) | time (zigzag varint, ms)
//	| mantissa (zigzag varint) | exponent | unit | quality (uvarint) | source
func EncodeReading(dst []byte, r meter.Reading) []byte {
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(r.Meter)))
	dst = append(dst, r.Meter...)
	dst = append(dst, r.OBIS[:]...)
	dst = binary.AppendVarint(dst, r.Time.UnixMilli())
	dst = binary.AppendVarint(dst, r.Value.M)
	dst = append(dst, byte(r.Value.E), byte(r.Unit))
	dst = binary.AppendUvarint(dst, uint64(r.Quality))
	return append(dst, byte(r.Source))
}

// DecodeReading reads what EncodeReading wrote.
func DecodeReading(b []byte) (meter.Reading, error) {
	var r meter.Reading
	if len(b) == 0 || b[0] != 1 {
		return r, fmt.Errorf("%w: reading version", errFormat)
	}
	id, b, err := lenPrefixed(b[1:], meter.MaxMeterIDLen)
	if err != nil {
		return r, err
	}
	if len(b) < 6 {
		return r, fmt.Errorf("%w: reading too short", errFormat)
	}
	r.Meter, r.OBIS, b = meter.MeterID(id), meter.OBIS(b[:6]), b[6:]
	var t int64
	if t, b, err = varint(b); err != nil {
		return r, err
	}
	if r.Value.M, b, err = varint(b); err != nil {
		return r, err
	}
	if len(b) < 2 {
		return r, fmt.Errorf("%w: reading too short", errFormat)
	}
	r.Value.E, r.Unit, b = int8(b[0]), meter.Unit(b[1]), b[2:]
	var q uint64
	if q, b, err = uvarint(b); err != nil {
		return r, err
	}
	if q > math.MaxUint16 || len(b) != 1 {
		return r, fmt.Errorf("%w: reading tail", errFormat)
	}
	r.Time, r.Quality, r.Source = time.UnixMilli(t).UTC(), meter.Quality(q), meter.Source(b[0])
	return r, nil
}

// Outbox entry format: count (uvarint, in clear so acknowledged entries can
// be deleted without opening them) | sealed( version=1 | per item:
// uvarint length + bytes ).
func appendItems(dst []byte, items [][]byte) []byte {
	dst = append(dst, 1)
	for _, it := range items {
		dst = binary.AppendUvarint(dst, uint64(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

func decodeItems(b []byte, n int, fn func(i int, item []byte)) error {
	if len(b) == 0 || b[0] != 1 {
		return fmt.Errorf("%w: outbox entry version", errFormat)
	}
	b = b[1:]
	for i := range n {
		var it []byte
		var err error
		if it, b, err = lenPrefixed(b, len(b)); err != nil {
			return err
		}
		fn(i, it)
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after outbox items", errFormat, len(b))
	}
	return nil
}
