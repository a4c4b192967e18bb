package znp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Frames as TI's MT documents and application notes print them: a request
// with no data has FCS = Cmd0 ^ Cmd1.
func TestPublishedFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Frame
		hex  string
	}{
		{"SYS_PING", Request(CmdSysPing), "FE00210120"},
		{"SYS_VERSION", Request(CmdSysVersion), "FE00210223"},
		{"UTIL_GET_DEVICE_INFO", Request(CmdUtilGetDeviceInfo), "FE00270027"},
		{"SYS_RESET_REQ hard", SysResetReq{Type: ResetHard}.Frame(), "FE0141000040"},
		{"SYS_RESET_REQ soft", SysResetReq{Type: ResetSoft}.Frame(), "FE0141000141"},
		{"ZDO_STARTUP_FROM_APP 100 ms", ZdoStartupFromApp{StartDelay: 100}.Frame(), "FE0225406400" + "03"},
	} {
		got, err := AppendFrame(nil, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if h := strings.ToUpper(hex.EncodeToString(got)); h != tc.hex {
			t.Errorf("%s: % X, want %s", tc.name, got, tc.hex)
		}
		f, n, err := ParseFrame(got)
		if err != nil || n != len(got) || f.Cmd != tc.f.Cmd || !bytes.Equal(f.Payload, tc.f.Payload) {
			t.Errorf("%s: parse back %v %d %v", tc.name, f, n, err)
		}
	}
}

func TestCmd(t *testing.T) {
	c := NewCmd(SREQ, AF, 0x01)
	if c != CmdAfDataRequest || c.Cmd0() != 0x24 || c.Cmd1() != 0x01 || c.Type() != SREQ || c.Subsystem() != AF {
		t.Fatalf("NewCmd(SREQ, AF, 1) = %04X %s", uint16(c), c)
	}
	if r := c.Response(); r != 0x6401 || r.Request() != c || r.String() != "AF_DATA_REQUEST SRSP" {
		t.Fatalf("response %04X %q", uint16(r), r)
	}
	if s := NewCmd(AREQ, APPCNF, 0x99).String(); s != "AREQ APP_CNF 0x99" {
		t.Fatalf("unknown command named %q", s)
	}
	if s := MacNoAck.String(); s != "0xE9 MAC_NO_ACK" {
		t.Fatalf("status %q", s)
	}
	var se *StatusError
	if err := NwkNoRoute.Err(CmdAfDataRequest); !errors.As(err, &se) || se.Status != NwkNoRoute ||
		err.Error() != "znp: AF_DATA_REQUEST: status 0xCD NWK_NO_ROUTE" {
		t.Fatalf("StatusError %v", err)
	}
	if Success.Err(CmdAfDataRequest) != nil {
		t.Fatal("Success is an error")
	}
}

