package store

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/smgw/smgw/internal/meter"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// TestSeedCorpus writes the seed corpus of the fuzz targets from real
// encodings (go test -run TestSeedCorpus -update-corpus).
func TestSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	write := func(target string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		sum := sha256.Sum256(b)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{1, 3, 96, 1024} {
		write("FuzzDecodeBlock", appendBlock(nil, randPoints(rng, n)))
	}
	var e batchEncoder
	e.reset()
	for i := range 20 {
		e.add(seriesKey{meter.MeterID(fmt.Sprintf("m%d", i%3)), meter.OBIS{1, 0, byte(i % 4), 8, 0, 255}}, randPoints(rng, 1)[0])
	}
	write("FuzzDecodeBatch", e.appendTo(nil))
	write("FuzzDecodeReading", EncodeReading(nil, meter.Reading{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport, Time: t0, Value: meter.V(-12345, -3), Unit: 30, Quality: 5, Source: 4}))
	write("FuzzDecodeEvent", appendEvent(nil, &Event{Seq: 7, Time: t0, Kind: "meter-seen", Message: "meter elec-1 first seen", Attrs: map[string]string{"meter": "elec-1", "source": "sim"}, Prev: [32]byte{9}}))
}
