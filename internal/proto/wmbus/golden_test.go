package wmbus_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus.golden.jsonl from the decoder's output")

// TestGoldenJSON pins the decode JSON (OBIS codes, values, units, errors)
// of every corpus telegram: testdata/corpus.golden.jsonl holds one line
// per corpus line. Regenerate with go test -run TestGoldenJSON -update
// and review the diff.
func TestGoldenJSON(t *testing.T) {
	rows := loadCorpus(t)
	d := corpusDecoder(t)
	var tg wmbus.Telegram
	var out []byte
	for _, row := range rows {
		frame, err := row.frameErr()
		if err == nil {
			err = d.Decode(frame, row.key(t), &tg)
		} else {
			tg.Reset()
			tg.Header = wmbus.Header{}
		}
		out = wmbus.AppendJSON(out, &tg, err)
		out = append(out, '\n')
	}
	const path = "testdata/corpus.golden.jsonl"
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		got := strings.Split(string(out), "\n")
		exp := strings.Split(string(want), "\n")
		for i := range min(len(got), len(exp)) {
			if got[i] != exp[i] {
				t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, got[i], exp[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(exp))
	}
}
