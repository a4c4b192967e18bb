package zigbee_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/hal/zigbee/znp"
	"github.com/smgw/smgw/hal/zigbee/znpsim"
	"github.com/smgw/smgw/internal/testutil"
)

var testCfg = zigbee.NetworkConfig{
	Channel:       15,
	PANID:         0x1A62,
	ExtendedPANID: 0xDDDDDDDDDDDDDDDD,
	NetworkKey:    [16]byte{1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13},
	Endpoints: []zigbee.Endpoint{{ID: 1, Profile: 0x0109, DeviceID: 0x0500,
		InClusters: []uint16{0x0000, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703}}},
}

// The Zigbee specification's example install code (with its CRC).
var specCode = []byte{0x83, 0xFE, 0xD3, 0x40, 0x7A, 0x93, 0x97, 0x23, 0xA5, 0xC6, 0x39, 0xB2, 0x69, 0x16, 0xD5, 0x05, 0xC3, 0xB5}

const ihd = uint64(0x0011223344556677)

type rig struct {
	t    *testing.T
	stop func() // ends socat: the line is gone
	gw   string
	sim  *znpsim.Sim
	z    *zigbee.ZNP
	log  *testutil.SyncBuffer
}

func fastOpts(log *testutil.SyncBuffer) *zigbee.ZNPOptions {
	return &zigbee.ZNPOptions{
		Logger:         slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SREQTimeout:    300 * time.Millisecond,
		ConfirmTimeout: 500 * time.Millisecond,
		ResetTimeout:   500 * time.Millisecond,
		FormTimeout:    2 * time.Second,
		MaxTimeouts:    2,
		RetryDelay:     100 * time.Millisecond,
		PingInterval:   -1,
	}
}

// newRig starts socat, the simulator and a driver (not yet started).
func newRig(t *testing.T, simOpts *znpsim.Options) *rig {
	t.Helper()
	testutil.CheckGoroutines(t)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat); it makes the pty pairs")
	}
	gw, ncp, stop, err := znpsim.Pair(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	sim, err := znpsim.Start(ncp, simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	r := &rig{t: t, gw: gw, sim: sim, log: &testutil.SyncBuffer{}, stop: stop}
	r.open(fastOpts(r.log))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("driver log:\n%s", r.log.String())
		}
	})
	return r
}

func (r *rig) open(o *zigbee.ZNPOptions) {
	r.t.Helper()
	z, err := zigbee.OpenZNP(r.gw, o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.z = z
	r.t.Cleanup(func() { z.Close() })
}

func (r *rig) start() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.z.Start(ctx, testCfg); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
}

// next returns the next event of type T, skipping others, or fails after
// a generous bound (a hang detector, not a timing assertion).
func next[T any](t *testing.T, z *zigbee.ZNP) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-z.Events():
			if !ok {
				t.Fatal("Events closed")
			}
			if v, ok := e.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T event within 10 s", zero)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares the frames the driver sent (command and hex, one a
// line) with testdata/name; -update rewrites it.
func golden(t *testing.T, name string, fs []znp.Frame) {
	t.Helper()
	var b strings.Builder
	for _, f := range fs {
		w, err := znp.AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%-40s %X\n", f.Cmd, w)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != b.String() {
		t.Errorf("%s differs; run go test -run %s -update and review the diff:\n%s", path, t.Name(), b.String())
	}
}

func count(fs []znp.Frame, c znp.Cmd) int {
	n := 0
	for _, f := range fs {
		if f.Cmd == c {
			n++
		}
	}
	return n
}

