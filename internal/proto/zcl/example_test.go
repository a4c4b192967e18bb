package zcl_test

import (
	"fmt"

	"github.com/smgw/smgw/internal/proto/zcl"
)

// An ESI answers an in-home display's Read Attributes of the Metering
// cluster.
func Example() {
	req := []byte{0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x04} // read 0x0000 and 0x0400, seq 5
	f, err := zcl.ParseFrame(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, _ := zcl.ParseReadAttributes(f.Payload)
	recs := []zcl.ReadRecord{
		{ID: ids[0], Value: zcl.Uint(zcl.TypeUint48, 12345678)},
		{ID: ids[1], Value: zcl.Int(zcl.TypeInt24, -250)},
	}
	resp := zcl.AppendHeader(nil, zcl.Header{Direction: zcl.ServerToClient, DisableDefaultResponse: true, Seq: f.Seq, Command: zcl.CmdReadAttributesResponse})
	resp, _ = zcl.AppendReadAttributesResponse(resp, recs)
	fmt.Printf("% x\n", resp)
	// Output: 18 05 01 00 00 00 25 4e 61 bc 00 00 00 00 04 00 2a 06 ff ff
}
