package ctl_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
)

func lmnStatus() *ctl.LMNStatus {
	at := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	return &ctl.LMNStatus{Buses: []ctl.LMNBus{
		{Driver: "modbus", Port: "/dev/ttyUSB1", Open: true, Occupancy: 0.25, BusySeconds: 12.5, Meters: []ctl.LMNMeter{
			{Meter: "sdm630-1", Driver: "modbus", Port: "/dev/ttyUSB1", Address: "unit 1", State: ctl.LMNOK,
				LastSuccess: at, Jobs: 40, Retries: 1, FrameErrors: 1},
			{Meter: "sdm630-2", Driver: "modbus", Port: "/dev/ttyUSB1", Address: "unit 2", State: ctl.LMNUnreachable,
				ConsecutiveFailures: 3, Jobs: 3, Failures: 3, Timeouts: 6, Retries: 5,
				Protocol:  map[string]uint64{"exception:illegal data address": 1},
				LastError: "modbus: no response: unit 2", LastErrorAt: at.Add(time.Minute)},
		}},
		{Driver: "dlms", Port: "127.0.0.1:4059", Meters: []ctl.LMNMeter{
			{Meter: "elec-1", Driver: "dlms", Port: "127.0.0.1:4059", Address: "server 1/17", State: ctl.LMNWaiting}}},
	}}
}

// TestLMNStatusJSON: the RS-485 health survives Status's JSON form and
// the socket, and a status without lines has no "lmn" key.
func TestLMNStatusJSON(t *testing.T) {
	st := ctl.Status{GatewayID: "gw", LMN: lmnStatus()}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"lmn":{"buses":[{"driver":"modbus"`, `"state":"unreachable"`, `"consecutive_failures":3`,
		`"protocol":{"exception:illegal data address":1}`, `"last_success":"2026-11-22T06:00:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"last_success":"0001`) {
		t.Errorf("zero times written: %s", b)
	}
	var back ctl.Status
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.LMN, st.LMN) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back.LMN, st.LMN)
	}
	b, _ = json.Marshal(ctl.Status{})
	if strings.Contains(string(b), `"lmn"`) {
		t.Errorf("a status without RS-485 lines: %s", b)
	}

	be := &ctltest.Backend{}
	be.SetStatus(st)
	f := serve(t, be)
	got, err := f.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.LMN, st.LMN) {
		t.Errorf("over the socket:\n%+v\nwant\n%+v", got.LMN, st.LMN)
	}
}
