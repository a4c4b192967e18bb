package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func testOptions() *Options {
	o := &Options{Keys: keys.Static{Key: testKey}}
	if v := os.Getenv("SMGW_BENCH_COMPACT_BYTES"); v != "" {
		o.CompactBytes, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("SMGW_BENCH_COMMIT_WINDOW"); v != "" {
		o.CommitWindow, _ = time.ParseDuration(v)
	}
	return o
}

// openTest opens a store in a fresh directory; at cleanup it closes the
// store and runs bbolt's consistency check over the file (STYLE 7).
func openTest(t testing.TB, opts *Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smgw.db")
	if opts == nil {
		opts = testOptions()
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkConsistency(t, path)
	})
	return s, path
}

func checkConsistency(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("reopen for check: %v", err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rd(id string, obis string, t time.Time, m int64, e int8, u meter.Unit) meter.Reading {
	return meter.Reading{Meter: meter.MeterID(id), OBIS: meter.MustOBIS(obis), Time: t, Value: meter.V(m, e), Unit: u, Source: meter.SourceSim}
}

func collect(t testing.TB, s *Store, q Query) []meter.Reading {
	t.Helper()
	var out []meter.Reading
	if err := s.Query(context.Background(), q, func(r meter.Reading) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// maintainNow applies retention now, in the writer (it also runs hourly).
func (s *Store) maintainNow(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqMaintain})
	return err
}

// testStartCompaction starts a compaction and runs at most steps of its
// steps, in the writer (for tests of interrupted compactions).
func (s *Store) testStartCompaction(ctx context.Context, steps int) error {
	_, err := s.call(ctx, &request{kind: reqCompact, through: uint64(steps)})
	return err
}
