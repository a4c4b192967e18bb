package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// The binary under test, built once by TestMain.
var (
	smgwBin  string
	buildErr error
)

// Exit codes of smgw (README, "Exit codes").
const (
	exitOK     = 0
	exitConfig = 78 // EX_CONFIG: bad configuration, unusable database or key
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "smgw-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	smgwBin, buildErr = buildBinary(dir)
	return m.Run()
}

// buildBinary builds ./cmd/smgw of this module into dir.
func buildBinary(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the module")
	}
	bin := filepath.Join(dir, "smgw")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/smgw")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/smgw: %w\n%s", err, out)
	}
	return bin, nil
}

// binary returns the path of the smgw binary, failing the test if it could
// not be built.
func binary(t testing.TB) string {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("smgw binary not built: %v", buildErr)
	}
	return smgwBin
}

// result is what one finished run of the binary produced.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int // exit code; -1 if killed by a signal
}

func (r result) String() string {
	return fmt.Sprintf("smgw %s: exit %d\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.args, " "), r.code, clip(r.stdout), clip(r.stderr))
}

// output is stdout and stderr together, for messages that may go to either.
func (r result) output() string { return r.stdout + r.stderr }

// clip shortens long output for failure messages.
func clip(s string) string {
	const max = 4000
	if len(s) <= max {
		return s
	}
	return s[:max/2] + "\n[… " + strconv.Itoa(len(s)-max) + " bytes …]\n" + s[len(s)-max/2:]
}

// testEnv is the environment the binary runs in: this one without systemd's
// variables, so a test run under a service manager stays to itself.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "INVOCATION_ID":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// smgw runs the binary to completion (at most timeout) and returns what it
// did. It fails the test only if the binary could not be started or did not
// finish in time.
func smgw(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = testEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("smgw %s: did not finish within %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), timeout, clip(r.stdout), clip(r.stderr))
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("smgw %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustSmgw is smgw that also requires exit code 0.
func mustSmgw(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	r := smgw(t, timeout, args...)
	if r.code != exitOK {
		t.Fatalf("want exit 0: %v", r)
	}
	return r
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// jsonReading is one line of `smgw readings --format json`.
type jsonReading struct {
	Meter string          `json:"meter"`
	OBIS  string          `json:"obis"`
	Time  time.Time       `json:"time"`
	Value json.RawMessage `json:"value"`
	Unit  string          `json:"unit"`
}

// reading is a parsed line of `smgw readings --format json`.
type reading struct {
	Meter string
	OBIS  meter.OBIS
	Time  time.Time
	Value meter.Value
	Unit  string
}

// parseReadings parses the JSON lines of `smgw readings --format json`.
// A value may be a JSON number or a string holding an exact decimal.
func parseReadings(t testing.TB, out string) []reading {
	t.Helper()
	var rs []reading
	for i, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var j jsonReading
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("readings line %d: %v: %q", i+1, err, line)
		}
		o, err := meter.ParseOBIS(j.OBIS)
		if err != nil {
			t.Fatalf("readings line %d: obis: %v: %q", i+1, err, line)
		}
		vs := string(j.Value)
		if strings.HasPrefix(vs, `"`) {
			if err := json.Unmarshal(j.Value, &vs); err != nil {
				t.Fatalf("readings line %d: value: %v: %q", i+1, err, line)
			}
		}
		v, err := meter.ParseValue(vs)
		if err != nil {
			t.Fatalf("readings line %d: value: %v: %q", i+1, err, line)
		}
		if j.Meter == "" || j.Time.IsZero() {
			t.Fatalf("readings line %d: no meter or time: %q", i+1, line)
		}
		rs = append(rs, reading{Meter: j.Meter, OBIS: o, Time: j.Time, Value: v, Unit: j.Unit})
	}
	return rs
}

// eventSeqs returns the sequence numbers of the JSON lines of
// `smgw log NAME --format json` (field "seq", any case).
func eventSeqs(t testing.TB, out string) map[uint64]bool {
	t.Helper()
	seqs := map[uint64]bool{}
	for i, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %d: %v: %q", i+1, err, line)
		}
		found := false
		for k, v := range m {
			if !strings.EqualFold(k, "seq") {
				continue
			}
			var n json.Number
			if err := json.Unmarshal(bytes.Trim(v, `"`), &n); err != nil {
				t.Fatalf("log line %d: seq: %v: %q", i+1, err, line)
			}
			seq, err := strconv.ParseUint(n.String(), 10, 64)
			if err != nil {
				t.Fatalf("log line %d: seq: %v: %q", i+1, err, line)
			}
			seqs[seq] = true
			found = true
		}
		if !found {
			t.Fatalf("log line %d has no seq: %q", i+1, line)
		}
	}
	return seqs
}

// devKeyFile is where the development key provider keeps the data key of
// the store in a data directory (what `smgw stress`, `demo` and the CLI use).
func devKeyFile(dataDir string) string { return filepath.Join(dataDir, "dev-data-key") }

// writeDevKey writes a fresh, valid development key file at path.
func writeDevKey(t testing.TB, path string) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	body := "smgw-dev-data-keys v1\n1 " + hex.EncodeToString(key) + "\n"
	if err := os.WriteFile(path+".new", []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// databaseFile finds the store's database file in a data directory: the
// largest regular file that is not the key file (the store's doc names it;
// the test does not depend on the name).
func databaseFile(t testing.TB, dataDir string) string {
	t.Helper()
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var bestDB bool
	var size int64
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == filepath.Base(devKeyFile(dataDir)) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		isDB := strings.HasSuffix(e.Name(), ".db")
		// A *.db file beats any other; among equals the largest wins.
		if best == "" || isDB && !bestDB || isDB == bestDB && fi.Size() > size {
			best, bestDB, size = e.Name(), isDB, fi.Size()
		}
	}
	if best == "" {
		t.Fatalf("no database file in %s", dataDir)
	}
	return filepath.Join(dataDir, best)
}

// writeConfig writes a configuration file for `smgw run` that keeps
// everything under dataDir and a fresh runtime directory, uses the
// development key file of dataDir, and listens on a free loopback port.
// extra is appended verbatim. It returns the file's path.
func writeConfig(t testing.TB, dataDir, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[gateway]
id = "smgw-test"
data_dir = %q
runtime_dir = %q

[security]
key_provider = "dev"
dev_key_file = %q
allow_insecure = true

[status]
listen = %q
`, dataDir, filepath.Join(dir, "run"), devKeyFile(dataDir), freeAddr(t))
	path := filepath.Join(dir, "smgw.toml")
	if err := os.WriteFile(path, []byte(cfg+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