func TestStartFormsThenResumes(t *testing.T) {
	r := newRig(t, nil)
	if err := r.z.Send(context.Background(), 1, 1, 1, 0x0702, []byte{0}); !errors.Is(err, zigbee.ErrNotReady) {
		t.Fatalf("Send before Start: %v, want ErrNotReady", err)
	}
	r.start()
	in := r.z.Info()
	if in.State != zigbee.StateUp || in.IEEE != 0x00124B0000C0FFEE || in.Channel != 15 || in.PANID != 0x1A62 ||
		in.Driver != "znp" || in.Firmware == "" {
		t.Fatalf("Info %+v", in)
	}
	if got := r.sim.NV(znp.NvPANID); !bytes.Equal(got, []byte{0x62, 0x1A}) {
		t.Fatalf("NV PAN id % X", got)
	}
	if got := r.sim.NV(znp.NvPreCfgKey); !bytes.Equal(got, testCfg.NetworkKey[:]) {
		t.Fatalf("NV network key % X", got)
	}
	first := len(r.sim.Received())
	golden(t, "start.golden.txt", r.sim.Received())
	if r.sim.State() != znp.DevZBCoord || count(r.sim.Received(), znp.CmdAppCnfBdbStartCommissioning) != 1 {
		t.Fatalf("state %d, %d formations", r.sim.State(), count(r.sim.Received(), znp.CmdAppCnfBdbStartCommissioning))
	}
	// A second driver finds the network in NV and resumes it.
	r.z.Close()
	if r.z.Info().State != zigbee.StateClosed {
		t.Fatalf("state after Close %s", r.z.Info().State)
	}
	r.open(fastOpts(r.log))
	r.start()
	fs := r.sim.Received()
	if count(fs, znp.CmdAppCnfBdbStartCommissioning) != 1 || count(fs, znp.CmdZdoStartupFromApp) != 1 {
		t.Fatalf("resume: %d formations, %d startups", count(fs, znp.CmdAppCnfBdbStartCommissioning), count(fs, znp.CmdZdoStartupFromApp))
	}
	if count(fs, znp.CmdAfRegister) != 2 {
		t.Fatalf("%d AF_REGISTER, want one per start", count(fs, znp.CmdAfRegister))
	}
	golden(t, "resume.golden.txt", fs[first:])
}

func TestStartErrors(t *testing.T) {
	r := newRig(t, &znpsim.Options{Version: &znp.SysVersionRsp{TransportRev: 2, Product: znp.ProductZStack12, Major: 2, Minor: 6, Maint: 3}})
	bad := testCfg
	bad.Channel = 27
	if err := r.z.Start(context.Background(), bad); !errors.Is(err, zigbee.ErrConfig) {
		t.Fatalf("channel 27: %v", err)
	}
	if err := r.z.Start(context.Background(), testCfg); !errors.Is(err, zigbee.ErrUnsupported) {
		t.Fatalf("Z-Stack 1.2: %v, want ErrUnsupported", err)
	}
	if s := r.z.Info().State; s != zigbee.StateDown {
		t.Fatalf("state %s after a failed start", s)
	}
}

