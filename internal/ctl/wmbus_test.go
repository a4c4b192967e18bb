package ctl_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
)

// wmbusBackend adds a wireless M-Bus report to the in-memory backend.
type wmbusBackend struct {
	*ctltest.Backend
	st ctl.WMBusStatus
}

func (b *wmbusBackend) WMBus(ctx context.Context) (ctl.WMBusStatus, error) { return b.st, ctx.Err() }

func TestWMBusEndpoint(t *testing.T) {
	rssi := -71
	at := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	want := ctl.WMBusStatus{
		Receiver: "im871a /dev/ttyUSB0: running",
		Stats:    ctl.WMBusStats{Frames: 10, Stored: 7, Readings: 21, Dropped: 1, Unknown: 2},
		Meters: []ctl.WMBusHealth{{Meter: "water-3", Manufacturer: "KAM", Address: "12345678", RSSI: &rssi, LastSeen: at,
			Telegrams: 8, Stored: 7, Errors: map[string]uint64{"decrypt": 1}, AccessNumber: 42, Security: "mode 5",
			Flags: []string{"CVE-2021-34576: …"}}},
		Nearby: []ctl.WMBusNearby{{Manufacturer: "DME", ID: "87654321", DeviceType: 7, Medium: "water", FirstSeen: at, LastSeen: at, Count: 2}},
		Bad:    []ctl.WMBusBad{{Time: at, Meter: "water-3", Reason: "decrypt", Err: "wmbus: decryption check failed", Hex: "1e44"}},
	}
	f := serve(t, &wmbusBackend{Backend: &ctltest.Backend{}, st: want})
	got, err := f.client.WMBus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WMBus() =\n%+v\nwant\n%+v", got, want)
	}

	// A backend without wM-Bus answers not found.
	f2 := serve(t, &ctltest.Backend{})
	if _, err := f2.client.WMBus(context.Background()); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("WMBus() without the service: %v, want ErrNotFound", err)
	}
}
