package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// Re-sealing after a key rotation. The provider adds a new data key and
// makes it current (keys.Rotator); from then on everything the store
// writes is sealed with it, and what was sealed before still opens with its
// own key, named in each envelope. Reseal walks every sealed value (the key
// check, reading blocks, the journal, the outbox and the records) and
// re-seals those of other keys with the current one, in bounded
// transactions between the writer's commits, so ingest waits at most one
// short step. KeyUsage counts what each key still seals; a key that seals
// nothing can be retired.

// Keyring returns the store's keyring, for rotation (keys.Rotator adds the
// new key to it; the store seals with it at once).
func (s *Store) Keyring() *keys.Keyring { return s.kr }

// ResealProgress reports a re-seal pass.
type ResealProgress struct {
	Area     string // "meta", "readings", "journal", "outbox", "records"
	Scanned  uint64 // sealed values looked at so far
	Resealed uint64 // of them re-sealed under the current key
	Done     bool   // the pass is complete
}

// resealStep bounds one re-seal transaction: values, and bytes re-sealed.
const (
	resealStepValues = 256
	resealStepBytes  = 1 << 20
)

// resealItem is one sealed value re-sealed in a step.
type resealItem struct {
	bucket [][]byte // bucket path from the root
	key    []byte
	value  []byte // the whole value to put (prefix + sealed)
	off    int    // length of the prefix before the sealed part
	header []byte // the old envelope's header (version, key id, nonce): its identity
	chunks bool   // value is a chunked journal batch: key is the batch key
}

// resealArea is one kind of sealed value: where it lies and how to find
// its additional data and sealed part.
type resealArea struct {
	name string
	// walk visits the area's values in key order starting after the
	// position pos (nil: from the start) and calls fn for each; fn returns
	// false to stop. It returns the position reached.
	walk func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error
}

// Reseal re-seals every value not sealed with the keyring's current key,
// in steps of at most a few hundred values. progress, if not nil, is
// called after each step and at the end. A value written meanwhile is
// sealed with the current key already. It returns the final progress.
func (s *Store) Reseal(ctx context.Context, progress func(ResealProgress)) (ResealProgress, error) {
	var p ResealProgress
	if s.opts.ReadOnly {
		return p, ErrReadOnly
	}
	for _, area := range s.resealAreas() {
		p.Area = area.name
		var pos []byte
		for {
			if err := ctx.Err(); err != nil {
				return p, err
			}
			if s.closing.Load() {
				return p, ErrClosed
			}
			cur := s.kr.Current()
			var items []resealItem
			var scanned uint64
			var last []byte
			more := false
			err := s.view(func(tx *bolt.Tx) error {
				n, size := 0, 0
				return area.walk(tx, pos, func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool {
					if n >= resealStepValues || size >= resealStepBytes {
						more = true
						return false
					}
					n++
					scanned++
					last = posKey(bucket, key)
					id, err := keys.KeyID(sealed)
					if err != nil || id == cur {
						return true // a malformed value is left for the reader to report
					}
					plain, err := s.kr.Open(nil, sealed, aad)
					if err != nil {
						return true
					}
					v := append(bytes.Clone(prefix), s.kr.Seal(nil, plain, aad)...)
					clear(plain)
					size += len(v)
					items = append(items, resealItem{bucket: cloneAll(bucket), key: bytes.Clone(key), value: v,
						off: len(prefix), header: bytes.Clone(sealed[:envelopeHeader]), chunks: chunks})
					return true
				})
			})
			if err != nil {
				return p, fmt.Errorf("store: re-seal %s: %w", area.name, err)
			}
			if len(items) > 0 {
				done, err := s.putResealed(items)
				if err != nil {
					return p, fmt.Errorf("store: re-seal %s: %w", area.name, err)
				}
				p.Resealed += uint64(done)
			}
			p.Scanned += scanned
			if progress != nil {
				progress(p)
			}
			if !more {
				break
			}
			pos = last
		}
	}
	p.Done = true
	if progress != nil {
		progress(p)
	}
	return p, nil
}