// TestJoinSendReceiveLeave: a device joins with its install code, the
// gateway sends to it and receives its answers and its own frames, then
// removes it.
func TestJoinSendReceiveLeave(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	got := make(chan zigbee.Frame, 4)
	r.sim.AddDevice(ihd, specCode, 7, func(f zigbee.Frame) [][]byte {
		got <- f
		return [][]byte{{0x18, f.Payload[1], 0x01}} // a ZCL response with the same sequence
	})
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	a := next[zigbee.Announce](t, r.z)
	want := zigbee.Device{NWK: znpsim.NWKAddr(ihd), EUI64: ihd}
	if a.Device != want {
		t.Fatalf("announce %v, want %v", a.Device, want)
	}
	if err := r.z.Send(context.Background(), a.NWK, 7, 1, 0x0702, []byte{0x00, 0x42, 0x00, 0x00, 0x00}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	f := <-got
	if f.Cluster != 0x0702 || f.SrcEndpoint != 1 || f.DstEndpoint != 7 || !bytes.Equal(f.Payload, []byte{0x00, 0x42, 0x00, 0x00, 0x00}) {
		t.Fatalf("device got %+v", f)
	}
	in := next[zigbee.Incoming](t, r.z)
	if in.SrcAddr != a.NWK || in.SrcEndpoint != 7 || in.DstEndpoint != 1 || in.Cluster != 0x0702 || !bytes.Equal(in.Payload, []byte{0x18, 0x42, 0x01}) {
		t.Fatalf("incoming %+v", in.Frame)
	}
	if err := r.sim.Deliver(ihd, 7, 1, 0x0701, []byte{0x09, 0x01, 0x00}); err != nil {
		t.Fatal(err)
	}
	if in := next[zigbee.Incoming](t, r.z); in.Cluster != 0x0701 || in.LinkQuality == 0 {
		t.Fatalf("delivered %+v", in.Frame)
	}
	if err := r.z.Remove(context.Background(), a.Device); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if l := next[zigbee.Left](t, r.z); l.Device != want {
		t.Fatalf("left %v", l.Device)
	}
	err := r.z.Send(context.Background(), a.NWK, 7, 1, 0x0702, []byte{0})
	var se *znp.StatusError
	if !errors.Is(err, zigbee.ErrStatus) || !errors.As(err, &se) || se.Status != znp.NwkNoRoute {
		t.Fatalf("Send to a removed device: %v, want NWK_NO_ROUTE", err)
	}
	// The simulator's device leaving on its own.
	r.sim.AddDevice(ihd+1, nil, 1, nil)
	if err := r.sim.Leave(ihd + 1); err == nil {
		t.Fatal("a device that never joined left")
	}
}

// TestInstallCodeGuards: only the device with the right key joins.
func TestInstallCodeGuards(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	other := append([]byte(nil), specCode[:16]...)
	other[0] ^= 1
	crc := znp.InstallCodeCRC(other)
	other = append(other, byte(crc), byte(crc>>8))
	r.sim.AddDevice(ihd, specCode, 1, nil) // has the spec's code
	r.sim.AddDevice(ihd+1, nil, 1, nil)    // no install code: default TC link key
	r.sim.AddDevice(ihd+2, other, 1, nil)  // a different code than we are given
	bad := append([]byte(nil), specCode...)
	bad[17] ^= 0xFF
	if err := r.z.PermitJoin(context.Background(), ihd, bad, time.Minute); !errors.Is(err, zigbee.ErrInstallCode) {
		t.Fatalf("bad CRC: %v", err)
	}
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, 255*time.Second); !errors.Is(err, zigbee.ErrConfig) {
		t.Fatalf("255 s: %v", err)
	}
	if err := r.z.PermitJoin(context.Background(), ihd+2, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	a := next[zigbee.Announce](t, r.z)
	if a.EUI64 != ihd {
		t.Fatalf("%016X joined", a.EUI64)
	}
	// Let the simulator run more join attempts; nobody else gets in.
	time.Sleep(100 * time.Millisecond)
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if ds := r.sim.Devices(); len(ds) != 1 || ds[0].EUI64 != ihd {
		t.Fatalf("joined %v", ds)
	}
}

// TestOfflineDevice: a device out of range gives MAC_NO_ACK and no leave
// answer.
func TestOfflineDevice(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.sim.AddDevice(ihd, specCode, 1, nil)
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	a := next[zigbee.Announce](t, r.z)
	r.sim.SetOnline(ihd, false)
	err := r.z.Send(context.Background(), a.NWK, 1, 1, 0x0702, []byte{0})
	var se *znp.StatusError
	if !errors.As(err, &se) || se.Status != znp.MacNoAck {
		t.Fatalf("Send: %v, want MAC_NO_ACK", err)
	}
	if err := r.z.Remove(context.Background(), a.Device); !errors.Is(err, zigbee.ErrTimeout) {
		t.Fatalf("Remove: %v, want ErrTimeout", err)
	}
	// From an endpoint we never registered: the co-processor refuses it.
	r.sim.SetOnline(ihd, true)
	if err := r.z.Send(context.Background(), a.NWK, 1, 9, 0x0702, []byte{0}); !errors.As(err, &se) || se.Status != znp.InvalidParameter {
		t.Fatalf("Send from endpoint 9: %v", err)
	}
}

// TestCoprocessorReset: an unexpected SYS_RESET_IND gives a Reset event
// and the driver restarts the network; devices stay joined.
func TestCoprocessorReset(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.sim.AddDevice(ihd, specCode, 1, nil)
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	a := next[zigbee.Announce](t, r.z)
	r.sim.Kick()
	if e := next[zigbee.Reset](t, r.z); e.Reason != "co-processor reset (watchdog)" {
		t.Fatalf("reason %q", e.Reason)
	}
	if s := r.z.Info().State; s != zigbee.StateUp {
		t.Fatalf("state %s after Reset", s)
	}
	if err := r.z.Send(context.Background(), a.NWK, 1, 1, 0x0702, []byte{0}); err != nil {
		t.Fatalf("Send after recovery: %v", err)
	}
	fs := r.sim.Received()
	if count(fs, znp.CmdAfRegister) != 2 || count(fs, znp.CmdZdoStartupFromApp) != 1 {
		t.Fatalf("after reset: %d AF_REGISTER, %d startups", count(fs, znp.CmdAfRegister), count(fs, znp.CmdZdoStartupFromApp))
	}
	if st := r.z.Stats(); st.Resets != 1 || st.Recoveries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSilentCoprocessor: requests time out, the driver resets the
// co-processor and recovers once it answers again.
func TestSilentCoprocessor(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.sim.Silence(time.Second)
	for range 2 {
		if err := r.z.Send(context.Background(), 0x1234, 1, 1, 0x0702, []byte{0}); !errors.Is(err, zigbee.ErrTimeout) {
			t.Fatalf("Send to a silent co-processor: %v, want ErrTimeout", err)
		}
	}
	for i := 0; r.z.Info().State != zigbee.StateRecovering; i++ {
		if i > 1000 {
			t.Fatalf("state %s, not recovering", r.z.Info().State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.z.Send(context.Background(), 0x1234, 1, 1, 0x0702, []byte{0}); !errors.Is(err, zigbee.ErrNotReady) {
		t.Fatalf("Send while recovering: %v, want ErrNotReady", err)
	}
	if e := next[zigbee.Reset](t, r.z); e.Reason != "co-processor not answering (2 requests unanswered)" {
		t.Fatalf("reason %q", e.Reason)
	}
	if s := r.z.Info().State; s != zigbee.StateUp {
		t.Fatalf("state %s after Reset", s)
	}
	if st := r.z.Stats(); st.Timeouts < 2 || st.Recoveries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMalformedFromCoprocessor: garbage, a bad FCS and a wrong length are
// counted and skipped; the next good frame still arrives.
func TestMalformedFromCoprocessor(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.sim.AddDevice(ihd, specCode, 1, nil)
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	next[zigbee.Announce](t, r.z)
	before := r.z.Stats().BadFrames
	good, _ := znp.AppendFrame(nil, znp.AfDataConfirm{Endpoint: 1, TransID: 200}.Frame())
	badFCS := append([]byte(nil), good...)
	badFCS[len(badFCS)-1] ^= 0x55
	wrongLen := append([]byte(nil), good...)
	wrongLen[1] = 9 // promises more than comes: found stale when the line goes quiet
	r.sim.Inject([]byte{0x00, 0x13, 0x37})
	r.sim.Inject(badFCS)
	r.sim.Inject(wrongLen)
	time.Sleep(300 * time.Millisecond) // the line goes quiet: the cut frame is stale
	if err := r.sim.Deliver(ihd, 1, 1, 0x0702, []byte{0x18, 0x01, 0x0A}); err != nil {
		t.Fatal(err)
	}
	if in := next[zigbee.Incoming](t, r.z); !bytes.Equal(in.Payload, []byte{0x18, 0x01, 0x0A}) {
		t.Fatalf("incoming %+v", in.Frame)
	}
	if n := r.z.Stats().BadFrames - before; n < 3 {
		t.Fatalf("%d bad frames counted, want at least 3", n)
	}
	if r.z.Info().State != zigbee.StateUp {
		t.Fatalf("state %s", r.z.Info().State)
	}
}

// TestCloseWhileWaiting: Close ends a Send waiting on a silent
// co-processor and does not hang.
func TestCloseWhileWaiting(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.sim.Silence(time.Minute)
	errc := make(chan error, 1)
	go func() { errc <- r.z.Send(context.Background(), 0x1234, 1, 1, 0x0702, []byte{0}) }()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() { r.z.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
	if err := <-errc; !errors.Is(err, zigbee.ErrClosed) && !errors.Is(err, zigbee.ErrTimeout) {
		t.Fatalf("Send: %v", err)
	}
	for range r.z.Events() { // closed: the loop ends
	}
	if err := r.z.Start(context.Background(), testCfg); !errors.Is(err, zigbee.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

// TestLineGone: the serial line disappears (socat ends, as a USB adapter
// unplugged): requests fail, nothing panics, Close returns.
func TestLineGone(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.stop()
	if err := r.z.Send(context.Background(), 0x1234, 1, 1, 0x0702, []byte{0}); err == nil {
		t.Fatal("Send on a line that is gone succeeded")
	}
	closed := make(chan struct{})
	go func() { r.z.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
}

// TestLineReopened: the line goes away and comes back at the same path
// (a USB adapter re-enumerated) with a co-processor that lost its NV: the
// driver reopens the device, forms the network again and emits Reset.
func TestLineReopened(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.stop()
	r.sim.Close()
	// The new pair is made elsewhere and linked at the old path only once
	// socat has set it up, so the driver never opens a half-made pty.
	gw2, ncp, stop, err := znpsim.Pair(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	pts, err := os.Readlink(gw2)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(r.gw) // socat removes its links when it ends; make sure
	if err := os.Symlink(pts, r.gw); err != nil {
		t.Fatal(err)
	}
	sim, err := znpsim.Start(ncp, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if e := next[zigbee.Reset](t, r.z); !strings.HasPrefix(e.Reason, "serial line reopened") {
		t.Fatalf("reason %q", e.Reason)
	}
	if s := r.z.Info().State; s != zigbee.StateUp || sim.State() != znp.DevZBCoord {
		t.Fatalf("state %s, simulator %d", s, sim.State())
	}
	sim.AddDevice(ihd, specCode, 1, nil)
	if err := r.z.PermitJoin(context.Background(), ihd, specCode, time.Minute); err != nil {
		t.Fatal(err)
	}
	next[zigbee.Announce](t, r.z)
}

// TestConcurrentSends: several goroutines send to several devices at
// once; SREQs go out one at a time and every confirm finds its sender.
func TestConcurrentSends(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	const devices, each = 3, 20
	var mu sync.Mutex
	got := map[uint64]int{}
	var nwks []uint16
	for i := range devices {
		eui := ihd + uint64(i)*0x100
		code := append([]byte(nil), specCode[:16]...)
		code[0] = byte(i)
		crc := znp.InstallCodeCRC(code)
		code = append(code, byte(crc), byte(crc>>8))
		r.sim.AddDevice(eui, code, 1, func(zigbee.Frame) [][]byte {
			mu.Lock()
			got[eui]++
			mu.Unlock()
			return nil
		})
		if err := r.z.PermitJoin(context.Background(), eui, code, time.Minute); err != nil {
			t.Fatal(err)
		}
		nwks = append(nwks, next[zigbee.Announce](t, r.z).NWK)
	}
	var wg sync.WaitGroup
	errc := make(chan error, devices*each)
	for _, nwk := range nwks {
		for range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- r.z.Send(context.Background(), nwk, 1, 1, 0x0702, []byte{0x18, 0x00, 0x0A})
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ { // the devices' applications run a little after the confirms
		mu.Lock()
		n := 0
		for _, c := range got {
			n += c
		}
		mu.Unlock()
		if n == devices*each {
			break
		}
		if i > 1000 {
			t.Fatalf("devices got %d frames, want %d", n, devices*each)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := r.z.Stats(); st.Unexpected != 0 || st.Timeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
}
