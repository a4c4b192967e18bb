package znpsim

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/hal/zigbee/znp"
	"github.com/smgw/smgw/internal/testutil"
)

// host is a bare MT host on the gateway's end of the pty: it writes
// frames and reads what comes back, with no driver logic in between.
type host struct {
	t   *testing.T
	p   *serial.SerialPort
	dec znp.Decoder
	sim *Sim
}

func newHost(t *testing.T, o *Options) *host {
	t.Helper()
	testutil.CheckGoroutines(t)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed")
	}
	gw, ncp, stop, err := Pair(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	sim, err := Start(ncp, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	p, err := serial.Open(&serial.Config{Name: gw, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &host{t: t, p: p, sim: sim}
}

func (h *host) write(f znp.Frame) {
	h.t.Helper()
	b, err := znp.AppendFrame(nil, f)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.p.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

// read returns the next frame, or ok false if none comes within d.
func (h *host) read(d time.Duration) (znp.Frame, bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	buf := make([]byte, 256)
	for {
		if f, ok, err := h.dec.Next(); ok {
			return f, true
		} else if err != nil {
			h.t.Fatalf("simulator sent malformed data: %v", err)
		}
		if time.Now().After(deadline) {
			return znp.Frame{}, false
		}
		h.p.SetReadDeadline(deadline)
		n, err := h.p.Read(buf)
		if err != nil && !errors.Is(err, serial.ErrTimeout) {
			h.t.Fatal(err)
		}
		h.dec.Write(buf[:n])
	}
}

// expect reads frames until one with command c (skipping AREQs).
func (h *host) expect(c znp.Cmd) znp.Frame {
	h.t.Helper()
	for range 20 {
		f, ok := h.read(5 * time.Second)
		if !ok {
			h.t.Fatalf("no %s", c)
		}
		if f.Cmd == c {
			return f
		}
	}
	h.t.Fatalf("no %s among 20 frames", c)
	return znp.Frame{}
}

func (h *host) status(f znp.Frame) znp.Status {
	h.t.Helper()
	h.write(f)
	s, err := znp.ParseStatus(h.expect(f.Cmd.Response()))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func TestSimErrors(t *testing.T) {
	h := newHost(t, nil)
	// An unknown command of a known subsystem, and an unknown subsystem.
	h.write(znp.Frame{Cmd: znp.NewCmd(znp.SREQ, znp.SYS, 0x7F)})
	m, err := znp.ParseRPCError(h.expect(znp.CmdRPCError))
	if err != nil || m.Code != znp.RPCInvalidCommandID || m.ReqCmd != znp.NewCmd(znp.SREQ, znp.SYS, 0x7F) {
		t.Fatalf("RPC error %+v %v", m, err)
	}
	h.write(znp.Frame{Cmd: znp.NewCmd(znp.SREQ, 0x1E, 0x00)})
	if m, _ := znp.ParseRPCError(h.expect(znp.CmdRPCError)); m.Code != znp.RPCInvalidSubsystem {
		t.Fatalf("RPC error %+v", m)
	}
	// A request with a wrong payload length.
	h.write(znp.Frame{Cmd: znp.CmdSysOsalNvRead, Payload: []byte{1}})
	if m, _ := znp.ParseRPCError(h.expect(znp.CmdRPCError)); m.Code != znp.RPCInvalidParameter {
		t.Fatalf("RPC error %+v", m)
	}
	// A frame with a bad FCS is dropped without an answer.
	b, _ := znp.AppendFrame(nil, znp.Request(znp.CmdSysPing))
	b[len(b)-1] ^= 1
	h.p.Write(b)
	if f, ok := h.read(100 * time.Millisecond); ok {
		t.Fatalf("answer %v to a bad frame", f)
	}
	if h.sim.BadFrames() < 1 {
		t.Fatalf("%d bad frames", h.sim.BadFrames())
	}
	// NV: unknown item, item init, write beyond the item.
	h.write(znp.SysOsalNvRead{ID: 0x0F00}.Frame())
	if r, _ := znp.ParseSysOsalNvReadRsp(h.expect(znp.CmdSysOsalNvRead.Response())); r.Status != znp.InvalidParameter {
		t.Fatalf("read of a missing item: %v", r.Status)
	}
	if s := h.status(znp.SysOsalNvWrite{ID: 0x0F00, Value: []byte{1}}.Frame()); s != znp.NvItemUninit {
		t.Fatalf("write of a missing item: %v", s)
	}
	if s := h.status(znp.SysOsalNvItemInit{ID: 0x0F00, Len: 2, Init: []byte{1, 2}}.Frame()); s != znp.NvItemUninit {
		t.Fatalf("item init: %v", s)
	}
	if s := h.status(znp.SysOsalNvItemInit{ID: 0x0F00, Len: 2}.Frame()); s != znp.Success {
		t.Fatalf("second item init: %v", s)
	}
	if s := h.status(znp.SysOsalNvWrite{ID: 0x0F00, Offset: 1, Value: []byte{1, 2}}.Frame()); s != znp.NvBadItemLen {
		t.Fatalf("write beyond the item: %v", s)
	}
	// Network operations before the network is up.
	if s := h.status(znp.ZdoMgmtPermitJoinReq{AddrMode: znp.AddrModeBroadcast, DstAddr: 0xFFFC, Duration: 10}.Frame()); s != znp.NwkInvalidRequest {
		t.Fatalf("permit join before formation: %v", s)
	}
	df, _ := znp.AfDataRequest{DstAddr: 1, DstEndpoint: 1, SrcEndpoint: 1, Cluster: 6}.Frame()
	if s := h.status(df); s != znp.NwkInvalidRequest {
		t.Fatalf("data before formation: %v", s)
	}
	// Commissioning parameters.
	if s := h.status(znp.BdbSetChannel{Primary: true, Channels: 1 << 10}.Frame()); s != znp.InvalidParameter {
		t.Fatalf("channel 10: %v", s)
	}
	if s := h.status(znp.BdbAddInstallCode{Format: 7, Code: make([]byte, 16)}.Frame()); s != znp.InvalidParameter {
		t.Fatalf("install code format 7: %v", s)
	}
	rf, _ := znp.AfRegister{Endpoint: 0}.Frame()
	if s := h.status(rf); s != znp.InvalidParameter {
		t.Fatalf("endpoint 0: %v", s)
	}
	rf, _ = znp.AfRegister{Endpoint: 1, Profile: 0x0109}.Frame()
	if s := h.status(rf); s != znp.Success {
		t.Fatalf("endpoint 1: %v", s)
	}
	if s := h.status(rf); s != znp.ApsDuplicateEntry {
		t.Fatalf("endpoint 1 again: %v", s)
	}
	// Formation as a router fails (logical type not yet coordinator).
	h.status(znp.BdbSetChannel{Primary: true, Channels: 1 << 11}.Frame())
	if s := h.status(znp.BdbStartCommissioning{Mode: znp.BdbNetworkFormation}.Frame()); s != znp.Success {
		t.Fatalf("start commissioning: %v", s)
	}
	n, _ := znp.ParseBdbCommissioningNotification(h.expect(znp.CmdAppCnfBdbCommissioningNotification))
	if n.Status != znp.BdbFormationFailure {
		t.Fatalf("formation as router: %+v", n)
	}
}

// TestSimResetAndStartup: a reset answers SYS_RESET_IND; clearing the
// state by NV forgets the network.
func TestSimResetAndStartup(t *testing.T) {
	h := newHost(t, nil)
	h.write(znp.SysResetReq{Type: znp.ResetSoft}.Frame())
	ind, err := znp.ParseSysResetInd(h.expect(znp.CmdSysResetInd))
	if err != nil || ind.Reason != znp.ResetExternal || ind.Product != znp.ProductZStack30x {
		t.Fatalf("reset ind %+v %v", ind, err)
	}
	if s := h.status(znp.ZdoStartupFromApp{StartDelay: 0}.Frame()); s != znp.StartupNewNetwork {
		t.Fatalf("startup: %v", s)
	}
	for {
		sc, _ := znp.ParseZdoStateChangeInd(h.expect(znp.CmdZdoStateChangeInd))
		if sc.State == znp.DevZBCoord {
			break
		}
	}
	h.write(znp.Request(znp.CmdUtilGetDeviceInfo))
	di, _ := znp.ParseUtilGetDeviceInfoRsp(h.expect(znp.CmdUtilGetDeviceInfo.Response()))
	if di.IEEE != 0x00124B0000C0FFEE || di.NWK != 0 || di.State != znp.DevZBCoord {
		t.Fatalf("device info %+v", di)
	}
	h.sim.Kick()
	if ind, _ := znp.ParseSysResetInd(h.expect(znp.CmdSysResetInd)); ind.Reason != znp.ResetWatchdog {
		t.Fatalf("kick: %+v", ind)
	}
	if h.sim.State() != znp.DevHold || h.sim.NV(znp.NvBdbNodeIsOnANetwork)[0] != 1 {
		t.Fatalf("after kick: state %d, on network %v", h.sim.State(), h.sim.NV(znp.NvBdbNodeIsOnANetwork))
	}
	h.status(znp.SysOsalNvWrite{ID: znp.NvStartupOption, Value: []byte{znp.StartupClearState | znp.StartupClearConfig}}.Frame())
	h.write(znp.SysResetReq{Type: znp.ResetSoft}.Frame())
	h.expect(znp.CmdSysResetInd)
	if h.sim.NV(znp.NvBdbNodeIsOnANetwork)[0] != 0 || h.sim.NV(znp.NvStartupOption)[0] != 0 {
		t.Fatal("clear-state startup option did not clear the network")
	}
}
