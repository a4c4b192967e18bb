package zigbee

import (
	"context"
	"testing"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

// FuzzHandleFrame: no frame from the air makes the ESI panic, and every
// frame it answers with parses.
func FuzzHandleFrame(f *testing.F) {
	for _, c := range []uint16{zcl.ClusterBasic, zcl.ClusterIdentify, zcl.ClusterTime, zcl.ClusterPrice, zcl.ClusterDRLC, zcl.ClusterMetering, zcl.ClusterMessaging, 0x0006} {
		f.Add(c, uint8(1), []byte{0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04})
		f.Add(c, uint8(1), []byte{0x01, 0x02, 0x00, 0x01})
		f.Add(c, uint8(2), []byte{0x00, 0x03, 0x06, 0x00, 0x00, 0x00, 0x25, 0x00, 0x00, 0x10, 0x0e, 0x01, 0, 0, 0, 0, 0})
		f.Add(c, uint8(1), []byte{0x01, 0x04, 0x01, 0x07, 0, 0, 0, 0, 0, 0, 0})
	}
	st := openStore(f)
	seed(f, st)
	clk := &clock{t: t0}
	tm, err := tariff.Open(st, &tariff.Options{NotFound: store.ErrNotFound, Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	svc, err := New(st, &Options{NCP: newFakeNCP(), Network: testNet, Meters: []Meter{{ID: elec}, {ID: "gas-1", Kind: KindGas}}, Tariff: tm, Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	svc.devices[ihdEUI] = &DeviceInfo{EUI64: ihdEUI, NWK: ihdNWK, Endpoint: 1}
	f.Fuzz(func(t *testing.T, cluster uint16, ep uint8, p []byte) {
		svc.handleFrame(context.Background(), hal.Frame{SrcAddr: ihdNWK, SrcEndpoint: 1, DstEndpoint: ep, Cluster: cluster, Payload: p})
		for len(svc.outq) > 0 {
			out := <-svc.outq
			if _, err := zcl.ParseFrame(out.frame); err != nil {
				t.Fatalf("answer % x does not parse: %v", out.frame, err)
			}
		}
		clear(svc.reports) // bounded state between inputs
	})
}
