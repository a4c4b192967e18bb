package dlms_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// TestSessionsClientEncoding builds every request the recorded Gurux
// client sent from values (not from the recorded bytes) and checks it
// byte for byte: the AARQ of each authentication level with conformance
// 401E5D and max PDU FFFF, GET normal and next, selective access by entry
// and by range, ACTION with parameters, the HLS-GMAC reply f(StoC), RLRQ,
// and the ciphered forms with the recorded invocation counters. Only what
// the client could not know is taken from the recording: the challenge
// CtoS, its invocation counters, and the clock values of the range read.
func TestSessionsClientEncoding(t *testing.T) {
	var (
		clock   = dlms.AttributeDescriptor{Class: 8, Instance: meter.OBIS{0, 0, 1, 0, 0, 255}, Attribute: 2}
		assoc   = dlms.AttributeDescriptor{Class: 15, Instance: meter.OBIS{0, 0, 40, 0, 0, 255}, Attribute: 2}
		ic      = dlms.AttributeDescriptor{Class: 1, Instance: meter.OBIS{0, 0, 43, 1, 0, 255}, Attribute: 2}
		profile = meter.OBIS{1, 0, 99, 1, 0, 255}
		prof    = func(attr int8) dlms.AttributeDescriptor {
			return dlms.AttributeDescriptor{Class: 7, Instance: profile, Attribute: attr}
		}
		get = func(a dlms.AttributeDescriptor, acc *dlms.SelectiveAccess) []byte {
			return dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: a, Access: acc}.Append(nil)
		}
		initiate = dlms.InitiateRequest{DLMSVersion: 6, Conformance: 0x401E5D, MaxPDU: 0xFFFF}.Append(nil)
		rlrq     = dlms.RLRQ{HasReason: true, Reason: dlms.ReleaseNormal}.Append(nil)
	)
	for _, s := range loadSessions(t) {
		t.Run(strings.TrimPrefix(s.Name, "gurux-c-server_gurux-python-client_"), func(t *testing.T) {
			k := sessionKeys(t, s)
			var script []step
			plainAARQ := func(_ []byte) []byte {
				return dlms.AARQ{ApplicationContext: dlms.ContextLN, UserInfo: initiate}.Append(nil)
			}
			reads := []step{
				func([]byte) []byte { return get(clock, nil) },
				func([]byte) []byte { return get(assoc, nil) },
				func([]byte) []byte { return get(prof(3), nil) },
				func([]byte) []byte { return get(prof(4), nil) },
				func([]byte) []byte { return get(prof(7), nil) },
				func([]byte) []byte { return get(prof(8), nil) },
			}
			var entries uint32 // entries_in_use, as last read
			byEntry := func([]byte) []byte {
				return get(prof(2), dlms.EntryDescriptor{FromEntry: 1, ToEntry: entries, FromColumn: 1}.Access())
			}
			byRange := func(rec []byte) []byte {
				a, _ := dlms.ParseAPDU(rec)
				r, err := dlms.ParseRangeDescriptor(a.(dlms.GetRequest).Access.Params)
				if err != nil {
					t.Fatal(err)
				}
				return get(prof(2), dlms.RangeDescriptor{
					Restricting: dlms.CaptureObject{Class: 8, Instance: clock.Instance, Attribute: 2},
					From:        r.From, To: r.To,
				}.Access())
			}
			capture := func([]byte) []byte {
				return dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, HasParams: true, Params: dlms.Int8(0),
					Method: dlms.MethodDescriptor{Class: 7, Instance: profile, Method: 2}}.Append(nil)
			}
			get7 := func([]byte) []byte { return get(prof(7), nil) }
			switch s.Auth {
			case "none":
				script = append(script, plainAARQ)
			case "low":
				script = append(script, func([]byte) []byte {
					return dlms.AARQ{ApplicationContext: dlms.ContextLN, ACSERequirements: true,
						Mechanism: dlms.Mechanism(dlms.MechanismLow), AuthValue: []byte("Gurux"), UserInfo: initiate}.Append(nil)
				})
			case "high-gmac":
				var stoc []byte
				script = append(script, plainAARQ, func([]byte) []byte { return get(ic, nil) })
				if s.Transport == "wrapper" {
					script = append(script, func([]byte) []byte { return rlrq })
				}
				script = append(script, func(rec []byte) []byte {
					a, _ := dlms.ParseAPDU(rec)
					recAARQ := a.(dlms.AARQ)
					recInit, _ := dlms.ParseAPDU(recAARQ.UserInfo)
					c, err := k.suite.Encrypt(dlms.TagGloInitiateRequest, dlms.SCAuthEnc, k.client, recInit.(dlms.Ciphered).IC, initiate)
					if err != nil {
						t.Fatal(err)
					}
					return dlms.AARQ{ApplicationContext: dlms.ContextLNCiphered, CallingAPTitle: k.client, ACSERequirements: true,
						Mechanism: dlms.Mechanism(dlms.MechanismGMAC), AuthValue: recAARQ.AuthValue, UserInfo: c.Append(nil)}.Append(nil)
				}, func(rec []byte) []byte {
					// reply_to_HLS_authentication with f(StoC), StoC from the AARE.
					a, _ := dlms.ParseAPDU(rec)
					if stoc == nil {
						t.Fatal("no StoC")
					}
					cip := a.(dlms.Ciphered)
					// The Gurux client spends one invocation counter on
					// f(StoC) and the next on the APDU that carries it.
					reply, err := k.suite.HLSReply(k.client, cip.IC-1, stoc)
					if err != nil {
						t.Fatal(err)
					}
					act := dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, HasParams: true, Params: dlms.OctetString(reply),
						Method: dlms.MethodDescriptor{Class: 15, Instance: assoc.Instance, Method: 1}}.Append(nil)
					c, err := k.suite.Encrypt(dlms.TagGloActionRequest, dlms.SCAuthEnc, k.client, cip.IC, act)
					if err != nil {
						t.Fatal(err)
					}
					return c.Append(nil)
				})
				// Everything after the HLS reply goes as general-glo-ciphering.
				wrap := func(f step) step {
					return func(rec []byte) []byte {
						a, _ := dlms.ParseAPDU(rec)
						cip, ok := a.(dlms.Ciphered)
						if !ok {
							return f(rec)
						}
						plainRec, err := k.suite.Decrypt(cip, nil)
						if err != nil {
							t.Fatal(err)
						}
						c, err := k.suite.Encrypt(dlms.TagGeneralGloCiphering, dlms.SCAuthEnc, k.client, cip.IC, f(plainRec))
						if err != nil {
							t.Fatal(err)
						}
						return c.Append(nil)
					}
				}
				var rest []step
				rest = append(rest, reads...)
				rest = append(rest, capture, capture, get7, byEntry, byRange)
				for _, f := range rest {
					script = append(script, wrap(f))
				}
				script = append(script, func([]byte) []byte { return rlrq })
				// Watch the AAREs for StoC.
				setStoC := func(a dlms.APDU) {
					if aare, ok := a.(dlms.AARE); ok && aare.AuthValue != nil {
						stoc = aare.AuthValue
					}
				}
				checkScript(t, s, k, script, setStoC, &entries)
				return
			}
			script = append(script, reads...)
			script = append(script, get7, byEntry, byRange)
			if s.Transport == "wrapper" {
				script = append(script, func([]byte) []byte { return rlrq })
			}
			checkScript(t, s, k, script, nil, &entries)
		})
	}
}

