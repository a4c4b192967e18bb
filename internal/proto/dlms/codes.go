package dlms

import "fmt"

// APDU tags (the first octet of every APDU).
const (
	TagInitiateRequest       = 0x01
	TagInitiateResponse      = 0x08
	TagConfirmedServiceError = 0x0E
	TagDataNotification      = 0x0F
	TagAARQ                  = 0x60
	TagAARE                  = 0x61
	TagRLRQ                  = 0x62
	TagRLRE                  = 0x63
	TagGetRequest            = 0xC0
	TagSetRequest            = 0xC1
	TagEventNotification     = 0xC2
	TagActionRequest         = 0xC3
	TagGetResponse           = 0xC4
	TagSetResponse           = 0xC5
	TagActionResponse        = 0xC7
	TagExceptionResponse     = 0xD8

	// Ciphered APDUs with the global (glo-) or dedicated (ded-) key.
	TagGloInitiateRequest       = 0x21
	TagGloInitiateResponse      = 0x28
	TagGloConfirmedServiceError = 0x2E
	TagDedInitiateRequest       = 0x41
	TagDedInitiateResponse      = 0x48
	TagDedConfirmedServiceError = 0x4E
	TagGloGetRequest            = 0xC8
	TagGloSetRequest            = 0xC9
	TagGloEventNotification     = 0xCA
	TagGloActionRequest         = 0xCB
	TagGloGetResponse           = 0xCC
	TagGloSetResponse           = 0xCD
	TagGloActionResponse        = 0xCF
	TagDedGetRequest            = 0xD0
	TagDedSetRequest            = 0xD1
	TagDedEventNotification     = 0xD2
	TagDedActionRequest         = 0xD3
	TagDedGetResponse           = 0xD4
	TagDedSetResponse           = 0xD5
	TagDedActionResponse        = 0xD7
	TagGeneralGloCiphering      = 0xDB
	TagGeneralDedCiphering      = 0xDC
)

// AccessResult is the Data-Access-Result of GET and SET (IEC 62056-5-3).
type AccessResult uint8

// Data-Access-Result codes.
const (
	AccessSuccess                 AccessResult = 0
	AccessHardwareFault           AccessResult = 1
	AccessTemporaryFailure        AccessResult = 2
	AccessReadWriteDenied         AccessResult = 3
	AccessObjectUndefined         AccessResult = 4
	AccessObjectClassInconsistent AccessResult = 9
	AccessObjectUnavailable       AccessResult = 11
	AccessTypeUnmatched           AccessResult = 12
	AccessScopeOfAccessViolated   AccessResult = 13
	AccessDataBlockUnavailable    AccessResult = 14
	AccessLongGetAborted          AccessResult = 15
	AccessNoLongGetInProgress     AccessResult = 16
	AccessLongSetAborted          AccessResult = 17
	AccessNoLongSetInProgress     AccessResult = 18
	AccessDataBlockNumberInvalid  AccessResult = 19
	AccessOtherReason             AccessResult = 250
)

var accessNames = map[AccessResult]string{
	0: "success", 1: "hardware-fault", 2: "temporary-failure", 3: "read-write-denied", 4: "object-undefined",
	9: "object-class-inconsistent", 11: "object-unavailable", 12: "type-unmatched", 13: "scope-of-access-violated",
	14: "data-block-unavailable", 15: "long-get-aborted", 16: "no-long-get-in-progress", 17: "long-set-aborted",
	18: "no-long-set-in-progress", 19: "data-block-number-invalid", 250: "other-reason",
}

func (a AccessResult) String() string {
	if s, ok := accessNames[a]; ok {
		return s
	}
	return fmt.Sprintf("data-access-result(%d)", uint8(a))
}

// ActionResult is the Action-Result of ACTION (IEC 62056-5-3).
type ActionResult uint8

// Action-Result codes.
const (
	ActionSuccess                 ActionResult = 0
	ActionHardwareFault           ActionResult = 1
	ActionTemporaryFailure        ActionResult = 2
	ActionReadWriteDenied         ActionResult = 3
	ActionObjectUndefined         ActionResult = 4
	ActionObjectClassInconsistent ActionResult = 9
	ActionObjectUnavailable       ActionResult = 11
	ActionTypeUnmatched           ActionResult = 12
	ActionScopeOfAccessViolated   ActionResult = 13
	ActionDataBlockUnavailable    ActionResult = 14
	ActionLongActionAborted       ActionResult = 15
	ActionNoLongActionInProgress  ActionResult = 16
	ActionOtherReason             ActionResult = 250
)

var actionNames = map[ActionResult]string{
	0: "success", 1: "hardware-fault", 2: "temporary-failure", 3: "read-write-denied", 4: "object-undefined",
	9: "object-class-inconsistent", 11: "object-unavailable", 12: "type-unmatched", 13: "scope-of-access-violated",
	14: "data-block-unavailable", 15: "long-action-aborted", 16: "no-long-action-in-progress", 250: "other-reason",
}

func (a ActionResult) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return fmt.Sprintf("action-result(%d)", uint8(a))
}

// Exception-response state errors and service errors.
const (
	StateServiceNotAllowed = 1
	StateServiceUnknown    = 2

	ServiceOperationNotPossible = 1
	ServiceNotSupported         = 2
	ServiceOtherReason          = 3
	ServicePDUTooLong           = 4
	ServiceDecipheringError     = 5
	ServiceInvocationCounterErr = 6
)

// Conformance bits (the 24-bit conformance block of xDLMS; bit n counts
// from the most significant bit of the first octet, bit 0).
const (
	ConfGeneralProtection       uint32 = 0x400000 // bit 1
	ConfGeneralBlockTransfer    uint32 = 0x200000 // bit 2
	ConfRead                    uint32 = 0x100000 // bit 3
	ConfWrite                   uint32 = 0x080000 // bit 4
	ConfUnconfirmedWrite        uint32 = 0x040000 // bit 5
	ConfDeltaValueEncoding      uint32 = 0x020000 // bit 6
	ConfAttribute0SupportedSet  uint32 = 0x008000 // bit 8
	ConfPriorityMgmtSupported   uint32 = 0x004000 // bit 9
	ConfAttribute0SupportedGet  uint32 = 0x002000 // bit 10
	ConfBlockTransferWithGet    uint32 = 0x001000 // bit 11
	ConfBlockTransferWithSet    uint32 = 0x000800 // bit 12
	ConfBlockTransferWithAction uint32 = 0x000400 // bit 13
	ConfMultipleReferences      uint32 = 0x000200 // bit 14
	ConfInformationReport       uint32 = 0x000100 // bit 15
	ConfDataNotification        uint32 = 0x000080 // bit 16
	ConfAccess                  uint32 = 0x000040 // bit 17
	ConfParameterizedAccess     uint32 = 0x000020 // bit 18
	ConfGet                     uint32 = 0x000010 // bit 19
	ConfSet                     uint32 = 0x000008 // bit 20
	ConfSelectiveAccess         uint32 = 0x000004 // bit 21
	ConfEventNotification       uint32 = 0x000002 // bit 22
	ConfAction                  uint32 = 0x000001 // bit 23
)
