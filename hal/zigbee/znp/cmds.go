package znp

// Commands the gateway uses (SWRA198 section numbers in the names' docs).
// A Cmd carries its frame type: the SREQ and its SRSP differ in Cmd0
// (Cmd.Response, Cmd.Request).
const (
	// RPC_ERROR: SRSP for an SREQ the co-processor could not process.
	CmdRPCError Cmd = 0x6000

	// SYS
	CmdSysResetReq       Cmd = 0x4100 // AREQ: Type (0 hard, 1 soft)
	CmdSysPing           Cmd = 0x2101 // SREQ → SRSP Capabilities
	CmdSysVersion        Cmd = 0x2102 // SREQ → SRSP TransportRev, Product, Major, Minor, Maint[, Revision]
	CmdSysOsalNvItemInit Cmd = 0x2107 // SREQ Id, ItemLen, InitLen, InitData → Status
	CmdSysOsalNvRead     Cmd = 0x2108 // SREQ Id, Offset → Status, Len, Value
	CmdSysOsalNvWrite    Cmd = 0x2109 // SREQ Id, Offset, Len, Value → Status
	CmdSysSetTxPower     Cmd = 0x2114 // SREQ TxPower (dBm) → Status (Z-Stack 3.x) or power set
	CmdSysResetInd       Cmd = 0x4180 // AREQ Reason, TransportRev, Product, Major, Minor, HwRev

	// UTIL
	CmdUtilGetDeviceInfo Cmd = 0x2700 // SREQ → Status, IEEE, NWK, DeviceType, DeviceState, assoc list

	// ZDO
	CmdZdoActiveEpReq       Cmd = 0x2505 // SREQ DstAddr, NwkAddrOfInterest → Status
	CmdZdoMgmtLeaveReq      Cmd = 0x2534 // SREQ DstAddr, DeviceAddr, RemoveChildren_Rejoin → Status
	CmdZdoMgmtPermitJoinReq Cmd = 0x2536 // SREQ AddrMode, DstAddr, Duration, TCSignificance → Status
	CmdZdoStartupFromApp    Cmd = 0x2540 // SREQ StartDelay → Status (0 restored, 1 new, 2 not started)
	CmdZdoActiveEpRsp       Cmd = 0x4585 // AREQ SrcAddr, Status, NwkAddr, ActiveEPCount, list
	CmdZdoMgmtLeaveRsp      Cmd = 0x45B4 // AREQ SrcAddr, Status
	CmdZdoMgmtPermitJoinRsp Cmd = 0x45B6 // AREQ SrcAddr, Status
	CmdZdoStateChangeInd    Cmd = 0x45C0 // AREQ State
	CmdZdoEndDeviceAnnceInd Cmd = 0x45C1 // AREQ SrcAddr, NwkAddr, IEEEAddr, Capabilities
	CmdZdoLeaveInd          Cmd = 0x45C9 // AREQ SrcAddr, ExtAddr, Request, Remove, Rejoin
	CmdZdoTcDevInd          Cmd = 0x45CA // AREQ SrcNwkAddr, SrcIEEEAddr, ParentNwkAddr
	CmdZdoPermitJoinInd     Cmd = 0x45CB // AREQ Duration

	// AF
	CmdAfRegister       Cmd = 0x2400 // SREQ endpoint description → Status
	CmdAfDataRequest    Cmd = 0x2401 // SREQ → Status; AF_DATA_CONFIRM follows
	CmdAfDataRequestExt Cmd = 0x2402 // SREQ with 64-bit/group address and 2-byte length → Status
	CmdAfDataConfirm    Cmd = 0x4480 // AREQ Status, Endpoint, TransID
	CmdAfIncomingMsg    Cmd = 0x4481 // AREQ incoming data

	// APP_CNF (Z-Stack 3.x Base Device Behaviour)
	CmdAppCnfBdbAddInstallCode            Cmd = 0x2F04 // SREQ Format, IEEE, code or key → Status
	CmdAppCnfBdbStartCommissioning        Cmd = 0x2F05 // SREQ Mode → Status
	CmdAppCnfBdbSetJoinUsesInstallCodeKey Cmd = 0x2F06 // SREQ On → Status
	CmdAppCnfBdbSetChannel                Cmd = 0x2F08 // SREQ IsPrimary, Channel mask → Status
	CmdAppCnfBdbCommissioningNotification Cmd = 0x4F80 // AREQ Status, Mode, Remaining modes
)

var cmdNames = map[Cmd]string{
	CmdRPCError:                           "RPC_ERROR",
	CmdSysResetReq:                        "SYS_RESET_REQ",
	CmdSysPing:                            "SYS_PING",
	CmdSysVersion:                         "SYS_VERSION",
	CmdSysOsalNvItemInit:                  "SYS_OSAL_NV_ITEM_INIT",
	CmdSysOsalNvRead:                      "SYS_OSAL_NV_READ",
	CmdSysOsalNvWrite:                     "SYS_OSAL_NV_WRITE",
	CmdSysSetTxPower:                      "SYS_SET_TX_POWER",
	CmdSysResetInd:                        "SYS_RESET_IND",
	CmdUtilGetDeviceInfo:                  "UTIL_GET_DEVICE_INFO",
	CmdZdoActiveEpReq:                     "ZDO_ACTIVE_EP_REQ",
	CmdZdoMgmtLeaveReq:                    "ZDO_MGMT_LEAVE_REQ",
	CmdZdoMgmtPermitJoinReq:               "ZDO_MGMT_PERMIT_JOIN_REQ",
	CmdZdoStartupFromApp:                  "ZDO_STARTUP_FROM_APP",
	CmdZdoActiveEpRsp:                     "ZDO_ACTIVE_EP_RSP",
	CmdZdoMgmtLeaveRsp:                    "ZDO_MGMT_LEAVE_RSP",
	CmdZdoMgmtPermitJoinRsp:               "ZDO_MGMT_PERMIT_JOIN_RSP",
	CmdZdoStateChangeInd:                  "ZDO_STATE_CHANGE_IND",
	CmdZdoEndDeviceAnnceInd:               "ZDO_END_DEVICE_ANNCE_IND",
	CmdZdoLeaveInd:                        "ZDO_LEAVE_IND",
	CmdZdoTcDevInd:                        "ZDO_TC_DEV_IND",
	CmdZdoPermitJoinInd:                   "ZDO_PERMIT_JOIN_IND",
	CmdAfRegister:                         "AF_REGISTER",
	CmdAfDataRequest:                      "AF_DATA_REQUEST",
	CmdAfDataRequestExt:                   "AF_DATA_REQUEST_EXT",
	CmdAfDataConfirm:                      "AF_DATA_CONFIRM",
	CmdAfIncomingMsg:                      "AF_INCOMING_MSG",
	CmdAppCnfBdbAddInstallCode:            "APP_CNF_BDB_ADD_INSTALLCODE",
	CmdAppCnfBdbStartCommissioning:        "APP_CNF_BDB_START_COMMISSIONING",
	CmdAppCnfBdbSetJoinUsesInstallCodeKey: "APP_CNF_BDB_SET_JOINUSESINSTALLCODEKEY",
	CmdAppCnfBdbSetChannel:                "APP_CNF_BDB_SET_CHANNEL",
	CmdAppCnfBdbCommissioningNotification: "APP_CNF_BDB_COMMISSIONING_NOTIFICATION",
}
