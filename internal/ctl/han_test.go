package ctl_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
)

// hanBackend adds the HAN display service to the in-memory backend.
type hanBackend struct {
	*ctltest.Backend
	meters  []string
	revoked string
}

func (b *hanBackend) HANPair(ctx context.Context, meters []string) (ctl.HANPairing, error) {
	b.meters = meters
	return ctl.HANPairing{Code: "1234-5678", Expires: time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC), Meters: meters, CertSHA256: "ab"}, nil
}

func (b *hanBackend) HANClients(ctx context.Context) ([]ctl.HANClient, error) {
	return []ctl.HANClient{{ID: "c1", Name: "kitchen", Paired: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}}, nil
}

func (b *hanBackend) HANRevoke(ctx context.Context, id string) (ctl.HANClient, error) {
	if id != "c1" {
		return ctl.HANClient{}, fmt.Errorf("%w: no client %q", ctl.ErrNotFound, id)
	}
	b.revoked = id
	now := time.Date(2026, 11, 22, 9, 1, 0, 0, time.UTC)
	return ctl.HANClient{ID: id, Name: "kitchen", Revoked: &now}, nil
}

func TestHANEndpoints(t *testing.T) {
	b := &hanBackend{Backend: &ctltest.Backend{}}
	f := serve(t, b)
	ctx := context.Background()
	p, err := f.client.HANPair(ctx, []string{"elec-1"})
	if err != nil || p.Code != "1234-5678" || len(b.meters) != 1 || b.meters[0] != "elec-1" || !p.Expires.Equal(time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC)) {
		t.Errorf("HANPair = %+v, %v (meters %v)", p, err, b.meters)
	}
	cs, err := f.client.HANClients(ctx)
	if err != nil || len(cs) != 1 || cs[0].Name != "kitchen" {
		t.Errorf("HANClients = %+v, %v", cs, err)
	}
	c, err := f.client.HANRevoke(ctx, "c1")
	if err != nil || c.Revoked == nil || b.revoked != "c1" {
		t.Errorf("HANRevoke = %+v, %v", c, err)
	}
	if _, err := f.client.HANRevoke(ctx, "x/../y"); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("HANRevoke(unknown) = %v, want ErrNotFound", err)
	}

	// A daemon without the service answers not found.
	f2 := serve(t, &ctltest.Backend{})
	if _, err := f2.client.HANPair(ctx, nil); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("HANPair without the service: %v", err)
	}
}
