package payload_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/wan/payload"
)

// A batch signed as the uplink sends it, and verified as the HES does.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // keys.Provider.Signer on a gateway
	b := &payload.Batch{Gateway: "gw-1", First: 7, Last: 8, Readings: []meter.Reading{
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
			Value: meter.V(12345678, -1), Unit: meter.UnitWattHour},
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: time.Date(2026, 11, 22, 6, 15, 0, 0, time.UTC),
			Value: meter.V(12346012, -1), Unit: meter.UnitWattHour},
	}}
	var enc payload.Encoder
	msg, err := enc.AppendCOSE(nil, b, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, format, err := payload.Verify(msg, &key.PublicKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(format, got.Gateway, got.First, got.Last)
	for i, r := range got.Readings {
		fmt.Println(got.First+uint64(i), r.Meter, r.OBIS, r.Time.Format(time.RFC3339), r.Value, r.Unit)
	}
	// Output:
	// cbor gw-1 7 8
	// 7 elec-1 1-0:1.8.0*255 2026-11-22T06:00:00Z 1234567.8 Wh
	// 8 elec-1 1-0:1.8.0*255 2026-11-22T06:15:00Z 1234601.2 Wh
}
