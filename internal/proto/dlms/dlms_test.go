package dlms_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDataEncoding: every Data type against hand-checked A-XDR bytes, in
// both directions.
func TestDataEncoding(t *testing.T) {
	cdesc := dlms.TypeDesc{Tag: dlms.TagStructure, Elem: []dlms.TypeDesc{{Tag: dlms.TagDateTime}, {Tag: dlms.TagUint16}}}
	dt := dlms.DateTime{Year: 2026, Month: 11, Day: 22, Weekday: 7, Hour: 2, Minute: 42, Second: 59, Deviation: -60, ClockStatus: 0x80}
	ca, err := dlms.CompactArray(cdesc,
		dlms.Structure(dt.Typed(), dlms.Uint16(58)),
		dlms.Structure(dt.Typed(), dlms.Uint16(60)))
	if err != nil {
		t.Fatal(err)
	}
	arrDesc := dlms.TypeDesc{Tag: dlms.TagArray, Len: 2, Elem: []dlms.TypeDesc{{Tag: dlms.TagInt8}}}
	ca2, err := dlms.CompactArray(arrDesc, dlms.Array(dlms.Int8(-1), dlms.Int8(2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d    dlms.Data
		want string
		str  string
	}{
		{dlms.Null(), "00", "null"},
		{dlms.Bool(true), "0301", "true"},
		{dlms.BitString([]byte{0xFF, 0xFF}, 11), "040bffe0", "bits:11:ffe0"},
		{dlms.Int32(-2), "05fffffffe", "-2"},
		{dlms.Uint32(0x01020304), "0601020304", "16909060"},
		{dlms.OctetString([]byte{0, 0, 1, 0, 0, 0xFF}), "09060000010000ff", "0x0000010000ff"},
		{dlms.VisibleString("Gurux"), "0a054775727578", `"Gurux"`},
		{dlms.UTF8String("€"), "0c03e282ac", `"€"`},
		{dlms.BCD(0x42), "0d42", "bcd:42"},
		{dlms.Int8(-128), "0f80", "-128"},
		{dlms.Int16(-300), "10fed4", "-300"},
		{dlms.Uint8(255), "11ff", "255"},
		{dlms.Uint16(8), "120008", "8"},
		{dlms.Int64(math.MinInt64), "148000000000000000", "-9223372036854775808"},
		{dlms.Uint64(math.MaxUint64), "15ffffffffffffffff", "18446744073709551615"},
		{dlms.Enum(30), "161e", "enum:30"},
		{dlms.Float32(1), "173f800000", "1"},
		{dlms.Float64(-0.5), "18bfe0000000000000", "-0.5"},
		{dt.Typed(), "1907ea0b1607022a3b00ffc480", "2026-11-22 02:42:59.00 dev=-60 st=0x80"},
		{dt.Octets(), "090c07ea0b1607022a3b00ffc480", "2026-11-22 02:42:59.00 dev=-60 st=0x80"},
		{dlms.Date{Year: 0xFFFF, Month: 12, Day: 0xFE, Weekday: 0xFF}.Typed(), "1affff0cfeff", "date:ffff0cfeff"},
		{dlms.TimeOfDay{Hour: 23, Minute: 59, Second: 0, Hundredths: 0xFF}.Typed(), "1b173b00ff", "time:173b00ff"},
		{dlms.Structure(dlms.Uint16(8), dlms.OctetString([]byte{0, 0, 1, 0, 0, 0xFF}), dlms.Int8(2), dlms.Uint16(0)),
			"020412000809060000010000ff0f02120000", "{8, 0x0000010000ff, 2, 0}"},
		{dlms.Array(), "0100", "[]"},
		{ca, "1302021912" + "1c" + "07ea0b1607022a3b00ffc480003a" + "07ea0b1607022a3b00ffc480003c",
			"compact{date-time,long-unsigned}[{2026-11-22 02:42:59.00 dev=-60 st=0x80, 58}, {2026-11-22 02:42:59.00 dev=-60 st=0x80, 60}]"},
		{ca2, "1301" + "0002" + "0f" + "02" + "ff02", "compact[2]integer[[-1, 2]]"},
	} {
		got := c.d.Append(nil)
		if hex.EncodeToString(got) != c.want {
			t.Errorf("%v: % X, want %s", c.d, got, c.want)
			continue
		}
		back, err := dlms.ParseData(got)
		if err != nil || !back.Equal(c.d) {
			t.Errorf("%s: parsed %v %v", c.want, back, err)
		}
		if back.String() != c.str {
			t.Errorf("%s: String %q, want %q", c.want, back.String(), c.str)
		}
	}
	// A long array uses the long length form.
	items := make([]dlms.Data, 300)
	for i := range items {
		items[i] = dlms.Null()
	}
	if b := dlms.Array(items...).Append(nil); !bytes.HasPrefix(b, []byte{0x01, 0x82, 0x01, 0x2C, 0x00}) {
		t.Fatalf("% X", b[:6])
	}
}

func TestDataAccessors(t *testing.T) {
	if v, ok := dlms.Int16(-3).Int(); !ok || v != -3 {
		t.Fatal(v, ok)
	}
	if _, ok := dlms.Int16(-3).Uint(); ok {
		t.Fatal("negative as unsigned")
	}
	if v, ok := dlms.Uint64(math.MaxUint64).Uint(); !ok || v != math.MaxUint64 {
		t.Fatal(v)
	}
	if _, ok := dlms.Uint64(math.MaxUint64).Int(); ok {
		t.Fatal("MaxUint64 as int64")
	}
	if f, ok := dlms.Float32(0.25).Float(); !ok || f != 0.25 {
		t.Fatal(f)
	}
	if s, ok := dlms.VisibleString("x").Text(); !ok || s != "x" {
		t.Fatal(s)
	}
	if b, ok := dlms.Bool(false).Bool(); !ok || b {
		t.Fatal(b)
	}
	if _, ok := dlms.Null().Int(); ok {
		t.Fatal("null as int")
	}
	if _, err := dlms.CompactArray(dlms.TypeDesc{Tag: dlms.TagUint8}, dlms.Uint16(1)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := dlms.CompactArray(dlms.TypeDesc{Tag: dlms.TagNull}, dlms.Null()); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := dlms.CompactArray(dlms.TypeDesc{Tag: dlms.TagArray}); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
}

func TestDataErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x02, 0x01}, dlms.MaxDepth+2)
	for name, c := range map[string]struct {
		in   string
		want error
	}{
		"empty":           {"", dlms.ErrShort},
		"unknown tag":     {"07", dlms.ErrInvalid},
		"dont-care":       {"ff", dlms.ErrInvalid},
		"short int":       {"0500", dlms.ErrShort},
		"short string":    {"0905aa", dlms.ErrShort},
		"huge array":      {"0184ffffffff", dlms.ErrInvalid},
		"array too long":  {"010500", dlms.ErrShort},
		"bad length":      {"0985", dlms.ErrInvalid},
		"trailing":        {"000000", dlms.ErrTrailing},
		"deep":            {hex.EncodeToString(deep), dlms.ErrTooDeep},
		"compact nulls":   {"13000100", dlms.ErrInvalid},
		"compact short":   {"131203000011", dlms.ErrShort},
		"compact nested":  {"131313", dlms.ErrInvalid},
		"compact partial": {"1312030000", dlms.ErrShort},
	} {
		if _, err := dlms.ParseData(h(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestDateTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tm := time.Date(2026, 11, 22, 8, 30, 15, 250_000_000, cet)
	dt := dlms.DateTimeOf(tm, false)
	if dt.Deviation != -60 || dt.Weekday != 7 || dt.Hundredths != 25 {
		t.Fatalf("%+v", dt)
	}
	back, err := dt.Time()
	if err != nil || !back.Equal(tm) {
		t.Fatalf("%v %v", back, err)
	}
	dt.Deviation = dlms.DeviationUnspecified
	if _, err := dt.Time(); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	dt = dlms.DateTime{Year: 2026, Month: 2, Day: 30, Weekday: 0xFF, Hundredths: 0xFF}
	if _, err := dt.Time(); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := dlms.ParseDateTime(make([]byte, 11)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if s := (dlms.DateTime{Year: 0xFFFF, Month: 0xFF, Day: 0xFF, Weekday: 0xFF, Hour: 0xFF, Minute: 0xFF, Second: 0xFF, Hundredths: 0xFF, Deviation: dlms.DeviationUnspecified, ClockStatus: 0xFF}).String(); s != "*-*-* *:*:*.* dev=* st=0xFF" {
		t.Fatal(s)
	}
}

// TestSelectiveAccess: the descriptors the recorded Gurux client sent.
func TestSelectiveAccess(t *testing.T) {
	// GET profile 1.0.99.1.0.255 attr 2 by entry: rows 1…100, columns 1…last.
	req := h("c001c100070100630100ff020102020406000000010600000064120001120000")
	a, err := dlms.ParseAPDU(req)
	if err != nil {
		t.Fatal(err)
	}
	g := a.(dlms.GetRequest)
	if g.Access == nil || g.Access.Selector != dlms.SelectorEntry {
		t.Fatalf("%+v", g)
	}
	e, err := dlms.ParseEntryDescriptor(g.Access.Params)
	if err != nil || e != (dlms.EntryDescriptor{FromEntry: 1, ToEntry: 100, FromColumn: 1, ToColumn: 0}) {
		t.Fatalf("%+v %v", e, err)
	}
	built := dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1,
		Attr:   dlms.AttributeDescriptor{Class: 7, Instance: meter.OBIS{1, 0, 99, 1, 0, 255}, Attribute: 2},
		Access: e.Access()}
	if !bytes.Equal(built.Append(nil), req) {
		t.Fatalf("% X", built.Append(nil))
	}
	// By range on the clock, from/to as octet-string date-times, all columns.
	from := dlms.DateTime{Year: 2026, Month: 11, Day: 21, Weekday: 6, Hour: 0, Minute: 0, Second: 0, Hundredths: 0xFF, Deviation: dlms.DeviationUnspecified, ClockStatus: 0xFF}
	to := from
	to.Day, to.Weekday = 22, 7
	rd := dlms.RangeDescriptor{
		Restricting: dlms.CaptureObject{Class: 8, Instance: meter.OBIS{0, 0, 1, 0, 0, 255}, Attribute: 2},
		From:        from.Octets(), To: to.Octets(),
	}
	back, err := dlms.ParseRangeDescriptor(rd.Data())
	if err != nil || back.Restricting != rd.Restricting || !back.From.Equal(rd.From) || !back.To.Equal(rd.To) || len(back.Columns) != 0 {
		t.Fatalf("%+v %v", back, err)
	}
	rd.Columns = []dlms.CaptureObject{{Class: 3, Instance: meter.OBISActiveEnergyImport, Attribute: 2}}
	if back, err = dlms.ParseRangeDescriptor(rd.Data()); err != nil || len(back.Columns) != 1 || back.Columns[0] != rd.Columns[0] {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := dlms.ParseRangeDescriptor(dlms.Uint8(1)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := dlms.ParseEntryDescriptor(dlms.Structure()); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
}

// TestServiceForms: every form of GET, SET and ACTION, the notifications,
// exception-response and confirmed-service-error encode to the expected
// bytes and parse back to the same value.
func TestServiceForms(t *testing.T) {
	clock := dlms.AttributeDescriptor{Class: 8, Instance: meter.OBIS{0, 0, 1, 0, 0, 255}, Attribute: 2}
	disc := dlms.MethodDescriptor{Class: 70, Instance: meter.OBIS{0, 0, 96, 3, 10, 255}, Method: 1}
	list := []dlms.AttributeWithSelection{{Attr: clock}, {Attr: clock, Access: dlms.EntryDescriptor{FromEntry: 1}.Access()}}
	for _, c := range []struct {
		a    dlms.APDU
		want string
	}{
		{dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: clock}, "c001c100080000010000ff0200"},
		{dlms.GetRequest{Kind: dlms.KindNext, InvokeID: 0xC1, Block: 7}, "c002c100000007"},
		{dlms.GetRequest{Kind: dlms.KindWithList, InvokeID: 0xC1, List: list},
			"c003c102" + "00080000010000ff0200" + "00080000010000ff020102020406000000010600000000120000120000"},
		{dlms.GetResponse{Kind: dlms.KindNormal, InvokeID: 0xC1, Result: dlms.ResultError(dlms.AccessObjectUndefined)}, "c401c10104"},
		{dlms.GetResponse{Kind: dlms.GetResponseWithDatablock, InvokeID: 0xC1, Block: dlms.DataBlockG{Last: true, Number: 2, IsRaw: true, Raw: []byte{1, 2}}}, "c402c1010000000200020102"},
		{dlms.GetResponse{Kind: dlms.GetResponseWithDatablock, InvokeID: 0xC1, Block: dlms.DataBlockG{Last: true, Number: 3, Result: dlms.AccessLongGetAborted}}, "c402c10100000003010f"},
		{dlms.GetResponse{Kind: dlms.KindWithList, InvokeID: 0xC1, Results: []dlms.DataResult{dlms.ResultData(dlms.Uint8(1)), dlms.ResultError(dlms.AccessReadWriteDenied)}}, "c403c102001101" + "0103"},
		{dlms.SetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: clock, Value: dlms.Uint8(5)}, "c101c100080000010000ff02001105"},
		{dlms.SetRequest{Kind: dlms.SetWithFirstDatablock, InvokeID: 0xC1, Attr: clock, Block: dlms.DataBlockSA{Number: 1, Raw: []byte{9}}}, "c102c100080000010000ff0200" + "00000000010109"},
		{dlms.SetRequest{Kind: dlms.SetWithDatablock, InvokeID: 0xC1, Block: dlms.DataBlockSA{Last: true, Number: 2, Raw: []byte{}}}, "c103c1010000000200"},
		{dlms.SetRequest{Kind: dlms.SetWithList, InvokeID: 0xC1, List: list[:1], Values: []dlms.Data{dlms.Null()}}, "c104c10100080000010000ff02000100"},
		{dlms.SetRequest{Kind: dlms.SetWithListAndFirstDatablock, InvokeID: 0xC1, List: list[:1], Block: dlms.DataBlockSA{Number: 1, Raw: []byte{0}}}, "c105c10100080000010000ff0200" + "00000000010100"},
		{dlms.SetResponse{Kind: dlms.KindNormal, InvokeID: 0xC1, Result: dlms.AccessReadWriteDenied}, "c501c103"},
		{dlms.SetResponse{Kind: dlms.SetResponseDatablock, InvokeID: 0xC1, Block: 1}, "c502c100000001"},
		{dlms.SetResponse{Kind: dlms.SetResponseLastDatablock, InvokeID: 0xC1, Block: 2}, "c503c10000000002"},
		{dlms.SetResponse{Kind: dlms.SetResponseLastDatablockWithList, InvokeID: 0xC1, Results: []dlms.AccessResult{0, 3}, Block: 2}, "c504c102000300000002"},
		{dlms.SetResponse{Kind: dlms.SetResponseWithList, InvokeID: 0xC1, Results: []dlms.AccessResult{0}}, "c505c10100"},
		{dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Method: disc, HasParams: true, Params: dlms.Int8(0)}, "c301c10046000060030aff01010f00"},
		{dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Method: disc}, "c301c10046000060030aff0100"},
		{dlms.ActionRequest{Kind: dlms.KindNext, InvokeID: 0xC1, Block: dlms.DataBlockSA{Number: 4}}, "c302c100000004"},
		{dlms.ActionRequest{Kind: dlms.KindWithList, InvokeID: 0xC1, Methods: []dlms.MethodDescriptor{disc}, ParamList: []dlms.Data{dlms.Int8(0)}}, "c303c1010046000060030aff01010f00"},
		{dlms.ActionRequest{Kind: dlms.ActionWithFirstPblock, InvokeID: 0xC1, Method: disc, Block: dlms.DataBlockSA{Number: 1, Raw: []byte{1}}}, "c304c10046000060030aff01" + "00000000010101"},
		{dlms.ActionRequest{Kind: dlms.ActionWithListAndFirstPblock, InvokeID: 0xC1, Methods: []dlms.MethodDescriptor{disc}, Block: dlms.DataBlockSA{Last: true, Number: 1, Raw: []byte{1}}}, "c305c1010046000060030aff01" + "01000000010101"},
		{dlms.ActionRequest{Kind: dlms.ActionWithPblock, InvokeID: 0xC1, Block: dlms.DataBlockSA{Number: 2, Raw: []byte{}}}, "c306c1000000000200"},
		{dlms.ActionResponse{Kind: dlms.KindNormal, InvokeID: 0xC1, Outcome: dlms.ActionOutcome{Result: dlms.ActionSuccess}}, "c701c10000"},
		{dlms.ActionResponse{Kind: dlms.KindNormal, InvokeID: 0xC1, Outcome: dlms.ActionOutcome{Result: dlms.ActionSuccess, HasReturn: true, Return: dlms.ResultData(dlms.Bool(true))}}, "c701c10001000301"},
		{dlms.ActionResponse{Kind: dlms.ActionResponseWithPblock, InvokeID: 0xC1, Block: dlms.DataBlockSA{Last: true, Number: 1, Raw: []byte{2}}}, "c702c101000000010102"},
		{dlms.ActionResponse{Kind: dlms.ActionResponseWithList, InvokeID: 0xC1, Outcomes: []dlms.ActionOutcome{{Result: dlms.ActionObjectUndefined}}}, "c703c1010400"},
		{dlms.ActionResponse{Kind: dlms.ActionResponseNextPblock, InvokeID: 0xC1, Block: dlms.DataBlockSA{Number: 1}}, "c704c100000001"},
		{dlms.EventNotification{Attr: clock, Value: dlms.Uint8(1)}, "c20000080000010000ff021101"},
		{dlms.EventNotification{Time: []byte{1}, Attr: clock, Value: dlms.Uint8(1)}, "c2010101" + "00080000010000ff021101"},
		{dlms.DataNotification{LongInvokeID: 1, Time: []byte{}, Body: dlms.Structure(dlms.Uint8(1))}, "0f00000001000201" + "1101"},
		{dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceNotSupported}, "d80102"},
		{dlms.ExceptionResponse{StateError: dlms.StateServiceNotAllowed, ServiceError: dlms.ServiceInvocationCounterErr, InvocationCounter: 9}, "d8010600000009"},
		{dlms.ConfirmedServiceError{Service: 1, ErrorType: 6, Value: 1}, "0e010601"},
		{dlms.RLRQ{HasReason: true, Reason: dlms.ReleaseNormal}, "6203800100"},
		{dlms.RLRQ{}, "6200"},
		{dlms.RLRE{HasReason: true, Reason: dlms.ReleaseNormal, UserInfo: []byte{8}}, "6308800100be03040108"},
	} {
		got := c.a.Append(nil)
		if hex.EncodeToString(got) != c.want {
			t.Errorf("%T %+v:\n%x\nwant\n%s", c.a, c.a, got, c.want)
			continue
		}
		back, err := dlms.ParseAPDU(got)
		if err != nil {
			t.Errorf("%s: %v", c.want, err)
			continue
		}
		if !bytes.Equal(back.Append(nil), got) {
			t.Errorf("%s: round trip differs", c.want)
		}
	}
}

