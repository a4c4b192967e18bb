package tariff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/tariff"
)

type records map[string][]byte

var errNotFound = errors.New("not found")

func (r records) PutRecord(_ context.Context, kind, name string, v []byte) error {
	r[kind+"/"+name] = v
	return nil
}

func (r records) Record(kind, name string) ([]byte, error) {
	if v, ok := r[kind+"/"+name]; ok {
		return v, nil
	}
	return nil, errNotFound
}

// A two-tariff schedule: the price now and when it changes next.
func ExampleModel_PriceAt() {
	m, _ := tariff.Open(records{}, &tariff.Options{NotFound: errNotFound})
	err := m.SetSchedule(context.Background(), tariff.Schedule{
		ID: "ht-nt", Effective: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Currency: "EUR", Unit: "kWh", TimeZone: "Europe/Berlin",
		Tiers:       []tariff.Tier{{ID: 1, Label: "NT", Price: meter.V(2500, -4)}, {ID: 2, Label: "HT", Price: meter.V(3500, -4)}},
		DefaultTier: 1,
		Periods:     []tariff.Period{{Tier: 2, Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "06:00", End: "22:00"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC) // Monday 21:00 in Berlin
	p, _ := m.PriceAt(at)
	next, np, _ := m.NextChange(at)
	fmt.Println(p.Label, p.Price, p.Currency+"/"+p.Unit)
	fmt.Println(np.Label, np.Price, "from", next.UTC().Format(time.RFC3339))
	// Output:
	// HT 0.3500 EUR/kWh
	// NT 0.2500 from 2026-11-23T21:00:00Z
}
