package payload

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/smgw/smgw/internal/meter"
)

// testBatch returns n readings of 4 meters × 3 registers, 15-minute data.
func testBatch(n int) *Batch {
	obis := []meter.OBIS{meter.MustOBIS("1-0:1.8.0*255"), meter.MustOBIS("1-0:2.8.0*255"), meter.MustOBIS("8-0:1.0.0*255")}
	units := []meter.Unit{meter.UnitWattHour, meter.UnitWattHour, meter.UnitCubicMetre}
	meters := []meter.MeterID{"elec-1", "elec-2", "water-1", "heat-1"}
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	b := &Batch{Gateway: "gw-1", First: 1001, Last: 1000 + uint64(n)}
	for i := range n {
		k := i % 3
		m := (i / 3) % len(meters)
		step := i / (3 * len(meters))
		b.Readings = append(b.Readings, meter.Reading{
			Meter: meters[m], OBIS: obis[k], Time: t0.Add(time.Duration(step) * 15 * time.Minute),
			Value: meter.V(int64(12_345_678+step*250+m*1000), -1), Unit: units[k], Source: meter.SourceSim,
		})
	}
	return b
}

func testKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	key := testKey(t)
	for _, n := range []int{1, 2, 7, 1000} {
		b := testBatch(n)
		var e Encoder
		for _, f := range Formats {
			var msg []byte
			var err error
			switch f {
			case CBOR:
				msg, err = e.AppendCOSE(nil, b, key)
			case JSON:
				msg, err = e.AppendJSON(nil, b)
			case JWS:
				msg, err = e.AppendJWS(nil, b, key)
			}
			if err != nil {
				t.Fatalf("%s n=%d: %v", f, n, err)
			}
			got, gf, err := Verify(msg, &key.PublicKey)
			if f == JSON {
				if !errors.Is(err, ErrUnsigned) {
					t.Fatalf("json: Verify err = %v, want ErrUnsigned", err)
				}
			} else if err != nil {
				t.Fatalf("%s n=%d: verify: %v", f, n, err)
			}
			if gf != f || !reflect.DeepEqual(got, b) {
				t.Fatalf("%s n=%d: got %s %+v, want %+v", f, n, gf, got.Readings[0], b.Readings[0])
			}
			if n == 1000 {
				t.Logf("%s: %d bytes, %.1f per reading", f, len(msg), float64(len(msg))/float64(n))
			}
		}
	}
}

// exampleBatch is the batch of docs/mqtt.md.
func exampleBatch() *Batch {
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	return &Batch{Gateway: "gw-1", First: 41, Last: 43, Readings: []meter.Reading{
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: t0, Value: meter.V(12345678, -1), Unit: meter.UnitWattHour, Source: meter.SourceDLMS},
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:2.8.0*255"), Time: t0, Value: meter.V(0, 0), Unit: meter.UnitWattHour, Source: meter.SourceDLMS},
		{Meter: "water-1", OBIS: meter.MustOBIS("8-0:1.0.0*255"), Time: t0.Add(15 * time.Minute), Value: meter.V(123456, -3), Unit: meter.UnitCubicMetre, Quality: meter.QualityEstimated, Source: meter.SourceWMBus},
	}}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden holds the CBOR batch and the JSON document of exampleBatch
// to the bytes in testdata (and in docs/mqtt.md).
func TestGolden(t *testing.T) {
	var e Encoder
	cb, err := e.AppendCBOR(nil, exampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	js, err := e.AppendJSON(nil, exampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	diag, err := cbor.Diagnose(cb)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{
		"example-batch.cbor.hex": []byte(hex.EncodeToString(cb) + "\n"),
		"example-batch.diag":     []byte(diag + "\n"),
		"example-batch.json":     append(js, '\n'),
	} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test -update rewrites it):\ngot  %s\nwant %s", path, got, want)
		}
	}
	b, err := ParseCBOR(cb)
	if err != nil || !reflect.DeepEqual(b, exampleBatch()) {
		t.Errorf("ParseCBOR(golden) = %+v, %v", b, err)
	}
}

