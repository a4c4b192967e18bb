package znp

import "fmt"

// Commissioning modes of APP_CNF_BDB_START_COMMISSIONING (a bit mask).
const (
	BdbInitialization   uint8 = 0x00
	BdbTouchlink        uint8 = 0x01
	BdbNetworkSteering  uint8 = 0x02 // open the network for joining
	BdbNetworkFormation uint8 = 0x04 // form a network as coordinator
	BdbFindingBinding   uint8 = 0x08
)

// Status values of APP_CNF_BDB_COMMISSIONING_NOTIFICATION.
const (
	BdbSuccess               uint8 = 0
	BdbInProgress            uint8 = 1
	BdbNoNetwork             uint8 = 2
	BdbTLTargetFailure       uint8 = 3
	BdbTLNotAACapable        uint8 = 4
	BdbTLNoScanResponse      uint8 = 5
	BdbTLNotPermitted        uint8 = 6
	BdbTCLKExFailure         uint8 = 7
	BdbFormationFailure      uint8 = 8
	BdbFBTargetInProgress    uint8 = 9
	BdbFBInitiatorInProgress uint8 = 10
	BdbFBNoIdentifyQueryRsp  uint8 = 11
	BdbFBBindingTableFull    uint8 = 12
	BdbNetworkRestored       uint8 = 13
	BdbFailure               uint8 = 14
)

// BdbStatusName names a commissioning notification status.
func BdbStatusName(s uint8) string {
	names := [...]string{"SUCCESS", "IN_PROGRESS", "NO_NETWORK", "TL_TARGET_FAILURE", "TL_NOT_AA_CAPABLE",
		"TL_NO_SCAN_RESPONSE", "TL_NOT_PERMITTED", "TCLK_EX_FAILURE", "FORMATION_FAILURE",
		"FB_TARGET_IN_PROGRESS", "FB_INITIATOR_IN_PROGRESS", "FB_NO_IDENTIFY_QUERY_RESPONSE",
		"FB_BINDING_TABLE_FULL", "NETWORK_RESTORED", "FAILURE"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("status%d", s)
}

// BdbStartCommissioning starts the commissioning modes in Mode.
type BdbStartCommissioning struct{ Mode uint8 }

// Frame encodes m.
func (m BdbStartCommissioning) Frame() Frame {
	return Frame{Cmd: CmdAppCnfBdbStartCommissioning, Payload: []byte{m.Mode}}
}

// ParseBdbStartCommissioning decodes APP_CNF_BDB_START_COMMISSIONING.
func ParseBdbStartCommissioning(f Frame) (BdbStartCommissioning, error) {
	r, err := open(f, CmdAppCnfBdbStartCommissioning)
	if err != nil {
		return BdbStartCommissioning{}, err
	}
	m := BdbStartCommissioning{Mode: r.u8("CommissioningMode")}
	return m, r.done()
}

// BdbSetChannel sets the primary or secondary channel mask (bit n for
// channel n, 11…26).
type BdbSetChannel struct {
	Primary  bool
	Channels uint32
}

// Frame encodes m.
func (m BdbSetChannel) Frame() Frame {
	return Frame{Cmd: CmdAppCnfBdbSetChannel, Payload: le32([]byte{b2u(m.Primary)}, m.Channels)}
}

// ParseBdbSetChannel decodes APP_CNF_BDB_SET_CHANNEL.
func ParseBdbSetChannel(f Frame) (BdbSetChannel, error) {
	r, err := open(f, CmdAppCnfBdbSetChannel)
	if err != nil {
		return BdbSetChannel{}, err
	}
	m := BdbSetChannel{Primary: r.u8("isPrimary") != 0, Channels: r.u32("Channel")}
	return m, r.done()
}

// Formats of APP_CNF_BDB_ADD_INSTALLCODE.
const (
	InstallCodeWithCRC    uint8 = 0x01 // Code is a 16-byte install code and its CRC (18 bytes)
	InstallCodeDerivedKey uint8 = 0x02 // Code is the 16-byte key derived from the install code
)

// BdbAddInstallCode gives the trust centre the link key of a device
// (IEEE) that may join.
type BdbAddInstallCode struct {
	Format uint8
	IEEE   uint64
	Code   []byte
}

// Frame encodes m.
func (m BdbAddInstallCode) Frame() Frame {
	return Frame{Cmd: CmdAppCnfBdbAddInstallCode, Payload: append(le64([]byte{m.Format}, m.IEEE), m.Code...)}
}

// ParseBdbAddInstallCode decodes APP_CNF_BDB_ADD_INSTALLCODE: the code is
// 18 bytes for InstallCodeWithCRC and 16 for InstallCodeDerivedKey.
func ParseBdbAddInstallCode(f Frame) (BdbAddInstallCode, error) {
	r, err := open(f, CmdAppCnfBdbAddInstallCode)
	if err != nil {
		return BdbAddInstallCode{}, err
	}
	m := BdbAddInstallCode{Format: r.u8("InstallCodeFormat"), IEEE: r.u64("IEEEAddr")}
	n := 16
	if m.Format == InstallCodeWithCRC {
		n = 18
	}
	m.Code = r.bytes(n, "InstallCode")
	return m, r.done()
}

// BdbSetJoinUsesInstallCodeKey makes the trust centre accept only
// devices whose install-code key it has (On).
type BdbSetJoinUsesInstallCodeKey struct{ On bool }

// Frame encodes m.
func (m BdbSetJoinUsesInstallCodeKey) Frame() Frame {
	return Frame{Cmd: CmdAppCnfBdbSetJoinUsesInstallCodeKey, Payload: []byte{b2u(m.On)}}
}

// ParseBdbSetJoinUsesInstallCodeKey decodes
// APP_CNF_BDB_SET_JOINUSESINSTALLCODEKEY.
func ParseBdbSetJoinUsesInstallCodeKey(f Frame) (BdbSetJoinUsesInstallCodeKey, error) {
	r, err := open(f, CmdAppCnfBdbSetJoinUsesInstallCodeKey)
	if err != nil {
		return BdbSetJoinUsesInstallCodeKey{}, err
	}
	m := BdbSetJoinUsesInstallCodeKey{On: r.u8("BdbJoinUsesInstallCodeKey") != 0}
	return m, r.done()
}

// BdbCommissioningNotification reports progress of commissioning.
type BdbCommissioningNotification struct {
	Status    uint8 // BdbSuccess …
	Mode      uint8 // the mode it is about
	Remaining uint8 // modes still to run
}

// Frame encodes m.
func (m BdbCommissioningNotification) Frame() Frame {
	return Frame{Cmd: CmdAppCnfBdbCommissioningNotification, Payload: []byte{m.Status, m.Mode, m.Remaining}}
}

// ParseBdbCommissioningNotification decodes
// APP_CNF_BDB_COMMISSIONING_NOTIFICATION.
func ParseBdbCommissioningNotification(f Frame) (BdbCommissioningNotification, error) {
	r, err := open(f, CmdAppCnfBdbCommissioningNotification)
	if err != nil {
		return BdbCommissioningNotification{}, err
	}
	m := BdbCommissioningNotification{Status: r.u8("Status"), Mode: r.u8("CommissioningMode"),
		Remaining: r.u8("RemainingCommissioningModes")}
	return m, r.done()
}