// messages is one of each typed message, for the golden file, the round
// trips and the fuzz seed corpus.
func messages(t testing.TB) []struct {
	name string
	f    Frame
	back func(Frame) (any, error)
} {
	must := func(f Frame, err error) Frame {
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	type entry = struct {
		name string
		f    Frame
		back func(Frame) (any, error)
	}
	wrap := func(name string, f Frame, p func(Frame) (any, error)) entry { return entry{name, f, p} }
	return []entry{
		wrap("RPC_ERROR", RPCErrorRsp{Code: RPCInvalidCommandID, ReqCmd: 0x21FF}.Frame(), func(f Frame) (any, error) { return ParseRPCError(f) }),
		wrap("SYS_RESET_REQ", SysResetReq{Type: ResetSoft}.Frame(), func(f Frame) (any, error) { return ParseSysResetReq(f) }),
		wrap("SYS_RESET_IND", SysResetInd{Reason: ResetExternal, TransportRev: 2, Product: ProductZStack30x, Major: 2, Minor: 7, HwRev: 1}.Frame(), func(f Frame) (any, error) { return ParseSysResetInd(f) }),
		wrap("SYS_PING SRSP", SysPingRsp{Capabilities: CapSYS | CapAF | CapZDO | CapSAPI | CapUTIL | CapAPPCNF}.Frame(), func(f Frame) (any, error) { return ParseSysPingRsp(f) }),
		wrap("SYS_VERSION SRSP", SysVersionRsp{TransportRev: 2, Product: ProductZStack30x, Major: 2, Minor: 7, Maint: 1, Revision: 20230507, HasRevision: true}.Frame(), func(f Frame) (any, error) { return ParseSysVersionRsp(f) }),
		wrap("SYS_VERSION SRSP (Z-Stack 1.2)", SysVersionRsp{TransportRev: 2, Product: ProductZStack12, Major: 2, Minor: 6, Maint: 3}.Frame(), func(f Frame) (any, error) { return ParseSysVersionRsp(f) }),
		wrap("SYS_OSAL_NV_ITEM_INIT", SysOsalNvItemInit{ID: NvPANID, Len: 2, Init: []byte{0x34, 0x12}}.Frame(), func(f Frame) (any, error) { return ParseSysOsalNvItemInit(f) }),
		wrap("SYS_OSAL_NV_READ", SysOsalNvRead{ID: NvExtendedPANID}.Frame(), func(f Frame) (any, error) { return ParseSysOsalNvRead(f) }),
		wrap("SYS_OSAL_NV_READ SRSP", SysOsalNvReadRsp{Value: []byte{1, 2, 3, 4, 5, 6, 7, 8}}.Frame(), func(f Frame) (any, error) { return ParseSysOsalNvReadRsp(f) }),
		wrap("SYS_OSAL_NV_WRITE", SysOsalNvWrite{ID: NvChanList, Value: []byte{0x00, 0x08, 0x00, 0x00}}.Frame(), func(f Frame) (any, error) { return ParseSysOsalNvWrite(f) }),
		wrap("SYS_SET_TX_POWER", SysSetTxPower{Power: -3}.Frame(), func(f Frame) (any, error) { return ParseSysSetTxPower(f) }),
		wrap("status SRSP", StatusRsp{Cmd: CmdAfRegister.Response(), Status: ApsDuplicateEntry}.Frame(), func(f Frame) (any, error) { return ParseStatus(f) }),
		wrap("UTIL_GET_DEVICE_INFO SRSP", UtilGetDeviceInfoRsp{IEEE: 0x00124B0012345678, DeviceType: 7, State: DevZBCoord, Assoc: []uint16{0x1234}}.Frame(), func(f Frame) (any, error) { return ParseUtilGetDeviceInfoRsp(f) }),
		wrap("ZDO_STARTUP_FROM_APP", ZdoStartupFromApp{StartDelay: 100}.Frame(), func(f Frame) (any, error) { return ParseZdoStartupFromApp(f) }),
		wrap("ZDO_STATE_CHANGE_IND", ZdoStateChangeInd{State: DevZBCoord}.Frame(), func(f Frame) (any, error) { return ParseZdoStateChangeInd(f) }),
		wrap("ZDO_END_DEVICE_ANNCE_IND", ZdoEndDeviceAnnceInd{SrcAddr: 0x1234, NwkAddr: 0x1234, IEEE: 0x1122334455667788, Capabilities: 0x8E}.Frame(), func(f Frame) (any, error) { return ParseZdoEndDeviceAnnceInd(f) }),
		wrap("ZDO_MGMT_PERMIT_JOIN_REQ", ZdoMgmtPermitJoinReq{AddrMode: AddrMode16, Duration: 60, TCSignificance: 1}.Frame(), func(f Frame) (any, error) { return ParseZdoMgmtPermitJoinReq(f) }),
		wrap("ZDO_MGMT_PERMIT_JOIN_RSP", ZdoMgmtRsp{Cmd: CmdZdoMgmtPermitJoinRsp}.Frame(), func(f Frame) (any, error) { return ParseZdoMgmtRsp(f, CmdZdoMgmtPermitJoinRsp) }),
		wrap("ZDO_MGMT_LEAVE_REQ", ZdoMgmtLeaveReq{DstAddr: 0x1234, DeviceAddr: 0x1122334455667788}.Frame(), func(f Frame) (any, error) { return ParseZdoMgmtLeaveReq(f) }),
		wrap("ZDO_MGMT_LEAVE_RSP", ZdoMgmtRsp{Cmd: CmdZdoMgmtLeaveRsp, SrcAddr: 0x1234, Status: Success}.Frame(), func(f Frame) (any, error) { return ParseZdoMgmtRsp(f, CmdZdoMgmtLeaveRsp) }),
		wrap("ZDO_LEAVE_IND", ZdoLeaveInd{SrcAddr: 0x1234, ExtAddr: 0x1122334455667788}.Frame(), func(f Frame) (any, error) { return ParseZdoLeaveInd(f) }),
		wrap("ZDO_TC_DEV_IND", ZdoTcDevInd{NwkAddr: 0x1234, IEEE: 0x1122334455667788}.Frame(), func(f Frame) (any, error) { return ParseZdoTcDevInd(f) }),
		wrap("ZDO_PERMIT_JOIN_IND", ZdoPermitJoinInd{Duration: 60}.Frame(), func(f Frame) (any, error) { return ParseZdoPermitJoinInd(f) }),
		wrap("ZDO_ACTIVE_EP_REQ", ZdoActiveEpReq{DstAddr: 0x1234, NwkAddrOfInterest: 0x1234}.Frame(), func(f Frame) (any, error) { return ParseZdoActiveEpReq(f) }),
		wrap("ZDO_ACTIVE_EP_RSP", ZdoActiveEpRsp{SrcAddr: 0x1234, NwkAddr: 0x1234, Endpoints: []uint8{1, 2}}.Frame(), func(f Frame) (any, error) { return ParseZdoActiveEpRsp(f) }),
		wrap("AF_REGISTER", must(AfRegister{Endpoint: 1, Profile: 0x0109, DeviceID: 0x0500, InClusters: []uint16{0x0000, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703}}.Frame()), func(f Frame) (any, error) { return ParseAfRegister(f) }),
		wrap("AF_DATA_REQUEST", must(AfDataRequest{DstAddr: 0x1234, DstEndpoint: 1, SrcEndpoint: 1, Cluster: 0x0702, TransID: 5, Options: AfOptAPSAck, Radius: DefaultRadius, Data: []byte{0x18, 0x01, 0x0A}}.Frame()), func(f Frame) (any, error) { return ParseAfDataRequest(f) }),
		wrap("AF_DATA_REQUEST_EXT", must(AfDataRequestExt{DstAddrMode: AfAddr64, DstAddr: 0x1122334455667788, DstEndpoint: 1, SrcEndpoint: 1, Cluster: 0x0702, TransID: 6, Radius: DefaultRadius, Data: []byte{1, 2}}.Frame()), func(f Frame) (any, error) { return ParseAfDataRequestExt(f) }),
		wrap("AF_DATA_CONFIRM", AfDataConfirm{Status: Success, Endpoint: 1, TransID: 5}.Frame(), func(f Frame) (any, error) { return ParseAfDataConfirm(f) }),
		wrap("AF_INCOMING_MSG", must(AfIncomingMsg{Cluster: 0x0702, SrcAddr: 0x1234, SrcEndpoint: 1, DstEndpoint: 1, LinkQuality: 80, TransSeq: 7, Data: []byte{0x10, 0x00, 0x00}, MacSrcAddr: 0x1234, Radius: 0x1E, HasTrailer: true}.Frame()), func(f Frame) (any, error) { return ParseAfIncomingMsg(f) }),
		wrap("AF_INCOMING_MSG (no trailer)", must(AfIncomingMsg{Cluster: 0x0000, SrcAddr: 0x0001, SrcEndpoint: 2, DstEndpoint: 1, Data: []byte{0}}.Frame()), func(f Frame) (any, error) { return ParseAfIncomingMsg(f) }),
		wrap("APP_CNF_BDB_START_COMMISSIONING", BdbStartCommissioning{Mode: BdbNetworkFormation}.Frame(), func(f Frame) (any, error) { return ParseBdbStartCommissioning(f) }),
		wrap("APP_CNF_BDB_SET_CHANNEL", BdbSetChannel{Primary: true, Channels: 1 << 15}.Frame(), func(f Frame) (any, error) { return ParseBdbSetChannel(f) }),
		wrap("APP_CNF_BDB_ADD_INSTALLCODE", BdbAddInstallCode{Format: InstallCodeDerivedKey, IEEE: 0x1122334455667788, Code: bytes.Repeat([]byte{0xAB}, 16)}.Frame(), func(f Frame) (any, error) { return ParseBdbAddInstallCode(f) }),
		wrap("APP_CNF_BDB_SET_JOINUSESINSTALLCODEKEY", BdbSetJoinUsesInstallCodeKey{On: true}.Frame(), func(f Frame) (any, error) { return ParseBdbSetJoinUsesInstallCodeKey(f) }),
		wrap("APP_CNF_BDB_COMMISSIONING_NOTIFICATION", BdbCommissioningNotification{Status: BdbSuccess, Mode: BdbNetworkFormation}.Frame(), func(f Frame) (any, error) { return ParseBdbCommissioningNotification(f) }),
	}
}

type goldenMsg struct {
	Name    string `json:"name"`
	Hex     string `json:"hex"`
	Cmd     string `json:"cmd"`
	Decoded string `json:"decoded"`
}

// TestGolden encodes one of every message and compares the wire bytes and
// the decoded form with testdata/messages.golden.json; -update rewrites it
// (review the diff against SWRA198 before committing).
func TestGolden(t *testing.T) {
	var got []goldenMsg
	for _, m := range messages(t) {
		b, err := AppendFrame(nil, m.f)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		f, _, err := ParseFrame(b)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		v, err := m.back(f)
		if err != nil {
			t.Fatalf("%s: decode: %v", m.name, err)
		}
		got = append(got, goldenMsg{Name: m.name, Hex: strings.ToUpper(hex.EncodeToString(b)), Cmd: f.Cmd.String(), Decoded: fmt.Sprintf("%+v", v)})
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	path := filepath.Join("testdata", "messages.golden.json")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("golden mismatch; run go test -run TestGolden -update and review the diff\n%s", out)
	}
}

// TestRoundTrip re-encodes every decoded message to the same frame.
func TestRoundTrip(t *testing.T) {
	for _, m := range messages(t) {
		v, err := m.back(m.f)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		var f Frame
		switch x := v.(type) {
		case interface{ Frame() Frame }:
			f = x.Frame()
		case interface{ Frame() (Frame, error) }:
			if f, err = x.Frame(); err != nil {
				t.Fatal(err)
			}
		case Status:
			f = StatusRsp{Cmd: m.f.Cmd, Status: x}.Frame()
		default:
			t.Fatalf("%s: %T has no Frame method", m.name, v)
		}
		if !reflect.DeepEqual(f.Cmd, m.f.Cmd) || !bytes.Equal(f.Payload, m.f.Payload) {
			t.Errorf("%s: round trip %v, want %v", m.name, f, m.f)
		}
		// Every proper prefix and one extra byte are refused, not panicked on.
		for i := range len(m.f.Payload) {
			if _, err := m.back(Frame{Cmd: m.f.Cmd, Payload: m.f.Payload[:i]}); err == nil && !strings.Contains(m.name, "trailer") && !strings.Contains(m.name, "VERSION") && !strings.Contains(m.name, "INCOMING") {
				t.Errorf("%s: %d of %d payload bytes accepted", m.name, i, len(m.f.Payload))
			}
		}
		if _, err := m.back(Frame{Cmd: m.f.Cmd, Payload: append(append([]byte(nil), m.f.Payload...), 0)}); !errors.Is(err, ErrLength) {
			t.Errorf("%s: extra byte: %v, want ErrLength", m.name, err)
		}
		if _, err := m.back(Frame{Cmd: m.f.Cmd ^ 0x0001, Payload: m.f.Payload}); err == nil && m.name != "status SRSP" {
			t.Errorf("%s: wrong command accepted", m.name)
		}
	}
}

func TestParseFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		want error
	}{
		{"", ErrShort},
		{"FF", ErrNoSOF},
		{"FE", ErrShort},
		{"FE0021", ErrShort},
		{"FE00210121", ErrFCS},
		{"FEFB21010000", ErrLength},
		{"FE0221010000", ErrShort},
	} {
		b, _ := hex.DecodeString(tc.hex)
		if _, _, err := ParseFrame(b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.hex, err, tc.want)
		}
	}
	if _, err := AppendFrame(nil, Frame{Cmd: CmdAfDataRequest, Payload: make([]byte, 251)}); !errors.Is(err, ErrTooLong) {
		t.Errorf("251-byte payload: %v", err)
	}
	if _, err := (AfDataRequest{Data: make([]byte, MaxAfData+1)}).Frame(); !errors.Is(err, ErrTooLong) {
		t.Errorf("long AF data: %v", err)
	}
}

