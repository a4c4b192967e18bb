package ctl_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
)

// zigbeeBackend adds a Zigbee ESI to the in-memory backend.
type zigbeeBackend struct {
	*ctltest.Backend
	n       ctl.ZigbeeNetwork
	permits []string
	removed []string
}

func (b *zigbeeBackend) ZigbeePermit(ctx context.Context, eui, code string, d time.Duration) error {
	if eui == "bad" {
		return fmt.Errorf("%w: EUI-64 %q", ctl.ErrBadRequest, eui)
	}
	b.permits = append(b.permits, fmt.Sprintf("%s %s %v", eui, code, d))
	return nil
}

func (b *zigbeeBackend) ZigbeeDevices(ctx context.Context) (ctl.ZigbeeNetwork, error) {
	return b.n, nil
}

func (b *zigbeeBackend) ZigbeeRemove(ctx context.Context, eui string) error {
	if eui != "000D6F0011223344" {
		return fmt.Errorf("%w: %s", ctl.ErrNotFound, eui)
	}
	b.removed = append(b.removed, eui)
	return nil
}

func TestZigbeeEndpoints(t *testing.T) {
	at := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	b := &zigbeeBackend{Backend: &ctltest.Backend{}, n: ctl.ZigbeeNetwork{Driver: "znp", State: "up", Channel: 15, PANID: "0x1A62",
		Devices: []ctl.ZigbeeDevice{{EUI64: "000D6F0011223344", NWK: "0x4C21", Joined: at, LQI: 180, Endpoint: 1}}}}
	f := serve(t, b)
	ctx := context.Background()
	if err := f.client.ZigbeePermit(ctx, "000D6F0011223344", "83FED3407A939723A5C639B26916D505C3B5", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(b.permits) != 1 || b.permits[0] != "000D6F0011223344 83FED3407A939723A5C639B26916D505C3B5 3m0s" {
		t.Errorf("permits %v", b.permits)
	}
	if err := f.client.ZigbeePermit(ctx, "bad", "00", time.Minute); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("bad EUI: %v", err)
	}
	got, err := f.client.ZigbeeDevices(ctx)
	if err != nil || !reflect.DeepEqual(got, b.n) {
		t.Errorf("devices %+v %v", got, err)
	}
	if err := f.client.ZigbeeRemove(ctx, "000D6F0011223344"); err != nil || len(b.removed) != 1 {
		t.Errorf("remove: %v %v", err, b.removed)
	}
	if err := f.client.ZigbeeRemove(ctx, "0000000000000001"); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("remove unknown: %v", err)
	}
	// A daemon without the ESI answers not found.
	f2 := serve(t, &ctltest.Backend{})
	if _, err := f2.client.ZigbeeDevices(ctx); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("without the ESI: %v", err)
	}
}
