package hdlc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type recFrame struct {
	Dir  string `json:"dir"`
	Hex  string `json:"hex"`
	What string `json:"what"`
}

type recSession struct {
	Name      string     `json:"name"`
	Transport string     `json:"transport"`
	Frames    []recFrame `json:"frames"`
}

// hdlcSessions returns the three HDLC sessions of the recorded Gurux
// captures (testdata/gurux-sessions.jsonl; see the dlms package's
// testdata/gurux-sessions.README.md).
func hdlcSessions(t testing.TB) []recSession {
	t.Helper()
	f, err := os.Open("testdata/gurux-sessions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []recSession
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s recSession
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Transport == "hdlc" {
			out = append(out, s)
		}
	}
	if len(out) != 3 {
		t.Fatalf("%d HDLC sessions, want 3", len(out))
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func short(name string) string {
	return strings.TrimPrefix(name, "gurux-c-server_gurux-python-client_")
}

// TestSessionFrames: all 508 recorded frames parse (HCS, FCS, addresses,
// control) and re-encode byte for byte; UA parameters parse and re-encode.
func TestSessionFrames(t *testing.T) {
	n := 0
	for _, s := range hdlcSessions(t) {
		for i, fr := range s.Frames {
			raw := mustHex(t, fr.Hex)
			f, err := Parse(raw)
			if err != nil {
				t.Fatalf("%s frame %d (%s): %v", short(s.Name), i, fr.What, err)
			}
			if got := f.Append(nil); !bytes.Equal(got, raw) {
				t.Fatalf("%s frame %d: re-encoded\n% X\nwant\n% X", short(s.Name), i, got, raw)
			}
			if f.Len() != len(raw) {
				t.Fatalf("Len %d, want %d", f.Len(), len(raw))
			}
			client, server := f.Src, f.Dest
			if fr.Dir == "s2c" {
				client, server = server, client
			}
			if client.Size != 1 || server != (Address{Upper: 1, Size: 1}) {
				t.Fatalf("%s frame %d: client %v server %v", short(s.Name), i, client, server)
			}
			kind := f.Control.Kind()
			if !strings.HasPrefix(fr.What, kind.String()) && kind != KindI {
				t.Fatalf("%s frame %d: kind %v, recorded %q", short(s.Name), i, kind, fr.What)
			}
			if kind == KindUA {
				p, err := ParseParams(f.Info)
				if err != nil {
					t.Fatal(err)
				}
				if p != (Params{128, 128, 1, 1}) {
					t.Fatalf("UA params %+v", p)
				}
				if got := p.Append(nil); !bytes.Equal(got, f.Info) {
					t.Fatalf("UA params re-encoded % X, want % X", got, f.Info)
				}
			}
			n++
		}
	}
	if n != 508 {
		t.Fatalf("%d frames, want 508", n)
	}
}

// TestSessionClientReplay drives a client Link through each recorded
// session: every frame the Gurux client sent (SNRM, I frames, RR, DISC)
// must come out of our Link byte for byte, given the APDUs it sent and
// the server frames it received.
func TestSessionClientReplay(t *testing.T) {
	for _, s := range hdlcSessions(t) {
		t.Run(short(s.Name), func(t *testing.T) {
			var l *Link
			var want [][]byte // frames our link produced, not yet matched
			for i, fr := range s.Frames {
				raw := mustHex(t, fr.Hex)
				f, err := Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if fr.Dir == "c2s" {
					switch f.Control.Kind() {
					case KindSNRM:
						l, err = NewLink(LinkConfig{Role: RoleClient, Client: f.Src, Server: f.Dest})
						if err != nil {
							t.Fatal(err)
						}
						if len(want) != 0 {
							t.Fatalf("frame %d: %d frames not sent", i, len(want))
						}
						out, err := l.Connect()
						if err != nil {
							t.Fatal(err)
						}
						want = append(want, out)
					case KindDISC:
						out, err := l.Disconnect()
						if err != nil {
							t.Fatal(err)
						}
						want = append(want, out)
					case KindI:
						if len(want) == 0 {
							apdu, err := StripLLC(f.Info, false)
							if err != nil {
								t.Fatal(err)
							}
							out, err := l.Send(apdu)
							if err != nil {
								t.Fatalf("frame %d: %v", i, err)
							}
							want = append(want, out...)
						}
					}
					if len(want) == 0 {
						t.Fatalf("frame %d (%s): our link sends nothing", i, fr.What)
					}
					if !bytes.Equal(want[0], raw) {
						t.Fatalf("frame %d (%s): our link sends\n% X\nrecorded\n% X", i, fr.What, want[0], raw)
					}
					want = want[1:]
					continue
				}
				out, err := l.Receive(f)
				if err != nil {
					t.Fatalf("frame %d (%s): %v", i, fr.What, err)
				}
				want = append(want, out.Frames...)
				switch f.Control.Kind() {
				case KindUA:
					if out.Event != EventConnected && out.Event != EventDisconnected {
						t.Fatalf("frame %d: event %v", i, out.Event)
					}
				case KindI:
					if f.Segmented == (out.APDU != nil) {
						t.Fatalf("frame %d: segmented %v, APDU %d bytes", i, f.Segmented, len(out.APDU))
					}
				}
			}
			if len(want) != 0 || l.Connected() {
				t.Fatalf("%d frames left, connected %v", len(want), l.Connected())
			}
		})
	}
}

// TestSessionServer feeds the recorded client frames to a server Link:
// it answers SNRM with the recorded UA and returns the recorded APDUs.
func TestSessionServer(t *testing.T) {
	s := hdlcSessions(t)[0]
	l, err := NewLink(LinkConfig{Role: RoleServer, Server: Address{Upper: 1, Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	raw0 := mustHex(t, s.Frames[0].Hex)
	f, _ := Parse(raw0)
	out, err := l.Receive(f)
	if err != nil || out.Event != EventConnected || len(out.Frames) != 1 {
		t.Fatalf("SNRM: %+v %v", out, err)
	}
	if want := mustHex(t, s.Frames[1].Hex); !bytes.Equal(out.Frames[0], want) {
		t.Fatalf("UA\n% X\nwant\n% X", out.Frames[0], want)
	}
	// The AARQ.
	f, _ = Parse(mustHex(t, s.Frames[2].Hex))
	out, err = l.Receive(f)
	if err != nil || out.APDU == nil || out.APDU[0] != 0x60 {
		t.Fatalf("AARQ: %+v %v", out, err)
	}
	// Our answer acknowledges the request: N(R)=1, N(S)=0, F.
	frames, err := l.Send([]byte{0x61, 0x00})
	if err != nil || len(frames) != 1 {
		t.Fatal(frames, err)
	}
	g, err := Parse(frames[0])
	if err != nil || g.Control != IControl(0, 1, true) || !bytes.HasPrefix(g.Info, LLCResponse) {
		t.Fatalf("%v %v", g, err)
	}
}

// TestScannerSessionStream joins every recorded frame of a session into
// one stream with garbage, a corrupted frame and idle flags, and checks
// the scanner finds every good frame and reports the bad bytes.
func TestScannerSessionStream(t *testing.T) {
	s := hdlcSessions(t)[2]
	var stream []byte
	var frames [][]byte
	for i, fr := range s.Frames {
		raw := mustHex(t, fr.Hex)
		frames = append(frames, raw)
		switch i % 5 {
		case 1:
			stream = append(stream, 0x00, 0x13, 0xA0) // garbage
		case 2:
			stream = append(stream, Flag, Flag) // idle flags
		}
		if i%3 == 0 && len(stream) > 0 && stream[len(stream)-1] == Flag {
			raw = raw[1:] // shared flag
		}
		stream = append(stream, raw...)
	}
	bad := mustHex(t, s.Frames[4].Hex)
	bad[len(bad)-3] ^= 0x55
	badAt := len(stream)
	stream = append(stream, bad...)
	var sc Scanner
	var got [][]byte
	var errs []*ScanError
	// Feed in uneven pieces.
	for off := 0; off < len(stream); {
		n := min(1+off%37, len(stream)-off)
		sc.Write(stream[off : off+n])
		off += n
		for range 1000 {
			f, ok, err := sc.Next()
			if err != nil {
				var se *ScanError
				if !errors.As(err, &se) {
					t.Fatal(err)
				}
				errs = append(errs, se)
				continue
			}
			if !ok {
				break
			}
			got = append(got, f.Append(nil))
		}
	}
	if len(got) != len(frames) {
		t.Fatalf("%d frames, want %d", len(got), len(frames))
	}
	for i := range got {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
	last := errs[len(errs)-1]
	if !errors.Is(last, ErrFCS) || last.Offset != int64(badAt) {
		t.Fatalf("last error %v at %d, want FCS at %d", last, last.Offset, badAt)
	}
	garbage := 0
	for _, e := range errs {
		if errors.Is(e, ErrGarbage) {
			garbage++
		}
	}
	if garbage == 0 {
		t.Fatal("no garbage reported")
	}
}
