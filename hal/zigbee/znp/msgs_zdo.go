package znp

// Values of ZDO_STARTUP_FROM_APP's SRSP status.
const (
	StartupRestored   Status = 0 // restored network state from NV
	StartupNewNetwork Status = 1 // new network state
	StartupNotStarted Status = 2 // leave and not started
)

// ZdoStartupFromApp starts the device in the network after StartDelay ms.
type ZdoStartupFromApp struct{ StartDelay uint16 }

// Frame encodes m.
func (m ZdoStartupFromApp) Frame() Frame {
	return Frame{Cmd: CmdZdoStartupFromApp, Payload: le16(nil, m.StartDelay)}
}

// ParseZdoStartupFromApp decodes ZDO_STARTUP_FROM_APP.
func ParseZdoStartupFromApp(f Frame) (ZdoStartupFromApp, error) {
	r, err := open(f, CmdZdoStartupFromApp)
	if err != nil {
		return ZdoStartupFromApp{}, err
	}
	m := ZdoStartupFromApp{StartDelay: r.u16("StartDelay")}
	return m, r.done()
}

// ZdoStateChangeInd reports the device's new state (DevHold … DevNwkOrphan).
type ZdoStateChangeInd struct{ State uint8 }

// Frame encodes m.
func (m ZdoStateChangeInd) Frame() Frame {
	return Frame{Cmd: CmdZdoStateChangeInd, Payload: []byte{m.State}}
}

// ParseZdoStateChangeInd decodes ZDO_STATE_CHANGE_IND.
func ParseZdoStateChangeInd(f Frame) (ZdoStateChangeInd, error) {
	r, err := open(f, CmdZdoStateChangeInd)
	if err != nil {
		return ZdoStateChangeInd{}, err
	}
	m := ZdoStateChangeInd{State: r.u8("State")}
	return m, r.done()
}

// ZdoEndDeviceAnnceInd reports a device announcement (a device joined or
// rejoined with NwkAddr).
type ZdoEndDeviceAnnceInd struct {
	SrcAddr      uint16
	NwkAddr      uint16
	IEEE         uint64
	Capabilities uint8
}

// Frame encodes m.
func (m ZdoEndDeviceAnnceInd) Frame() Frame {
	p := le16(nil, m.SrcAddr)
	p = le16(p, m.NwkAddr)
	p = le64(p, m.IEEE)
	return Frame{Cmd: CmdZdoEndDeviceAnnceInd, Payload: append(p, m.Capabilities)}
}

// ParseZdoEndDeviceAnnceInd decodes ZDO_END_DEVICE_ANNCE_IND.
func ParseZdoEndDeviceAnnceInd(f Frame) (ZdoEndDeviceAnnceInd, error) {
	r, err := open(f, CmdZdoEndDeviceAnnceInd)
	if err != nil {
		return ZdoEndDeviceAnnceInd{}, err
	}
	m := ZdoEndDeviceAnnceInd{SrcAddr: r.u16("SrcAddr"), NwkAddr: r.u16("NwkAddr"), IEEE: r.u64("IEEEAddr"),
		Capabilities: r.u8("Capabilities")}
	return m, r.done()
}

// Address modes of ZDO_MGMT_PERMIT_JOIN_REQ.
const (
	AddrMode16        uint8 = 0x02
	AddrModeBroadcast uint8 = 0x0F
)

// ZdoMgmtPermitJoinReq opens (Duration seconds, 1…254; 255 forever) or
// closes (0) joining at DstAddr (0x0000 the coordinator, 0xFFFC all
// routers).
type ZdoMgmtPermitJoinReq struct {
	AddrMode       uint8
	DstAddr        uint16
	Duration       uint8
	TCSignificance uint8
}

// Frame encodes m.
func (m ZdoMgmtPermitJoinReq) Frame() Frame {
	p := le16([]byte{m.AddrMode}, m.DstAddr)
	return Frame{Cmd: CmdZdoMgmtPermitJoinReq, Payload: append(p, m.Duration, m.TCSignificance)}
}

