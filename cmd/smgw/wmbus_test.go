package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

func TestFmtWMBus(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	rssi := -74
	st := ctl.WMBusStatus{
		Receiver: "im871a /dev/ttyUSB0: running",
		Stats:    ctl.WMBusStats{Frames: 12, Stored: 9, Readings: 27, Dropped: 2, Unknown: 1},
		Meters: []ctl.WMBusHealth{{Meter: "water-3", Manufacturer: "KAM", Address: "12345678", Medium: "water",
			Security: "mode 5", LastSeen: now.Add(-42 * time.Second), RSSI: &rssi, Telegrams: 11, Stored: 9,
			Duplicates: 1, Replays: 1, Errors: map[string]uint64{"replay": 1, "decrypt": 0},
			LastError: "access number 3 is 2 behind", Flags: []string{"CVE-2021-34576: …"}}},
		Nearby: []ctl.WMBusNearby{{Manufacturer: "DME", ID: "87654321", DeviceType: 7, Medium: "water", Encrypted: true,
			LastSeen: now.Add(-time.Minute), Count: 3}},
		Bad: []ctl.WMBusBad{{Time: now, Meter: "water-3", Reason: "replay", Err: "access number 3 is 2 behind", Hex: "1e44"}},
	}
	out := fmtWMBus(st, now)
	for _, want := range []string{
		"receiver  im871a /dev/ttyUSB0: running",
		"12 received, 9 stored (27 readings), 2 dropped",
		"water-3", "KAM-12345678", "42s ago", "-74 dBm", "decrypt 0, replay 1",
		"water-3: last error: access number 3 is 2 behind",
		"water-3: WARNING: CVE-2021-34576",
		"DME", "87654321", "water (0x07)", "1m0s ago",
		"last 1 bad telegrams", "1e44",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out := fmtWMBus(ctl.WMBusStatus{}, now); !strings.Contains(out, "no wireless M-Bus receiver") {
		t.Errorf("empty: %q", out)
	}
}
