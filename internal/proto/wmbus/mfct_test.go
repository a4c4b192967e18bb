package wmbus_test

import (
	"testing"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

// find returns the value of the first number record of quantity q and
// storage st.
func find(t *testing.T, recs []mbus.Record, q mbus.Quantity, st uint64) meter.Value {
	t.Helper()
	for _, r := range recs {
		if r.Quantity == q && r.Storage == st && r.Kind == mbus.KindNumber {
			return r.Value
		}
	}
	t.Fatalf("no %s storage %d in\n%s", q, st, dumpRecords(recs))
	return meter.Value{}
}

// The Qundis Q water/heat 5.5 monthly consumptions (storage 1 the month
// ending at the monthly due date) add up, over the months since the
// yearly due date, to the difference of the two due-date values: this
// pins their unit (10 l for volumes, the VIF's unit for energy).
func TestQundisMonthlyConsumptions(t *testing.T) {
	rows := loadCorpus(t)
	d := corpusDecoder(t)
	for _, c := range []struct {
		line   int
		q, qm  mbus.Quantity
		months int // months from the yearly to the monthly due date
	}{
		{240, mbus.QuantityVolume, "volume_month", 4},  // 2022-12-31 … 2023-04-30
		{241, mbus.QuantityVolume, "volume_month", 4},  // 2023-12-31 … 2024-04-30
		{243, mbus.QuantityVolume, "volume_month", 11}, // 2023-12-31 … 2024-11-30
		{227, mbus.QuantityEnergy, "energy_month", 1},  // 2025-12-31 … 2026-01-31
		{225, mbus.QuantityEnergy, "energy_month", 4},  // 2024-12-31 … 2025-04-30
	} {
		tg, err := decodeRow(d, rows[c.line-1], t)
		if err != nil {
			t.Fatalf("line %d: %v", c.line, err)
		}
		diff := find(t, tg.Records, c.q, 17).Float64() - find(t, tg.Records, c.q, 1).Float64()
		var sum float64
		for st := 1; st <= c.months; st++ {
			sum += find(t, tg.Records, c.qm, uint64(st)).Float64()
		}
		// volumes: rounded to 10 l per month
		if tol := 0.01 * float64(c.months); sum < diff-tol || sum > diff+tol {
			t.Errorf("line %d: %d monthly consumptions add up to %v, the due-date values differ by %v", c.line, c.months, sum, diff)
		}
	}
}

// Hydrodigit monthly slots are calendar months: with the meter's date
// 2019-10-30, September is storage 1 and October (of 2018) storage 12;
// the values rise with the age falling.
func TestHydrodigitMonths(t *testing.T) {
	rows := loadCorpus(t)
	tg, err := decodeRow(corpusDecoder(t), rows[97], t)
	if err != nil {
		t.Fatal(err)
	}
	if v := find(t, tg.Records, mbus.QuantityVolume, 1); v.String() != "3.60" {
		t.Errorf("storage 1 (September) = %v, want 3.60", v)
	}
	if v := find(t, tg.Records, mbus.QuantityVolume, 12); v.String() != "1.37" {
		t.Errorf("storage 12 (October 2018) = %v, want 1.37", v)
	}
	for st := uint64(1); st < 12; st++ {
		if find(t, tg.Records, mbus.QuantityVolume, st).Float64() < find(t, tg.Records, mbus.QuantityVolume, st+1).Float64() {
			t.Errorf("storage %d below storage %d", st, st+1)
		}
	}
	if v := find(t, tg.Records, mbus.QuantityVoltage, 0); v.String() != "3.70" {
		t.Errorf("battery = %v V, want 3.70", v)
	}
}