func TestAPDUErrors(t *testing.T) {
	for name, c := range map[string]struct {
		in   string
		want error
	}{
		"empty":            {"", dlms.ErrShort},
		"unknown tag":      {"ee", dlms.ErrInvalid},
		"get choice":       {"c009c1", dlms.ErrInvalid},
		"get short":        {"c001c10008", dlms.ErrShort},
		"access flag":      {"c001c100080000010000ff0202", dlms.ErrInvalid},
		"result choice":    {"c401c105", dlms.ErrInvalid},
		"conformance":      {"01000000065f1e040000000000", dlms.ErrInvalid},
		"aare no result":   {"6100", dlms.ErrInvalid},
		"aarq cut":         {"6005a109", dlms.ErrShort},
		"rlrq bad field":   {"6203810100", dlms.ErrInvalid},
		"ciphered no head": {"c803300000", dlms.ErrShort},
		"trailing":         {"c701c1000000", dlms.ErrTrailing},
	} {
		if _, err := dlms.ParseAPDU(h(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestAssociation: AARQ and AARE of each authentication level, with the
// fields a client and a server set.
func TestAssociation(t *testing.T) {
	ir := dlms.InitiateRequest{DLMSVersion: 6, Conformance: 0x401E5D, MaxPDU: 0xFFFF}
	if got := hex.EncodeToString(ir.Append(nil)); got != "01000000065f1f0400401e5dffff" {
		t.Fatal(got)
	}
	ir2 := dlms.InitiateRequest{DedicatedKey: make([]byte, 16), ResponseNotAllowed: true, HasQoS: true, QoS: 1, DLMSVersion: 6, Conformance: dlms.ConfGet | dlms.ConfSet | dlms.ConfAction, MaxPDU: 512}
	back, err := dlms.ParseAPDU(ir2.Append(nil))
	if err != nil || !bytes.Equal(back.Append(nil), ir2.Append(nil)) {
		t.Fatal(back, err)
	}
	if c := dlms.ConfGet | dlms.ConfSet; c != 0x000018 {
		t.Fatalf("get|set = %06X, want 000018 (as the Gurux server grants SAP 16)", c)
	}
	if c := dlms.ConfGeneralProtection; c != 0x400000 {
		t.Fatalf("general-protection %06X", c)
	}
	lls := dlms.AARQ{ApplicationContext: dlms.ContextLN, ACSERequirements: true, Mechanism: dlms.Mechanism(dlms.MechanismLow),
		AuthValue: []byte("Gurux"), UserInfo: ir.Append(nil)}
	if got := hex.EncodeToString(lls.Append(nil)); got != "6033a1090607608574050801018a0207808b0760857405080201ac0780054775727578be10040e01000000065f1f0400401e5dffff" {
		t.Fatal(got)
	}
	resp := dlms.InitiateResponse{DLMSVersion: 6, Conformance: 0x001E1D, MaxPDU: 512, VAAName: dlms.VAANameLN}
	aare := dlms.AARE{ApplicationContext: dlms.ContextLN, Result: dlms.AssociationAccepted, UserInfo: resp.Append(nil)}
	if got := hex.EncodeToString(aare.Append(nil)); got != "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d02000007" {
		t.Fatal(got)
	}
	rej := dlms.AARE{ApplicationContext: dlms.ContextLN, Result: dlms.AssociationRejectedPermanent, DiagProvider: true, Diagnostic: 2,
		UserInfo: dlms.ConfirmedServiceError{Service: 1, ErrorType: 6, Value: 0}.Append(nil)}
	a, err := dlms.ParseAPDU(rej.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := a.(dlms.AARE); r.Result != 1 || !r.DiagProvider || r.Diagnostic != 2 {
		t.Fatalf("%+v", r)
	}
	if lvl, ok := dlms.MechanismLevel(dlms.Mechanism(dlms.MechanismGMAC)); !ok || lvl != 5 {
		t.Fatal(lvl, ok)
	}
	// An unknown field (called-AP-title, A2) is kept and re-encoded in order.
	withOther := dlms.AARQ{ApplicationContext: dlms.ContextLN, Other: []dlms.TLV{{Tag: 0xA2, Value: []byte{0x04, 0x01, 0x07}}}}
	a, err = dlms.ParseAPDU(withOther.Append(nil))
	if err != nil || !bytes.Equal(a.Append(nil), withOther.Append(nil)) || len(a.(dlms.AARQ).Other) != 1 {
		t.Fatalf("%+v %v", a, err)
	}
}

// TestSuite0Vectors: the AES-GCM example of the DLMS UA Green Book
// (security suite 0; EK 000102…0F, AK D0D1…DF, system title
// 4D4D4D0000BC614E, IC 01234567, the GET request C0 01 00 00 08 00 00 01
// 00 00 FF 02 00 as glo-get-request).
func TestSuite0Vectors(t *testing.T) {
	s, err := dlms.NewSuite0(h("000102030405060708090a0b0c0d0e0f"), h("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"))
	if err != nil {
		t.Fatal(err)
	}
	title := h("4d4d4d0000bc614e")
	plain := h("c0010000080000010000ff0200")
	for _, c := range []struct {
		sc   byte
		want string
	}{
		{dlms.SCAuthEnc, "c81e3001234567411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b"},
		{dlms.SCAuthOnly, "c81e1001234567c0010000080000010000ff020006725d910f9221d263877516"},
		{dlms.SCEncOnly, "c8122001234567411312ff935a47566827c467bc"},
	} {
		ct, err := s.Encrypt(dlms.TagGloGetRequest, c.sc, title, 0x01234567, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(ct.Append(nil)); got != c.want {
			t.Errorf("SC 0x%02X:\n%s\nwant\n%s", c.sc, got, c.want)
		}
		a, err := dlms.ParseAPDU(ct.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		back, err := s.Decrypt(a.(dlms.Ciphered), title)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("SC 0x%02X: % X %v", c.sc, back, err)
		}
		if c.sc&dlms.SCAuthentication != 0 {
			bad := a.(dlms.Ciphered)
			bad.Payload = append([]byte(nil), bad.Payload...)
			bad.Payload[0] ^= 1
			if _, err := s.Decrypt(bad, title); !errors.Is(err, dlms.ErrAuth) {
				t.Fatalf("SC 0x%02X: tampered payload: %v", c.sc, err)
			}
		}
	}
	g, err := s.Encrypt(dlms.TagGeneralGloCiphering, dlms.SCAuthEnc, title, 0x01234567, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(g.Append(nil)); got != "db084d4d4d0000bc614e1e3001234567411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b" {
		t.Fatal(got)
	}
	if back, err := s.Decrypt(g, nil); err != nil || !bytes.Equal(back, plain) {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"suite 1":     func() error { _, err := s.Protect(0x31, title, 1, plain); return err },
		"compression": func() error { _, err := s.Protect(0xB0, title, 1, plain); return err },
		"none":        func() error { _, err := s.Protect(0x00, title, 1, plain); return err },
		"title":       func() error { _, err := s.Protect(0x30, title[:7], 1, plain); return err },
		"key":         func() error { _, err := dlms.NewSuite0(make([]byte, 15), nil); return err },
		"ak":          func() error { _, err := dlms.NewSuite0(make([]byte, 16), make([]byte, 3)); return err },
	} {
		if err := f(); !errors.Is(err, dlms.ErrSecurity) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Encrypt(dlms.TagGetRequest, 0x30, title, 1, plain); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if tag, ok := dlms.GloTag(dlms.TagActionResponse); !ok || tag != dlms.TagGloActionResponse {
		t.Fatal(tag)
	}
	if tag, ok := dlms.DedTag(dlms.TagGetRequest); !ok || tag != dlms.TagDedGetRequest {
		t.Fatal(tag)
	}
}

func TestHLSGMAC(t *testing.T) {
	s, _ := dlms.NewSuite0(h("000102030405060708090a0b0c0d0e0f"), h("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"))
	title, challenge := []byte("ABCDEFGH"), []byte("0123456789abcdef")
	reply, err := s.HLSReply(title, 7, challenge)
	if err != nil || len(reply) != 17 || reply[0] != 0x10 {
		t.Fatal(reply, err)
	}
	if ic, err := s.VerifyHLSReply(title, challenge, reply); err != nil || ic != 7 {
		t.Fatal(ic, err)
	}
	if _, err := s.VerifyHLSReply([]byte("ABCDEFGX"), challenge, reply); !errors.Is(err, dlms.ErrAuth) {
		t.Fatal(err)
	}
	if _, err := s.VerifyHLSReply(title, challenge, reply[:16]); !errors.Is(err, dlms.ErrAuth) {
		t.Fatal(err)
	}
	noAK, _ := dlms.NewSuite0(make([]byte, 16), nil)
	if _, err := noAK.HLSReply(title, 1, challenge); !errors.Is(err, dlms.ErrSecurity) {
		t.Fatal(err)
	}
}

func TestFrameCounter(t *testing.T) {
	var f dlms.FrameCounter
	if _, ok := f.Last(); ok {
		t.Fatal("fresh counter has a last value")
	}
	for _, ic := range []uint32{0, 1, 5, 0xFFFFFFFF} {
		if err := f.Accept(ic); err != nil {
			t.Fatal(ic, err)
		}
	}
	if err := f.Accept(0xFFFFFFFF); !errors.Is(err, dlms.ErrReplay) {
		t.Fatal(err)
	}
	g := dlms.NewFrameCounter(10)
	for _, ic := range []uint32{0, 9, 10} {
		if err := g.Check(ic); !errors.Is(err, dlms.ErrReplay) {
			t.Fatal(ic, err)
		}
		if err := g.Accept(ic); !errors.Is(err, dlms.ErrReplay) {
			t.Fatal(ic, err)
		}
	}
	if err := g.Accept(11); err != nil {
		t.Fatal(err)
	}
	if last, ok := g.Last(); !ok || last != 11 {
		t.Fatal(last)
	}
}

func TestLength(t *testing.T) {
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		b := dlms.AppendLength(nil, n)
		got, size, err := dlms.ParseLength(b)
		if err != nil || got != n || size != len(b) {
			t.Fatalf("%d: % X → %d %d %v", n, b, got, size, err)
		}
	}
}

// TestCompactArrayBomb: a type description of arrays of empty arrays
// would make a few bytes demand billions of elements; it is refused.
func TestCompactArrayBomb(t *testing.T) {
	for _, in := range []string{
		"1301ffff01ffff0100001100", // array[65535] of array[65535] of array[0] of unsigned
		"1301ffff000100",           // array[65535] of null
		"1301ffff020000",           // array[65535] of empty structure
	} {
		if _, err := dlms.ParseData(h(in)); !errors.Is(err, dlms.ErrInvalid) {
			t.Errorf("%s: %v", in, err)
		}
	}
	if _, err := dlms.CompactArray(dlms.TypeDesc{Tag: dlms.TagArray, Len: 3, Elem: []dlms.TypeDesc{{Tag: dlms.TagNull}}}); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	// A zero Kind encodes as the normal form.
	if b := (dlms.GetRequest{InvokeID: 0xC1}).Append(nil); b[1] != dlms.KindNormal {
		t.Fatalf("% X", b)
	}
}

// TestStreamRows: a profile buffer built and read row by row, as a server
// streaming blocks and a client decoding them would, equals the whole
// value's encoding.
func TestStreamRows(t *testing.T) {
	whole := profileBufferT().Append(nil)
	var streamed []byte
	streamed = append(streamed, byte(dlms.TagArray))
	streamed = dlms.AppendLength(streamed, 96)
	for _, row := range profileBufferT().Items() {
		streamed = row.Append(streamed)
	}
	if !bytes.Equal(streamed, whole) {
		t.Fatal("streamed encoding differs")
	}
	if streamed[0] != byte(dlms.TagArray) {
		t.Fatal("no array")
	}
	n, size, err := dlms.ParseLength(streamed[1:])
	if err != nil || n != 96 {
		t.Fatal(n, err)
	}
	p := streamed[1+size:]
	for i := range n {
		row, k, err := dlms.DecodeData(p)
		if err != nil || row.Len() != 4 {
			t.Fatalf("row %d: %v", i, err)
		}
		p = p[k:]
	}
	if len(p) != 0 {
		t.Fatalf("%d bytes left", len(p))
	}
}

func profileBufferT() dlms.Data {
	rows := make([]dlms.Data, 96)
	for i := range rows {
		dt := dlms.DateTime{Year: 2026, Month: 11, Day: 22, Weekday: 7, Hour: uint8(i / 4), Minute: uint8(i % 4 * 15), Deviation: -60}
		rows[i] = dlms.Structure(dt.Octets(), dlms.Uint32(uint32(i)), dlms.Uint32(uint32(i*3)), dlms.Uint32(uint32(i*7)))
	}
	return dlms.Array(rows...)
}

// TestScalerUnit: the recorded register's scaler_unit and exact values.
func TestScalerUnit(t *testing.T) {
	su, err := dlms.ParseScalerUnit(dlms.Structure(dlms.Int8(-2), dlms.Enum(30)))
	if err != nil || su != (dlms.ScalerUnit{Scaler: -2, Unit: 30}) {
		t.Fatal(su, err)
	}
	if b := su.Data().Append(nil); hex.EncodeToString(b) != "02020ffe161e" {
		t.Fatalf("% X", b)
	}
	v, err := su.Value(dlms.Uint32(123456))
	if err != nil || v != meter.V(123456, -2) {
		t.Fatal(v, err)
	}
	if _, err := su.Value(dlms.Float32(1)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := su.Value(dlms.Uint64(math.MaxUint64)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	d, err := su.RegisterValue(meter.V(1234, 0), dlms.TagUint32)
	if err != nil || !d.Equal(dlms.Uint32(123400)) {
		t.Fatal(d, err)
	}
	if _, err := su.RegisterValue(meter.V(-1, 0), dlms.TagUint16); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := su.RegisterValue(meter.V(1, -3), dlms.TagInt32); !errors.Is(err, meter.ErrInexact) {
		t.Fatal(err)
	}
	if _, err := (dlms.ScalerUnit{}).RegisterValue(meter.V(1, 0), dlms.TagOctetString); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := dlms.ParseScalerUnit(dlms.Uint8(1)); !errors.Is(err, dlms.ErrInvalid) {
		t.Fatal(err)
	}
}
