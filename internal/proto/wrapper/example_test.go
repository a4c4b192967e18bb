package wrapper_test

import (
	"fmt"

	"github.com/smgw/smgw/internal/proto/wrapper"
)

// A GET request from the public client (wPort 16) to the management
// logical device (wPort 1), wrapped and unwrapped.
func Example() {
	apdu := []byte{0xC0, 0x01, 0xC1, 0x00, 0x08, 0, 0, 1, 0, 0, 0xFF, 0x02, 0x00}
	pdu := wrapper.Append(nil, wrapper.WPortPublicClient, wrapper.WPortManagement, apdu)
	fmt.Printf("% X\n", pdu[:wrapper.HeaderLen])
	h, body, err := wrapper.Parse(pdu)
	fmt.Println(h.Src, h.Dst, len(body), err)
	// Output:
	// 00 01 00 10 00 01 00 0D
	// 16 1 13 <nil>
}
