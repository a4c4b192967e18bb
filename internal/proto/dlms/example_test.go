package dlms_test

import (
	"encoding/hex"
	"fmt"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// Reading the clock: the client encodes a GET request, the server's
// response parses into a date-time.
func Example() {
	req := dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1,
		Attr: dlms.AttributeDescriptor{Class: 8, Instance: meter.OBIS{0, 0, 1, 0, 0, 255}, Attribute: 2}}
	fmt.Println(hex.EncodeToString(req.Append(nil)))

	resp, _ := hex.DecodeString("c401c100090c07ea0b1607022a3b00ffc400")
	a, err := dlms.ParseAPDU(resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := a.(dlms.GetResponse)
	dt, _ := g.Result.Data.DateTime()
	tm, _ := dt.Time()
	fmt.Println(dt, tm.UTC())
	// Output:
	// c001c100080000010000ff0200
	// 2026-11-22 02:42:59.00 dev=-60 st=0x00 2026-11-22 01:42:59 +0000 UTC
}

// Reading a load profile by range: the selective access descriptor.
func ExampleRangeDescriptor() {
	from := dlms.DateTime{Year: 2026, Month: 11, Day: 21, Weekday: 0xFF, Hundredths: 0xFF, Deviation: dlms.DeviationUnspecified, ClockStatus: 0xFF}
	to := from
	to.Day = 22
	req := dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1,
		Attr: dlms.AttributeDescriptor{Class: 7, Instance: meter.OBIS{1, 0, 99, 1, 0, 255}, Attribute: 2},
		Access: dlms.RangeDescriptor{
			Restricting: dlms.CaptureObject{Class: 8, Instance: meter.OBIS{0, 0, 1, 0, 0, 255}, Attribute: 2},
			From:        from.Octets(), To: to.Octets(),
		}.Access()}
	fmt.Println(req.Access.Params)
	// Output:
	// {{8, 0x0000010000ff, 2, 0}, 2026-11-21 00:00:00.* dev=* st=0xFF, 2026-11-22 00:00:00.* dev=* st=0xFF, []}
}

// Protecting an APDU with security suite 0 and checking the peer's
// invocation counter.
func ExampleSuite0() {
	ek, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	ak, _ := hex.DecodeString("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
	suite, _ := dlms.NewSuite0(ek, ak)
	title, _ := hex.DecodeString("4d4d4d0000bc614e")
	plain, _ := hex.DecodeString("c0010000080000010000ff0200")

	c, _ := suite.Encrypt(dlms.TagGloGetRequest, dlms.SCAuthEnc, title, 0x01234567, plain)
	wire := c.Append(nil)
	fmt.Println(hex.EncodeToString(wire))

	var fc dlms.FrameCounter
	a, _ := dlms.ParseAPDU(wire)
	got, err := suite.Decrypt(a.(dlms.Ciphered), title)
	fmt.Println(hex.EncodeToString(got), err, fc.Accept(a.(dlms.Ciphered).IC), fc.Accept(0x01234567) != nil)
	// Output:
	// c81e3001234567411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b
	// c0010000080000010000ff0200 <nil> <nil> true
}
