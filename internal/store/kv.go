package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Records are small named values that services keep beside the readings:
// meter keys and other secrets, tariff and price schedules, display
// messages, pairing tokens, frame counters. Each is sealed under the data
// key like everything else, with its location as additional data, so a
// sealed value cannot be moved to another name.
//
//	kv/<kind>/ name → sealed value
//
// Writes are rare (commands, key imports) and each is its own fsynced
// transaction; they do not go through the readings writer.

// ErrNotFound is returned by Record for a name that holds no value.
var ErrNotFound = errors.New("store: no such record")

var bucketKV = []byte("kv")

// Kinds of records used by the gateway's services.
const (
	// KindSecret holds secondary keys (wM-Bus meter keys, DLMS keys, HES
	// command-verification keys). Their plaintext is never logged.
	KindSecret = "secret"
)

func validRecordName(kind, name string) error {
	if err := validChannel(kind); err != nil {
		return fmt.Errorf("store: record kind %q: letters, digits, . _ - only, 1…64 bytes", kind)
	}
	if name == "" || len(name) > 255 || strings.ContainsRune(name, 0) {
		return fmt.Errorf("store: record name %q in %s: must be 1…255 bytes without NUL", name, kind)
	}
	return nil
}

func recordAAD(kind, name string) []byte {
	return []byte("kv/" + kind + "/" + name)
}

// PutRecord stores value under kind/name durably, replacing what was there.
func (s *Store) PutRecord(ctx context.Context, kind, name string, value []byte) error {
	if err := validRecordName(kind, name); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if s.closing.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		// Sealed inside the transaction, so a re-seal pass (reseal.go)
		// never misses a value sealed with a key it is about to retire.
		sealed := s.kr.Seal(nil, value, recordAAD(kind, name))
		kv, err := tx.CreateBucketIfNotExists(bucketKV)
		if err != nil {
			return err
		}
		b, err := kv.CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		return b.Put([]byte(name), sealed)
	})
}

// Record returns the value stored under kind/name, or ErrNotFound.
func (s *Store) Record(kind, name string) ([]byte, error) {
	if err := validRecordName(kind, name); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b := kindBucket(tx, kind)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		plain, err := s.kr.Open(nil, v, recordAAD(kind, name))
		if err != nil {
			return fmt.Errorf("%w: %s: record %s/%s: %v", ErrCorrupt, s.path, kind, name, err)
		}
		out = plain
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, kind, name)
	}
	return out, err
}

// DeleteRecord removes kind/name; removing a missing record is not an error.
func (s *Store) DeleteRecord(ctx context.Context, kind, name string) error {
	if err := validRecordName(kind, name); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if b := kindBucket(tx, kind); b != nil {
			return b.Delete([]byte(name))
		}
		return nil
	})
}

// RecordNames lists the names of kind that start with prefix, sorted.
func (s *Store) RecordNames(kind, prefix string) ([]string, error) {
	if err := validChannel(kind); err != nil {
		return nil, fmt.Errorf("store: record kind %q: letters, digits, . _ - only, 1…64 bytes", kind)
	}
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		b := kindBucket(tx, kind)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, _ = c.Next() {
			names = append(names, string(k))
		}
		return nil
	})
	return names, err
}

func kindBucket(tx *bolt.Tx, kind string) *bolt.Bucket {
	kv := tx.Bucket(bucketKV)
	if kv == nil {
		return nil
	}
	return kv.Bucket([]byte(kind))
}
