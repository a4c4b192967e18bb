package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile reads the two bbolt meta pages of an existing database before
// bbolt maps it, and refuses a file that is too short for the pages its
// newest valid meta page claims. bbolt itself would map such a file and
// fault (SIGBUS) on the first access past its end; a gateway whose flash
// lost the tail of a file must instead say so and leave the file alone.
//
// The layout read here is bbolt's on-disk format version 2 (little-endian
// on every platform the gateway runs on): a 16-byte page header, then
// magic, version, page size, flags, root bucket (16), freelist, high-water
// page id, transaction id and an FNV-64a checksum of the meta bytes before it.
func checkFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	if size == 0 {
		return fmt.Errorf("%w: %s is empty (0 bytes)", ErrCorrupt, path)
	}
	var first [80]byte
	if _, err := io.ReadFull(f, first[:]); err != nil {
		return fmt.Errorf("%w: %s: %d bytes is too short for a database", ErrCorrupt, path, size)
	}
	m0, err0 := parseMeta(first[:])
	pageSize := int64(4096)
	if err0 == nil {
		pageSize = int64(m0.pageSize)
	}
	var second [80]byte
	var m1 bboltMeta
	err1 := fmt.Errorf("second meta page missing")
	if _, err := f.ReadAt(second[:], pageSize); err == nil {
		m1, err1 = parseMeta(second[:])
	}
	var m bboltMeta
	switch {
	case err0 == nil && err1 == nil:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case err0 == nil:
		m = m0
	case err1 == nil:
		m = m1
	default:
		return fmt.Errorf("%w: %s is not an smgw database or both meta pages are damaged (%v; %v)", ErrCorrupt, path, err0, err1)
	}
	need := int64(m.pgid) * int64(m.pageSize)
	if size < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, the database needs %d (last transaction %d)", ErrCorrupt, path, size, need, m.txid)
	}
	return nil
}

type bboltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

const (
	bboltMagic   = 0xED0CDAED
	bboltVersion = 2
)

func parseMeta(p []byte) (bboltMeta, error) {
	var m bboltMeta
	if len(p) < 80 {
		return m, fmt.Errorf("meta page short")
	}
	le := binary.LittleEndian
	if le.Uint32(p[16:]) != bboltMagic {
		return m, fmt.Errorf("bad magic")
	}
	if v := le.Uint32(p[20:]); v != bboltVersion {
		return m, fmt.Errorf("format version %d", v)
	}
	h := fnv.New64a()
	h.Write(p[16:72])
	if h.Sum64() != le.Uint64(p[72:]) {
		return m, fmt.Errorf("meta checksum mismatch")
	}
	m.pageSize = le.Uint32(p[24:])
	if m.pageSize < 512 || m.pageSize > 1<<16 || m.pageSize&(m.pageSize-1) != 0 {
		return m, fmt.Errorf("page size %d", m.pageSize)
	}
	m.pgid = le.Uint64(p[56:])
	m.txid = le.Uint64(p[64:])
	return m, nil
}
