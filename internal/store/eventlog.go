package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"time"

	bolt "go.etcd.io/bbolt"
)

// Event log entries are kept in clear (they hold no secrets) and chained:
// each entry's encoding includes the hash of the entry before, and the
// newest entry's sequence number and hash (the head) are kept in meta. An
// edited entry breaks the link to the next one, a removed entry leaves a
// gap in the sequence, a removed tail disagrees with the head. Signing the
// head with the TPM key makes the whole chain tamper-evident.
//
// Entry format, version 1:
//
//	version=1 | seq (8) | time (8, Unix ns) | kind, message (uvarint length + bytes)
//	| attribute count (uvarint) | per attribute, sorted by key: key, value (uvarint length + bytes)
//	| previous hash (32)
//
// The entry's hash is SHA-256 over exactly these bytes.
const logEntryV1 = 1

func appendEvent(dst []byte, ev *Event) []byte {
	dst = append(dst, logEntryV1)
	dst = binary.BigEndian.AppendUint64(dst, ev.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(ev.Time.UnixNano()))
	dst = appendString(dst, ev.Kind)
	dst = appendString(dst, ev.Message)
	ks := make([]string, 0, len(ev.Attrs))
	for k := range ev.Attrs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	dst = binary.AppendUvarint(dst, uint64(len(ks)))
	for _, k := range ks {
		dst = appendString(dst, k)
		dst = appendString(dst, ev.Attrs[k])
	}
	return append(dst, ev.Prev[:]...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// maxEventField bounds each field of an event (kind, message, attribute
// key and value); Log refuses larger ones, the decoder rejects them.
const maxEventField = 64 << 10

func decodeEvent(b []byte) (Event, error) {
	var ev Event
	whole := b
	if len(b) < 17 || b[0] != logEntryV1 {
		return ev, fmt.Errorf("%w: event entry header", errFormat)
	}
	ev.Seq = binary.BigEndian.Uint64(b[1:])
	ev.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[9:]))).UTC()
	b = b[17:]
	var f []byte
	var err error
	if f, b, err = lenPrefixed(b, maxEventField); err != nil {
		return ev, err
	}
	ev.Kind = string(f)
	if f, b, err = lenPrefixed(b, maxEventField); err != nil {
		return ev, err
	}
	ev.Message = string(f)
	n, b, err := uvarint(b)
	if err != nil {
		return ev, err
	}
	if n > uint64(len(b))/2 {
		return ev, fmt.Errorf("%w: event attribute count %d", errFormat, n)
	}
	if n > 0 {
		ev.Attrs = make(map[string]string, n)
	}
	prevKey := ""
	for i := uint64(0); i < n; i++ {
		var k, v []byte
		if k, b, err = lenPrefixed(b, maxEventField); err != nil {
			return ev, err
		}
		if v, b, err = lenPrefixed(b, maxEventField); err != nil {
			return ev, err
		}
		if i > 0 && string(k) <= prevKey {
			return ev, fmt.Errorf("%w: event attributes not in order", errFormat)
		}
		prevKey = string(k)
		ev.Attrs[prevKey] = string(v)
	}
	if len(b) != 32 {
		return ev, fmt.Errorf("%w: event entry tail of %d bytes", errFormat, len(b))
	}
	copy(ev.Prev[:], b)
	ev.Hash = sha256.Sum256(whole)
	return ev, nil
}

// Log appends an event to an event log durably and returns it with its
// sequence number and hashes. A zero Time is set to now.
func (s *Store) Log(ctx context.Context, name LogName, ev Event) (Event, error) {
	if ev.Kind == "" {
		return Event{}, fmt.Errorf("store: log %s: event without a kind", name)
	}
	if len(ev.Kind) > maxEventField || len(ev.Message) > maxEventField {
		return Event{}, fmt.Errorf("store: log %s: event %q: kind or message over %d bytes", name, ev.Kind, maxEventField)
	}
	for k, v := range ev.Attrs {
		if len(k) > maxEventField || len(v) > maxEventField {
			return Event{}, fmt.Errorf("store: log %s: event %q: attribute over %d bytes", name, ev.Kind, maxEventField)
		}
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	r, err := s.call(ctx, &request{kind: reqLog, logName: name, event: ev})
	if err != nil {
		return Event{}, err
	}
	return r.ev, nil
}

func (s *Store) appendLog(tx *bolt.Tx, name LogName, h *logHead, ev Event) (Event, error) {
	lb, err := tx.Bucket(bucketLog).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return ev, err
	}
	lb.FillPercent = 1
	ev.Seq = h.seq + 1
	ev.Prev = h.hash
	enc := appendEvent(nil, &ev)
	ev.Hash = sha256.Sum256(enc)
	if err := lb.Put(binary.BigEndian.AppendUint64(nil, ev.Seq), enc); err != nil {
		return ev, err
	}
	head := binary.BigEndian.AppendUint64(nil, ev.Seq)
	head = append(head, ev.Hash[:]...)
	if err := tx.Bucket(bucketMeta).Put([]byte(metaLogHead+string(name)), head); err != nil {
		return ev, err
	}
	h.seq, h.hash = ev.Seq, ev.Hash
	return ev, nil
}

