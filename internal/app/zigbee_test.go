package app

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/zigbee/znp"
	"github.com/smgw/smgw/hal/zigbee/znpsim"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/han/zigbee/ihdsim"
	"github.com/smgw/smgw/internal/store"
)

// TestZigbeeESI runs the gateway with [zigbee] on the simulated
// co-processor: the network comes up with a key kept sealed in the
// store, a display joins through ZigbeePermit and is listed and removed.
func TestZigbeeESI(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	gw, ncp, stopPty, err := znpsim.Pair(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stopPty()
	sim, err := znpsim.Start(ncp, &znpsim.Options{SRSPDelay: -1, EventDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	cfg := testConfig(t, t.TempDir())
	cfg.Zigbee.Enabled, cfg.Zigbee.Port, cfg.Zigbee.Electricity = true, gw, string(cfg.Meters[0].ID)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	a, stop := startApp(t, cfg, &ns, 0)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	ctx := context.Background()
	waitFor(t, "the Zigbee network up", func() bool {
		n, err := a.ZigbeeDevices(ctx)
		return err == nil && n.State == "up"
	})
	key, err := a.st.Record(store.KindSecret, zigbeeKeyRecord)
	if err != nil || len(key) != 16 {
		t.Fatalf("network key record: %d bytes, %v", len(key), err)
	}

	code := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	crc := znp.InstallCodeCRC(code)
	code = append(code, byte(crc), byte(crc>>8))
	if err := a.ZigbeePermit(ctx, "00:0D:6F:00:11:22:33:44", "0102030405060708"+hex2(crc), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.ZigbeePermit(ctx, "000D6F0011223344", "0102030405060708FFFF", time.Minute); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("a wrong CRC: %v, want ErrBadRequest", err)
	}
	ihd := ihdsim.New()
	if err := sim.AddDevice(0x000D6F0011223344, code, 1, ihd.Handle); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the display listed", func() bool {
		n, _ := a.ZigbeeDevices(ctx)
		return len(n.Devices) == 1 && n.Devices[0].EUI64 == "000D6F0011223344"
	})
	if err := a.ZigbeeRemove(ctx, "000D6F0011223344"); err != nil {
		t.Fatal(err)
	}
	if err := a.ZigbeeRemove(ctx, "000D6F0011223344"); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("removing twice: %v, want ErrNotFound", err)
	}
}

func hex2(crc uint16) string {
	const digits = "0123456789ABCDEF"
	b := []byte{byte(crc), byte(crc >> 8)}
	return string([]byte{digits[b[0]>>4], digits[b[0]&15], digits[b[1]>>4], digits[b[1]&15]})
}
