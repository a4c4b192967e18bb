package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIncMatchesGoSum: the Yocto recipe's module list is go.sum's, entry
// for entry (regenerate with scripts/yocto-gomod.sh), and each checksum
// matches the module cache's file where this machine has it.
func TestIncMatchesGoSum(t *testing.T) {
	root := filepath.Join("..", "..")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseGoSum(sum)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := os.ReadFile(filepath.Join(root, Inc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInc(inc)
	if err != nil {
		t.Fatal(err)
	}
	stale := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+" (run scripts/yocto-gomod.sh)", args...)
	}
	have := map[Module]Entry{}
	for _, e := range got {
		if _, dup := have[e.Module]; dup {
			stale("%s lists %s@%s twice", Inc, e.Path, e.Version)
		}
		have[e.Module] = e
	}
	for _, m := range want {
		if _, ok := have[m]; !ok {
			stale("%s lacks %s@%s (mod only: %v) of go.sum", Inc, m.Path, m.Version, m.ModOnly)
		}
		delete(have, m)
	}
	for m := range have {
		stale("%s lists %s@%s (mod only: %v), which go.sum does not", Inc, m.Path, m.Version, m.ModOnly)
	}
}

func TestRenderParse(t *testing.T) {
	es := []Entry{
		{Module{"github.com/BurntSushi/toml", "v1.5.0", false}, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{Module{"golang.org/x/net", "v0.43.0", true}, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"},
	}
	back, err := ParseInc(Render(es))
	if err != nil || len(back) != 2 || back[0] != es[0] || back[1] != es[1] {
		t.Fatalf("ParseInc(Render) = %v, %v", back, err)
	}
	ms, err := ParseGoSum([]byte("a v1.0.0 h1:x=\na v1.0.0/go.mod h1:y=\nb v2.0.0/go.mod h1:z=\n"))
	if err != nil || len(ms) != 2 || ms[0] != (Module{"a", "v1.0.0", false}) || ms[1] != (Module{"b", "v2.0.0", true}) {
		t.Fatalf("ParseGoSum = %v, %v", ms, err)
	}
}
