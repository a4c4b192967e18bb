package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigCheckReportsEveryProblem: `smgw config check` names every
// problem of a file with its file:line, not only the first, and exits 78.
func TestConfigCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smgw.toml")
	const cfg = `[gateway]
id = "smgw-test"
colour = "blue"

[store]
deferred_flush = "five minutes"
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := smgw(t, 30*time.Second, "config", "check", path)
	if r.code != exitConfig {
		t.Errorf("want exit %d: %v", exitConfig, r)
	}
	out := r.output()
	for _, want := range []string{
		path + ":3", "colour", // unknown key
		path + ":6", "deferred_flush", // not a duration
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, clip(out))
		}
	}
}

// makeStore creates a small real database in a fresh data directory with
// `smgw stress` and returns the directory.
func makeStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustSmgw(t, 60*time.Second, "stress", "--data", dir, "--producers", "1", "--batch", "4", "--batches", "5")
	return dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunRefusesTruncatedDatabase: a damaged database stops the daemon with
// exit 78 and a message naming the file, and the file is left as it was
// for someone to look at (never "repaired" by writing over it).
func TestRunRefusesTruncatedDatabase(t *testing.T) {
	dir := makeStore(t)
	db := databaseFile(t, dir)
	whole := readFile(t, db)
	if err := os.Truncate(db, int64(len(whole)/2)); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, db)

	r := smgw(t, 30*time.Second, "run", "-c", writeConfig(t, dir, ""))
	if r.code != exitConfig {
		t.Errorf("want exit %d for a truncated database: %v", exitConfig, r)
	}
	if !strings.Contains(r.output(), filepath.Base(db)) {
		t.Errorf("the message does not name the database file %s: %v", db, r)
	}
	if after := readFile(t, db); !bytes.Equal(before, after) {
		t.Errorf("smgw run changed the truncated database (%d bytes before, %d after)", len(before), len(after))
	}
}

// TestWrongDataKey: a data key that is not the one the database was sealed
// with is refused before anything is written, with a message that says so.
func TestWrongDataKey(t *testing.T) {
	dir := makeStore(t)
	db := databaseFile(t, dir)
	before := readFile(t, db)
	writeDevKey(t, devKeyFile(dir))

	const want = "data key does not match"
	r := smgw(t, 30*time.Second, "run", "-c", writeConfig(t, dir, ""))
	if r.code != exitConfig {
		t.Errorf("run with the wrong key: want exit %d: %v", exitConfig, r)
	}
	if !strings.Contains(strings.ToLower(r.output()), want) {
		t.Errorf("run with the wrong key: the message does not say %q: %v", want, r)
	}

	r = smgw(t, 30*time.Second, "readings", "--data", dir)
	if r.code == exitOK {
		t.Errorf("readings with the wrong key succeeded: %v", r)
	}
	if !strings.Contains(strings.ToLower(r.output()), want) {
		t.Errorf("readings with the wrong key: the message does not say %q: %v", want, r)
	}

	if after := readFile(t, db); !bytes.Equal(before, after) {
		t.Errorf("the database changed while the wrong key was refused (%d bytes before, %d after)", len(before), len(after))
	}
}

// TestLogVerifyFindsEdit: an event log entry edited in the database file,
// as someone with the flash in hand could, makes `smgw log --verify` exit 1
// naming the broken link, while an untouched log still verifies. Entries
// are stored in clear, so the edit is a change of bytes in place.
func TestLogVerifyFindsEdit(t *testing.T) {
	dir := t.TempDir()
	// Producer 0 logs "batch 4", "batch 9", "batch 14", … as entries 1, 2, 3, ….
	mustSmgw(t, 60*time.Second, "stress", "--data", dir, "--producers", "1", "--batch", "2", "--batches", "30", "--events-every", "5")
	mustSmgw(t, 30*time.Second, "log", "system", "--verify", "--data", dir)
	if out := mustSmgw(t, 30*time.Second, "log", "system", "--data", dir).stdout; !strings.Contains(out, "batch 14") {
		t.Fatalf("entry 3 is not \"batch 14\":\n%s", out)
	}

	// Every copy of the message (bbolt's freed pages may hold older ones).
	path := databaseFile(t, dir)
	b := readFile(t, path)
	n := bytes.Count(b, []byte("batch 14"))
	if n == 0 {
		t.Fatal("message not found in the database file")
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte("batch 14"), []byte("batch 13")), 0o600); err != nil {
		t.Fatal(err)
	}

	r := smgw(t, 30*time.Second, "log", "system", "--verify", "--data", dir)
	if r.code != 1 || !strings.Contains(r.output(), "entry 4 does not link to entry 3") {
		t.Fatalf("want exit 1 naming the link from entry 4 to 3; got %v", r)
	}
	if r := smgw(t, 30*time.Second, "log", "metrology", "--verify", "--data", dir); r.code != 0 {
		t.Fatalf("an untouched log must still verify: %v", r)
	}
}
