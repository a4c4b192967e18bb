package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/lmn/sim"
	"github.com/smgw/smgw/internal/meter"
)

// printSink prints what it is given.
type printSink struct{}

func (printSink) Append(_ context.Context, rs ...meter.Reading) error {
	for _, r := range rs {
		fmt.Println(r)
	}
	return nil
}

func (printSink) Live(rs ...meter.Reading) {
	for _, r := range rs {
		fmt.Println("live", r)
	}
}

// A day of history for a new gateway is a Backfill; Run then carries on
// at the next boundary with the same figures. Here: the registers of a
// simulated electricity meter at two quarter hours of a June noon: the
// balcony PV exports (2.8.0 advances) and nothing is imported.
func Example() {
	m, err := sim.New(&sim.Options{
		ID:       "elec-1",
		Profile:  sim.Electricity,
		Seed:     42,
		Location: time.UTC,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	from := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := m.Backfill(context.Background(), printSink{}, from, from.Add(30*time.Minute)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// elec-1 1-0:1.8.0*255 2026-06-01T12:00:00Z 27915701 Wh
	// elec-1 1-0:1.8.1*255 2026-06-01T12:00:00Z 22559463 Wh
	// elec-1 1-0:1.8.2*255 2026-06-01T12:00:00Z 5356238 Wh
	// elec-1 1-0:2.8.0*255 2026-06-01T12:00:00Z 368787 Wh
	// elec-1 1-0:1.8.0*255 2026-06-01T12:15:00Z 27915701 Wh
	// elec-1 1-0:1.8.1*255 2026-06-01T12:15:00Z 22559463 Wh
	// elec-1 1-0:1.8.2*255 2026-06-01T12:15:00Z 5356238 Wh
	// elec-1 1-0:2.8.0*255 2026-06-01T12:15:00Z 368795 Wh
}

func ExampleMeter_Quantities() {
	m, err := sim.New(&sim.Options{ID: "heat-1", Profile: sim.Heat})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, q := range m.Quantities() {
		fmt.Printf("%-16s %-3s 10^%-2d %s\n", q.OBIS, q.Unit, q.Exponent, q.Description)
	}
	// Output:
	// 6-0:1.0.0*255    Wh  10^3  heat energy, total (1 kWh resolution)
	// 6-0:2.0.0*255    m³  10^-2 heat volume, total (10 l resolution)
	// 6-0:8.0.0*255    W   10^0  heat power, mean of the current quarter hour
	// 6-0:10.0.0*255   °C  10^-1 flow temperature
	// 6-0:11.0.0*255   °C  10^-1 return temperature
}
