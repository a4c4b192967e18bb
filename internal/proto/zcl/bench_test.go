package zcl

import "testing"

var benchRecs = []AttrValue{
	{ID: MeterCurrentSummationDelivered, Value: Uint(TypeUint48, 123456789012)},
	{ID: MeterInstantaneousDemand, Value: Int(TypeInt24, -1234)},
	{ID: MeterCurrentDayConsumptionDelivered, Value: Uint(TypeUint24, 4567)},
}

// BenchmarkEncodeReport: a three-attribute Report Attributes frame.
func BenchmarkEncodeReport(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendHeader(buf[:0], Header{Direction: ServerToClient, DisableDefaultResponse: true, Seq: uint8(i), Command: CmdReportAttributes})
		var err error
		if buf, err = AppendAttrValues(buf, benchRecs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReport: parse the frame and its three records.
func BenchmarkParseReport(b *testing.B) {
	p := AppendHeader(nil, Header{Direction: ServerToClient, Command: CmdReportAttributes})
	p, _ = AppendAttrValues(p, benchRecs)
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFrame(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseAttrValues(f.Payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReadAttributes: an IHD's request for five attributes.
func BenchmarkParseReadAttributes(b *testing.B) {
	p := AppendHeader(nil, Header{Command: CmdReadAttributes})
	p = AppendReadAttributes(p, []uint16{0, 0x400, 0x301, 0x302, 0x300})
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFrame(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseReadAttributes(f.Payload); err != nil {
			b.Fatal(err)
		}
	}
}
