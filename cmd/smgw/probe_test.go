package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
)

// TestProbeModbus reads a meter served by pymodbus on a pty with `smgw
// probe modbus` and checks the printed JSON value for value.
func TestProbeModbus(t *testing.T) {
	a, b := serialtest.PtyPair(t)
	p, err := profile.Builtin("em340")
	if err != nil {
		t.Fatal(err)
	}
	img := modbustest.Image{}
	want := img.Fill(t, 7, p, 2)
	modbustest.StartPymodbus(t, b, img)

	code, out, errOut := runCLI(t, "probe", "modbus", "--port", a, "--baud", "9600", "--unit", "7", "--profile", "em340", "--timeout", "500ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	var res probeResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if res.Unit != 7 || res.Profile != "em340" || res.Model != "Carlo Gavazzi EM340" || len(res.Errors) != 0 {
		t.Errorf("result %+v", res)
	}
	if len(res.Readings) != len(p.Registers) {
		t.Fatalf("%d readings, want %d", len(res.Readings), len(p.Registers))
	}
	for i, r := range p.Registers {
		got := res.Readings[i]
		if got.OBIS != r.OBIS.String() || got.Value != want[r.OBIS].String() || got.Unit != r.Unit.String() || got.Name != r.Name {
			t.Errorf("reading %d: %+v; want %s %s %s", i, got, r.OBIS, want[r.OBIS], r.Unit)
		}
	}

	// A unit that does not answer: the errors are in the JSON, exit 1.
	code, out, errOut = runCLI(t, "probe", "modbus", "--port", a, "--unit", "9", "--profile", "em340", "--timeout", "100ms", "--retries", "0")
	if code != exitFail || !strings.Contains(out, `"errors"`) || !strings.Contains(out, "no response") ||
		!strings.Contains(errOut, "20 of the profile's 20 registers not read") {
		t.Errorf("silent unit: exit %d\n%s%s", code, out, errOut)
	}
}

func TestProbeUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"probe"}, exitUsage, "usage: smgw probe PROTOCOL"},
		{[]string{"probe", "dlms"}, exitUsage, "give either --port DEV or --tcp HOST:PORT"}, // probe_dlms_test.go
		{[]string{"probe", "mbus"}, exitUsage, "give either --port DEV or --tcp HOST:PORT"}, // probe_mbus_test.go
		{[]string{"probe", "zigbee"}, exitUsage, `unknown protocol "zigbee"`},
		{[]string{"probe", "modbus", "--unit", "1", "--profile", "sdm630"}, exitUsage, "give either --port DEV or --tcp HOST:PORT"},
		{[]string{"probe", "modbus", "--port", "/dev/x", "--unit", "1"}, exitUsage, "--profile is required"},
		{[]string{"probe", "modbus", "--port", "/dev/x", "--unit", "300", "--profile", "sdm630"}, exitUsage, "--unit 300"},
		{[]string{"probe", "modbus", "--port", "/dev/x", "--profile", "sdm999"}, exitFail, "no such built-in profile"},
		{[]string{"probe", "modbus", "--port", "/dev/x", "--profile", "sdm630", "--baud", "14400"}, exitUsage, "baud rate 14400 is not supported"},
		{[]string{"probe", "modbus", "--port", "/nonexistent/tty", "--profile", "sdm630"}, exitFail, "no such file or directory"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d\n%s%s\nwant exit %d and %q", tt.args, code, out, errOut, tt.code, tt.want)
		}
	}
	code, out, _ := runCLI(t, "probe", "--help")
	if code != exitOK || !strings.Contains(out, "smgw probe modbus --port DEV") {
		t.Errorf("probe --help: %d %s", code, out)
	}
}