// ParseZdoMgmtPermitJoinReq decodes ZDO_MGMT_PERMIT_JOIN_REQ.
func ParseZdoMgmtPermitJoinReq(f Frame) (ZdoMgmtPermitJoinReq, error) {
	r, err := open(f, CmdZdoMgmtPermitJoinReq)
	if err != nil {
		return ZdoMgmtPermitJoinReq{}, err
	}
	m := ZdoMgmtPermitJoinReq{AddrMode: r.u8("AddrMode"), DstAddr: r.u16("DstAddr"), Duration: r.u8("Duration"),
		TCSignificance: r.u8("TCSignificance")}
	return m, r.done()
}

// ZdoMgmtRsp is the AREQ answer of a ZDO management request
// (ZDO_MGMT_PERMIT_JOIN_RSP, ZDO_MGMT_LEAVE_RSP): the remote's status.
type ZdoMgmtRsp struct {
	Cmd     Cmd
	SrcAddr uint16
	Status  Status
}

// Frame encodes m.
func (m ZdoMgmtRsp) Frame() Frame {
	return Frame{Cmd: m.Cmd, Payload: append(le16(nil, m.SrcAddr), byte(m.Status))}
}

// ParseZdoMgmtRsp decodes ZDO_MGMT_PERMIT_JOIN_RSP or ZDO_MGMT_LEAVE_RSP
// (the command c).
func ParseZdoMgmtRsp(f Frame, c Cmd) (ZdoMgmtRsp, error) {
	r, err := open(f, c)
	if err != nil {
		return ZdoMgmtRsp{}, err
	}
	m := ZdoMgmtRsp{Cmd: c, SrcAddr: r.u16("SrcAddr"), Status: Status(r.u8("Status"))}
	return m, r.done()
}

// Flags of ZDO_MGMT_LEAVE_REQ.
const (
	LeaveRejoin         uint8 = 0x01
	LeaveRemoveChildren uint8 = 0x02
)

// ZdoMgmtLeaveReq asks DstAddr to make DeviceAddr (itself, usually) leave.
type ZdoMgmtLeaveReq struct {
	DstAddr    uint16
	DeviceAddr uint64
	Flags      uint8
}

// Frame encodes m.
func (m ZdoMgmtLeaveReq) Frame() Frame {
	p := le64(le16(nil, m.DstAddr), m.DeviceAddr)
	return Frame{Cmd: CmdZdoMgmtLeaveReq, Payload: append(p, m.Flags)}
}

// ParseZdoMgmtLeaveReq decodes ZDO_MGMT_LEAVE_REQ.
func ParseZdoMgmtLeaveReq(f Frame) (ZdoMgmtLeaveReq, error) {
	r, err := open(f, CmdZdoMgmtLeaveReq)
	if err != nil {
		return ZdoMgmtLeaveReq{}, err
	}
	m := ZdoMgmtLeaveReq{DstAddr: r.u16("DstAddr"), DeviceAddr: r.u64("DeviceAddr"), Flags: r.u8("RemoveChildren_Rejoin")}
	return m, r.done()
}

// ZdoLeaveInd reports that a device left (or was asked to: Request).
type ZdoLeaveInd struct {
	SrcAddr                 uint16
	ExtAddr                 uint64
	Request, Remove, Rejoin bool
}

// Frame encodes m.
func (m ZdoLeaveInd) Frame() Frame {
	p := le64(le16(nil, m.SrcAddr), m.ExtAddr)
	return Frame{Cmd: CmdZdoLeaveInd, Payload: append(p, b2u(m.Request), b2u(m.Remove), b2u(m.Rejoin))}
}

// ParseZdoLeaveInd decodes ZDO_LEAVE_IND.
func ParseZdoLeaveInd(f Frame) (ZdoLeaveInd, error) {
	r, err := open(f, CmdZdoLeaveInd)
	if err != nil {
		return ZdoLeaveInd{}, err
	}
	m := ZdoLeaveInd{SrcAddr: r.u16("SrcAddr"), ExtAddr: r.u64("ExtAddr"), Request: r.u8("Request") != 0,
		Remove: r.u8("Remove") != 0, Rejoin: r.u8("Rejoin") != 0}
	return m, r.done()
}