// TestSignedExample verifies the signed examples in testdata (made with
// testdata/example-key.pem, whose public key is testdata/example-pub.pem).
func TestSignedExample(t *testing.T) {
	pemb, err := os.ReadFile("testdata/example-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemb)
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var e Encoder
		c, err := e.AppendCOSE(nil, exampleBatch(), key)
		if err != nil {
			t.Fatal(err)
		}
		j, err := e.AppendJWS(nil, exampleBatch(), key)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("testdata/example.cose", c, 0o644)
		os.WriteFile("testdata/example.cose.hex", []byte(hex.EncodeToString(c)+"\n"), 0o644)
		os.WriteFile("testdata/example.jws", append(j, '\n'), 0o644)
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		os.WriteFile("testdata/example-pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	}
	for _, name := range []string{"example.cose", "example.jws"} {
		msg, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := Verify(msg, &key.PublicKey)
		if err != nil || !reflect.DeepEqual(b, exampleBatch()) {
			t.Errorf("%s: %v", name, err)
		}
		other := testKey(t)
		if _, _, err := Verify(msg, &other.PublicKey); !errors.Is(err, ErrSignature) {
			t.Errorf("%s with another key: %v, want ErrSignature", name, err)
		}
	}
}

// TestTampered: any change of a signed message fails, with ErrSignature
// or ErrFormat, never a panic.
func TestTampered(t *testing.T) {
	key := testKey(t)
	var e Encoder
	msg, err := e.AppendCOSE(nil, testBatch(30), key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		bad := append([]byte(nil), msg...)
		bad[i] ^= 0x01
		_, _, err := Verify(bad, &key.PublicKey)
		if err == nil {
			t.Fatalf("byte %d flipped: still verifies", i)
		}
		if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	// Signed for another gateway id than the batch's.
	b := testBatch(3)
	body, _ := e.AppendCBOR(nil, b)
	_ = body
	b.Gateway = "gw-2"
	msg2, _ := e.AppendCOSE(nil, b, key)
	if _, _, err := Verify(bytes.Replace(msg2, []byte("gw-2"), []byte("gw-1"), 1), &key.PublicKey); err == nil {
		t.Error("a kid changed to another gateway verifies")
	}
}

func TestEncodeRefuses(t *testing.T) {
	var e Encoder
	for _, b := range []*Batch{
		{Gateway: "", First: 1, Last: 1, Readings: testBatch(1).Readings},
		{Gateway: "g", First: 0, Last: 0, Readings: testBatch(1).Readings},
		{Gateway: "g", First: 1, Last: 2, Readings: testBatch(1).Readings},
		{Gateway: "g", First: 1, Last: 1},
	} {
		if _, err := e.AppendCBOR(nil, b); !errors.Is(err, ErrFormat) {
			t.Errorf("AppendCBOR(%+v) = %v", b, err)
		}
	}
	far := testBatch(2)
	far.Readings[1].Time = time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.AppendCBOR(nil, far); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a time far away: %v", err)
	}
}

// FuzzVerify: no input panics the decoders, and what Inspect accepts as
// CBOR encodes back to a batch that decodes the same.
func FuzzVerify(f *testing.F) {
	key := testKey(f)
	var e Encoder
	for _, n := range []int{1, 5} {
		c, _ := e.AppendCOSE(nil, testBatch(n), key)
		f.Add(c)
		j, _ := e.AppendJSON(nil, testBatch(n))
		f.Add(j)
		w, _ := e.AppendJWS(nil, testBatch(n), key)
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		Verify(msg, &key.PublicKey)
		b, fm, err := Inspect(msg)
		if err != nil || fm != CBOR {
			return
		}
		var e Encoder
		again, err := e.AppendCBOR(nil, b)
		if err != nil {
			return // e.g. a time the encoder refuses
		}
		b2, err := ParseCBOR(again)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("re-encoded batch: %v\n%+v\n%+v", err, b, b2)
		}
	})
}

// FuzzParseCBOR: the bare batch decoder never panics and round-trips.
func FuzzParseCBOR(f *testing.F) {
	var e Encoder
	for _, n := range []int{1, 3, 12} {
		c, _ := e.AppendCBOR(nil, testBatch(n))
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := ParseCBOR(p)
		if err != nil {
			return
		}
		var e Encoder
		again, err := e.AppendCBOR(nil, b)
		if err != nil {
			return
		}
		b2, err := ParseCBOR(again)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func BenchmarkEncodeCOSE(b *testing.B) {
	key := testKey(b)
	batch := testBatch(1000)
	var e Encoder
	var n int
	for b.Loop() {
		msg, err := e.AppendCOSE(nil, batch, key)
		if err != nil {
			b.Fatal(err)
		}
		n = len(msg)
	}
	b.ReportMetric(float64(n)/1000, "bytes/reading")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/reading")
}

func BenchmarkVerifyCOSE(b *testing.B) {
	key := testKey(b)
	var e Encoder
	msg, _ := e.AppendCOSE(nil, testBatch(1000), key)
	for b.Loop() {
		if _, _, err := Verify(msg, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/reading")
}