// putResealed writes the re-sealed values of one step in one transaction.
// A value that changed since it was read (the writer replaced or deleted
// it, sealing with the current key) is left alone: the envelope header,
// with its random nonce, identifies the value that was read.
func (s *Store) putResealed(items []resealItem) (int, error) {
	done := 0
	err := s.update(func(tx *bolt.Tx) error {
		done = 0
		for _, it := range items {
			b := bucketAt(tx, it.bucket)
			if b == nil {
				continue
			}
			k := it.key
			if it.chunks {
				k = chunkKey(it.key, 0)
			}
			old := b.Get(k)
			if len(old) < it.off+envelopeHeader || !bytes.Equal(old[it.off:it.off+envelopeHeader], it.header) {
				continue
			}
			var err error
			if it.chunks {
				err = putChunked(b, it.key, it.value)
			} else {
				err = b.Put(it.key, it.value)
			}
			if err != nil {
				return err
			}
			done++
		}
		return nil
	})
	return done, err
}

// envelopeHeader is the sealed envelope's version, key id and nonce.
const envelopeHeader = 1 + 4 + 12

func chunkKey(base []byte, part uint16) []byte {
	return binary.BigEndian.AppendUint16(bytes.Clone(base), part)
}

func cloneAll(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = bytes.Clone(b)
	}
	return out
}

func bucketAt(tx *bolt.Tx, path [][]byte) *bolt.Bucket {
	if len(path) == 0 {
		return nil
	}
	b := tx.Bucket(path[0])
	for _, p := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(p)
	}
	return b
}

// posKey encodes a position (the sub-bucket and key of the last value
// visited) so that walks resume after it: sub-bucket name, 0, key.
func posKey(bucket [][]byte, key []byte) []byte {
	var sub []byte
	if len(bucket) > 1 {
		sub = bucket[len(bucket)-1]
	}
	p := append(bytes.Clone(sub), 0)
	return append(p, key...)
}

func splitPos(pos []byte) (sub, key []byte) {
	if pos == nil {
		return nil, nil
	}
	i := bytes.IndexByte(pos, 0)
	if i < 0 {
		return nil, nil
	}
	return pos[:i], pos[i+1:]
}

// walkNested visits root/<sub>/key → value for every sub-bucket, resuming
// after pos.
func walkNested(tx *bolt.Tx, root []byte, pos []byte, fn func(sub, k, v []byte) bool) error {
	rb := tx.Bucket(root)
	if rb == nil {
		return nil
	}
	startSub, startKey := splitPos(pos)
	c := rb.Cursor()
	var name []byte
	if startSub != nil {
		name, _ = c.Seek(startSub)
	} else {
		name, _ = c.First()
	}
	for ; name != nil; name, _ = c.Next() {
		b := rb.Bucket(name)
		if b == nil {
			continue
		}
		bc := b.Cursor()
		var k, v []byte
		if startSub != nil && bytes.Equal(name, startSub) {
			k, v = bc.Seek(startKey)
			if k != nil && bytes.Equal(k, startKey) {
				k, v = bc.Next()
			}
		} else {
			k, v = bc.First()
		}
		for ; k != nil; k, v = bc.Next() {
			if v == nil {
				continue
			}
			if !fn(name, k, v) {
				return nil
			}
		}
	}
	return nil
}