// ZdoTcDevInd is the trust centre's report of a device that joined (sent
// before the device's announcement).
type ZdoTcDevInd struct {
	NwkAddr    uint16
	IEEE       uint64
	ParentAddr uint16
}

// Frame encodes m.
func (m ZdoTcDevInd) Frame() Frame {
	return Frame{Cmd: CmdZdoTcDevInd, Payload: le16(le64(le16(nil, m.NwkAddr), m.IEEE), m.ParentAddr)}
}

// ParseZdoTcDevInd decodes ZDO_TC_DEV_IND.
func ParseZdoTcDevInd(f Frame) (ZdoTcDevInd, error) {
	r, err := open(f, CmdZdoTcDevInd)
	if err != nil {
		return ZdoTcDevInd{}, err
	}
	m := ZdoTcDevInd{NwkAddr: r.u16("SrcNwkAddr"), IEEE: r.u64("SrcIEEEAddr"), ParentAddr: r.u16("ParentNwkAddr")}
	return m, r.done()
}

// ZdoPermitJoinInd reports that joining was opened (Duration seconds) or
// closed (0).
type ZdoPermitJoinInd struct{ Duration uint8 }

// Frame encodes m.
func (m ZdoPermitJoinInd) Frame() Frame {
	return Frame{Cmd: CmdZdoPermitJoinInd, Payload: []byte{m.Duration}}
}

// ParseZdoPermitJoinInd decodes ZDO_PERMIT_JOIN_IND.
func ParseZdoPermitJoinInd(f Frame) (ZdoPermitJoinInd, error) {
	r, err := open(f, CmdZdoPermitJoinInd)
	if err != nil {
		return ZdoPermitJoinInd{}, err
	}
	m := ZdoPermitJoinInd{Duration: r.u8("Duration")}
	return m, r.done()
}

// ZdoActiveEpReq asks DstAddr for the active endpoints of
// NwkAddrOfInterest; the answer is ZDO_ACTIVE_EP_RSP.
type ZdoActiveEpReq struct{ DstAddr, NwkAddrOfInterest uint16 }

// Frame encodes m.
func (m ZdoActiveEpReq) Frame() Frame {
	return Frame{Cmd: CmdZdoActiveEpReq, Payload: le16(le16(nil, m.DstAddr), m.NwkAddrOfInterest)}
}

// ParseZdoActiveEpReq decodes ZDO_ACTIVE_EP_REQ.
func ParseZdoActiveEpReq(f Frame) (ZdoActiveEpReq, error) {
	r, err := open(f, CmdZdoActiveEpReq)
	if err != nil {
		return ZdoActiveEpReq{}, err
	}
	m := ZdoActiveEpReq{DstAddr: r.u16("DstAddr"), NwkAddrOfInterest: r.u16("NWKAddrOfInterest")}
	return m, r.done()
}

// ZdoActiveEpRsp lists a device's active endpoints.
type ZdoActiveEpRsp struct {
	SrcAddr   uint16
	Status    Status
	NwkAddr   uint16
	Endpoints []uint8
}

// Frame encodes m.
func (m ZdoActiveEpRsp) Frame() Frame {
	p := append(le16(nil, m.SrcAddr), byte(m.Status))
	p = append(le16(p, m.NwkAddr), byte(len(m.Endpoints)))
	return Frame{Cmd: CmdZdoActiveEpRsp, Payload: append(p, m.Endpoints...)}
}

// ParseZdoActiveEpRsp decodes ZDO_ACTIVE_EP_RSP.
func ParseZdoActiveEpRsp(f Frame) (ZdoActiveEpRsp, error) {
	r, err := open(f, CmdZdoActiveEpRsp)
	if err != nil {
		return ZdoActiveEpRsp{}, err
	}
	m := ZdoActiveEpRsp{SrcAddr: r.u16("SrcAddr"), Status: Status(r.u8("Status")), NwkAddr: r.u16("NWKAddr")}
	m.Endpoints = r.bytes(int(r.u8("ActiveEPCount")), "ActiveEPList")
	return m, r.done()
}
