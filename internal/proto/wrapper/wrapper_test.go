package wrapper

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// TestSessions: every PDU of the three recorded wrapper sessions (Gurux C
// server, Gurux Python client) parses, names the recorded wPorts, and
// re-encodes byte for byte; the whole stream splits back into them.
func TestSessions(t *testing.T) {
	f, err := os.Open("testdata/gurux-sessions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var s struct {
			Name      string
			Transport string
			Ports     struct{ Client, Server uint16 } `json:"wrapper_wports"`
			Frames    []struct{ Dir, Hex string }
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Transport != "wrapper" {
			continue
		}
		var stream []byte
		var pdus [][]byte
		for i, fr := range s.Frames {
			raw, _ := hex.DecodeString(fr.Hex)
			h, apdu, err := Parse(raw)
			if err != nil {
				t.Fatalf("%s frame %d: %v", s.Name, i, err)
			}
			server, client := h.Dst, h.Src
			if fr.Dir == "s2c" {
				server, client = client, server
			}
			// The gmac session's first association is SAP 16.
			if server != s.Ports.Server || (client != s.Ports.Client && client != WPortPublicClient) {
				t.Fatalf("%s frame %d: %+v", s.Name, i, h)
			}
			if got := Append(nil, h.Src, h.Dst, apdu); !bytes.Equal(got, raw) {
				t.Fatalf("%s frame %d: re-encoded % X", s.Name, i, got)
			}
			if got := h.Append(nil); !bytes.Equal(got, raw[:HeaderLen]) {
				t.Fatalf("header % X", got)
			}
			stream = append(stream, raw...)
			pdus = append(pdus, raw)
			n++
		}
		for i := 0; len(stream) > 0; i++ {
			k, _, err := Split(stream, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stream[:k], pdus[i]) {
				t.Fatalf("split %d differs", i)
			}
			stream = stream[k:]
		}
	}
	if n != 168 {
		t.Fatalf("%d PDUs, want 168", n)
	}
}

func TestErrors(t *testing.T) {
	good := Append(nil, 16, 1, []byte{0x62, 0x00})
	if _, _, err := Parse(good[:5]); !errors.Is(err, ErrShort) {
		t.Fatal(err)
	}
	if _, _, err := Parse(good[:9]); !errors.Is(err, ErrLength) {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[1] = 2
	if _, _, err := Parse(bad); !errors.Is(err, ErrVersion) {
		t.Fatal(err)
	}
	if _, _, err := Split(good[:9], 0); !errors.Is(err, ErrShort) {
		t.Fatal(err)
	}
	if _, _, err := Split(good, 1); !errors.Is(err, ErrLength) {
		t.Fatal(err)
	}
}

// FuzzParse: Parse and Split never panic and agree; what parses
// re-encodes to the same bytes. Seeds: testdata/fuzz/FuzzParse (the
// recorded PDUs).
func FuzzParse(f *testing.F) {
	f.Add([]byte{0, 1, 0, 16, 0, 1, 0, 2, 0x62, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		h, apdu, err := Parse(p)
		n, h2, serr := Split(p, 0)
		if err != nil {
			if serr == nil && n == len(p) {
				t.Fatalf("Split accepts what Parse rejects: %v", err)
			}
			return
		}
		if serr != nil || n != len(p) || h2 != h {
			t.Fatalf("Split %d %+v %v, Parse %+v", n, h2, serr, h)
		}
		if got := Append(nil, h.Src, h.Dst, apdu); !bytes.Equal(got, p) {
			t.Fatal("re-encoding differs")
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	p := Append(nil, 16, 1, make([]byte, 480))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, _, err := Split(p, 0); err != nil {
			b.Fatal(err)
		}
	}
}