func (s *Store) resealAreas() []resealArea {
	return []resealArea{
		{name: "meta", walk: func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error {
			if pos != nil {
				return nil
			}
			if v := tx.Bucket(bucketMeta).Get(metaKeyCheck); v != nil {
				fn([][]byte{bucketMeta}, metaKeyCheck, nil, v, metaKeyCheck, false)
			}
			return nil
		}},
		{name: "readings", walk: func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error {
			return walkNested(tx, bucketReadings, pos, func(sub, k, v []byte) bool {
				return fn([][]byte{bucketReadings, sub}, k, nil, v, readingAAD(meter.MeterID(sub), k), false)
			})
		}},
		{name: "journal", walk: func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error {
			j := tx.Bucket(bucketJournal)
			_, after := splitPos(pos)
			stop := false
			return forEachChunked(j, func(k, v []byte) error {
				if stop || after != nil && bytes.Compare(k, after) <= 0 {
					return nil
				}
				if !fn([][]byte{bucketJournal}, k, nil, v, journalAAD(k), true) {
					stop = true
				}
				return nil
			})
		}},
		{name: "outbox", walk: func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error {
			return walkNested(tx, bucketOutbox, pos, func(sub, k, v []byte) bool {
				_, sealed, err := uvarint(v)
				if err != nil {
					return true
				}
				prefix := v[:len(v)-len(sealed)]
				return fn([][]byte{bucketOutbox, sub}, k, prefix, sealed, outboxAAD(string(sub), k), false)
			})
		}},
		{name: "records", walk: func(tx *bolt.Tx, pos []byte, fn func(bucket [][]byte, key, prefix, sealed, aad []byte, chunks bool) bool) error {
			return walkNested(tx, bucketKV, pos, func(sub, k, v []byte) bool {
				return fn([][]byte{bucketKV, sub}, k, nil, v, recordAAD(string(sub), string(k)), false)
			})
		}},
	}
}

// KeyUsage counts the sealed values of the store by the id of the key
// that sealed them (values whose envelope does not parse are counted
// under 0). It reads in bounded transactions.
func (s *Store) KeyUsage(ctx context.Context) (map[uint32]uint64, error) {
	use := map[uint32]uint64{}
	for _, area := range s.resealAreas() {
		var pos []byte
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			more := false
			var last []byte
			step := map[uint32]uint64{}
			err := s.view(func(tx *bolt.Tx) error {
				clear(step)
				n := 0
				return area.walk(tx, pos, func(bucket [][]byte, key, _, sealed, _ []byte, _ bool) bool {
					if n >= 4*resealStepValues {
						more = true
						return false
					}
					n++
					last = posKey(bucket, key)
					id, err := keys.KeyID(sealed)
					if err != nil {
						id = 0
					}
					step[id]++
					return true
				})
			})
			if err != nil {
				return nil, fmt.Errorf("store: key usage in %s: %w", area.name, err)
			}
			for id, n := range step {
				use[id] += n
			}
			if !more {
				break
			}
			pos = last
		}
	}
	return use, nil
}

// ResealAndRetire re-seals everything under the current key and then
// retires, through r, every other key of the keyring that KeyUsage shows
// unused. log, if not nil, receives progress about every few seconds.
// It returns the keys retired.
func (s *Store) ResealAndRetire(ctx context.Context, r keys.Rotator, log func(ResealProgress)) ([]uint32, error) {
	lastLog := time.Time{}
	_, err := s.Reseal(ctx, func(p ResealProgress) {
		if log != nil && (p.Done || time.Since(lastLog) > 5*time.Second) {
			lastLog = time.Now()
			log(p)
		}
	})
	if err != nil {
		return nil, err
	}
	use, err := s.KeyUsage(ctx)
	if err != nil {
		return nil, err
	}
	cur := s.kr.Current()
	var retired []uint32
	for _, id := range s.kr.IDs() {
		if id == cur || use[id] > 0 {
			continue
		}
		if err := r.Retire(ctx, s.kr, id); err != nil {
			return retired, err
		}
		retired = append(retired, id)
	}
	if n := use[0]; n > 0 {
		return retired, fmt.Errorf("%w: %s: %d sealed values have a malformed envelope", ErrCorrupt, s.path, n)
	}
	return retired, nil
}
