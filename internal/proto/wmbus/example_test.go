package wmbus_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

// A receiver loop: filter by the header, then decode with the meter's key
// into one reused Telegram.
func ExampleDecoder() {
	frame, _ := hex.DecodeString("2E44A5119870659930037A060020052F2F0C933E842784060A3B00000A5A5901C4016D3B37DF2CCC01933E24032606")
	d := wmbus.NewDecoder(nil)
	var h wmbus.Header
	if err := d.Header(frame, &h); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Meter.Manufacturer, h.Meter.IDString(), h.Meter.Device, "mode", h.Mode)

	var t wmbus.Telegram
	if err := d.Decode(frame, nil, &t); err != nil { // nil: no key (this one is already plaintext)
		fmt.Println(err)
		return
	}
	for _, r := range t.Records[:3] {
		fmt.Println(r.OBIS, r.Quantity, r.Value, wmbus.UnitName(r.Unit))
	}
	// Output:
	// DME 99657098 gas mode 5
	// 7-0:13.0.0*255 volume 6842.784 m3
	// 7-0:43.0.0*255 volume_flow 0.000 m3/h
	// 7-0:41.0.0*255 flow_temperature 15.9 °C
}

// A wrong key never yields records: the 2F2F check fails.
func ExampleDecoder_Decode_wrongKey() {
	frame, _ := hex.DecodeString("5E4409077372727210077A710050052F2F046D0110A92704130022000004933B0000000004933C00000000023B000002592A0A446D0000A12744130000000044933B0000000044933C0000000001FD74622F2F2F2F2F2F2F2F2F2F2F2F2F2F")
	key, _ := hex.DecodeString("00112233445566778899AABBCCDDEEFF")
	var t wmbus.Telegram
	err := wmbus.NewDecoder(nil).Decode(frame, key, &t)
	fmt.Println(errors.Is(err, wmbus.ErrDecrypt), len(t.Records))
	fmt.Println(err)
	// Output:
	// true 0
	// wmbus: decryption check failed (wrong key?) at byte 15: mode 5 payload begins CA27, not 2F2F
}
