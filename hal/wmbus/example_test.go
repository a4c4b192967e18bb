package wmbus_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/smgw/smgw/hal/wmbus"
)

// A line reader over rtl-wmbus output: every frame comes with its link
// mode and with the CRCs already removed.
func ExampleLines() {
	in := "T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x1E448B0501000000\n" +
		"T1;0;1;2019-04-03 19:00:43.000;97;148;88888888;0x1E44\n" // CRC error: dropped
	r := wmbus.NewLines(strings.NewReader(in), nil)
	err := r.Run(context.Background(), func(f wmbus.Frame) {
		fmt.Printf("%X mode %s, CRCs %s\n", f.Data, f.Mode, f.CRC)
	})
	fmt.Println(err, r.Stats().Bad)
	// Output:
	// 1E448B0501000000 mode T1, CRCs stripped
	// wmbus: the line source ended 1
}

// Framing a request to an iM871A: a ping to the device management
// endpoint.
func ExampleAppendHCI() {
	b, _ := wmbus.AppendHCI(nil, wmbus.HCIFrame{Endpoint: wmbus.EndpointDevMgmt, MsgID: wmbus.MsgPingReq})
	fmt.Printf("% X\n", b)
	// Output: A5 01 01 00
}
