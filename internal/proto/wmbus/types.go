package wmbus

import (
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// Errors of this package. Every error Decode and ParseHeader return wraps
// one of these (or one of package mbus) and names the byte position in the
// frame where it applies.
var (
	// ErrTruncated is returned when the frame ends before a field its
	// headers announce.
	ErrTruncated = errors.New("wmbus: truncated")
	// ErrLength is returned when the L field does not match the frame.
	ErrLength = errors.New("wmbus: length mismatch")
	// ErrCRC is returned when a block CRC (format A or B), the ELL payload
	// CRC or a wired M-Bus checksum is wrong.
	ErrCRC = errors.New("wmbus: bad CRC")
	// ErrUnknownCI is returned for a CI field this package does not read
	// (and no profile claims).
	ErrUnknownCI = errors.New("wmbus: unknown CI")
	// ErrUnknownVIF is mbus.ErrUnknownVIF: a reserved VIF or VIFE code.
	ErrUnknownVIF = mbus.ErrUnknownVIF
	// ErrNoKey is returned when the telegram is encrypted and no key was
	// given (and the payload is not already plaintext).
	ErrNoKey = errors.New("wmbus: encrypted and no key")
	// ErrDecrypt is returned when the decrypted payload fails its check
	// (it does not begin with 0x2F2F, or the ELL payload CRC is wrong):
	// the key is wrong or the telegram corrupt. Such a telegram never
	// yields records.
	ErrDecrypt = errors.New("wmbus: decryption check failed (wrong key?)")
	// ErrMAC is returned when the AFL MAC of a mode-7 telegram does not
	// verify.
	ErrMAC = errors.New("wmbus: MAC verification failed")
	// ErrKey is returned for a key that is not 16 bytes long.
	ErrKey = errors.New("wmbus: key must be 16 bytes (AES-128)")
	// ErrUnsupported is returned for a security mode or a feature this
	// package does not implement (DES modes 2/3, mode 13 TLS, fragmented
	// AFL messages, …).
	ErrUnsupported = errors.New("wmbus: unsupported")
	// ErrFormat is returned for a compact frame whose format signature no
	// profile or earlier full frame provides, and for manufacturer data
	// that does not match the meter's profile.
	ErrFormat = errors.New("wmbus: unknown or mismatched format")
)

// Error is the error type of this package: a sentinel, a position and a
// reason.
type Error struct {
	Pos    int    // byte position in the frame (after CRC removal for stripped positions; see Offset)
	Err    error  // the sentinel (or an mbus error)
	Reason string // what was wrong
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Pos)
	}
	return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Pos, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(pos int, sentinel error, format string, args ...any) error {
	return &Error{Pos: pos, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
}

// Offset returns the byte position an error names, and whether it names one.
func Offset(err error) (int, bool) {
	var we *Error
	if errors.As(err, &we) {
		return we.Pos, true
	}
	if p, ok := mbus.Offset(err); ok {
		return p, true
	}
	return 0, false
}

// FrameFormat says how a frame is laid out on the wire.
type FrameFormat uint8

// Frame formats.
const (
	FormatAuto  FrameFormat = 0 // detect: format A, format B, stripped or wired M-Bus
	FormatA     FrameFormat = 1 // EN 13757-4 format A, block CRCs present
	FormatB     FrameFormat = 2 // EN 13757-4 format B, block CRCs present
	FormatNoCRC FrameFormat = 3 // link-layer CRCs already removed by the receiver; L counts data bytes
	FormatMBus  FrameFormat = 4 // wired M-Bus long frame, 68 L L 68 C A CI … CS 16
)

// String names the format.
func (f FrameFormat) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatA:
		return "A"
	case FormatB:
		return "B"
	case FormatNoCRC:
		return "no-crc"
	case FormatMBus:
		return "mbus"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// SecurityMode is the security mode of the transport layer's
// configuration field (bits 12–8): 0 none, 5 AES-128-CBC with IV, 7
// AES-128-CBC with derived keys, others reserved or unsupported here.
type SecurityMode uint8

// Security modes (EN 13757-7, table 18).
const (
	ModeNone SecurityMode = 0
	Mode2    SecurityMode = 2 // DES-CBC, IV 0 (deprecated, not supported)
	Mode3    SecurityMode = 3 // DES-CBC with IV (deprecated, not supported)
	Mode5    SecurityMode = 5 // AES-128-CBC, IV from the address and the access number
	Mode7    SecurityMode = 7 // AES-128-CBC, IV 0, ephemeral keys (OMS KDF), AFL MAC
	Mode8    SecurityMode = 8 // AES-128-CTR with CMAC (not supported)
	Mode13   SecurityMode = 13
)

// Address is a meter address: manufacturer, identification number,
// version and device type, as in the link layer and the TPL long header.
type Address struct {
	Manufacturer mbus.Manufacturer
	ID           uint32 // identification number: 8 BCD digits as sent, 0x12345678 is "12345678"
	Version      byte
	Device       mbus.DeviceType
}

// IDString returns the identification number as 8 digits (hex digits
// appear as such when a meter sends them).
func (a Address) IDString() string {
	var b [8]byte
	return string(a.AppendID(b[:0]))
}

// AppendID appends the identification number's 8 digits.
func (a Address) AppendID(dst []byte) []byte {
	const hexd = "0123456789ABCDEF"
	for s := 28; s >= 0; s -= 4 {
		dst = append(dst, hexd[a.ID>>uint(s)&0xF])
	}
	return dst
}

// Bytes returns the address as sent: manufacturer (2), id (4), version,
// device type, little-endian.
func (a Address) Bytes() [8]byte {
	return [8]byte{byte(a.Manufacturer), byte(a.Manufacturer >> 8),
		byte(a.ID), byte(a.ID >> 8), byte(a.ID >> 16), byte(a.ID >> 24), a.Version, byte(a.Device)}
}

// TPLKind is the kind of transport-layer header.
type TPLKind uint8

// Transport-layer header kinds.
const (
	TPLNone  TPLKind = 0 // no TPL header (CI 0x78, 0x79, and some manufacturer CIs)
	TPLShort TPLKind = 1 // short header: access number, status, configuration (0x7A, 0x5B, …)
	TPLLong  TPLKind = 2 // long header: a meter address, then as short (0x72, 0x5A, 0x53, …)
)

// ELL is the extended link layer (CI 0x8C, 0x8D, 0x8E, 0x8F).
type ELL struct {
	Present       bool
	CI            byte
	CC            byte    // communication control
	ACC           byte    // access number
	Address       Address // CI 0x8E/0x8F: the ELL's own address
	HasAddress    bool
	SessionNumber uint32 // CI 0x8D/0x8F: SN (encryption bits 31–29, time 28–4, session 3–0)
	Encrypted     bool   // SN's encryption field is 1: the rest is AES-128-CTR
	PayloadCRC    uint16 // CI 0x8D/0x8F: CRC of the payload after the ELL (encrypted with it)
}

// AFL is the authentication and fragmentation layer (CI 0x90).
type AFL struct {
	Present        bool
	FCL            uint16 // fragmentation control
	MCL            byte   // message control
	HasCounter     bool
	MessageCounter uint32 // MCR: the message counter (mode 7 KDF input, replay protection)
	KeyInfo        uint16 // KI, when present
	MessageLength  uint16 // ML, when present
	HasLength      bool
	MAC            [16]byte // MAC as sent, MACLen bytes
	MACLen         int
}

// Header is what can be read of a telegram without a key.
type Header struct {
	Format FrameFormat // as given or detected
	L      int         // the L field
	C      byte        // the C field (wired M-Bus: the C field of the long frame)
	Link   Address     // the link-layer address; wired M-Bus: zero (see Primary)
	// Primary is the wired M-Bus primary address (the long frame's A field).
	Primary byte
	// Meter is the address of the meter that produced the data: the TPL
	// long header's when there is one, else Link.
	Meter Address
	// CIs lists the CI fields in order, NCI of them (e.g. 8C 90 7A).
	CIs [4]byte
	NCI int

	ELL ELL
	AFL AFL

	TPLAt           int     // position of the TPL CI in the stripped frame
	TPLCI           byte    // the CI of the transport layer (0x7A, 0x72, 0x78, a manufacturer CI…)
	TPL             TPLKind // which header it has
	AccessNumber    byte    // TPL access number (or ELL ACC when there is no TPL header)
	Status          byte    // TPL status
	Config          uint16  // TPL configuration field
	ConfigExt       byte    // mode 7: the configuration field extension (KDF, key id)
	Mode            SecurityMode
	EncryptedBlocks int // mode 5/7: the number of encrypted 16-byte blocks (configuration field NNNN)

	// APDU is where the application data starts in the link-stripped frame
	// (after the last header), and Stripped its length.
	APDU     int
	Stripped int
}

// Encrypted reports whether the TPL or ELL says the payload is encrypted.
func (h *Header) Encrypted() bool {
	return h.Mode != ModeNone && h.EncryptedBlocks > 0 || h.ELL.Encrypted
}

// Security is how a telegram was protected and what was done about it.
type Security struct {
	Mode           SecurityMode // TPL security mode
	ELL            bool         // the ELL was AES-CTR encrypted
	Decrypted      bool         // this decoder decrypted the payload with the key given
	Authenticated  bool         // an AFL MAC was present and verified
	AccessNumber   byte         // TPL access number (ELL ACC without a TPL header)
	MessageCounter uint32       // AFL message counter, when AFL.HasCounter
	// Plaintext is true when the header announced encryption but the
	// payload was already plaintext (decrypted by the receiver) and no key
	// was given.
	Plaintext bool
}

// Telegram is a decoded telegram. Decode fills one, reusing its slices.
type Telegram struct {
	Header
	Security Security
	Records  []mbus.Record
	// MeterTime is the meter's own date and time (its first instantaneous
	// date-time record of storage 0), zero when it sent none. Its location
	// is UTC but it is the meter's wall clock: M-Bus carries no zone.
	MeterTime time.Time
	// Profile names the manufacturer profile that decoded part of the
	// telegram ("" when the generic rules sufficed).
	Profile string
	// Payload is the decrypted application data (after the TPL header);
	// the byte slices of Records alias it until the next Decode into this
	// Telegram.
	Payload []byte
}

// Reset clears t for reuse, keeping its buffers.
func (t *Telegram) Reset() {
	recs, pay := t.Records[:0], t.Payload[:0]
	*t = Telegram{Records: recs, Payload: pay}
}