// Events calls fn for each entry of a log with Seq > after, in order. It
// reads in chunks, holding no transaction while fn runs.
func (s *Store) Events(ctx context.Context, name LogName, after uint64, fn func(Event) error) error {
	if !knownLog(name) {
		return fmt.Errorf("store: no event log %q", name)
	}
	for {
		var chunk []Event
		err := s.view(func(tx *bolt.Tx) error {
			lb := tx.Bucket(bucketLog).Bucket([]byte(name))
			if lb == nil {
				return nil
			}
			c := lb.Cursor()
			for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil && len(chunk) < 512; k, v = c.Next() {
				ev, err := decodeEvent(v)
				if err != nil {
					return fmt.Errorf("%w: %s: log %s entry %x: %v", ErrCorrupt, s.path, name, k, err)
				}
				chunk = append(chunk, ev)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		for _, ev := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(ev); err != nil {
				return err
			}
			after = ev.Seq
		}
	}
}

func knownLog(name LogName) bool { return slices.Contains(Logs, name) }

// VerifyLog walks a log's hash chain from its anchor (the retired prefix,
// if any) to its head and reports the first break: a gap in the sequence,
// an entry whose previous-hash does not match the entry before (an edit),
// or a head that disagrees with the last entry (a removed tail).
func (s *Store) VerifyLog(ctx context.Context, name LogName) (LogReport, error) {
	rep := LogReport{Name: name}
	if !knownLog(name) {
		return rep, fmt.Errorf("store: no event log %q", name)
	}
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var prevSeq uint64
		var prev [32]byte
		if v := meta.Get([]byte(metaLogAnchor + string(name))); len(v) == 40 {
			prevSeq = binary.BigEndian.Uint64(v)
			copy(prev[:], v[8:])
		}
		var headSeq uint64
		var headHash [32]byte
		if v := meta.Get([]byte(metaLogHead + string(name))); len(v) == 40 {
			headSeq = binary.BigEndian.Uint64(v)
			copy(headHash[:], v[8:])
		} else if v != nil {
			return fmt.Errorf("%w: log %s: head record of %d bytes", ErrChainBroken, name, len(v))
		}
		lb := tx.Bucket(bucketLog).Bucket([]byte(name))
		if lb != nil {
			c := lb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if rep.Entries%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				ev, err := decodeEvent(v)
				if err != nil {
					return fmt.Errorf("%w: log %s: entry %x does not decode: %v", ErrChainBroken, name, k, err)
				}
				if len(k) != 8 || binary.BigEndian.Uint64(k) != ev.Seq {
					return fmt.Errorf("%w: log %s: entry stored under key %x says it is %d", ErrChainBroken, name, k, ev.Seq)
				}
				if ev.Seq != prevSeq+1 {
					return fmt.Errorf("%w: log %s: entry %d follows %d: %s missing", ErrChainBroken, name, ev.Seq, prevSeq, missing(prevSeq+1, ev.Seq-1))
				}
				if ev.Prev != prev {
					return fmt.Errorf("%w: log %s: entry %d does not link to entry %d (one of them was edited)", ErrChainBroken, name, ev.Seq, prevSeq)
				}
				if rep.Entries == 0 {
					rep.First = ev.Seq
				}
				rep.Entries++
				prevSeq, prev = ev.Seq, ev.Hash
			}
		}
		if prevSeq != headSeq || prev != headHash {
			return fmt.Errorf("%w: log %s: head is entry %d (%s…) but the chain ends at %d (%s…): entries removed or edited at the end",
				ErrChainBroken, name, headSeq, hex.EncodeToString(headHash[:4]), prevSeq, hex.EncodeToString(prev[:4]))
		}
		rep.Last, rep.Head = prevSeq, prev
		return nil
	})
	return rep, err
}

func missing(a, b uint64) string {
	if a == b {
		return fmt.Sprintf("entry %d", a)
	}
	return fmt.Sprintf("entries %d…%d", a, b)
}

// HashString is the head hash in hex, for display.
func (r LogReport) HashString() string { return hex.EncodeToString(r.Head[:]) }
