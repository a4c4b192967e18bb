package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

// TestProbeDLMS reads the simulated meter through a pty pair: the object
// list, registers, and a profile range with exact values.
func TestProbeDLMS(t *testing.T) {
	a, b := serialtest.PtyPair(t)
	far, err := serial.Open(&serial.Config{Name: b, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	sim, err := dlmssim.New(&dlmssim.Options{Password: []byte("secret12"), Server: dlmssimAddr()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sim.Serve(ctx, far) }()
	defer func() { cancel(); <-done }()

	code, out, errOut := runCLI(t, "probe", "dlms", "--port", a, "--server", "1/17")
	if code != exitOK {
		t.Fatalf("object list: exit %d\n%s%s", code, out, errOut)
	}
	var res probeDLMSResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.WindowRx != 7 || res.MaxInfoRx != 2030 || len(res.Objects) < 10 {
		t.Fatalf("result %+v", res)
	}
	found := false
	for _, o := range res.Objects {
		found = found || o.OBIS == "1.0.99.1.0.255" && o.Class == 7
	}
	if !found {
		t.Fatalf("no load profile in %+v", res.Objects)
	}

	before := dlmssim.ImportWh(time.Now())
	code, out, errOut = runCLI(t, "probe", "dlms", "--port", a, "--server", "1/17", "--auth", "low", "--password", "secret12",
		"--obis", "1.0.1.8.0.255,1.0.32.7.0.255")
	after := dlmssim.ImportWh(time.Now())
	if code != exitOK {
		t.Fatalf("registers: exit %d\n%s%s", code, out, errOut)
	}
	res = probeDLMSResult{}
	json.Unmarshal([]byte(out), &res)
	if len(res.Registers) != 2 || res.Registers[1].Unit != "V" || !strings.Contains(res.Registers[1].Value, ".") {
		t.Fatalf("registers %+v", res.Registers)
	}
	v, err := meter.ParseValue(res.Registers[0].Value)
	if err != nil || v.Cmp(meter.V(before, 0)) < 0 || v.Cmp(meter.V(after, 0)) > 0 || res.Registers[0].Unit != "Wh" {
		t.Fatalf("1.8.0 = %s %s, want %d…%d Wh", res.Registers[0].Value, res.Registers[0].Unit, before, after)
	}

	to := time.Now().UTC().Truncate(time.Hour)
	from := to.Add(-2 * time.Hour)
	code, out, errOut = runCLI(t, "probe", "dlms", "--port", a, "--server", "1/17", "--profile", "1.0.99.1.0.255",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--window", "1", "--max-info", "128")
	if code != exitOK {
		t.Fatalf("profile: exit %d\n%s%s", code, out, errOut)
	}
	res = probeDLMSResult{}
	json.Unmarshal([]byte(out), &res)
	p := res.Profile
	if p == nil || p.Entries != 9 || len(p.Values) != 36 || p.Period != "15m0s" || len(p.Columns) != 5 || res.WindowRx != 1 {
		t.Fatalf("profile %+v", res)
	}
	if p.Values[0].OBIS != "1.0.1.8.0.255" || p.Values[0].Time != from.Format(time.RFC3339) || p.Values[0].Value != meter.V(dlmssim.ImportWh(from), 0).String() {
		t.Fatalf("first value %+v, want %d at %v", p.Values[0], dlmssim.ImportWh(from), from)
	}

	code, _, errOut = runCLI(t, "probe", "dlms", "--port", a, "--server", "1/17", "--auth", "low", "--password", "wrong")
	if code != exitFail || !strings.Contains(errOut, "association refused") {
		t.Fatalf("wrong password: exit %d %s", code, errOut)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", a, "--auth", "low"}, "--auth low needs --password"},
		{[]string{"--port", a, "--auth", "high", "--ak", "00"}, "--auth high needs --ak and --ek"},
		{[]string{"--port", a, "--server", "0"}, "logical address"},
		{[]string{"--port", a, "--obis", "1.8"}, "--obis"},
		{[]string{"--tcp", "127.0.0.1:1", "--port", a}, "either --port"},
	} {
		code, out, errOut := runCLI(t, append([]string{"probe", "dlms"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d %s%s, want %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func dlmssimAddr() hdlc.Address { return hdlc.ServerAddress(1, 17) }
