package zcl

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Encodings from the type definitions of ZCL 2.6.2: little-endian,
// two's complement, length-prefixed strings.
func TestValueEncodings(t *testing.T) {
	for _, c := range []struct {
		v   Value
		hex string
	}{
		{Bool(true), "01"},
		{Bool(false), "00"},
		{Uint(TypeBitmap8, 0x81), "81"},
		{Uint(TypeBitmap16, 0x0401), "0104"},
		{Uint(TypeBitmap64, 0x0102030405060708), "0807060504030201"},
		{Uint(TypeUint8, 200), "c8"},
		{Uint(TypeUint16, 0x1234), "3412"},
		{Uint(TypeUint24, 1000000), "40420f"},
		{Uint(TypeUint32, 0xdeadbeef), "efbeadde"},
		{Uint(TypeUint40, 0x0102030405), "0504030201"},
		{Uint(TypeUint48, 123456789012), "141a99be1c00"},
		{Uint(TypeUint56, 0x01020304050607), "07060504030201"},
		{Uint(TypeUint64, math.MaxUint64), "ffffffffffffffff"},
		{Int(TypeInt8, -1), "ff"},
		{Int(TypeInt16, -2), "feff"},
		{Int(TypeInt24, -1234567), "7929ed"},
		{Int(TypeInt24, 8388607), "ffff7f"},
		{Int(TypeInt32, -100000), "6079feff"},
		{Int(TypeInt48, -1), "ffffffffffff"},
		{Int(TypeInt64, math.MinInt64), "0000000000000080"},
		{Uint(TypeEnum8, 0x0b), "0b"},
		{Uint(TypeEnum16, 0x0102), "0201"},
		{Single(1.5), "0000c03f"},
		{Value{Type: TypeDouble, F: -2}, "00000000000000c0"},
		{Value{Type: TypeSemi, F: 1}, "003c"},
		{OctetString([]byte{1, 2}), "020102"},
		{CharString("Hi"), "024869"},
		{Value{Type: TypeLongChar, B: []byte("ab")}, "02006162"},
		{InvalidString(TypeCharStr), "ff"},
		{InvalidString(TypeLongOct), "ffff"},
		{UTC(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)), "8054ce2f"},
		{Uint(TypeAttrID, 0x0400), "0004"},
		{Uint(TypeClusterID, 0x0702), "0207"},
		{Uint(TypeIEEEAddr, 0x0011223344556677), "7766554433221100"},
		{Value{Type: TypeKey128, B: bytes.Repeat([]byte{0xaa}, 16)}, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{Value{Type: TypeNoData}, ""},
	} {
		got, err := AppendValue(nil, c.v)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("%v: % x, %v; want %s", c.v, got, err, c.hex)
			continue
		}
		back, n, err := ParseValue(c.v.Type, got)
		if err != nil || n != len(got) {
			t.Errorf("%v: parse back: %v, n=%d", c.v, err, n)
			continue
		}
		if c.v.B == nil && back.B != nil && len(back.B) == 0 {
			back.B = nil
		}
		if !reflect.DeepEqual(back, c.v) {
			t.Errorf("%v: parsed back as %#v", c.v, back)
		}
	}
}

func TestInvalidMarkers(t *testing.T) {
	for _, c := range []struct {
		t   Type
		hex string
	}{
		{TypeUint8, "ff"}, {TypeUint24, "ffffff"}, {TypeUint48, "ffffffffffff"},
		{TypeInt8, "80"}, {TypeInt24, "000080"}, {TypeInt32, "00000080"},
		{TypeEnum8, "ff"}, {TypeEnum16, "ffff"}, {TypeBool, "ff"}, {TypeUTC, "ffffffff"},
		{TypeAttrID, "ffff"}, {TypeIEEEAddr, "ffffffffffffffff"},
	} {
		v := Invalid(c.t)
		got, err := AppendValue(nil, v)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("Invalid(%s) = % x, %v; want %s", c.t, got, err, c.hex)
		}
		back, _, err := ParseValue(c.t, got)
		if err != nil || !back.IsInvalid() {
			t.Errorf("%s %s: IsInvalid false after parse (%v)", c.t, c.hex, err)
		}
	}
	if !Invalid(TypeSingle).IsInvalid() || Invalid(TypeBitmap8).IsInvalid() {
		t.Error("float NaN must be invalid; bitmaps have no invalid value")
	}
	v, _, _ := ParseValue(TypeCharStr, []byte{0xff})
	if !v.IsInvalid() {
		t.Error("string of length 0xff must be invalid")
	}
}

