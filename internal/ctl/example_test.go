package ctl_test

import (
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
)

func ExampleEncodeReadingJSON() {
	r := meter.Reading{
		Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport,
		Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Value: meter.V(123456, -3), Unit: meter.UnitWattHour, Source: meter.SourceSim,
	}
	line := ctl.EncodeReadingJSON(nil, r)
	fmt.Printf("%s\n", line)
	back, err := ctl.DecodeReadingJSON(line)
	fmt.Println(back, err)
	// Output:
	// {"meter":"elec-1","obis":"1-0:1.8.0*255","time":"2026-01-02T03:04:05Z","value":"123.456","unit":"Wh","unit_code":30,"quality":"ok","source":"sim"}
	// elec-1 1-0:1.8.0*255 2026-01-02T03:04:05Z 123.456 Wh <nil>
}
