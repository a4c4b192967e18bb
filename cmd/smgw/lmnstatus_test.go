package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

func TestFmtLMN(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	st := ctl.Status{GatewayID: "gw", LMN: &ctl.LMNStatus{Buses: []ctl.LMNBus{
		{Driver: "modbus", Port: "/dev/ttyUSB1", Open: true, Occupancy: 0.25, Meters: []ctl.LMNMeter{
			{Meter: "sdm630-1", Address: "unit 1", State: ctl.LMNOK, LastSuccess: now.Add(-2 * time.Second), FrameErrors: 1, Retries: 1},
			{Meter: "sdm630-2", Address: "unit 2", State: ctl.LMNUnreachable, ConsecutiveFailures: 4, Timeouts: 8, Retries: 6,
				Protocol: map[string]uint64{"exception:illegal data address": 2}, Other: 1,
				LastError: "modbus: no response: unit 2", LastErrorAt: now.Add(-time.Minute)},
		}},
		{Driver: "dlms", Port: "/dev/ttyUSB2", Meters: []ctl.LMNMeter{{Meter: "elec-1", Address: "server 1/17", State: ctl.LMNWaiting}}},
	}}}
	out := fmtStatus(st, now)
	for _, want := range []string{
		"rs-485\n", "  modbus /dev/ttyUSB1: open, line busy 25% (15 min)\n",
		"sdm630-1  unit 1", "ok           last ok 2s ago", "1 crc/frame, 0 refused, 1 retries",
		"UNREACHABLE", "last ok never", "4 failing", "8 timeouts", "3 (exception:illegal data address 2, other 1) refused", "6 retries",
		"last error 1m0s ago: modbus: no response: unit 2",
		"  dlms /dev/ttyUSB2: NOT OPEN\n", "elec-1", "waiting",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "last error") && strings.Count(out, "last error") != 1 {
		t.Errorf("last error shown for a meter that is ok:\n%s", out)
	}
}
