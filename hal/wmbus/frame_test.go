package wmbus

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRCX25(t *testing.T) {
	if got := crcX25([]byte("123456789")); got != 0x906E {
		t.Errorf("CRC-16/X-25 check value 0x%04x, want 0x906E", got)
	}
}

// Vectors computed independently (a Python CRC-16/X-25 and XOR sum).
var hciVectors = []struct {
	hex string
	f   HCIFrame
}{
	{"A5010100", HCIFrame{Endpoint: 1, MsgID: MsgPingReq}},
	{"A58102004CA3", HCIFrame{Control: HCICRC, Endpoint: 1, MsgID: MsgPingRsp}},
	{"A5E2031E468B050100000004077A01001002BBD1EAFD0222F871CB70DA16C78AE09878563412A0A8B2",
		HCIFrame{Control: HCICRC | HCIRSSI | HCITimestamp, Endpoint: 2, MsgID: MsgWMBusInd,
			Payload: testTelegram[1:], Timestamp: 0x12345678, RSSI: 0xA0}},
}

var ambVectors = []struct {
	hex  string
	rssi bool
	f    AMBFrame
}{
	{"FF0B00F4", false, AMBFrame{Cmd: AMBSerialNoReq}},
	{"FF8401007A", false, AMBFrame{Cmd: AMBSetModeReq | AMBConfirm, Payload: []byte{0}}},
	{"FF031E468B050100000004077A01001002BBD1EAFD0222F871CB70DA16C78AE098D007", true,
		AMBFrame{Cmd: AMBDataInd, Payload: testTelegram[1:], RSSI: 0xD0, HasRSSI: true}},
}

func TestHCIVectors(t *testing.T) {
	for _, v := range hciVectors {
		b := mustHex(t, v.hex)
		f, n, err := ParseHCI(b)
		if err != nil || n != len(b) {
			t.Errorf("%s: n %d err %v", v.hex, n, err)
			continue
		}
		if f.Control != v.f.Control || f.Endpoint != v.f.Endpoint || f.MsgID != v.f.MsgID ||
			!bytes.Equal(f.Payload, v.f.Payload) || f.RSSI != v.f.RSSI || f.Timestamp != v.f.Timestamp {
			t.Errorf("%s: parsed %+v, want %+v", v.hex, f, v.f)
		}
		enc, err := AppendHCI(nil, v.f)
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("AppendHCI(%+v) = %X, %v; want %s", v.f, enc, err, v.hex)
		}
		for i := range len(b) - 1 {
			if _, _, err := ParseHCI(b[:i]); !errors.Is(err, ErrShort) {
				t.Errorf("%s cut at %d: %v, want ErrShort", v.hex, i, err)
			}
		}
	}
	bad := mustHex(t, "A58102004CA4")
	if _, _, err := ParseHCI(bad); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad CRC: %v", err)
	}
	for _, s := range []string{"00", "A5110100", "A5050100", "A5000100"} {
		if _, _, err := ParseHCI(mustHex(t, s)); !errors.Is(err, ErrSync) {
			t.Errorf("%s: %v, want ErrSync", s, err)
		}
	}
	if _, err := AppendHCI(nil, HCIFrame{Payload: make([]byte, 256)}); err == nil {
		t.Error("AppendHCI with 256 bytes of payload: no error")
	}
}

func TestAMBVectors(t *testing.T) {
	for _, v := range ambVectors {
		b := mustHex(t, v.hex)
		f, n, err := ParseAMB(b, v.rssi)
		if err != nil || n != len(b) {
			t.Errorf("%s: n %d err %v", v.hex, n, err)
			continue
		}
		if f.Cmd != v.f.Cmd || !bytes.Equal(f.Payload, v.f.Payload) || f.RSSI != v.f.RSSI || f.HasRSSI != v.f.HasRSSI {
			t.Errorf("%s: parsed %+v, want %+v", v.hex, f, v.f)
		}
		enc, err := AppendAMB(nil, v.f)
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("AppendAMB(%+v) = %X, %v; want %s", v.f, enc, err, v.hex)
		}
		for i := range len(b) - 1 {
			if _, _, err := ParseAMB(b[:i], v.rssi); !errors.Is(err, ErrShort) {
				t.Errorf("%s cut at %d: %v, want ErrShort", v.hex, i, err)
			}
		}
	}
	if _, _, err := ParseAMB(mustHex(t, "FF0B00F5"), false); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad checksum: %v", err)
	}
	if _, _, err := ParseAMB(mustHex(t, "0B"), false); !errors.Is(err, ErrSync) {
		t.Errorf("no start: %v", err)
	}
	if got := AMBRSSI(0x10); got != -66 {
		t.Errorf("AMBRSSI(0x10) = %d", got)
	}
	if got := IM871ARSSI(45); got != -100 {
		t.Errorf("IM871ARSSI(45) = %d", got)
	}
	if got := IM871ARSSI(255); got != 0 {
		t.Errorf("IM871ARSSI(255) = %d", got)
	}
}