// step returns the APDU the client sends next; rec is the recorded one,
// for what only the run knows.
type step = func(rec []byte) []byte

// checkScript walks the session: each c2s APDU must equal the next step's
// output, except a GET-Request-Next after an unfinished block transfer,
// which must name the last block received.
func checkScript(t *testing.T, s recSession, k *keys, script []step, onS2C func(dlms.APDU), entries *uint32) {
	t.Helper()
	var pendingBlock uint32
	n := 0
	for _, ra := range sessionAPDUs(t, s) {
		a, _ := dlms.ParseAPDU(ra.apdu)
		plain := a
		if c, ok := a.(dlms.Ciphered); ok {
			sender := k.client
			if ra.dir == "s2c" {
				sender = k.server
			}
			p, err := k.suite.Decrypt(c, sender)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ = dlms.ParseAPDU(p)
		}
		if ra.dir == "s2c" {
			if onS2C != nil {
				onS2C(a)
			}
			if g, ok := plain.(dlms.GetResponse); ok {
				pendingBlock = 0
				if g.Kind == dlms.GetResponseWithDatablock && !g.Block.Last {
					pendingBlock = g.Block.Number
				}
				if v, ok := g.Result.Data.Uint(); ok && g.Kind == dlms.KindNormal && g.Result.Data.Tag() == dlms.TagUint32 {
					*entries = uint32(v)
				}
			}
			continue
		}
		var want []byte
		if pendingBlock != 0 {
			next := dlms.GetRequest{Kind: dlms.KindNext, InvokeID: 0xC1, Block: pendingBlock}.Append(nil)
			want = next
			if c, ok := a.(dlms.Ciphered); ok {
				enc, err := k.suite.Encrypt(c.Tag, c.SC, k.client, c.IC, next)
				if err != nil {
					t.Fatal(err)
				}
				want = enc.Append(nil)
			}
		} else {
			if n >= len(script) {
				t.Fatalf("frame %d (%s): beyond the script", ra.frame, ra.what)
			}
			want = script[n](ra.apdu)
			n++
		}
		if !bytes.Equal(want, ra.apdu) {
			t.Fatalf("frame %d (%s):\nbuilt    % X\nrecorded % X", ra.frame, ra.what, want, ra.apdu)
		}
	}
	if n != len(script) {
		t.Fatalf("%d of %d steps used", n, len(script))
	}
}
