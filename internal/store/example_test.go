package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "smgw-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{
		Keys: keys.Static{Key: bytes.Repeat([]byte{1}, keys.KeySize)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()

	// Append returns once the readings are on disk.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rs []meter.Reading
	for i := range 4 {
		rs = append(rs, meter.Reading{Meter: "elec-1", OBIS: meter.OBISActiveEnergyImport,
			Time: t0.Add(time.Duration(i) * 15 * time.Minute), Value: meter.V(int64(123_400+i*95), -1),
			Unit: meter.UnitWattHour, Source: meter.SourceDLMS})
	}
	if err := s.Append(ctx, rs...); err != nil {
		fmt.Println(err)
		return
	}
	// Query streams them in time order.
	s.Query(ctx, store.Query{Meter: "elec-1", From: t0.Add(15 * time.Minute)}, func(r meter.Reading) error {
		fmt.Println(r.Time.Format("15:04"), r.Value, r.Unit.Symbol())
		return nil
	})
	// Output:
	// 00:15 12349.5 Wh
	// 00:30 12359.0 Wh
	// 00:45 12368.5 Wh
}
