package znp

import "fmt"

// Status is a Z-Stack status code (ZStatus_t in ZComDef.h), carried in
// SRSPs and in indications such as AF_DATA_CONFIRM.
type Status uint8

// Z-Stack status codes.
const (
	Success                 Status = 0x00
	Failure                 Status = 0x01
	InvalidParameter        Status = 0x02
	NvItemUninit            Status = 0x09 // OSAL_NV_ITEM_INIT: item created
	NvOperFailed            Status = 0x0A
	NvBadItemLen            Status = 0x0C
	MemError                Status = 0x10
	BufferFull              Status = 0x11
	UnsupportedMode         Status = 0x12
	MacMemError             Status = 0x13
	SapiInProgress          Status = 0x20
	SapiTimeout             Status = 0x21
	SapiInit                Status = 0x22
	NotAuthorized           Status = 0x7E
	MalformedCmd            Status = 0x80 // also zdoInvalidRequestType
	UnsupClusterCmd         Status = 0x81
	ZdoInvalidEndpoint      Status = 0x82
	ZdoUnsupported          Status = 0x84
	ZdoTimeout              Status = 0x85
	ZdoNoMatch              Status = 0x86
	ZdoTableFull            Status = 0x87
	ZdoNoBindEntry          Status = 0x88
	SecNoKey                Status = 0xA1
	SecOldFrmCount          Status = 0xA2
	SecMaxFrmCount          Status = 0xA3
	SecCcmFail              Status = 0xA4
	SecFailure              Status = 0xAD
	ApsFail                 Status = 0xB1
	ApsTableFull            Status = 0xB2
	ApsIllegalRequest       Status = 0xB3
	ApsInvalidBinding       Status = 0xB4
	ApsUnsupportedAttrib    Status = 0xB5
	ApsNotSupported         Status = 0xB6
	ApsNoAck                Status = 0xB7
	ApsDuplicateEntry       Status = 0xB8
	ApsNoBoundDevice        Status = 0xB9
	ApsNotAllowed           Status = 0xBA
	ApsNotAuthenticated     Status = 0xBB
	NwkInvalidParam         Status = 0xC1
	NwkInvalidRequest       Status = 0xC2
	NwkNotPermitted         Status = 0xC3
	NwkStartupFailure       Status = 0xC4
	NwkAlreadyPresent       Status = 0xC5
	NwkSyncFailure          Status = 0xC6
	NwkTableFull            Status = 0xC7
	NwkUnknownDevice        Status = 0xC8
	NwkUnsupportedAttribute Status = 0xC9
	NwkNoNetworks           Status = 0xCA
	NwkLeaveUnconfirmed     Status = 0xCB
	NwkNoAck                Status = 0xCC
	NwkNoRoute              Status = 0xCD
	MacBeaconLoss           Status = 0xE0
	MacChannelAccessFailure Status = 0xE1
	MacDenied               Status = 0xE2
	MacDisableTrxFailure    Status = 0xE3
	MacFailedSecurityCheck  Status = 0xE4
	MacFrameTooLong         Status = 0xE5
	MacInvalidGTS           Status = 0xE6
	MacInvalidHandle        Status = 0xE7
	MacInvalidParameter     Status = 0xE8
	MacNoAck                Status = 0xE9
	MacNoBeacon             Status = 0xEA
	MacNoData               Status = 0xEB
	MacNoShortAddr          Status = 0xEC
	MacOutOfCap             Status = 0xED
	MacPANIDConflict        Status = 0xEE
	MacRealignment          Status = 0xEF
	MacTransactionExpired   Status = 0xF0
	MacTransactionOverflow  Status = 0xF1
	MacTxActive             Status = 0xF2
	MacUnavailableKey       Status = 0xF3
	MacUnsupportedAttribute Status = 0xF4
	MacUnsupported          Status = 0xF5
	MacSrcMatchInvalidIndex Status = 0xFF
)

