package znp

import "fmt"

// Each message type below has a Frame method that encodes it and a Parse
// function that decodes it from a Frame, checking the command and that
// the payload has exactly the fields the command defines. Payload slices
// of decoded messages are copies.

// Request builds the frame of an SREQ without payload (SYS_PING,
// SYS_VERSION, UTIL_GET_DEVICE_INFO).
func Request(c Cmd) Frame { return Frame{Cmd: c} }

// StatusRsp is an SRSP (or an AREQ) whose payload is one status byte.
type StatusRsp struct {
	Cmd    Cmd
	Status Status
}

// Frame encodes r.
func (r StatusRsp) Frame() Frame { return Frame{Cmd: r.Cmd, Payload: []byte{byte(r.Status)}} }

// ParseStatus reads the one-byte status payload of f, whatever its
// command.
func ParseStatus(f Frame) (Status, error) {
	r := &rd{cmd: f.Cmd, p: f.Payload}
	s := Status(r.u8("Status"))
	return s, r.done()
}

// RPCErrorRsp is the SRSP RPC_ERROR: the co-processor did not process the
// SREQ ReqCmd.
type RPCErrorRsp struct {
	Code   RPCErrorCode
	ReqCmd Cmd
}

// Frame encodes m.
func (m RPCErrorRsp) Frame() Frame {
	return Frame{Cmd: CmdRPCError, Payload: []byte{byte(m.Code), m.ReqCmd.Cmd0(), m.ReqCmd.Cmd1()}}
}

// ParseRPCError decodes RPC_ERROR.
func ParseRPCError(f Frame) (RPCErrorRsp, error) {
	r, err := open(f, CmdRPCError)
	if err != nil {
		return RPCErrorRsp{}, err
	}
	m := RPCErrorRsp{Code: RPCErrorCode(r.u8("ErrorCode"))}
	m.ReqCmd = Cmd(r.u16("ReqCmd"))
	m.ReqCmd = m.ReqCmd>>8 | m.ReqCmd<<8 // Cmd0 first on the wire
	return m, r.done()
}

func (m RPCErrorRsp) Error() string {
	return fmt.Sprintf("znp: %s refused by the co-processor: %s", m.ReqCmd, m.Code)
}

// Reset types of SYS_RESET_REQ.
const (
	ResetHard uint8 = 0 // the device resets through its watchdog
	ResetSoft uint8 = 1 // the stack restarts (the only one a USB CC2652 supports well)
)

// SysResetReq asks the co-processor to reset; it answers with
// SYS_RESET_IND.
type SysResetReq struct{ Type uint8 }

// Frame encodes m.
func (m SysResetReq) Frame() Frame { return Frame{Cmd: CmdSysResetReq, Payload: []byte{m.Type}} }

// ParseSysResetReq decodes SYS_RESET_REQ.
func ParseSysResetReq(f Frame) (SysResetReq, error) {
	r, err := open(f, CmdSysResetReq)
	if err != nil {
		return SysResetReq{}, err
	}
	m := SysResetReq{Type: r.u8("Type")}
	return m, r.done()
}

// Reset reasons of SYS_RESET_IND.
const (
	ResetPowerUp  uint8 = 0
	ResetExternal uint8 = 1
	ResetWatchdog uint8 = 2
)

// ResetReasonName names a SYS_RESET_IND reason.
func ResetReasonName(r uint8) string {
	switch r {
	case ResetPowerUp:
		return "power-up"
	case ResetExternal:
		return "external"
	case ResetWatchdog:
		return "watchdog"
	}
	return fmt.Sprintf("reason 0x%02X", r)
}

// SysResetInd is sent by the co-processor after every reset.
type SysResetInd struct {
	Reason, TransportRev, Product, Major, Minor, HwRev uint8
}

// Frame encodes m.
func (m SysResetInd) Frame() Frame {
	return Frame{Cmd: CmdSysResetInd, Payload: []byte{m.Reason, m.TransportRev, m.Product, m.Major, m.Minor, m.HwRev}}
}

// ParseSysResetInd decodes SYS_RESET_IND.
func ParseSysResetInd(f Frame) (SysResetInd, error) {
	r, err := open(f, CmdSysResetInd)
	if err != nil {
		return SysResetInd{}, err
	}
	m := SysResetInd{Reason: r.u8("Reason"), TransportRev: r.u8("TransportRev"), Product: r.u8("ProductId"),
		Major: r.u8("MajorRel"), Minor: r.u8("MinorRel"), HwRev: r.u8("HwRev")}
	return m, r.done()
}

// Capabilities bits of SYS_PING (which subsystems the firmware has).
const (
	CapSYS    uint16 = 0x0001
	CapMAC    uint16 = 0x0002
	CapNWK    uint16 = 0x0004
	CapAF     uint16 = 0x0008
	CapZDO    uint16 = 0x0010
	CapSAPI   uint16 = 0x0020
	CapUTIL   uint16 = 0x0040
	CapDEBUG  uint16 = 0x0080
	CapAPP    uint16 = 0x0100
	CapAPPCNF uint16 = 0x0800
	CapZOAD   uint16 = 0x1000
)

