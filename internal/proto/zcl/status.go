package zcl

import "fmt"

// Status is a ZCL status code (ZCL revision 6, 2.6.3 table 2-12).
type Status uint8

// Status codes.
const (
	StatusSuccess                  Status = 0x00
	StatusFailure                  Status = 0x01
	StatusNotAuthorized            Status = 0x7e
	StatusReservedFieldNotZero     Status = 0x7f
	StatusMalformedCommand         Status = 0x80
	StatusUnsupClusterCommand      Status = 0x81
	StatusUnsupGeneralCommand      Status = 0x82
	StatusUnsupManufClusterCommand Status = 0x83
	StatusUnsupManufGeneralCommand Status = 0x84
	StatusInvalidField             Status = 0x85
	StatusUnsupportedAttribute     Status = 0x86
	StatusInvalidValue             Status = 0x87
	StatusReadOnly                 Status = 0x88
	StatusInsufficientSpace        Status = 0x89
	StatusDuplicateExists          Status = 0x8a
	StatusNotFound                 Status = 0x8b
	StatusUnreportableAttribute    Status = 0x8c
	StatusInvalidDataType          Status = 0x8d
	StatusInvalidSelector          Status = 0x8e
	StatusWriteOnly                Status = 0x8f
	StatusInconsistentStartupState Status = 0x90
	StatusDefinedOutOfBand         Status = 0x91
	StatusInconsistent             Status = 0x92
	StatusActionDenied             Status = 0x93
	StatusTimeout                  Status = 0x94
	StatusAbort                    Status = 0x95
	StatusInvalidImage             Status = 0x96
	StatusWaitForData              Status = 0x97
	StatusNoImageAvailable         Status = 0x98
	StatusRequireMoreImage         Status = 0x99
	StatusNotificationPending      Status = 0x9a
	StatusHardwareFailure          Status = 0xc0
	StatusSoftwareFailure          Status = 0xc1
	StatusCalibrationError         Status = 0xc2
	StatusUnsupportedCluster       Status = 0xc3
)

var statusNames = map[Status]string{
	StatusSuccess:                  "SUCCESS",
	StatusFailure:                  "FAILURE",
	StatusNotAuthorized:            "NOT_AUTHORIZED",
	StatusReservedFieldNotZero:     "RESERVED_FIELD_NOT_ZERO",
	StatusMalformedCommand:         "MALFORMED_COMMAND",
	StatusUnsupClusterCommand:      "UNSUP_CLUSTER_COMMAND",
	StatusUnsupGeneralCommand:      "UNSUP_GENERAL_COMMAND",
	StatusUnsupManufClusterCommand: "UNSUP_MANUF_CLUSTER_COMMAND",
	StatusUnsupManufGeneralCommand: "UNSUP_MANUF_GENERAL_COMMAND",
	StatusInvalidField:             "INVALID_FIELD",
	StatusUnsupportedAttribute:     "UNSUPPORTED_ATTRIBUTE",
	StatusInvalidValue:             "INVALID_VALUE",
	StatusReadOnly:                 "READ_ONLY",
	StatusInsufficientSpace:        "INSUFFICIENT_SPACE",
	StatusDuplicateExists:          "DUPLICATE_EXISTS",
	StatusNotFound:                 "NOT_FOUND",
	StatusUnreportableAttribute:    "UNREPORTABLE_ATTRIBUTE",
	StatusInvalidDataType:          "INVALID_DATA_TYPE",
	StatusInvalidSelector:          "INVALID_SELECTOR",
	StatusWriteOnly:                "WRITE_ONLY",
	StatusInconsistentStartupState: "INCONSISTENT_STARTUP_STATE",
	StatusDefinedOutOfBand:         "DEFINED_OUT_OF_BAND",
	StatusInconsistent:             "INCONSISTENT",
	StatusActionDenied:             "ACTION_DENIED",
	StatusTimeout:                  "TIMEOUT",
	StatusAbort:                    "ABORT",
	StatusInvalidImage:             "INVALID_IMAGE",
	StatusWaitForData:              "WAIT_FOR_DATA",
	StatusNoImageAvailable:         "NO_IMAGE_AVAILABLE",
	StatusRequireMoreImage:         "REQUIRE_MORE_IMAGE",
	StatusNotificationPending:      "NOTIFICATION_PENDING",
	StatusHardwareFailure:          "HARDWARE_FAILURE",
	StatusSoftwareFailure:          "SOFTWARE_FAILURE",
	StatusCalibrationError:         "CALIBRATION_ERROR",
	StatusUnsupportedCluster:       "UNSUPPORTED_CLUSTER",
}

// String returns the specification's name, or "status 0xNN".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status 0x%02x", uint8(s))
}

// Known reports whether s is a status code the specification defines.
func (s Status) Known() bool { _, ok := statusNames[s]; return ok }

// MarshalText returns the status's name (for JSON logs and golden files).
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
