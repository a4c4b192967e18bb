package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "smgw.db")
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(KindSecret, "wmbus/12345678"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Record on an empty store: %v, want ErrNotFound", err)
	}
	key := []byte{0x51, 0x72, 0x89, 0x10, 0xE6, 0x6D, 0x83, 0xF8, 0x51, 0x72, 0x89, 0x10, 0xE6, 0x6D, 0x83, 0xF8}
	for _, n := range []string{"wmbus/12345678", "wmbus/87654321", "dlms/m1/auth"} {
		if err := s.PutRecord(ctx, KindSecret, n, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutRecord(ctx, "tariff", "current", []byte("x")); err != nil {
		t.Fatal(err)
	}
	names, err := s.RecordNames(KindSecret, "wmbus/")
	if err != nil || !slices.Equal(names, []string{"wmbus/12345678", "wmbus/87654321"}) {
		t.Fatalf("RecordNames = %v, %v", names, err)
	}
	if err := s.DeleteRecord(ctx, KindSecret, "wmbus/87654321"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Sealed at rest: the key bytes are nowhere in the file.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, key) {
		t.Fatal("the database file holds a record's plaintext")
	}

	s, err = Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Record(KindSecret, "wmbus/12345678")
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("after reopen: %x, %v", got, err)
	}
	if _, err := s.Record(KindSecret, "wmbus/87654321"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted record: %v, want ErrNotFound", err)
	}
	for _, bad := range [][2]string{{"", "x"}, {"a/b", "x"}, {"secret", ""}} {
		if err := s.PutRecord(ctx, bad[0], bad[1], nil); err == nil {
			t.Errorf("PutRecord(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
