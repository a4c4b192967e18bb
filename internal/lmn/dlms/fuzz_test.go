package dlms

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// replay is a Transport that answers every request with the next of its
// canned responses.
type replay struct{ resp [][]byte }

func (r *replay) Open(context.Context) error  { return nil }
func (r *replay) Close(context.Context) error { return nil }
func (r *replay) Exchange(context.Context, []byte) ([]byte, error) {
	if len(r.resp) == 0 {
		return nil, context.DeadlineExceeded
	}
	p := r.resp[0]
	r.resp = r.resp[1:]
	return p, nil
}

// FuzzResponses feeds a meter's answers (an AARE, then a response to a
// register read and to a profile read) from the fuzzer to the client and
// the profile decoding: errors, never a panic.
func FuzzResponses(f *testing.F) {
	now := time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)
	sim, _ := dlmssim.New(&dlmssim.Options{Now: func() time.Time { return now }, Since: now.Add(-2 * time.Hour)})
	init := dlms.InitiateRequest{DLMSVersion: 6, Conformance: clientConformance, MaxPDU: 0xFFFF}
	aare := sim.Handle(dlms.AARQ{ApplicationContext: dlms.ContextLN, UserInfo: init.Append(nil)}.Append(nil))
	get := func(a dlms.AttributeDescriptor, sa *dlms.SelectiveAccess) []byte {
		return sim.Handle(dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: invokeID, Attr: a, Access: sa}.Append(nil))
	}
	su := get(attr(3, dlmssim.OBISImport, 3), nil)
	val := get(attr(3, dlmssim.OBISImport, 2), nil)
	rows := get(attr(7, dlmssim.OBISProfile1, 2), dlms.EntryDescriptor{FromEntry: 1, ToEntry: 3}.Access())
	f.Add(aare, su, val, rows)
	f.Add(aare, []byte{0xD8, 1, 2}, val, []byte{0x0E, 5, 3, 2})
	f.Fuzz(func(t *testing.T, aare, su, val, rows []byte) {
		ctx := context.Background()
		c, err := NewClient(&replay{resp: [][]byte{aare, su, val}}, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Connect(ctx) == nil {
			ReadRegister(ctx, c, "f", Register{OBIS: dlmssim.OBISImport, Class: 3})
		}
		m := helper("f", dlmssim.OBISProfile1)
		m.cols = []column{{obj: dlms.CaptureObject{Class: 8, Instance: OBISClock, Attribute: 2}, time: true},
			{obj: dlms.CaptureObject{Class: 3, Instance: dlmssim.OBISImport, Attribute: 2}, keep: true}}
		m.per = 15 * time.Minute
		a, err := dlms.ParseAPDU(rows)
		if g, ok := a.(dlms.GetResponse); err == nil && ok && g.Result.IsData {
			rs, _, _, err := m.profileReadings(g.Result.Data.Items(), time.Time{})
			for _, r := range rs {
				if err == nil && r.Meter != meter.MeterID("f") {
					t.Fatal("foreign reading")
				}
			}
		}
	})
}
