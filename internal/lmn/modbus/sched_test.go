package modbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial/serialtest"
	"github.com/smgw/smgw/internal/lmn/bus"
	mb "github.com/smgw/smgw/internal/proto/modbus"
	"github.com/smgw/smgw/internal/testutil"
)

// TestCommandsHealthAndPortLoss runs a bus on the line scheduler against
// pymodbus: commands (a register write and its read back) go on the line
// between polls; the scheduler's health shows the answering meter ok and
// the silent one unreachable (a refused command counts until the next
// poll succeeds) with its timeouts and retries counted; and
// when the port goes away Run returns ErrPort (the owner reopens it)
// without counting it against the meters.
func TestCommandsHealthAndPortLoss(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := serialtest.PtyPair(t)
	p := mustProfile(t, "sdm120")
	img := image{}
	img.Fill(t, 1, p, 2)
	if img[1]["holding"] == nil {
		img[1]["holding"] = map[string]uint16{}
	}
	img[1]["holding"]["4000"] = 5
	startPymodbus(t, b, img)
	port := openPort(t, a)
	c, _ := NewClient(port, &ClientOptions{Timeout: 150 * time.Millisecond})
	bs, _ := NewBus(c, &BusOptions{Retries: 1})
	sink := &memSink{}
	if err := bs.AddMeter(MeterOptions{ID: "m1", Unit: 1, Profile: p, Interval: time.Second, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	if err := bs.AddMeter(MeterOptions{ID: "gone", Unit: 2, Profile: p, Interval: time.Second, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bs.Run(ctx) }()

	if _, err := bs.Do(ctx, "m1", mb.WriteSingle(4000, 42)); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := bs.Do(ctx, "m1", mb.ReadHolding(4000, 1))
	if err != nil || resp.Register(0) != 42 {
		t.Fatalf("read back: %v %v", resp.Registers(), err)
	}
	if _, err := bs.Do(ctx, "nope", mb.ReadHolding(0, 1)); !errors.Is(err, ErrOptions) {
		t.Errorf("command to an unknown meter: %v", err)
	}
	if _, err := bs.Do(ctx, "m1", mb.ReadHolding(0x7FF0, 1)); !errors.As(err, new(*mb.Exception)) {
		t.Errorf("command refused: %v", err)
	}

	var h []bus.Health
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h = bs.Health()
		if h[0].Jobs >= 5 && h[0].Failing == 0 && h[1].Failures >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health after 15 s: %s / %s", h[0], h[1])
		}
	}
	t.Log(h[0], "\n", h[1])
	if h[0].State() != bus.StateOK || h[0].Protocol["exception:illegal data address"] != 1 {
		t.Errorf("m1: %s", h[0])
	}
	if h[1].State() != bus.StateUnreachable || h[1].Timeouts < 4 || h[1].Retries < 2 || h[1].LastError == "" {
		t.Errorf("gone: %s (two timeouts a poll, one retried)", h[1])
	}
	if st := bs.Stats(); st[1].Failures < 2 || st[1].Healthy() || !st[0].Healthy() {
		t.Errorf("stats disagree with health: %+v", st[1])
	}
	if o := bs.Occupancy(); o.Busy <= 0 || o.Recent <= 0 {
		t.Errorf("occupancy %+v", o)
	}

	jobs := bs.Health()[0].Jobs
	port.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPort) {
			t.Fatalf("Run after the port closed = %v, want ErrPort", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop when the port closed")
	}
	if h := bs.Health()[0]; h.Jobs > jobs+1 || h.Failing != 0 {
		t.Errorf("the port's failure counted against the meter: %s", h)
	}
}
