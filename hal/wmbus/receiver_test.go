package wmbus

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/testutil"
)

// A mode-5 water telegram (actislink, from the shared corpus), L-field
// first, CRCs removed.
var testTelegram, _ = hex.DecodeString("1E468B050100000004077A01001002BBD1EAFD0222F871CB70DA16C78AE098")

// collector gathers delivered frames (copied).
type collector struct {
	mu     sync.Mutex
	frames []Frame
	got    chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 100)} }

func (c *collector) fn(f Frame) {
	f.Data = append([]byte(nil), f.Data...)
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
	select {
	case c.got <- struct{}{}:
	default:
	}
}

func (c *collector) wait(t *testing.T, n int) []Frame {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		if len(c.frames) >= n {
			out := append([]Frame(nil), c.frames...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("got %d frames in 20 s, want %d", len(c.frames), n)
		}
	}
}

func hciMsg(t *testing.T, f HCIFrame) []byte {
	t.Helper()
	b, err := AppendHCI(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// im871aSim answers like an iM871A with the given firmware.
func im871aSim(t *testing.T, firmware byte) func([]byte) []byte {
	return func(req []byte) []byte {
		f, _, err := ParseHCI(req)
		if err != nil || f.Endpoint != EndpointDevMgmt {
			return nil
		}
		ans := HCIFrame{Endpoint: EndpointDevMgmt, MsgID: f.MsgID + 1, Control: HCICRC}
		switch f.MsgID {
		case MsgResetReq, MsgSetConfigReq:
			ans.Payload = []byte{0}
		case MsgPingReq:
		case MsgGetDeviceInfoReq:
			ans.Payload = []byte{0x33, 0x00, firmware, 0x17, 0x78, 0x56, 0x34, 0x12}
		default:
			return nil
		}
		return hciMsg(t, ans)
	}
}

func TestIM871A(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, simf := ptyPair(t)
	sim := &simDevice{f: simf, inject: make(chan []byte, 10), handle: im871aSim(t, 0x15),
		parse: func(b []byte) (int, error) { _, n, err := ParseHCI(b); return n, err }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sim.run(ctx) }()
	var bad []error
	var badMu sync.Mutex
	r, err := NewIM871A(&IM871AOptions{Device: dev, Mode: ModeC1T1, OnBad: func(err error) {
		badMu.Lock()
		bad = append(bad, err)
		badMu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	runErr := make(chan error, 1)
	go func() { defer wg.Done(); runErr <- r.Run(ctx, col.fn) }()

	// Wait for the configuration, then send telegrams: good, garbage,
	// a bad CRC, a good one without optional fields.
	deadline := time.Now().Add(20 * time.Second)
	for r.Info().Firmware == 0 || len(sim.requests()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("not configured in 20 s; requests: %x", sim.requests())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ind := HCIFrame{Control: HCIRSSI | HCITimestamp | HCICRC, Endpoint: EndpointRadioLink, MsgID: MsgWMBusInd,
		Payload: testTelegram[1:], RSSI: 0xA5, Timestamp: 0x12345678}
	good := hciMsg(t, ind)
	badCRC := append([]byte(nil), good...)
	badCRC[10] ^= 0xFF
	plain := hciMsg(t, HCIFrame{Endpoint: EndpointRadioLink, MsgID: MsgWMBusInd, Payload: testTelegram[1:]})
	sim.inject <- good
	sim.inject <- []byte{0x00, 0x13, 0x37, 0xA5, 0x1F} // garbage, a start byte with a reserved bit
	sim.inject <- badCRC
	sim.inject <- plain
	frames := col.wait(t, 2)
	for i, f := range frames {
		if !bytes.Equal(f.Data, testTelegram) {
			t.Errorf("frame %d: %x, want %x", i, f.Data, testTelegram)
		}
		if f.CRC != CRCStripped || f.Time.IsZero() {
			t.Errorf("frame %d: CRC %v time %v", i, f.CRC, f.Time)
		}
	}
	if !frames[0].HasRSSI || frames[0].RSSI != IM871ARSSI(0xA5) || frames[1].HasRSSI {
		t.Errorf("RSSI: %+v / %+v", frames[0], frames[1])
	}
	// The configuration the simulator saw: reset, ping, device info,
	// set config with C1/T1, auto RSSI and timestamp.
	reqs := sim.requests()
	var ids []byte
	for _, q := range reqs {
		f, _, _ := ParseHCI(q)
		ids = append(ids, f.MsgID)
		if f.MsgID == MsgSetConfigReq {
			if want := []byte{0x00, 0x02, 0x0A, 0x30, 0x01, 0x01}; !bytes.Equal(f.Payload, want) {
				t.Errorf("set config payload % x, want % x", f.Payload, want)
			}
		}
	}
	if want := []byte{MsgResetReq, MsgPingReq, MsgGetDeviceInfoReq, MsgSetConfigReq}; !bytes.Equal(ids, want) {
		t.Errorf("requests % x, want % x", ids, want)
	}
	st := r.Stats()
	if st.Frames != 2 || st.Bad != 1 || st.Skipped == 0 {
		t.Errorf("stats %+v: want 2 frames, 1 bad, some skipped", st)
	}
	badMu.Lock()
	if len(bad) != 1 || !errors.Is(bad[0], ErrChecksum) {
		t.Errorf("bad frames reported: %v", bad)
	}
	badMu.Unlock()
	if info := r.Info(); info.ModuleType != 0x33 || info.UID != 0x12345678 || info.HCIVersion != 0x17 {
		t.Errorf("info %+v", info)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	wg.Wait()
}

func TestIM871AOldFirmwareC1T1(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, simf := ptyPair(t)
	sim := &simDevice{f: simf, inject: make(chan []byte), handle: im871aSim(t, 0x13),
		parse: func(b []byte) (int, error) { _, n, err := ParseHCI(b); return n, err }}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sim.run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	r, _ := NewIM871A(&IM871AOptions{Device: dev, NoReset: true})
	err := r.Run(ctx, func(Frame) {})
	if !errors.Is(err, ErrLinkMode) {
		t.Fatalf("Run with C1/T1 on firmware 0x13: %v, want ErrLinkMode", err)
	}
}

func TestIM871ANoAnswer(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, _ := ptyPair(t)
	r, _ := NewIM871A(&IM871AOptions{Device: dev, Mode: ModeT1, Timeout: 100 * time.Millisecond})
	err := r.Run(context.Background(), func(Frame) {})
	if !errors.Is(err, errTimeout) {
		t.Fatalf("Run against a silent device: %v", err)
	}
}

func TestIM871ATruncated(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, simf := ptyPair(t)
	sim := &simDevice{f: simf, inject: make(chan []byte, 10), handle: im871aSim(t, 0x15),
		parse: func(b []byte) (int, error) { _, n, err := ParseHCI(b); return n, err }}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sim.run(ctx) }()
	r, _ := NewIM871A(&IM871AOptions{Device: dev, Mode: ModeT1, NoReset: true})
	col := newCollector()
	go func() { defer wg.Done(); r.Run(ctx, col.fn) }()
	defer func() { cancel(); wg.Wait() }()
	for r.Info().Firmware == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	good := hciMsg(t, HCIFrame{Endpoint: EndpointRadioLink, MsgID: MsgWMBusInd, Payload: testTelegram[1:]})
	sim.inject <- good[:12] // the rest never comes
	time.Sleep(800 * time.Millisecond)
	sim.inject <- good
	frames := col.wait(t, 1)
	if !bytes.Equal(frames[0].Data, testTelegram) || frames[0].Mode != ModeT1 {
		t.Errorf("frame after a truncated one: %x mode %v", frames[0].Data, frames[0].Mode)
	}
	if st := r.Stats(); st.Bad != 1 {
		t.Errorf("stats %+v: want 1 bad (the truncated frame)", st)
	}
}

// amberSim answers like an AMB8465 whose flash has command output and
// RSSI off at first.
func amberSim(t *testing.T) func([]byte) []byte {
	params := map[byte]byte{ambParamCmdOut: 0, ambParamRSSI: 0}
	return func(req []byte) []byte {
		f, _, err := ParseAMB(req, false)
		if err != nil {
			return nil
		}
		ans := AMBFrame{Cmd: f.Cmd | AMBConfirm}
		switch f.Cmd {
		case AMBSerialNoReq:
			ans.Payload = []byte{0x01, 0x02, 0x03, 0x04}
		case AMBGetReq:
			ans.Payload = []byte{f.Payload[0], 1, params[f.Payload[0]]}
		case AMBSetReq:
			params[f.Payload[0]] = f.Payload[2]
			ans.Payload = []byte{0}
		case AMBResetReq, AMBSetModeReq:
			ans.Payload = []byte{0}
		default:
			return nil
		}
		b, err := AppendAMB(nil, ans)
		if err != nil {
			t.Error(err)
		}
		return b
	}
}

func TestAmber(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, simf := ptyPair(t)
	sim := &simDevice{f: simf, inject: make(chan []byte, 10), handle: amberSim(t),
		parse: func(b []byte) (int, error) { _, n, err := ParseAMB(b, false); return n, err }}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sim.run(ctx) }()
	r, err := NewAmber(&AmberOptions{Device: dev, Mode: ModeT1})
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	runErr := make(chan error, 1)
	go func() { defer wg.Done(); runErr <- r.Run(ctx, col.fn) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		reqs := sim.requests()
		if n := len(reqs); n > 0 && reqs[n-1][1] == AMBSetModeReq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not configured in 20 s; requests %x", reqs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the confirmation is on its way
	ind, _ := AppendAMB(nil, AMBFrame{Cmd: AMBDataInd, Payload: testTelegram[1:], RSSI: 0xD0, HasRSSI: true})
	badSum := append([]byte(nil), ind...)
	badSum[len(badSum)-1] ^= 1
	sim.inject <- []byte{0x12, 0x34}
	sim.inject <- badSum
	sim.inject <- ind
	frames := col.wait(t, 1)
	f := frames[0]
	if !bytes.Equal(f.Data, testTelegram) || !f.HasRSSI || f.RSSI != AMBRSSI(0xD0) || f.Mode != ModeT1 || f.CRC != CRCStripped {
		t.Errorf("frame %+v", f)
	}
	if AMBRSSI(0xD0) != -98 {
		t.Errorf("AMBRSSI(0xD0) = %d, want -98", AMBRSSI(0xD0))
	}
	var cmds []byte
	for _, q := range sim.requests() {
		cmds = append(cmds, q[1])
		if q[1] == AMBSetModeReq && q[3] != ambT2Other {
			t.Errorf("set mode 0x%02x, want 0x%02x", q[3], ambT2Other)
		}
	}
	want := []byte{AMBSerialNoReq, AMBGetReq, AMBSetReq, AMBGetReq, AMBSetReq, AMBResetReq, AMBSerialNoReq, AMBSetModeReq}
	if !bytes.Equal(cmds, want) {
		t.Errorf("commands % x, want % x", cmds, want)
	}
	if r.Serial() != 0x01020304 {
		t.Errorf("serial %08x", r.Serial())
	}
	if st := r.Stats(); st.Frames != 1 || st.Bad != 1 {
		t.Errorf("stats %+v", st)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	wg.Wait()
}

func TestParseLinkMode(t *testing.T) {
	for in, want := range map[string]LinkMode{"S1": ModeS1, "t1": ModeT1, "C1": ModeC1, "C1/T1": ModeC1T1, "t1/c1": ModeC1T1} {
		if got, err := ParseLinkMode(in); err != nil || got != want {
			t.Errorf("ParseLinkMode(%q) = %v, %v", in, got, err)
		}
		if got, _ := ParseLinkMode(want.String()); got != want {
			t.Errorf("round trip of %v: %v", want, got)
		}
	}
	if _, err := ParseLinkMode("N1"); !errors.Is(err, ErrLinkMode) {
		t.Errorf("N1: %v", err)
	}
	if _, err := NewAmber(&AmberOptions{Device: "/dev/null", Mode: LinkMode(0x10)}); !errors.Is(err, ErrLinkMode) {
		t.Errorf("NewAmber with a bad mode: %v", err)
	}
}

// TestDeviceGone: when the device disappears (the dongle unplugged) Run
// fails with ErrGone instead of reading nothing forever.
func TestDeviceGone(t *testing.T) {
	testutil.CheckGoroutines(t)
	dev, simf, kill := ptyPairKill(t)
	sim := &simDevice{f: simf, inject: make(chan []byte), handle: amberSim(t),
		parse: func(b []byte) (int, error) { _, n, err := ParseAMB(b, false); return n, err }}
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sim.run(simCtx) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, _ := NewAmber(&AmberOptions{Device: dev, Mode: ModeC1})
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx, func(Frame) {}) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		reqs := sim.requests()
		if n := len(reqs); n > 0 && reqs[n-1][1] == AMBSetModeReq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not configured in 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopSim()
	wg.Wait()
	simf.Close()
	kill()
	select {
	case err := <-runErr:
		if !errors.Is(err, ErrGone) {
			t.Fatalf("Run after the device went away: %v, want ErrGone", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the device went away")
	}
}
