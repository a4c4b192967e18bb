package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// chunkSize bounds the values of the journal and the outbox. bbolt never
// splits a leaf of four or fewer entries, so a large value shares its leaf
// with up to three others and every append rewrites them all: measured
// here, 8–15 bytes written per byte stored. Values of at most chunkSize
// fit four to a 4 KiB page (16-byte page header, 16-byte element headers,
// 10-byte keys), so an append writes its own new pages and the one partly
// filled leaf before them: 1.2 bytes written per byte stored.
const chunkSize = 990

// putChunked stores v under key as parts key|part(2), each at most chunkSize.
func putChunked(b *bolt.Bucket, key, v []byte) error {
	for part := 0; part == 0 || len(v) > 0; part++ {
		if part > 0xffff {
			return fmt.Errorf("store: value of %d bytes too large to chunk", len(v))
		}
		n := min(len(v), chunkSize)
		k := binary.BigEndian.AppendUint16(append([]byte(nil), key...), uint16(part))
		if err := b.Put(k, v[:n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// forEachChunked calls fn with each value putChunked stored, joined, and
// its key without the part number. Parts must be complete and in order.
func forEachChunked(b *bolt.Bucket, fn func(key, v []byte) error) error {
	var cur []byte
	var val []byte
	next := 0
	c := b.Cursor()
	flush := func() error {
		if cur == nil {
			return nil
		}
		err := fn(cur, val)
		cur, val, next = nil, nil, 0
		return err
	}
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) < 3 {
			return fmt.Errorf("%w: chunk key %x", ErrCorrupt, k)
		}
		base, part := k[:len(k)-2], int(binary.BigEndian.Uint16(k[len(k)-2:]))
		if cur != nil && !bytes.Equal(base, cur) {
			if err := flush(); err != nil {
				return err
			}
		}
		if part != next {
			return fmt.Errorf("%w: chunk %d of %x missing", ErrCorrupt, next, base)
		}
		if cur == nil {
			cur = append([]byte(nil), base...)
		}
		val = append(val, v...)
		next++
	}
	return flush()
}
