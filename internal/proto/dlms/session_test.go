package dlms_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/proto/dlms"
	"github.com/smgw/smgw/internal/proto/hdlc"
	"github.com/smgw/smgw/internal/proto/wrapper"
)

// The recorded sessions between two third-party implementations (Gurux C
// server, Gurux Python client); see testdata/gurux-sessions.README.md.

type recFrame struct {
	Dir   string `json:"dir"`
	Hex   string `json:"hex"`
	What  string `json:"what"`
	Plain string `json:"plain"`
}

type recSession struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	Auth      string `json:"auth"`
	Security  *struct {
		SystemTitleClient string `json:"system_title_client"`
		SystemTitleServer string `json:"system_title_server"`
		AuthenticationKey string `json:"authentication_key"`
		BlockCipherKey    string `json:"block_cipher_key"`
	} `json:"security"`
	Frames []recFrame `json:"frames"`
}

func loadSessions(t testing.TB) []recSession {
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
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 6 {
		t.Fatalf("%d sessions, want 6", len(out))
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recAPDU is one whole APDU of a session, with the frame it started in.
type recAPDU struct {
	dir   string
	what  string
	plain []byte
	apdu  []byte
	frame int
}

// sessionAPDUs unwraps (wrapper) or reassembles (HDLC I frames) the
// session's APDUs in order.
func sessionAPDUs(t testing.TB, s recSession) []recAPDU {
	t.Helper()
	var out []recAPDU
	partial := map[string]*recAPDU{}
	for i, fr := range s.Frames {
		raw := unhex(t, fr.Hex)
		var plain []byte
		if fr.Plain != "" {
			plain = unhex(t, fr.Plain)
		}
		if s.Transport == "wrapper" {
			_, apdu, err := wrapper.Parse(raw)
			if err != nil {
				t.Fatalf("%s frame %d: %v", s.Name, i, err)
			}
			out = append(out, recAPDU{fr.Dir, fr.What, plain, apdu, i})
			continue
		}
		f, err := hdlc.Parse(raw)
		if err != nil {
			t.Fatalf("%s frame %d: %v", s.Name, i, err)
		}
		if f.Control.Kind() != hdlc.KindI {
			continue
		}
		p := partial[fr.Dir]
		if p == nil {
			info, err := hdlc.StripLLC(f.Info, fr.Dir == "s2c")
			if err != nil {
				t.Fatalf("%s frame %d: %v", s.Name, i, err)
			}
			p = &recAPDU{dir: fr.Dir, what: fr.What, plain: plain, frame: i, apdu: append([]byte(nil), info...)}
		} else {
			p.apdu = append(p.apdu, f.Info...)
		}
		if f.Segmented {
			partial[fr.Dir] = p
			continue
		}
		delete(partial, fr.Dir)
		out = append(out, *p)
	}
	return out
}

type keys struct {
	suite          *dlms.Suite0
	client, server []byte
	ek, ak         []byte
}

func sessionKeys(t testing.TB, s recSession) *keys {
	if s.Security == nil {
		return nil
	}
	k := &keys{
		client: unhex(t, s.Security.SystemTitleClient),
		server: unhex(t, s.Security.SystemTitleServer),
		ek:     unhex(t, s.Security.BlockCipherKey),
		ak:     unhex(t, s.Security.AuthenticationKey),
	}
	var err error
	if k.suite, err = dlms.NewSuite0(k.ek, k.ak); err != nil {
		t.Fatal(err)
	}
	return k
}

// parseExact parses an APDU and checks that it re-encodes to the same
// bytes. The Gurux server appends 18 bytes to its clock responses: those
// parse with ErrTrailing and the APDU without them must re-encode exactly.
func parseExact(t *testing.T, where string, p []byte) dlms.APDU {
	t.Helper()
	a, err := dlms.ParseAPDU(p)
	if err != nil && !errors.Is(err, dlms.ErrTrailing) {
		t.Fatalf("%s: %v\n% X", where, err, p)
	}
	enc := a.Append(nil)
	if err != nil {
		if !bytes.HasPrefix(p, enc) {
			t.Fatalf("%s: re-encoded\n% X\nis no prefix of\n% X", where, enc, p)
		}
		g, ok := a.(dlms.GetResponse)
		if !ok || !g.Result.IsData || g.Result.Data.Tag() != dlms.TagOctetString || len(p)-len(enc) != 18 {
			t.Fatalf("%s: unexpected trailing bytes: %v", where, err)
		}
		return a
	}
	if !bytes.Equal(enc, p) {
		t.Fatalf("%s: re-encoded\n% X\nwant\n% X", where, enc, p)
	}
	return a
}

// TestSessionsAPDUs: every APDU of all six sessions parses and re-encodes
// byte for byte; ciphered ones decrypt to the recorded plaintext and
// encrypt back to the recorded bytes; HLS-GMAC replies verify; invocation
// counters pass the replay check; every block transfer's joined raw data
// is one Data that round-trips.
func TestSessionsAPDUs(t *testing.T) {
	for _, s := range loadSessions(t) {
		t.Run(strings.TrimPrefix(s.Name, "gurux-c-server_gurux-python-client_"), func(t *testing.T) {
			k := sessionKeys(t, s)
			var ctos, stoc []byte
			counters := map[string]*dlms.FrameCounter{"c2s": {}, "s2c": {}}
			blocks := map[string][]byte{}
			var lastBlock uint32
			ciphered, plainChecked, hls := 0, 0, 0
			apdus := sessionAPDUs(t, s)
			for _, ra := range apdus {
				where := s.Name + " frame " + itoa(ra.frame) + " " + ra.what
				a := parseExact(t, where, ra.apdu)
				inner := a
				var sender []byte
				if k != nil {
					sender = k.client
					if ra.dir == "s2c" {
						sender = k.server
					}
				}
				// Ciphered xDLMS APDUs: decrypt, compare, encrypt back.
				decipher := func(c dlms.Ciphered, wantPlain []byte) dlms.APDU {
					t.Helper()
					if k == nil {
						t.Fatalf("%s: ciphered APDU in a session without keys", where)
					}
					ciphered++
					plain, err := k.suite.Decrypt(c, sender)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if !bytes.Equal(plain, wantPlain) {
						t.Fatalf("%s: plaintext\n% X\nrecorded\n% X", where, plain, wantPlain)
					}
					plainChecked++
					again, err := k.suite.Encrypt(c.Tag, c.SC, sender, c.IC, plain)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(again.Append(nil), c.Append(nil)) {
						t.Fatalf("%s: re-encrypted differs", where)
					}
					if err := counters[ra.dir].Accept(c.IC); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if c.IsGeneral() && !bytes.Equal(c.SystemTitle, sender) {
						t.Fatalf("%s: system title %X", where, c.SystemTitle)
					}
					return parseExact(t, where+" (deciphered)", plain)
				}
				switch v := a.(type) {
				case dlms.Ciphered:
					inner = decipher(v, ra.plain)
				case dlms.AARQ:
					if bytes.Equal(v.ApplicationContext, dlms.ContextLNCiphered) {
						ctos = v.AuthValue
						if lvl, _ := dlms.MechanismLevel(v.Mechanism); lvl != dlms.MechanismGMAC || !bytes.Equal(v.CallingAPTitle, k.client) {
							t.Fatalf("%s: mechanism %X title %X", where, v.Mechanism, v.CallingAPTitle)
						}
						c := parseExact(t, where+" user-information", v.UserInfo).(dlms.Ciphered)
						inner = decipher(c, ra.plain)
						counters["c2s"] = &dlms.FrameCounter{} // the association starts the counters
						_ = counters["c2s"].Accept(c.IC)
					} else {
						inner = parseExact(t, where+" user-information", v.UserInfo)
					}
					if _, ok := inner.(dlms.InitiateRequest); !ok {
						t.Fatalf("%s: user-information is %T", where, inner)
					}
					if strings.Contains(ra.what, "LLS") && string(v.AuthValue) != "Gurux" {
						t.Fatalf("%s: password %q", where, v.AuthValue)
					}
				case dlms.AARE:
					if v.Result != dlms.AssociationAccepted {
						t.Fatalf("%s: result %d", where, v.Result)
					}
					if bytes.Equal(v.ApplicationContext, dlms.ContextLNCiphered) {
						stoc = v.AuthValue
						if v.Diagnostic != dlms.DiagAuthenticationRequired {
							t.Fatalf("%s: diagnostic %d", where, v.Diagnostic)
						}
						c := parseExact(t, where+" user-information", v.UserInfo).(dlms.Ciphered)
						counters["s2c"] = &dlms.FrameCounter{}
						inner = decipher(c, ra.plain)
					} else {
						inner = parseExact(t, where+" user-information", v.UserInfo)
					}
					if ir, ok := inner.(dlms.InitiateResponse); !ok || ir.VAAName != dlms.VAANameLN {
						t.Fatalf("%s: user-information is %T %+v", where, inner, inner)
					}
				}
				switch v := inner.(type) {
				case dlms.ActionRequest:
					if v.Method.Method == 1 && v.Method.Class == 15 {
						reply := v.Params.Bytes()
						ic, err := k.suite.VerifyHLSReply(k.client, stoc, reply)
						if err != nil {
							t.Fatalf("%s: f(StoC): %v", where, err)
						}
						again, _ := k.suite.HLSReply(k.client, ic, stoc)
						if !bytes.Equal(again, reply) {
							t.Fatalf("%s: f(StoC) recomputed differs", where)
						}
						hls++
					}
				case dlms.ActionResponse:
					if v.Outcome.HasReturn {
						reply := v.Outcome.Return.Data.Bytes()
						if _, err := k.suite.VerifyHLSReply(k.server, ctos, reply); err != nil {
							t.Fatalf("%s: f(CtoS): %v", where, err)
						}
						bad := append([]byte(nil), reply...)
						bad[len(bad)-1] ^= 1
						if _, err := k.suite.VerifyHLSReply(k.server, ctos, bad); !errors.Is(err, dlms.ErrAuth) {
							t.Fatalf("%s: a wrong f(CtoS) verified: %v", where, err)
						}
						hls++
					}
				case dlms.GetResponse:
					if v.Kind == dlms.GetResponseWithDatablock {
						if !v.Block.IsRaw {
							t.Fatalf("%s: block result %v", where, v.Block.Result)
						}
						if v.Block.Number != lastBlock+1 {
							t.Fatalf("%s: block %d after %d", where, v.Block.Number, lastBlock)
						}
						lastBlock = v.Block.Number
						blocks[s.Name] = append(blocks[s.Name], v.Block.Raw...)
						if v.Block.Last {
							d, err := dlms.ParseData(blocks[s.Name])
							if err != nil {
								t.Fatalf("%s: joined blocks: %v", where, err)
							}
							if !bytes.Equal(d.Append(nil), blocks[s.Name]) {
								t.Fatalf("%s: joined blocks do not re-encode", where)
							}
							if d.Tag() != dlms.TagArray || d.Len() == 0 {
								t.Fatalf("%s: joined blocks are %v", where, d.Tag())
							}
							blocks[s.Name], lastBlock = nil, 0
						}
					}
				}
			}
			if k != nil {
				// 1 AARQ + 1 AARE + 29 c2s + 29 s2c general/glo APDUs per gmac session.
				if ciphered != 60 || plainChecked != ciphered || hls != 2 {
					t.Errorf("ciphered %d, plaintexts checked %d, HLS replies %d; want 60, 60, 2", ciphered, plainChecked, hls)
				}
			}
			t.Logf("%d APDUs", len(apdus))
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
