package modbus_test

import (
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/proto/modbus"
)

func ExampleAppendRTURequest() {
	frame, _ := modbus.AppendRTURequest(nil, 0x11, modbus.ReadHolding(0x6B, 3))
	fmt.Printf("% X\n", frame)
	// Output: 11 03 00 6B 00 03 76 87
}

func ExampleSplitRTUResponse() {
	req := modbus.ReadHolding(0x6B, 3)
	rx := []byte{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD}
	n, err := modbus.SplitRTUResponse(rx[:5], 0x11, req) // partial: wait for more
	fmt.Println(n, err)
	n, _ = modbus.SplitRTUResponse(rx, 0x11, req)
	_, pdu, _ := modbus.ParseRTU(rx[:n])
	resp, _ := modbus.ParseResponse(pdu, req)
	fmt.Printf("%04X\n", resp.Registers())
	// Output:
	// 0 <nil>
	// [AE41 5652 4340]
}

func ExampleException() {
	_, err := modbus.ParseResponse([]byte{0x84, 0x02}, modbus.ReadInput(0x1000, 2))
	var ex *modbus.Exception
	if errors.As(err, &ex) {
		fmt.Println(ex.Code, byte(ex.Code))
	}
	// Output: illegal data address 2
}

func ExampleInterFrameDelay() {
	bits := modbus.CharBits(8, true, 1) // 8E1: 11 bits
	fmt.Println(modbus.InterFrameDelay(9600, bits), modbus.InterFrameDelay(38400, bits))
	// Output: 4.010415ms 1.75ms
}
