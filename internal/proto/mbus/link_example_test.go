package mbus_test

import (
	"encoding/hex"
	"fmt"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// A master's requests: SND_NKE, REQ_UD2 with the frame count bit, and the
// selection of a meter by secondary address with wildcards.
func ExampleAppendReqUD2() {
	fmt.Printf("% X\n", mbus.AppendSndNKE(nil, 5))
	fmt.Printf("% X\n", mbus.AppendReqUD2(nil, 5, true))
	sel, _ := mbus.ParseSecondaryAddress("1234FFFF")
	fmt.Printf("% X\n", mbus.AppendSelect(nil, sel, false))
	// Output:
	// 10 40 05 45 16
	// 10 7B 05 80 16
	// 68 0B 0B 68 53 FD 52 FF FF 34 12 FF FF FF FF E2 16
}

// The RSP_UD example of the M-Bus documentation: the header's secondary
// address and the records with OBIS codes and exact values.
func ExampleParseResponse() {
	p, _ := hex.DecodeString("681F1F680802727856341224400107550000000313153100DA023B13018B6004371802" + "1816")
	r, err := mbus.ParseResponse(p, nil, 0xFF, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	h := r.Header
	fmt.Println(h.Address.IDString(), h.Address.Manufacturer, h.Address.Medium, "access", h.Access, "more", r.More)
	for _, rec := range r.Records {
		fmt.Println(rec.Quantity, rec.Value, rec.Unit, "storage", rec.Storage)
	}
	// Output:
	// 12345678 PAD water access 85 more false
	// volume 12.565 m³ storage 0
	// volume_flow 0.113 m³/h storage 5
	// energy 218370 Wh storage 0
}