// TestDecoderResync feeds good frames mixed with garbage, a frame with a
// bad FCS, an over-long length and a frame whose length field is too
// large, one byte at a time and all at once, and checks every good frame
// comes out with the errors in between naming their offsets.
func TestDecoderResync(t *testing.T) {
	ping, _ := AppendFrame(nil, Request(CmdSysPing))
	conf, _ := AppendFrame(nil, AfDataConfirm{Endpoint: 1, TransID: 9}.Frame())
	bad := append([]byte(nil), conf...)
	bad[len(bad)-1] ^= 0xFF // bad FCS
	wrongLen := append([]byte(nil), conf...)
	wrongLen[1] = 2 // says 2, has 3: FCS check hits a data byte
	var stream []byte
	stream = append(stream, 0x00, 0x11) // garbage at offset 0
	stream = append(stream, ping...)    // good at 2
	stream = append(stream, bad...)     // bad FCS at 7
	stream = append(stream, conf...)    // good
	stream = append(stream, 0xFE, 0xFF) // length 255 > 250
	stream = append(stream, wrongLen...)
	stream = append(stream, ping...)
	for _, chunk := range []int{1, 3, len(stream)} {
		var d Decoder
		var frames []Frame
		var errs []*FrameError
		for i := 0; i < len(stream); i += chunk {
			d.Write(stream[i:min(i+chunk, len(stream))])
			for {
				f, ok, err := d.Next()
				if err != nil {
					var fe *FrameError
					if !errors.As(err, &fe) {
						t.Fatalf("error %T", err)
					}
					errs = append(errs, fe)
					continue
				}
				if !ok {
					break
				}
				frames = append(frames, f)
			}
		}
		if len(frames) != 3 || frames[0].Cmd != CmdSysPing || frames[1].Cmd != CmdAfDataConfirm || frames[2].Cmd != CmdSysPing {
			t.Fatalf("chunk %d: frames %v", chunk, frames)
		}
		if len(errs) == 0 || errs[0].Offset != 0 || !errors.Is(errs[0], ErrNoSOF) {
			t.Fatalf("chunk %d: first error %v", chunk, errs)
		}
		var sawFCS, sawLen bool
		for _, e := range errs {
			if errors.Is(e, ErrFCS) && e.Offset == 7 {
				sawFCS = true
			}
			if errors.Is(e, ErrLength) {
				sawLen = true
			}
		}
		if !sawFCS || !sawLen {
			t.Fatalf("chunk %d: errors %v", chunk, errs)
		}
		if d.Buffered() != 0 || d.Offset() != int64(len(stream)) {
			t.Fatalf("chunk %d: %d buffered at offset %d", chunk, d.Buffered(), d.Offset())
		}
	}
}

// TestDecoderStale: a frame whose length promises more than ever comes is
// dropped when the line goes quiet, and a good frame inside it is found.
func TestDecoderStale(t *testing.T) {
	ping, _ := AppendFrame(nil, Request(CmdSysPing))
	var d Decoder
	d.Write([]byte{0xFE, 0x20, 0x21})
	d.Write(ping)
	if _, ok, err := d.Next(); ok || err != nil {
		t.Fatalf("complete too early: %v %v", ok, err)
	}
	if err := d.Stale(); !errors.Is(err, ErrLength) {
		t.Fatalf("Stale: %v", err)
	}
	var got []Frame
	for {
		f, ok, err := d.Next()
		if err != nil {
			continue
		}
		if !ok {
			break
		}
		got = append(got, f)
	}
	if len(got) != 1 || got[0].Cmd != CmdSysPing {
		t.Fatalf("after Stale: %v", got)
	}
	if d.Stale() != nil {
		t.Fatal("Stale with nothing pending")
	}
}
