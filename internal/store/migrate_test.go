package store

import (
	"encoding/binary"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMigrate drives the migration hook with made-up versions: each
// migration runs once, in order, in the transaction that records the new
// version; a missing step or a failing one changes nothing.
func TestMigrate(t *testing.T) {
	s, path := openTest(t, nil)
	s.Close()
	var ran []uint32
	list := []migration{
		{from: 2, run: func(tx *bolt.Tx) error {
			ran = append(ran, 2)
			return tx.Bucket(bucketMeta).Put([]byte("m2"), []byte("x"))
		}},
		{from: 1, run: func(tx *bolt.Tx) error { ran = append(ran, 1); return nil }},
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := func() uint32 {
		var v uint32
		db.View(func(tx *bolt.Tx) error {
			v = binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(metaSchema))
			return nil
		})
		return v
	}
	run := func(to uint32, list []migration) error {
		return db.Update(func(tx *bolt.Tx) error {
			return s.migrate(tx, tx.Bucket(bucketMeta), schema(), to, list)
		})
	}
	// A missing step fails and leaves the version alone.
	if err := run(3, list[:1]); !errors.Is(err, ErrSchema) || schema() != 1 {
		t.Fatalf("missing step: %v, schema %d", err, schema())
	}
	// A failing step rolls back the steps before it.
	boom := errors.New("boom")
	failing := []migration{list[1], {from: 2, run: func(*bolt.Tx) error { return boom }}}
	if err := run(3, failing); !errors.Is(err, boom) || schema() != 1 {
		t.Fatalf("failing step: %v, schema %d", err, schema())
	}
	ran = nil
	if err := run(3, list); err != nil || schema() != 3 {
		t.Fatalf("migrate: %v, schema %d", err, schema())
	}
	if len(ran) != 2 || ran[0] != 1 || ran[1] != 2 {
		t.Fatalf("ran %v, want [1 2]", ran)
	}
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get([]byte("m2")) == nil {
			t.Error("migration's write not committed")
		}
		return nil
	})
}
