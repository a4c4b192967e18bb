package mbus_test

import (
	"encoding/hex"
	"fmt"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// Records of a water meter: a BCD volume, a flow temperature and the
// meter's date and time, each with its OBIS code and exact value.
func ExampleAppendRecords() {
	data, _ := hex.DecodeString("0C1345230100025AD700046D1E06563B2F2F")
	recs, err := mbus.AppendRecords(nil, data, mbus.DevWater, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		switch r.Kind {
		case mbus.KindNumber:
			fmt.Println(r.OBIS, r.Quantity, r.Value, r.Unit)
		case mbus.KindDateTime:
			fmt.Println(r.OBIS, r.Quantity, r.Time.Format("2006-01-02T15:04"))
		}
	}
	// Output:
	// 8-0:1.0.0*255 volume 12.345 m³
	// 8-0:3.0.0*255 flow_temperature 21.5 °C
	// 0-0:1.0.0*255 datetime 2026-11-22T06:30
}