// goldenFrame is one parsed frame in testdata/frames.golden.json.
type goldenFrame struct {
	Kind    string `json:"kind"`
	Input   string `json:"input"`
	Len     int    `json:"len,omitempty"`
	Err     string `json:"err,omitempty"`
	Control uint8  `json:"control,omitempty"`
	EP      uint8  `json:"endpoint,omitempty"`
	Cmd     uint8  `json:"msg_or_cmd"`
	Payload string `json:"payload,omitempty"`
	RSSI    uint8  `json:"rssi,omitempty"`
	TS      uint32 `json:"timestamp,omitempty"`
}

// TestGolden parses every input of testdata/frames.txt (kind and hex per
// line) and compares with testdata/frames.golden.json; -update rewrites it.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "frames.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got []goldenFrame
	for _, line := range bytes.Split(in, []byte("\n")) {
		fields := bytes.Fields(line)
		if len(fields) != 2 || fields[0][0] == '#' {
			continue
		}
		kind, h := string(fields[0]), string(fields[1])
		b := mustHex(t, h)
		g := goldenFrame{Kind: kind, Input: h}
		switch kind {
		case "hci":
			f, n, err := ParseHCI(b)
			g.Len, g.Control, g.EP, g.Cmd, g.RSSI, g.TS = n, f.Control, f.Endpoint, f.MsgID, f.RSSI, f.Timestamp
			g.Payload = hex.EncodeToString(f.Payload)
			if err != nil {
				g.Err = err.Error()
			}
		case "amb":
			f, n, err := ParseAMB(b, true)
			g.Len, g.Cmd, g.RSSI = n, f.Cmd, f.RSSI
			g.Payload = hex.EncodeToString(f.Payload)
			if err != nil {
				g.Err = err.Error()
			}
		default:
			t.Fatalf("unknown kind %q", kind)
		}
		got = append(got, g)
	}
	out, _ := json.MarshalIndent(got, "", "  ")
	out = append(out, '\n')
	path := filepath.Join("testdata", "frames.golden.json")
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
		t.Errorf("golden mismatch; run go test -run TestGolden -update and review the diff\n%s", out)
	}
}

func FuzzParseHCI(f *testing.F) {
	for _, v := range hciVectors {
		f.Add(mustHex(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := ParseHCI(b)
		if err != nil {
			return
		}
		if n > len(b) || n < 4 {
			t.Fatalf("n %d of %d", n, len(b))
		}
		enc, err := AppendHCI(nil, fr)
		if err != nil {
			t.Fatal(err)
		}
		if fr.Control&HCICRC != 0 && !bytes.Equal(enc, b[:n]) {
			t.Fatalf("round trip %X != %X", enc, b[:n])
		}
	})
}

func FuzzParseAMB(f *testing.F) {
	for _, v := range ambVectors {
		f.Add(mustHex(f, v.hex), v.rssi)
	}
	f.Fuzz(func(t *testing.T, b []byte, rssi bool) {
		fr, n, err := ParseAMB(b, rssi)
		if err != nil {
			return
		}
		enc, err := AppendAMB(nil, fr)
		if err != nil || !bytes.Equal(enc, b[:n]) {
			t.Fatalf("round trip %X != %X (%v)", enc, b[:n], err)
		}
	})
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"1e468b05", "T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x4944", "0x12 key", "#", ";;;;;;;"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dst, fr, err := ParseLine(nil, b)
		if err != nil {
			return
		}
		if fr.Data != nil && len(fr.Data) > len(dst) {
			t.Fatal("data beyond dst")
		}
	})
}