// SysPingRsp answers SYS_PING.
type SysPingRsp struct{ Capabilities uint16 }

// Frame encodes m.
func (m SysPingRsp) Frame() Frame {
	return Frame{Cmd: CmdSysPing.Response(), Payload: le16(nil, m.Capabilities)}
}

// ParseSysPingRsp decodes the SRSP of SYS_PING.
func ParseSysPingRsp(f Frame) (SysPingRsp, error) {
	r, err := open(f, CmdSysPing.Response())
	if err != nil {
		return SysPingRsp{}, err
	}
	m := SysPingRsp{Capabilities: r.u16("Capabilities")}
	return m, r.done()
}

// Product ids of SYS_VERSION.
const (
	ProductZStack12  uint8 = 0 // Z-Stack Home 1.2 (CC2530/CC2531)
	ProductZStack3x0 uint8 = 1 // Z-Stack 3.0.x (CC2530/CC2531)
	ProductZStack30x uint8 = 2 // Z-Stack 3.x.0 (CC2652, CC1352)
)

// SysVersionRsp answers SYS_VERSION. Z-Stack 3 firmware appends a 4-byte
// build revision (HasRevision).
type SysVersionRsp struct {
	TransportRev, Product, Major, Minor, Maint uint8
	Revision                                   uint32
	HasRevision                                bool
}

// Frame encodes m.
func (m SysVersionRsp) Frame() Frame {
	p := []byte{m.TransportRev, m.Product, m.Major, m.Minor, m.Maint}
	if m.HasRevision {
		p = le32(p, m.Revision)
	}
	return Frame{Cmd: CmdSysVersion.Response(), Payload: p}
}

// ParseSysVersionRsp decodes the SRSP of SYS_VERSION.
func ParseSysVersionRsp(f Frame) (SysVersionRsp, error) {
	r, err := open(f, CmdSysVersion.Response())
	if err != nil {
		return SysVersionRsp{}, err
	}
	m := SysVersionRsp{TransportRev: r.u8("TransportRev"), Product: r.u8("Product"), Major: r.u8("MajorRel"),
		Minor: r.u8("MinorRel"), Maint: r.u8("MaintRel")}
	if r.err == nil && r.rest() == 4 {
		m.Revision, m.HasRevision = r.u32("Revision"), true
	}
	return m, r.done()
}

func (m SysVersionRsp) String() string {
	s := fmt.Sprintf("Z-Stack %d.%d.%d (product %d, transport %d)", m.Major, m.Minor, m.Maint, m.Product, m.TransportRev)
	if m.HasRevision {
		s += fmt.Sprintf(" build %d", m.Revision)
	}
	return s
}

// SysOsalNvItemInit creates an NV item if it does not exist. The SRSP
// status is Success if it existed, NvItemUninit if it was created.
type SysOsalNvItemInit struct {
	ID   uint16
	Len  uint16
	Init []byte // at most 245 bytes
}

// Frame encodes m.
func (m SysOsalNvItemInit) Frame() Frame {
	p := le16(nil, m.ID)
	p = le16(p, m.Len)
	p = append(p, byte(len(m.Init)))
	return Frame{Cmd: CmdSysOsalNvItemInit, Payload: append(p, m.Init...)}
}

// ParseSysOsalNvItemInit decodes SYS_OSAL_NV_ITEM_INIT.
func ParseSysOsalNvItemInit(f Frame) (SysOsalNvItemInit, error) {
	r, err := open(f, CmdSysOsalNvItemInit)
	if err != nil {
		return SysOsalNvItemInit{}, err
	}
	m := SysOsalNvItemInit{ID: r.u16("Id"), Len: r.u16("ItemLen")}
	m.Init = r.bytes(int(r.u8("InitLen")), "InitData")
	return m, r.done()
}

// SysOsalNvRead reads an NV item from Offset.
type SysOsalNvRead struct {
	ID     uint16
	Offset uint8
}

// Frame encodes m.
func (m SysOsalNvRead) Frame() Frame {
	return Frame{Cmd: CmdSysOsalNvRead, Payload: append(le16(nil, m.ID), m.Offset)}
}

// ParseSysOsalNvRead decodes SYS_OSAL_NV_READ.
func ParseSysOsalNvRead(f Frame) (SysOsalNvRead, error) {
	r, err := open(f, CmdSysOsalNvRead)
	if err != nil {
		return SysOsalNvRead{}, err
	}
	m := SysOsalNvRead{ID: r.u16("Id"), Offset: r.u8("Offset")}
	return m, r.done()
}

// SysOsalNvReadRsp answers SYS_OSAL_NV_READ.
type SysOsalNvReadRsp struct {
	Status Status
	Value  []byte
}

// Frame encodes m.
func (m SysOsalNvReadRsp) Frame() Frame {
	return Frame{Cmd: CmdSysOsalNvRead.Response(), Payload: append([]byte{byte(m.Status), byte(len(m.Value))}, m.Value...)}
}

