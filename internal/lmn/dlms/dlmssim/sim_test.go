package dlmssim

import (
	"testing"
	"time"

	"github.com/smgw/smgw/internal/proto/dlms"
)

func aarqNone() []byte {
	init := dlms.InitiateRequest{DLMSVersion: 6, Conformance: dlms.ConfGet | dlms.ConfSelectiveAccess | dlms.ConfBlockTransferWithGet, MaxPDU: 256}
	return dlms.AARQ{ApplicationContext: dlms.ContextLN, UserInfo: init.Append(nil)}.Append(nil)
}

// TestHandleBlocksAndEntries drives the APDU layer directly: an
// association, a profile read by entry that needs block transfer, and
// the blocks joined give the exact values.
func TestHandleBlocksAndEntries(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)
	m, err := New(&Options{Now: func() time.Time { return now }, Since: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := dlms.ParseAPDU(m.Handle(aarqNone()))
	if aare, ok := a.(dlms.AARE); !ok || aare.Result != dlms.AssociationAccepted {
		t.Fatalf("AARE %v", a)
	}
	ed := dlms.EntryDescriptor{FromEntry: 2, ToEntry: 11, FromColumn: 1, ToColumn: 2}
	req := dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: dlms.AttributeDescriptor{Class: 7, Instance: OBISProfile1, Attribute: 2}, Access: ed.Access()}
	var raw []byte
	blocks := 0
	for i := 0; i < 100; i++ {
		a, err := dlms.ParseAPDU(m.Handle(req.Append(nil)))
		if err != nil {
			t.Fatal(err)
		}
		g := a.(dlms.GetResponse)
		if g.Kind == dlms.KindNormal {
			raw = g.Result.Data.Append(nil)
			break
		}
		blocks++
		raw = append(raw, g.Block.Raw...)
		if g.Block.Last {
			break
		}
		req = dlms.GetRequest{Kind: dlms.KindNext, InvokeID: 0xC1, Block: g.Block.Number}
	}
	d, err := dlms.ParseData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 {
		t.Fatalf("%d rows", d.Len())
	}
	// Entry 2 is the second quarter of the buffer.
	first := now.Add(-24 * time.Hour).Truncate(15 * time.Minute).Add(15 * time.Minute)
	row := d.Items()[0].Items()
	dt, _ := row[0].DateTime()
	tm, _ := dt.Time()
	v, _ := row[1].Uint()
	if !tm.Equal(first) || int64(v) != ImportWh(first) || len(row) != 2 {
		t.Fatalf("row 1: %v %v (%d columns), want %v %v", tm, v, len(row), first, ImportWh(first))
	}
	if !d.Items()[1].Items()[0].IsNull() {
		t.Fatal("second row's time not compressed")
	}
	t.Logf("%d blocks", blocks)
}

func FuzzHandle(f *testing.F) {
	f.Add(aarqNone())
	f.Add(dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: dlms.AttributeDescriptor{Class: 7, Instance: OBISProfile1, Attribute: 2},
		Access: dlms.EntryDescriptor{FromEntry: 1, ToEntry: 3}.Access()}.Append(nil))
	f.Add(dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Method: dlms.MethodDescriptor{Class: 70, Instance: OBISDisconnect, Method: 1}, HasParams: true, Params: dlms.Int8(0)}.Append(nil))
	now := time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := New(&Options{Now: func() time.Time { return now }, Since: now.Add(-2 * time.Hour), Password: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		m.Handle(aarqNone())
		m.Handle(p)
	})
}
