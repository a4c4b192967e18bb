package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/mbus/mbussim"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

func mbusSims(t *testing.T) []*mbussim.Meter {
	t.Helper()
	var out []*mbussim.Meter
	for _, o := range []mbussim.Options{
		{Primary: 2, ID: 0x11112222, Medium: pmbus.DevWater},
		{Primary: 5, ID: 0x21115555, Medium: pmbus.DevElectricity, History: 20, PerTelegram: 8},
	} {
		m, err := mbussim.New(&o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestProbeMBus scans a simulated line through a pty pair (primary and
// secondary) and reads a meter by either address, with exact values.
func TestProbeMBus(t *testing.T) {
	a, b := serialtest.PtyPair(t)
	far, err := serial.Open(&serial.Config{Name: b, Baud: 2400, Parity: serial.ParityEven})
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	sims := mbusSims(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mbussim.ServeLine(ctx, far, sims...) }()
	defer func() { cancel(); <-done }()

	code, out, errOut := runCLI(t, "probe", "mbus", "--port", a, "--scan", "--first", "0", "--last", "6", "--timeout", "150ms", "--retries", "0")
	if code != exitOK {
		t.Fatalf("primary scan: exit %d\n%s%s", code, out, errOut)
	}
	var res probeMBusResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Scan != "primary" || len(res.Meters) != 2 || *res.Meters[0].Primary != 2 || res.Meters[0].ID != "11112222" ||
		res.Meters[0].Medium != "water" || res.Meters[1].Manufacturer != "SMG" || *res.Meters[1].Primary != 5 {
		t.Fatalf("primary scan: %s", out)
	}

	code, out, errOut = runCLI(t, "probe", "mbus", "--port", a, "--scan", "--secondary", "--timeout", "150ms", "--retries", "0")
	if code != exitOK {
		t.Fatalf("secondary scan: exit %d\n%s%s", code, out, errOut)
	}
	res = probeMBusResult{}
	json.Unmarshal([]byte(out), &res)
	if res.Scan != "secondary" || len(res.Meters) != 2 || res.Meters[0].Secondary != sims[0].Address().String() ||
		res.Meters[1].Secondary != sims[1].Address().String() || res.Meters[0].Primary != nil {
		t.Fatalf("secondary scan: %s", out)
	}

	before := time.Now()
	code, out, errOut = runCLI(t, "probe", "mbus", "--port", a, "--address", "5")
	after := time.Now()
	if code != exitOK {
		t.Fatalf("read 5: exit %d\n%s%s", code, out, errOut)
	}
	res = probeMBusResult{}
	json.Unmarshal([]byte(out), &res)
	if res.Telegrams != 4 || res.Meter == nil || res.Meter.ID != "21115555" || len(res.Records) < 25 {
		t.Fatalf("read 5: %s", out)
	}
	r := res.Records[0]
	v, err := meter.ParseValue(r.Value)
	if r.OBIS != "1-0:1.8.0*255" || r.Unit != "Wh" || err != nil ||
		v.Cmp(meter.V(sims[1].EnergyWh(before), 0)) < 0 || v.Cmp(meter.V(sims[1].EnergyWh(after), 0)) > 0 {
		t.Fatalf("1.8.0 = %+v, want %d…%d Wh", r, sims[1].EnergyWh(before), sims[1].EnergyWh(after))
	}

	code, out, errOut = runCLI(t, "probe", "mbus", "--port", a, "--secondary", "11112222")
	if code != exitOK {
		t.Fatalf("read by secondary: exit %d\n%s%s", code, out, errOut)
	}
	res = probeMBusResult{}
	json.Unmarshal([]byte(out), &res)
	if res.Meter == nil || res.Meter.Secondary != sims[0].Address().String() || res.Records[0].OBIS != "8-0:1.0.0*255" ||
		res.Records[0].Unit != "m³" || !strings.Contains(res.Records[0].Value, ".") {
		t.Fatalf("read by secondary: %s", out)
	}

	code, _, errOut = runCLI(t, "probe", "mbus", "--port", a, "--address", "9", "--timeout", "150ms", "--retries", "0")
	if code != exitFail || !strings.Contains(errOut, "no answer") {
		t.Fatalf("absent meter: exit %d %s", code, errOut)
	}
}

// TestProbeMBusTCP reads a meter behind a simulated TCP converter.
func TestProbeMBusTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sims := mbusSims(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mbussim.ServeTCP(ctx, ln, sims...) }()
	defer func() { cancel(); <-done }()
	code, out, errOut := runCLI(t, "probe", "mbus", "--tcp", ln.Addr().String(), "--address", "2")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var res probeMBusResult
	json.Unmarshal([]byte(out), &res)
	if res.Meter == nil || res.Meter.ID != "11112222" || len(res.Records) == 0 {
		t.Fatalf("%s", out)
	}
}

func TestProbeMBusUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "/dev/x"}, "give --scan, or --address N, or --secondary ID"},
		{[]string{"--port", "/dev/x", "--address", "251"}, "primary addresses are 0…250"},
		{[]string{"--port", "/dev/x", "--address", "1", "--baud", "14400"}, "--baud 14400"},
		{[]string{"--port", "/dev/x", "--scan", "--address", "1"}, "exclude each other"},
		{[]string{"--port", "/dev/x", "--secondary", "12x45678"}, "--secondary"},
		{[]string{"--port", "/dev/x", "--secondary", "FFFF5678"}, "without wildcards"},
		{[]string{"--port", "/dev/x", "--scan", "--first", "9", "--last", "3"}, "--first 9 --last 3"},
		{[]string{"--port", "/dev/x", "--tcp", "h:1", "--scan"}, "give either --port DEV or --tcp"},
	} {
		code, out, errOut := runCLI(t, append([]string{"probe", "mbus"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d %s%s, want usage error %q", tt.args, code, out, errOut, tt.want)
		}
	}
}
