package store

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// queryChunkBlocks is how many blocks one read transaction reads before
// the results are handed to the caller with no transaction open, so a slow
// consumer never holds bbolt's read lock (and a year of data never sits in
// memory).
const queryChunkBlocks = 64

// Query calls fn for every reading that q selects, ordered by meter, OBIS
// and time. fn runs with no transaction open; an error from fn stops the
// query and is returned.
func (s *Store) Query(ctx context.Context, q Query, fn func(meter.Reading) error) error {
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	if from >= to {
		return nil
	}
	var keys []seriesKey
	s.mu.RLock()
	if q.Meter != "" {
		for _, o := range s.meters[q.Meter] {
			if q.OBIS == (meter.OBIS{}) || q.OBIS == o {
				keys = append(keys, seriesKey{q.Meter, o})
			}
		}
	} else {
		for id, obs := range s.meters {
			for _, o := range obs {
				if q.OBIS == (meter.OBIS{}) || q.OBIS == o {
					keys = append(keys, seriesKey{id, o})
				}
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(keys, func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(a.meter, b.meter), cmpOBIS(a.obis, b.obis))
	})
	limit := q.Limit
	if limit <= 0 {
		limit = math.MaxInt
	}
	for _, k := range keys {
		n, err := s.querySeries(ctx, k, from, to, limit, fn)
		if err != nil {
			return err
		}
		limit -= n
		if limit <= 0 {
			return nil
		}
	}
	return nil
}

// querySeries streams one series' points in [from, to), merging blocks
// and the uncompacted tail. It works in chunks: each chunk snapshots the
// tail and opens a read transaction together (under mu), so a compaction
// between chunks moves points from tail to blocks without losing or
// doubling any (an overlap seen within a chunk is removed by time).
func (s *Store) querySeries(ctx context.Context, k seriesKey, from, to int64, limit int, fn func(meter.Reading) error) (int, error) {
	sent := 0
	cursor := from
	var blockPts, tail, out []point
	keyBuf := make([]byte, 0, blockKeyLen)
	for cursor < to {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		s.mu.RLock()
		tx, err := s.db.Begin(false)
		if err != nil {
			s.mu.RUnlock()
			return sent, err
		}
		tail = tail[:0]
		if sr := s.series[k]; sr != nil {
			i, _ := slices.BinarySearchFunc(sr.tail, cursor, byTime)
			for ; i < len(sr.tail) && sr.tail[i].t < to; i++ {
				tail = append(tail, sr.tail[i])
			}
		}
		s.mu.RUnlock()

		blockPts = blockPts[:0]
		chunkEnd := to
		err = func() (err error) {
			defer s.guard(&err)
			defer tx.Rollback()
			rb := tx.Bucket(bucketReadings)
			mb := rb.Bucket([]byte(k.meter))
			if mb == nil {
				return nil
			}
			c := mb.Cursor()
			keyBuf = blockKey(keyBuf[:0], k.obis, cursor)
			ck, cv := c.Seek(keyBuf)
			if ck == nil || meter.OBIS(ck[:6]) != k.obis || keyTime(ck) > cursor {
				// The block holding cursor, if any, starts before it.
				var pk, pv []byte
				if ck == nil {
					pk, pv = c.Last()
				} else {
					pk, pv = c.Prev()
				}
				if pk != nil && meter.OBIS(pk[:6]) == k.obis && keyTime(pk) >= dayOf(cursor) {
					ck, cv = pk, pv
				} else {
					ck, cv = c.Seek(keyBuf)
				}
			}
			n := 0
			for ; ck != nil; ck, cv = c.Next() {
				if len(ck) != blockKeyLen || meter.OBIS(ck[:6]) != k.obis || keyTime(ck) >= to {
					break
				}
				if n == queryChunkBlocks {
					chunkEnd = keyTime(ck)
					break
				}
				if blockPts, err = s.openBlock(blockPts, k.meter, ck, cv); err != nil {
					return err
				}
				n++
			}
			return nil
		}()
		if err != nil {
			return sent, err
		}
		// Merge the chunk's block points and tail points in [cursor, chunkEnd).
		out = out[:0]
		lo := trimBefore(blockPts, cursor)
		lt := trimBefore(tail, cursor)
		out = mergePoints(out, lo, lt)
		for _, p := range out {
			if p.t >= chunkEnd {
				break
			}
			if err := fn(p.reading(k.meter, k.obis)); err != nil {
				return sent, err
			}
			sent++
			if sent >= limit {
				return sent, nil
			}
		}
		cursor = chunkEnd
	}
	return sent, nil
}

func trimBefore(pts []point, t int64) []point {
	i, _ := slices.BinarySearchFunc(pts, t, byTime)
	return pts[i:]
}

// Latest returns the newest stored reading of a series.
func (s *Store) Latest(id meter.MeterID, o meter.OBIS) (meter.Reading, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sr := s.series[seriesKey{id, o}]
	if sr == nil || !sr.hasData {
		return meter.Reading{}, false
	}
	return sr.latest.reading(id, o), true
}

// Meters lists every meter with stored readings, by id, with its series
// ordered by OBIS.
func (s *Store) Meters() []MeterInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]MeterInfo, 0, len(s.meters))
	for id, obs := range s.meters {
		mi := MeterInfo{ID: id, Series: make([]SeriesInfo, 0, len(obs))}
		for _, o := range obs {
			sr := s.series[seriesKey{id, o}]
			if sr == nil || !sr.hasData {
				continue
			}
			mi.Series = append(mi.Series, SeriesInfo{
				OBIS: o, Unit: sr.latest.unit, First: time.UnixMilli(sr.first).UTC(), Latest: sr.latest.reading(id, o),
			})
		}
		out = append(out, mi)
	}
	slices.SortFunc(out, func(a, b MeterInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
