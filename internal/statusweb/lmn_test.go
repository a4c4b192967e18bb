package statusweb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
)

// TestPageLMN: the RS-485 meters' health is on the page (a row per
// meter with its state, counters and last error) and in /api/status.
func TestPageLMN(t *testing.T) {
	b := backend(false)
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.LMN = &ctl.LMNStatus{Buses: []ctl.LMNBus{{Driver: "modbus", Port: "/dev/ttyUSB1", Open: true, Occupancy: 0.234, Meters: []ctl.LMNMeter{
		{Meter: "sdm630-1", Driver: "modbus", Port: "/dev/ttyUSB1", Address: "unit 1", State: ctl.LMNOK, LastSuccess: now.Add(-3 * time.Second),
			Jobs: 40, FrameErrors: 2, Retries: 2},
		{Meter: "sdm630-2", Driver: "modbus", Port: "/dev/ttyUSB1", Address: "unit 2", State: ctl.LMNUnreachable, ConsecutiveFailures: 3,
			Timeouts: 6, Retries: 5, Protocol: map[string]uint64{"exception:illegal data address": 1},
			LastError: "modbus: no response: <unit 2>", LastErrorAt: now.Add(-time.Minute)},
	}}}}
	b.SetStatus(st)
	h := newHandler(t, b)
	page := do(t, h, "GET", "/").Body.String()
	for _, want := range []string{
		"RS-485 meters", "modbus /dev/ttyUSB1", `<span data-f="bus-state">open</span>`, `<span data-f="occupancy">23 %</span>`,
		`<tr data-lmn="sdm630-1" class="ok"><td>sdm630-1</td><td>unit 1</td><td><span class="state" data-f="state">ok</span>`,
		">3 s ago<",
		`<tr data-lmn="sdm630-2" class="bad"><td>sdm630-2</td><td>unit 2</td><td><span class="state" data-f="state">unreachable</span>`,
		`<td class="num" data-f="consecutive_failures">3</td><td class="num" data-f="timeouts">6</td><td class="num" data-f="frame_errors">0</td>`,
		`<td data-f="refused">exception:illegal data address 1</td><td class="num" data-f="retries">5</td>`,
		"modbus: no response: &lt;unit 2&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	api := do(t, h, "GET", "/api/status").Body.String()
	if !strings.Contains(api, `"lmn":{"buses":[{"driver":"modbus","port":"/dev/ttyUSB1","open":true`) || !strings.Contains(api, `"state":"unreachable"`) {
		t.Errorf("/api/status: %s", api)
	}
	// Without RS-485 lines there is no such section.
	if page := do(t, newHandler(t, backend(false)), "GET", "/").Body.String(); strings.Contains(page, "RS-485 meters") {
		t.Error("an empty RS-485 section")
	}
}