// ParseSysOsalNvReadRsp decodes the SRSP of SYS_OSAL_NV_READ.
func ParseSysOsalNvReadRsp(f Frame) (SysOsalNvReadRsp, error) {
	r, err := open(f, CmdSysOsalNvRead.Response())
	if err != nil {
		return SysOsalNvReadRsp{}, err
	}
	m := SysOsalNvReadRsp{Status: Status(r.u8("Status"))}
	m.Value = r.bytes(int(r.u8("Len")), "Value")
	return m, r.done()
}

// SysOsalNvWrite writes Value into an NV item at Offset.
type SysOsalNvWrite struct {
	ID     uint16
	Offset uint8
	Value  []byte // at most 246 bytes
}

// Frame encodes m.
func (m SysOsalNvWrite) Frame() Frame {
	p := append(le16(nil, m.ID), m.Offset, byte(len(m.Value)))
	return Frame{Cmd: CmdSysOsalNvWrite, Payload: append(p, m.Value...)}
}

// ParseSysOsalNvWrite decodes SYS_OSAL_NV_WRITE.
func ParseSysOsalNvWrite(f Frame) (SysOsalNvWrite, error) {
	r, err := open(f, CmdSysOsalNvWrite)
	if err != nil {
		return SysOsalNvWrite{}, err
	}
	m := SysOsalNvWrite{ID: r.u16("Id"), Offset: r.u8("Offset")}
	m.Value = r.bytes(int(r.u8("Len")), "Value")
	return m, r.done()
}

// SysSetTxPower sets the radio's transmit power in dBm. Z-Stack 3.x
// answers with a status; older firmware with the power it set.
type SysSetTxPower struct{ Power int8 }

// Frame encodes m.
func (m SysSetTxPower) Frame() Frame {
	return Frame{Cmd: CmdSysSetTxPower, Payload: []byte{byte(m.Power)}}
}

// ParseSysSetTxPower decodes SYS_SET_TX_POWER.
func ParseSysSetTxPower(f Frame) (SysSetTxPower, error) {
	r, err := open(f, CmdSysSetTxPower)
	if err != nil {
		return SysSetTxPower{}, err
	}
	m := SysSetTxPower{Power: int8(r.u8("TxPower"))}
	return m, r.done()
}

// Device types (capability bits) and states of UTIL_GET_DEVICE_INFO and
// ZDO_STATE_CHANGE_IND.
const (
	DevHold            uint8 = 0  // initialised, not started automatically
	DevInit            uint8 = 1  // initialised, not connected
	DevNwkDisc         uint8 = 2  // discovering PANs to join
	DevNwkJoining      uint8 = 3  // joining a PAN
	DevNwkRejoin       uint8 = 4  // rejoining a PAN
	DevEndDeviceUnauth uint8 = 5  // joined, not yet authenticated by the trust centre
	DevEndDevice       uint8 = 6  // started as an end device
	DevRouter          uint8 = 7  // started as a router
	DevCoordStarting   uint8 = 8  // starting as coordinator
	DevZBCoord         uint8 = 9  // started as Zigbee coordinator
	DevNwkOrphan       uint8 = 10 // lost its parent
)

// DeviceStateName names a device state.
func DeviceStateName(s uint8) string {
	names := [...]string{"HOLD", "INIT", "NWK_DISC", "NWK_JOINING", "NWK_REJOIN", "END_DEVICE_UNAUTH",
		"END_DEVICE", "ROUTER", "COORD_STARTING", "ZB_COORD", "NWK_ORPHAN"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("state%d", s)
}

// UtilGetDeviceInfoRsp answers UTIL_GET_DEVICE_INFO.
type UtilGetDeviceInfoRsp struct {
	Status     Status
	IEEE       uint64
	NWK        uint16
	DeviceType uint8 // bit 0 coordinator, bit 1 router, bit 2 end device capable
	State      uint8 // DevHold … DevNwkOrphan
	Assoc      []uint16
}

// Frame encodes m.
func (m UtilGetDeviceInfoRsp) Frame() Frame {
	p := le64([]byte{byte(m.Status)}, m.IEEE)
	p = le16(p, m.NWK)
	p = append(p, m.DeviceType, m.State, byte(len(m.Assoc)))
	for _, a := range m.Assoc {
		p = le16(p, a)
	}
	return Frame{Cmd: CmdUtilGetDeviceInfo.Response(), Payload: p}
}

// ParseUtilGetDeviceInfoRsp decodes the SRSP of UTIL_GET_DEVICE_INFO.
func ParseUtilGetDeviceInfoRsp(f Frame) (UtilGetDeviceInfoRsp, error) {
	r, err := open(f, CmdUtilGetDeviceInfo.Response())
	if err != nil {
		return UtilGetDeviceInfoRsp{}, err
	}
	m := UtilGetDeviceInfoRsp{Status: Status(r.u8("Status")), IEEE: r.u64("IEEEAddr"), NWK: r.u16("ShortAddr"),
		DeviceType: r.u8("DeviceType"), State: r.u8("DeviceState")}
	n := int(r.u8("NumAssocDevices"))
	if r.need(2*n, "AssocDevicesList") {
		for range n {
			m.Assoc = append(m.Assoc, r.u16("AssocDevice"))
		}
	}
	return m, r.done()
}
