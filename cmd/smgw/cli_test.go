package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/smgw/smgw/internal/testutil"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// runCLI runs the command line args as main would and returns the exit
// code and what it printed.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 30, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-21T10:00:00Z", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)},
		{"2026-11-21T10:00:00.5+01:00", time.Date(2026, 11, 21, 9, 0, 0, 5e8, time.UTC)},
		{"2026-11-21", time.Date(2026, 11, 21, 0, 0, 0, 0, berlin)},
		{"2026-11-21T10:15", time.Date(2026, 11, 21, 10, 15, 0, 0, berlin)},
		{"2026-11-21 10:15:30", time.Date(2026, 11, 21, 10, 15, 30, 0, berlin)},
		{"-24h", now.Add(-24 * time.Hour)},
		{"-7d", now.Add(-7 * 24 * time.Hour)},
		{"-1d12h", now.Add(-36 * time.Hour)},
		{"-90m", now.Add(-90 * time.Minute)},
		{"-1.5h", now.Add(-90 * time.Minute)},
		{"+1h", now.Add(time.Hour)},
		{"now", now},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, now, berlin)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-", "-24", "-1x", "2026-13-01", "21.11.2026", "--1h"} {
		if got, err := parseTime(bad, now, berlin); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestReadingsQuery(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	q, err := readingsQuery("elec-1", "1-0:1.8.0", "-24h", "2026-11-21T12:00:00Z", 10, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if q.Meter != "elec-1" || q.OBIS != meter.OBISActiveEnergyImport || !q.From.Equal(now.Add(-24*time.Hour)) ||
		!q.To.Equal(now) || q.Limit != 10 {
		t.Errorf("query %+v", q)
	}
	for _, bad := range [][5]string{
		{"bad id!", "", "", "", ""},
		{"", "1-0:1.8", "", "", ""},
		{"", "", "soon", "", ""},
		{"", "", "", "later", ""},
		{"", "", "-1h", "-2h", ""}, // to before from
	} {
		if _, err := readingsQuery(bad[0], bad[1], bad[2], bad[3], 0, now, time.UTC); err == nil {
			t.Errorf("readingsQuery%v: no error", bad)
		}
	}
	if _, err := readingsQuery("", "", "", "", -1, now, time.UTC); err == nil {
		t.Error("negative limit accepted")
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args   []string
		pos    []string
		verify bool
		after  uint64
		code   int
	}{
		{[]string{"system", "--verify"}, []string{"system"}, true, 0, -1},
		{[]string{"--after", "5", "metrology"}, []string{"metrology"}, false, 5, -1},
		{[]string{"-verify", "consumer", "-after=3"}, []string{"consumer"}, true, 3, -1},
		{[]string{"--", "--verify"}, []string{"--verify"}, false, 0, -1},
		{[]string{}, nil, false, 0, -1},
		{[]string{"--nope"}, nil, false, 0, exitUsage},
		{[]string{"-h"}, nil, false, 0, exitOK},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(new(bytes.Buffer))
		verify := fs.Bool("verify", false, "")
		after := fs.Uint64("after", 0, "")
		pos, code := parseFlags(fs, tt.args)
		if code != tt.code || (code < 0 && (!slices.Equal(pos, tt.pos) || *verify != tt.verify || *after != tt.after)) {
			t.Errorf("parseFlags(%q) = %q, %d (verify %v, after %d)", tt.args, pos, code, *verify, *after)
		}
	}
}

func TestUsageExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // in stderr (or stdout for help)
	}{
		{nil, exitUsage, "usage: smgw COMMAND"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"--help"}, exitOK, "commands:"},
		{[]string{"help", "readings"}, exitOK, "usage: smgw readings"},
		{[]string{"run"}, exitUsage, "-c FILE is required"},
		{[]string{"run", "-c", "x.toml", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"readings", "--format", "xml", "--data", "."}, exitUsage, `--format "xml"`},
		{[]string{"readings", "--from", "soon", "--data", "."}, exitUsage, "--from"},
		{[]string{"readings", "--data", ".", "-c", "x.toml"}, exitUsage, "not both"},
		{[]string{"log", "audit", "--data", "."}, exitUsage, `unknown log "audit"`},
		{[]string{"config"}, exitUsage, "check FILE"},
		{[]string{"config", "check"}, exitUsage, "config check FILE"},
		{[]string{"stress"}, exitUsage, "--data DIR is required"},
		{[]string{"stress", "--data", ".", "--batch", "65"}, exitUsage, "--batch 65"},
		{[]string{"readings", "--bogus"}, exitUsage, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.out) {
			t.Errorf("smgw %q: exit %d, want %d; output:\n%s%s", tt.args, code, tt.code, out, errOut)
		}
	}
	if _, out, _ := runCLI(t, "--help"); strings.Contains(out, "stress") {
		t.Error("the main help lists the hidden stress command")
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "smgw dev (go") {
		t.Errorf("version: %d %q", code, out)
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigExitCodes(t *testing.T) {
	bad := writeFile(t, "bad.toml", "[gateway]\nid = \"gw\"\n\n[store]\nretention = \"forever\"\n")
	code, out, errOut := runCLI(t, "config", "check", bad)
	if code != exitConfig || !strings.Contains(errOut, bad+":5: store.retention: ") || out != "" {
		t.Errorf("config check bad: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "run", "-c", bad)
	if code != exitConfig || !strings.Contains(errOut, bad+":5: store.retention: ") {
		t.Errorf("run -c bad: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "run", "-c", filepath.Join(t.TempDir(), "missing.toml"))
	if code != exitConfig || !strings.Contains(errOut, "missing.toml") {
		t.Errorf("run -c missing: exit %d, stderr %q", code, errOut)
	}

	dir := t.TempDir()
	good := writeFile(t, "good.toml", "[gateway]\ndata_dir = \""+dir+"\"\nruntime_dir = \""+dir+"/run\"\n"+
		"[security]\nallow_insecure = true\n[status]\nlisten = \"\"\n")
	for _, args := range [][]string{{"config", "check", good}, {"run", "-c", good, "--check"}} {
		if code, out, errOut := runCLI(t, args...); code != exitOK || out != "ok\n" {
			t.Errorf("smgw %q: exit %d, %q %q", args, code, out, errOut)
		}
	}

	// A key that does not open the database: refuse, don't restart.
	code, _, errOut = runCLI(t, "stress", "--data", dir, "--batches", "1", "--producers", "1")
	if code != exitOK {
		t.Fatalf("stress: %d %s", code, errOut)
	}
	if err := os.Remove(filepath.Join(dir, config.DevKeyFileName)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "run", "-c", good)
	if code != exitConfig || !strings.Contains(errOut, "data key does not match") {
		t.Errorf("run with the wrong key: exit %d, stderr %q", code, errOut)
	}
}

func TestConfigDefault(t *testing.T) {
	code, out, _ := runCLI(t, "config", "default")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	// As printed it asks for a decision on the development keys...
	_, err := config.Parse("default.toml", []byte(out))
	var ce *config.Error
	if err == nil || !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != "security.allow_insecure" &&
		ce.Problems[0].Key != "security.key_provider" {
		t.Fatalf("the default configuration parses with %v, want only the dev key provider refused", err)
	}
	// ...and with it, it is exactly the defaults.
	cfg, err := config.Parse("default.toml", []byte(strings.Replace(out, "allow_insecure = false", "allow_insecure = true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Security.AllowInsecure = true
	for _, c := range []*config.Config{cfg, want} { // nil and empty lists are the same
		if len(c.Store.OutboxChannels) == 0 {
			c.Store.OutboxChannels = nil
		}
		if len(c.Meters) == 0 {
			c.Meters = nil
		}
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("default configuration parses to\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestStress(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "stress", "--data", dir, "--producers", "3", "--batch", "4", "--batches", "25", "--events-every", "10")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	acks := map[string]bool{}
	var events []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "ack "):
			acks[l] = true
		case strings.HasPrefix(l, "event "):
			events = append(events, l)
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if len(acks) != 75 || !acks["ack 2 24"] || len(events) != 2 {
		t.Errorf("%d acks, events %q", len(acks), events)
	}
	// What was acknowledged is there, exactly.
	code, out, errOut = runCLI(t, "readings", "--data", dir, "--meter", "stress-1", "--obis", "1-0:1.8.3*255", "--format", "csv")
	if code != exitOK {
		t.Fatalf("readings: %d %s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 26 || rows[0] != "meter,obis,time,value,unit,quality,source" ||
		rows[25] != "stress-1,1-0:1.8.3*255,2026-01-01T00:00:24Z,99,Wh,ok,sim" {
		t.Errorf("csv:\n%s", out)
	}
	code, out, _ = runCLI(t, "log", "--data", dir, "--format", "json")
	if code != exitOK || strings.Count(out, `"kind":"stress"`) != 2 || !strings.Contains(out, `"message":"batch 9"`) {
		t.Errorf("log: %d\n%s", code, out)
	}
}

func TestStressStopsOnCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out testutil.SyncBuffer
	c := &cli{stdout: &out, stderr: &out, now: time.Now}
	done := make(chan int)
	go func() { done <- c.main(ctx, []string{"stress", "--data", dir, "--producers", "2"}) }()
	for !strings.Contains(out.String(), "ack 1 3\n") {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	// The store was closed: it opens again.
	if code, _, errOut := runCLI(t, "meters", "--data", dir); code != exitOK {
		t.Errorf("meters after stress: %d %s", code, errOut)
	}
}

// brokenLog is a reader whose metrology log fails verification.
type brokenLog struct{ ctl.Reader }

func (brokenLog) VerifyLog(_ context.Context, name store.LogName) (store.LogReport, error) {
	if name == store.LogMetrology {
		return store.LogReport{Name: name, Entries: 41, First: 1, Last: 41},
			fmt.Errorf("%w: metrology: entry 42: hash does not match", store.ErrChainBroken)
	}
	return store.LogReport{Name: name, Entries: 2, First: 1, Last: 2}, nil
}

func TestVerifyLogsBroken(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, now: time.Now}
	code := c.verifyLogs(context.Background(), brokenLog{}, store.Logs)
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	for _, want := range []string{"system: ok, 2 entries", "metrology: BROKEN: ", "entry 42: hash does not match",
		"41 entries (seq 1…41) verified before the break", "consumer: ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
