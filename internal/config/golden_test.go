package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden")

// TestGoodFiles loads every example in testdata/good.
func TestGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/good files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
			if err := Check(f); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// TestBadFiles loads every file in testdata/bad and compares the report
// with NAME.golden (regenerate with go test -run TestBadFiles -update).
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/bad files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if c != nil {
				t.Errorf("Load returned a config along with %v", err)
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load: %v, want an *Error wrapping ErrInvalid", err)
			}
			for _, p := range e.Problems {
				if p.File != f {
					t.Errorf("problem %v: File = %q, want %q", p, p.File, f)
				}
			}
			if got := strings.Count(e.Error(), "\n") + 1; got != len(e.Problems) {
				t.Errorf("Error() has %d lines for %d problems", got, len(e.Problems))
			}
			golden := strings.TrimSuffix(f, ".toml") + ".golden"
			got := e.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