func TestValueErrors(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want error
	}{
		{Uint(TypeUint24, 1<<24), ErrRange},
		{Int(TypeInt24, 1<<23), ErrRange},
		{Int(TypeInt8, -129), ErrRange},
		{CharString(string(make([]byte, 255))), ErrRange},
		{Value{Type: TypeKey128, B: []byte{1}}, ErrRange},
		{Value{Type: TypeArray}, ErrUnsupportedType},
		{Value{Type: 0x77}, ErrUnsupportedType},
	} {
		if _, err := AppendValue(nil, c.v); !errors.Is(err, c.want) {
			t.Errorf("%v: %v, want %v", c.v, err, c.want)
		}
	}
	for _, c := range []struct {
		t    Type
		p    string
		want error
	}{
		{TypeUint48, "0102", ErrShort},
		{TypeCharStr, "", ErrShort},
		{TypeCharStr, "0541", ErrShort},
		{TypeLongChar, "0500", ErrShort},
		{TypeStruct, "00", ErrUnsupportedType},
	} {
		if _, _, err := ParseValue(c.t, unhex(t, c.p)); !errors.Is(err, c.want) {
			t.Errorf("ParseValue(%s, %s): %v, want %v", c.t, c.p, err, c.want)
		}
	}
}

func TestHeader(t *testing.T) {
	for _, c := range []struct {
		h   Header
		hex string
	}{
		{Header{Seq: 1, Command: CmdReadAttributes}, "000100"},
		{Header{Type: FrameCluster, Direction: ServerToClient, Seq: 2, Command: CmdPublishPrice}, "090200"},
		{Header{Direction: ServerToClient, DisableDefaultResponse: true, Seq: 3, Command: CmdReportAttributes}, "18030a"},
		{Header{Type: FrameCluster, ManufacturerSpecific: true, Manufacturer: 0x1037, Seq: 4, Command: 0xf0}, "053710 04f0"},
	} {
		want := unhex(t, stripSpaces(c.hex))
		if got := AppendHeader(nil, c.h); !bytes.Equal(got, want) {
			t.Errorf("%v: % x, want % x", c.h, got, want)
		}
		f, err := ParseFrame(append(want, 0xaa))
		if err != nil || f.Header != c.h || !bytes.Equal(f.Payload, []byte{0xaa}) {
			t.Errorf("parse %s: %+v, %v", c.hex, f, err)
		}
	}
	// Reserved bits are ignored on receipt.
	if f, err := ParseFrame([]byte{0xe0, 1, 0}); err != nil || f.FrameControl() != 0 {
		t.Errorf("reserved bits: %+v %v", f, err)
	}
	for _, bad := range []string{"", "0001", "0401020304"[:8], "030100"} {
		if _, err := ParseFrame(unhex(t, bad)); err == nil {
			t.Errorf("ParseFrame(%s): no error", bad)
		}
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func TestUTCTime(t *testing.T) {
	if UTCTime(Epoch()) != 0 || UTCTime(Epoch().Add(-time.Second)) != 0 || !Epoch().Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("epoch")
	}
	d := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if u := UTCTime(d); u != 0x2fce5480 || !TimeOf(u).Equal(d) {
		t.Errorf("2025-06-01: 0x%x", u)
	}
	if u := UTCTime(Epoch().Add(200 * 365 * 24 * time.Hour)); u != 0xfffffffe {
		t.Errorf("far future: 0x%x", u)
	}
}

func TestStatus(t *testing.T) {
	for s, name := range map[Status]string{StatusSuccess: "SUCCESS", StatusUnsupportedAttribute: "UNSUPPORTED_ATTRIBUTE",
		StatusUnsupClusterCommand: "UNSUP_CLUSTER_COMMAND", StatusUnsupGeneralCommand: "UNSUP_GENERAL_COMMAND",
		StatusInvalidValue: "INVALID_VALUE", StatusUnsupportedCluster: "UNSUPPORTED_CLUSTER", 0x42: "status 0x42"} {
		if s.String() != name {
			t.Errorf("%d: %s, want %s", s, s, name)
		}
	}
	if StatusOf(ErrShort) != StatusMalformedCommand || StatusOf(ErrUnsupportedType) != StatusInvalidDataType || StatusOf(nil) != StatusSuccess {
		t.Error("StatusOf")
	}
}

func TestNeedsDefaultResponse(t *testing.T) {
	h := Header{Type: FrameCluster, Command: 1}
	ddr := h
	ddr.DisableDefaultResponse = true
	dr := Header{Command: CmdDefaultResponse}
	for _, c := range []struct {
		h               Header
		bcast, answered bool
		st              Status
		want            bool
	}{
		{h, false, false, StatusSuccess, true},
		{ddr, false, false, StatusSuccess, false},
		{ddr, false, false, StatusUnsupClusterCommand, true},
		{h, true, false, StatusFailure, false},
		{h, false, true, StatusSuccess, false},
		{dr, false, false, StatusFailure, false},
	} {
		if got := NeedsDefaultResponse(c.h, c.bcast, c.answered, c.st); got != c.want {
			t.Errorf("%+v bcast=%v answered=%v %s: %v", c.h, c.bcast, c.answered, c.st, got)
		}
	}
}

func TestGlobalRoundTrips(t *testing.T) {
	rr := []ReadRecord{{ID: 1, Value: Uint(TypeUint48, 5)}, {ID: 2, Status: StatusUnsupportedAttribute}}
	p, err := AppendReadAttributesResponse(nil, rr)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseReadAttributesResponse(p); err != nil || !reflect.DeepEqual(got, []ReadRecord{{ID: 1, Value: Uint(TypeUint48, 5)}, {ID: 2, Status: StatusUnsupportedAttribute, Value: Value{}}}) {
		t.Errorf("read response: %+v %v", got, err)
	}
	w := AppendWriteAttributesResponse(nil, []StatusRecord{{Status: StatusSuccess, ID: 1}})
	if !bytes.Equal(w, []byte{0}) {
		t.Errorf("write response all success: % x", w)
	}
	w = AppendWriteAttributesResponse(nil, []StatusRecord{{Status: StatusSuccess, ID: 1}, {Status: StatusReadOnly, ID: 0x0300}})
	if !bytes.Equal(w, []byte{0x88, 0x00, 0x03}) {
		t.Errorf("write response failure: % x", w)
	}
	c := AppendConfigureReportingResponse(nil, []StatusRecord{{Status: StatusUnreportableAttribute, ID: 0x0307}})
	if got, err := ParseConfigureReportingResponse(c); err != nil || got[0].Status != StatusUnreportableAttribute || got[0].ID != 0x0307 {
		t.Errorf("configure reporting response: %+v %v", got, err)
	}
	rc := []ReportingConfigRecord{{Status: StatusSuccess, ReportingConfig: ReportingConfig{ID: 0x400, Type: TypeInt24, MinInterval: 1, MaxInterval: 60, Change: Int(TypeInt24, 10)}},
		{Status: StatusUnsupportedAttribute, ReportingConfig: ReportingConfig{ID: 0x999}}}
	p, err = AppendReadReportingConfigResponse(nil, rc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseReadReportingConfigResponse(p); err != nil || !reflect.DeepEqual(got, rc) {
		t.Errorf("read reporting config response: %+v %v", got, err)
	}
	d := DiscoverAttributesResponse{Complete: true, Attrs: []AttrInfo{{0, TypeUint48}, {0x400, TypeInt24}}}
	if got, err := ParseDiscoverAttributesResponse(AppendDiscoverAttributesResponse(nil, d)); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("discover response: %+v %v", got, err)
	}
	if _, err := ParseReadAttributes([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("odd read attributes: %v", err)
	}
	if _, err := ParseConfigureReporting([]byte{2, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad direction: %v", err)
	}
	if _, err := ParseConfigureReporting([]byte{0, 0, 0, 0x4c, 1, 0, 2, 0}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("struct type: %v", err)
	}
}

func TestSERoundTrips(t *testing.T) {
	pp := PublishPrice{ProviderID: 1, RateLabel: []byte("Peak"), IssuerEventID: 2, CurrentTime: 3, UnitOfMeasure: UnitKWh,
		Currency: 978, TrailingDigit: 4, PriceTier: 2, NumberOfTiers: 3, RegisterTier: 2, Duration: 0xffff, Price: 3012, NumberOfBlockThresholds: 1}
	pp.UnusedPriceFields()
	b, err := AppendPublishPrice(nil, pp)
	if err != nil || len(b) != 4+5+4+4+1+2+1+1+4+2+4+1+4+1+4+1+1+1+1 {
		t.Fatalf("publish price: %d bytes, %v", len(b), err)
	}
	if got, err := ParsePublishPrice(b); err != nil || !reflect.DeepEqual(got, pp) {
		t.Errorf("publish price: %+v %v", got, err)
	}
	// An SE 1.0 sender that ends after Price.
	if got, err := ParsePublishPrice(b[:32]); err != nil || got.Price != 3012 || got.PriceRatio != 0xff {
		t.Errorf("short publish price: %+v %v", got, err)
	}
	if _, err := ParsePublishPrice(b[:20]); !errors.Is(err, ErrShort) {
		t.Errorf("truncated publish price: %v", err)
	}
	dm := DisplayMessage{ID: 7, Control: MsgImportanceHigh | MsgConfirmRequired, StartTime: 0, Duration: 60, Message: []byte("Hello")}
	b, _ = AppendDisplayMessage(nil, dm)
	if got, err := ParseDisplayMessage(b); err != nil || !reflect.DeepEqual(got, dm) {
		t.Errorf("display message: %+v %v", got, err)
	}
	e := LoadControlEvent{IssuerEventID: 9, DeviceClass: ClassHVAC | ClassWaterHeater, Duration: 30, Criticality: 5}
	e.UnusedLoadFields()
	b = AppendLoadControlEvent(nil, e)
	if len(b) != 23 {
		t.Errorf("load control event: %d bytes, want 23", len(b))
	}
	if got, err := ParseLoadControlEvent(b); err != nil || got != e {
		t.Errorf("load control event: %+v %v", got, err)
	}
	s := ReportEventStatus{IssuerEventID: 9, Status: EventOptOut, Time: 5, CriticalityApplied: 5, CoolingSetPoint: 0x8000, HeatingSetPoint: 0x8000, AvgLoadAdjust: -128, DutyCycle: 0xff}
	b = AppendReportEventStatus(nil, s)
	if len(b) != 60 {
		t.Errorf("report event status: %d bytes, want 60", len(b))
	}
	if got, err := ParseReportEventStatus(b); err != nil || got != s {
		t.Errorf("report event status: %+v %v", got, err)
	}
	if got, err := ParseReportEventStatus(b[:18]); err != nil || got.Status != EventOptOut {
		t.Errorf("report event status without signature: %+v %v", got, err)
	}
	gr := GetProfileResponse{EndTime: 100, Status: ProfileSuccess, Period: Period15Min, Intervals: []uint32{1, 0xffffff}}
	b, _ = AppendGetProfileResponse(nil, gr)
	if got, err := ParseGetProfileResponse(b); err != nil || !reflect.DeepEqual(got, gr) {
		t.Errorf("get profile response: %+v %v", got, err)
	}
	cl := CancelLoadControlEvent{IssuerEventID: 9, DeviceClass: 0x0fff, CancelControl: 1, EffectiveTime: 7}
	if got, err := ParseCancelLoadControlEvent(AppendCancelLoadControlEvent(nil, cl)); err != nil || got != cl {
		t.Errorf("cancel: %+v %v", got, err)
	}
	mc := MessageConfirmation{ID: 7, Time: 8}
	if got, err := ParseMessageConfirmation(AppendMessageConfirmation(nil, mc)); err != nil || got != mc {
		t.Errorf("confirmation: %+v %v", got, err)
	}
	if Formatting(3, 6, true) != 0xb3 {
		t.Errorf("Formatting(3,6,true) = 0x%02x", Formatting(3, 6, true))
	}
	if MeterTierSummationDelivered(15) != 0x011c || MeterTierSummationReceived(2) != 0x0103 {
		t.Error("tier attribute ids")
	}
}