var statusNames = map[Status]string{
	Success: "SUCCESS", Failure: "FAILURE", InvalidParameter: "INVALID_PARAMETER",
	NvItemUninit: "NV_ITEM_UNINIT", NvOperFailed: "NV_OPER_FAILED", NvBadItemLen: "NV_BAD_ITEM_LEN",
	MemError: "MEM_ERROR", BufferFull: "BUFFER_FULL", UnsupportedMode: "UNSUPPORTED_MODE",
	MacMemError: "MAC_MEM_ERROR", SapiInProgress: "SAPI_IN_PROGRESS", SapiTimeout: "SAPI_TIMEOUT",
	SapiInit: "SAPI_INIT", NotAuthorized: "NOT_AUTHORIZED", MalformedCmd: "MALFORMED_CMD",
	UnsupClusterCmd: "UNSUP_CLUSTER_COMMAND", ZdoInvalidEndpoint: "ZDO_INVALID_ENDPOINT",
	ZdoUnsupported: "ZDO_UNSUPPORTED", ZdoTimeout: "ZDO_TIMEOUT", ZdoNoMatch: "ZDO_NO_MATCH",
	ZdoTableFull: "ZDO_TABLE_FULL", ZdoNoBindEntry: "ZDO_NO_BIND_ENTRY",
	SecNoKey: "SEC_NO_KEY", SecOldFrmCount: "SEC_OLD_FRM_COUNT", SecMaxFrmCount: "SEC_MAX_FRM_COUNT",
	SecCcmFail: "SEC_CCM_FAIL", SecFailure: "SEC_FAILURE",
	ApsFail: "APS_FAIL", ApsTableFull: "APS_TABLE_FULL", ApsIllegalRequest: "APS_ILLEGAL_REQUEST",
	ApsInvalidBinding: "APS_INVALID_BINDING", ApsUnsupportedAttrib: "APS_UNSUPPORTED_ATTRIB",
	ApsNotSupported: "APS_NOT_SUPPORTED", ApsNoAck: "APS_NO_ACK", ApsDuplicateEntry: "APS_DUPLICATE_ENTRY",
	ApsNoBoundDevice: "APS_NO_BOUND_DEVICE", ApsNotAllowed: "APS_NOT_ALLOWED",
	ApsNotAuthenticated: "APS_NOT_AUTHENTICATED",
	NwkInvalidParam:     "NWK_INVALID_PARAM", NwkInvalidRequest: "NWK_INVALID_REQUEST",
	NwkNotPermitted: "NWK_NOT_PERMITTED", NwkStartupFailure: "NWK_STARTUP_FAILURE",
	NwkAlreadyPresent: "NWK_ALREADY_PRESENT", NwkSyncFailure: "NWK_SYNC_FAILURE",
	NwkTableFull: "NWK_TABLE_FULL", NwkUnknownDevice: "NWK_UNKNOWN_DEVICE",
	NwkUnsupportedAttribute: "NWK_UNSUPPORTED_ATTRIBUTE", NwkNoNetworks: "NWK_NO_NETWORKS",
	NwkLeaveUnconfirmed: "NWK_LEAVE_UNCONFIRMED", NwkNoAck: "NWK_NO_ACK", NwkNoRoute: "NWK_NO_ROUTE",
	MacBeaconLoss: "MAC_BEACON_LOSS", MacChannelAccessFailure: "MAC_CHANNEL_ACCESS_FAILURE",
	MacDenied: "MAC_DENIED", MacDisableTrxFailure: "MAC_DISABLE_TRX_FAILURE",
	MacFailedSecurityCheck: "MAC_FAILED_SECURITY_CHECK", MacFrameTooLong: "MAC_FRAME_TOO_LONG",
	MacInvalidGTS: "MAC_INVALID_GTS", MacInvalidHandle: "MAC_INVALID_HANDLE",
	MacInvalidParameter: "MAC_INVALID_PARAMETER", MacNoAck: "MAC_NO_ACK", MacNoBeacon: "MAC_NO_BEACON",
	MacNoData: "MAC_NO_DATA", MacNoShortAddr: "MAC_NO_SHORT_ADDR", MacOutOfCap: "MAC_OUT_OF_CAP",
	MacPANIDConflict: "MAC_PAN_ID_CONFLICT", MacRealignment: "MAC_REALIGNMENT",
	MacTransactionExpired: "MAC_TRANSACTION_EXPIRED", MacTransactionOverflow: "MAC_TRANSACTION_OVERFLOW",
	MacTxActive: "MAC_TX_ACTIVE", MacUnavailableKey: "MAC_UNAVAILABLE_KEY",
	MacUnsupportedAttribute: "MAC_UNSUPPORTED_ATTRIBUTE", MacUnsupported: "MAC_UNSUPPORTED",
	MacSrcMatchInvalidIndex: "MAC_SRC_MATCH_INVALID_INDEX",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("0x%02X %s", uint8(s), n)
	}
	return fmt.Sprintf("0x%02X", uint8(s))
}

// StatusError is a command the co-processor answered with a status other
// than Success.
type StatusError struct {
	Cmd    Cmd
	Status Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("znp: %s: status %s", e.Cmd, e.Status)
}

// Err returns nil for Success and a *StatusError naming c otherwise.
func (s Status) Err(c Cmd) error {
	if s == Success {
		return nil
	}
	return &StatusError{Cmd: c, Status: s}
}

// RPCErrorCode is the error code of an RPC_ERROR SRSP (Cmd0 0x60, Cmd1
// 0x00), which the co-processor sends for an SREQ it cannot process.
type RPCErrorCode uint8

// RPC error codes.
const (
	RPCInvalidSubsystem RPCErrorCode = 0x01
	RPCInvalidCommandID RPCErrorCode = 0x02
	RPCInvalidParameter RPCErrorCode = 0x03
	RPCInvalidLength    RPCErrorCode = 0x04
)

func (c RPCErrorCode) String() string {
	switch c {
	case RPCInvalidSubsystem:
		return "invalid subsystem"
	case RPCInvalidCommandID:
		return "invalid command id"
	case RPCInvalidParameter:
		return "invalid parameter"
	case RPCInvalidLength:
		return "invalid length"
	}
	return fmt.Sprintf("rpc error 0x%02X", uint8(c))
}
