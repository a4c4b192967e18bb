package mbus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The wired M-Bus link layer (EN 13757-2, the FT1.2 format class of
// EN 60870-5-1/-2): four telegram formats, each checked by an 8-bit
// arithmetic checksum over C, A, CI and data.
//
//	single character  E5
//	short frame       10 C A CS 16
//	control frame     68 03 03 68 C A CI CS 16
//	long frame        68 L L 68 C A CI data… CS 16   (L = 3 + len(data) ≤ 255)

// Start and stop bytes of the telegram formats.
const (
	Ack        byte = 0xE5 // the single character: a positive acknowledgement
	StartShort byte = 0x10 // start of a short frame
	StartLong  byte = 0x68 // start of a control or long frame
	Stop       byte = 0x16 // the stop byte of both frames
)

// C-field values and bits (EN 13757-2, 5.5). Master to slave: bit 6 (PRM)
// set, bit 5 the frame count bit FCB, bit 4 FCV (FCB valid), bits 3–0 the
// function. Slave to master: PRM clear, bit 5 ACD (access demand: the
// slave has class 1 data), bit 4 DFC (data flow control: the slave cannot
// take more data).
const (
	CSndNKE byte = 0x40 // SND_NKE: link reset (initialisation of the slave)
	CSndUD  byte = 0x53 // SND_UD: send user data; 0x73 with FCB
	CReqUD2 byte = 0x5B // REQ_UD2: request class 2 data; 0x7B with FCB
	CReqUD1 byte = 0x5A // REQ_UD1: request class 1 data (alarms); 0x7A with FCB
	CRspUD  byte = 0x08 // RSP_UD: the slave's user data; with ACD 0x28, DFC 0x18, both 0x38

	CBitPRM byte = 0x40 // from the primary station (the master)
	CBitFCB byte = 0x20 // frame count bit (master to slave)
	CBitFCV byte = 0x10 // frame count bit valid (master to slave)
	CBitACD byte = 0x20 // access demand (slave to master)
	CBitDFC byte = 0x10 // data flow control (slave to master)
)

// Primary addresses (EN 13757-2, 5.6 and EN 13757-3).
const (
	AddrUnconfigured   byte = 0   // a slave's factory default
	AddrMaxPrimary     byte = 250 // primary addresses are 0…250
	AddrNetwork        byte = 253 // the slave selected by secondary address (network layer)
	AddrBroadcastReply byte = 254 // every slave answers (collisions with more than one)
	AddrBroadcast      byte = 255 // every slave, none answers
)

// CI-field values of wired M-Bus (EN 13757-3, table 2).
const (
	CIAppReset     byte = 0x50 // application reset (master to slave)
	CIDataSend     byte = 0x51 // data send (master to slave)
	CISelect       byte = 0x52 // selection of a slave by secondary address
	CISelectMSB    byte = 0x56 // selection, mode 2 (deselects in mode 1 slaves)
	CIRspError     byte = 0x70 // report of application errors
	CIRspAlarm     byte = 0x71 // report of alarms
	CIRspLong      byte = 0x72 // variable data response, 12-byte header, LSB first (mode 1)
	CIRspFixed     byte = 0x73 // fixed data response (mode 1)
	CIRspLongMSB   byte = 0x76 // variable data response, 12-byte header, MSB first (mode 2)
	CIRspFixedMSB  byte = 0x77 // fixed data response (mode 2)
	CIRspNoHeader  byte = 0x78 // variable data response without header
	CIRspShort     byte = 0x7A // variable data response, 4-byte header
	CIBaud300      byte = 0xB8 // set the slave's baud rate: 0xB8 300 … 0xBF 38400
	CIBaud38400    byte = 0xBF
	longHeaderLen       = 12
	shortHeaderLen      = 4
	selectionLen        = 8
	maxLongData         = 252
	enhancedSelLen      = selectionLen + 6
	wildcardByte   byte = 0xFF
)

// ErrCI is returned by ParseUserData for a CI field that carries no
// variable data structure this package reads (fixed data structure,
// manufacturer or reserved CIs), and by ParseSelection for a SND_UD that
// is not a selection. It is permanent for that telegram.
var ErrCI = errors.New("mbus: unsupported CI")

// TelegramKind is the format of a link-layer telegram.
type TelegramKind uint8

// Telegram formats.
const (
	KindAck     TelegramKind = 1 // E5
	KindShort   TelegramKind = 2 // 10 C A CS 16
	KindControl TelegramKind = 3 // 68 03 03 68 C A CI CS 16
	KindLong    TelegramKind = 4 // 68 L L 68 C A CI data CS 16
)

// String names the format.
func (k TelegramKind) String() string {
	switch k {
	case KindAck:
		return "single character"
	case KindShort:
		return "short frame"
	case KindControl:
		return "control frame"
	case KindLong:
		return "long frame"
	}
	return fmt.Sprintf("telegram kind %d", uint8(k))
}

// Telegram is one link-layer telegram. C, A (and CI and Data for the
// control and long frames) are zero for the single character.
type Telegram struct {
	Kind TelegramKind
	C    byte
	A    byte
	CI   byte
	Data []byte // after CI, up to the checksum; aliases the input
}

// FromMaster reports whether C is a master's (PRM set).
func (t Telegram) FromMaster() bool { return t.C&CBitPRM != 0 }

// Function returns the C field's function code (bits 3–0).
func (t Telegram) Function() byte { return t.C & 0x0F }

// FCB reports the frame count bit of a master's telegram, and whether it
// is valid (FCV).
func (t Telegram) FCB() (fcb, valid bool) { return t.C&CBitFCB != 0, t.C&CBitFCV != 0 }

// CName names a C field: "SND_NKE", "REQ_UD2 FCB=1", "RSP_UD ACD", ….
func CName(c byte) string {
	if c&CBitPRM == 0 {
		s := fmt.Sprintf("C 0x%02X", c)
		if c&0x0F == CRspUD {
			s = "RSP_UD"
		}
		if c&CBitACD != 0 {
			s += " ACD"
		}
		if c&CBitDFC != 0 {
			s += " DFC"
		}
		return s
	}
	var s string
	switch c & 0x4F {
	case CSndNKE:
		return "SND_NKE"
	case CSndUD & 0x4F:
		s = "SND_UD"
	case CReqUD2 & 0x4F:
		s = "REQ_UD2"
	case CReqUD1 & 0x4F:
		s = "REQ_UD1"
	default:
		return fmt.Sprintf("C 0x%02X", c)
	}
	if c&CBitFCV != 0 {
		if c&CBitFCB != 0 {
			return s + " FCB=1"
		}
		return s + " FCB=0"
	}
	return s
}

func checksum(p []byte) byte {
	var s byte
	for _, b := range p {
		s += b
	}
	return s
}

// Next finds the telegram at the start of p, a byte stream from the
// line: it returns its length, or 0 and no error when p holds only the
// beginning of one (more bytes are needed). An error (wrapping ErrFrame,
// with the byte position in p) means the bytes are no telegram: a bad
// start or stop byte, L fields that differ, a checksum that fails. The
// caller drops them (a master then waits for the line to go quiet before
// it repeats its request).
func Next(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	switch p[0] {
	case Ack:
		return 1, nil
	case StartShort:
		if len(p) < 5 {
			return 0, nil
		}
		if cs := p[1] + p[2]; p[3] != cs {
			return 0, errAt(3, ErrFrame, "short frame checksum %02X, computed %02X", p[3], cs)
		}
		if p[4] != Stop {
			return 0, errAt(4, ErrFrame, "short frame stop byte %02X, want 16", p[4])
		}
		return 5, nil
	case StartLong:
		if len(p) >= 2 && p[1] < 3 {
			return 0, errAt(1, ErrFrame, "L %d is below 3 (C, A, CI)", p[1])
		}
		if len(p) >= 3 && p[1] != p[2] {
			return 0, errAt(2, ErrFrame, "L fields differ: %d and %d", p[1], p[2])
		}
		if len(p) >= 4 && p[3] != StartLong {
			return 0, errAt(3, ErrFrame, "second start byte %02X, want 68", p[3])
		}
		if len(p) < 4 {
			return 0, nil
		}
		l := int(p[1])
		if len(p) < l+6 {
			return 0, nil
		}
		if cs := checksum(p[4 : 4+l]); p[4+l] != cs {
			return 0, errAt(4+l, ErrFrame, "checksum %02X, computed %02X", p[4+l], cs)
		}
		if p[5+l] != Stop {
			return 0, errAt(5+l, ErrFrame, "stop byte %02X, want 16", p[5+l])
		}
		return l + 6, nil
	}
	return 0, errAt(0, ErrFrame, "byte %02X starts no telegram (E5, 10 or 68)", p[0])
}

// ParseTelegram checks and splits one telegram that fills p exactly.
// Errors wrap ErrFrame or ErrTruncated and name the byte position.
func ParseTelegram(p []byte) (Telegram, error) {
	n, err := Next(p)
	if err != nil {
		return Telegram{}, err
	}
	if n == 0 {
		return Telegram{}, errAt(len(p), ErrTruncated, "%d bytes end inside a telegram", len(p))
	}
	if n < len(p) {
		return Telegram{}, errAt(n, ErrFrame, "%d bytes after the telegram's end", len(p)-n)
	}
	switch p[0] {
	case Ack:
		return Telegram{Kind: KindAck}, nil
	case StartShort:
		return Telegram{Kind: KindShort, C: p[1], A: p[2]}, nil
	}
	t := Telegram{Kind: KindLong, C: p[4], A: p[5], CI: p[6], Data: p[7 : n-2]}
	if p[1] == 3 {
		t.Kind = KindControl
	}
	return t, nil
}

// AppendTelegram appends t in its format: KindAck E5; KindShort C and A;
// KindControl and KindLong C, A, CI and Data (a control frame is a long
// frame without data). Data beyond 252 bytes is cut (L is one byte).
func AppendTelegram(dst []byte, t Telegram) []byte {
	switch t.Kind {
	case KindAck:
		return append(dst, Ack)
	case KindShort:
		return append(dst, StartShort, t.C, t.A, t.C+t.A, Stop)
	}
	data := t.Data
	if t.Kind == KindControl {
		data = nil
	}
	if len(data) > maxLongData {
		data = data[:maxLongData]
	}
	return AppendFrame(dst, Frame{C: t.C, A: t.A, CI: t.CI, Data: data})
}

// fcbBits returns the FCV and FCB bits of a request with frame count bit fcb.
func fcbBits(fcb bool) byte {
	if fcb {
		return CBitFCV | CBitFCB
	}
	return CBitFCV
}

// AppendSndNKE appends SND_NKE to address a: 10 40 A CS 16.
func AppendSndNKE(dst []byte, a byte) []byte {
	return AppendTelegram(dst, Telegram{Kind: KindShort, C: CSndNKE, A: a})
}

// AppendReqUD2 appends REQ_UD2 to address a with frame count bit fcb:
// 10 5B A CS 16 (FCB 0) or 10 7B A CS 16 (FCB 1).
func AppendReqUD2(dst []byte, a byte, fcb bool) []byte {
	return AppendTelegram(dst, Telegram{Kind: KindShort, C: CReqUD2&^CBitFCV | fcbBits(fcb), A: a})
}

// AppendReqUD1 appends REQ_UD1 (class 1 data, alarms) to address a.
func AppendReqUD1(dst []byte, a byte, fcb bool) []byte {
	return AppendTelegram(dst, Telegram{Kind: KindShort, C: CReqUD1&^CBitFCV | fcbBits(fcb), A: a})
}

// AppendSndUD appends SND_UD with CI and data to address a (a control
// frame when data is empty).
func AppendSndUD(dst []byte, a, ci byte, data []byte, fcb bool) []byte {
	k := KindLong
	if len(data) == 0 {
		k = KindControl
	}
	return AppendTelegram(dst, Telegram{Kind: k, C: CSndUD&^CBitFCV | fcbBits(fcb), A: a, CI: ci, Data: data})
}

// AppendSelect appends the selection of the slaves whose secondary
// address matches sa (wildcards allowed): SND_UD to address 253 with CI
// 0x52 and the 8 bytes of sa. A matching slave answers E5 and is
// selected (it then answers at address 253); one that does not match is
// deselected.
func AppendSelect(dst []byte, sa SecondaryAddress, fcb bool) []byte {
	var b [selectionLen]byte
	return AppendSndUD(dst, AddrNetwork, CISelect, sa.append(b[:0]), fcb)
}

// SecondaryAddress is a slave's secondary address (EN 13757-3): the
// identification number, the manufacturer, the version (generation) and
// the device type (medium). In a selection, each digit of ID may be the
// wildcard nibble F and each of the other fields the wildcard byte FF
// (Manufacturer 0xFFFF).
type SecondaryAddress struct {
	// ID holds the 8 BCD digits as hex digits: 0x12345678 is
	// identification number 12345678, 0x1234FFFF matches 1234xxxx.
	ID           uint32
	Manufacturer Manufacturer
	Version      byte
	Medium       DeviceType
}

// Wildcard is the selection that matches every slave.
var Wildcard = SecondaryAddress{ID: 0xFFFFFFFF, Manufacturer: 0xFFFF, Version: wildcardByte, Medium: DeviceType(wildcardByte)}

// Matches reports whether a slave with address own is selected by sel
// (sel's wildcards match anything).
func (sel SecondaryAddress) Matches(own SecondaryAddress) bool {
	for i := 0; i < 8; i++ {
		sh := uint(4 * i)
		if d := sel.ID >> sh & 0xF; d != 0xF && d != own.ID>>sh&0xF {
			return false
		}
	}
	if sel.Manufacturer != 0xFFFF && sel.Manufacturer != own.Manufacturer {
		return false
	}
	if sel.Version != wildcardByte && sel.Version != own.Version {
		return false
	}
	return sel.Medium == DeviceType(wildcardByte) || sel.Medium == own.Medium
}

// HasWildcard reports whether sa holds a wildcard.
func (sa SecondaryAddress) HasWildcard() bool {
	for i := 0; i < 8; i++ {
		if sa.ID>>(4*i)&0xF == 0xF {
			return true
		}
	}
	return sa.Manufacturer == 0xFFFF || sa.Version == wildcardByte || sa.Medium == DeviceType(wildcardByte)
}

// IDString returns the identification number's 8 digits ("F" for a
// wildcard digit).
func (sa SecondaryAddress) IDString() string { return fmt.Sprintf("%08X", sa.ID) }

// String returns the 16 hex digits of the address as commonly written:
// the identification number (8 digits), the manufacturer code (4 hex
// digits, as a 16-bit number), the version and the medium (2 each), e.g.
// "1234567824400107".
func (sa SecondaryAddress) String() string {
	return fmt.Sprintf("%08X%04X%02X%02X", sa.ID, uint16(sa.Manufacturer), sa.Version, uint8(sa.Medium))
}

func (sa SecondaryAddress) append(dst []byte) []byte {
	return append(dst, byte(sa.ID), byte(sa.ID>>8), byte(sa.ID>>16), byte(sa.ID>>24),
		byte(sa.Manufacturer), byte(sa.Manufacturer>>8), sa.Version, byte(sa.Medium))
}

// ParseSecondaryAddress reads the 16 hex digits String writes, or only
// the 8 digits of the identification number (the other fields are then
// wildcards). Digits may be F (or f) for a wildcard; the manufacturer may
// also be given as three letters: "12345678", "1234FFFF",
// "12345678-ABB", "1234567824400107".
func ParseSecondaryAddress(s string) (SecondaryAddress, error) {
	bad := func(why string) (SecondaryAddress, error) {
		return SecondaryAddress{}, fmt.Errorf("mbus: secondary address %q: %s", s, why)
	}
	sa := Wildcard
	id, rest, dash := strings.Cut(s, "-")
	if !dash && len(s) == 16 {
		id, rest = s[:8], s[8:]
	}
	if len(id) != 8 {
		return bad("want 8 digits of the identification number (F for a wildcard), optionally followed by 8 hex digits or -MAN")
	}
	for i := 0; i < 8; i++ {
		c := id[i]
		switch {
		case '0' <= c && c <= '9':
		case c == 'F' || c == 'f':
		default:
			return bad(fmt.Sprintf("identification digit %q is neither 0–9 nor the wildcard F", c))
		}
	}
	v, _ := strconv.ParseUint(id, 16, 32)
	sa.ID = uint32(v)
	switch {
	case rest == "":
	case dash:
		m, err := ParseManufacturer(rest)
		if err != nil {
			return bad("after the dash, want a three-letter manufacturer code")
		}
		sa.Manufacturer = m
	default:
		v, err := strconv.ParseUint(rest, 16, 32)
		if err != nil || len(rest) != 8 {
			return bad("want 8 hex digits after the identification number: manufacturer, version, medium")
		}
		sa.Manufacturer = Manufacturer(v >> 16)
		sa.Version = byte(v >> 8)
		sa.Medium = DeviceType(v)
	}
	return sa, nil
}

// ParseSelection reads the data of a selection (SND_UD to 253 with CI
// 0x52): the 8 bytes of the secondary address, optionally followed by
// the enhanced selection's fabrication number record (0C 78 and 4 BCD
// bytes), whose number it returns (ok false without).
func ParseSelection(data []byte) (sa SecondaryAddress, fab uint32, ok bool, err error) {
	switch len(data) {
	case selectionLen:
	case enhancedSelLen:
		if data[8] != 0x0C || data[9] != 0x78 {
			return sa, 0, false, errAt(8, ErrData, "enhanced selection record %02X %02X, want 0C 78 (fabrication number)", data[8], data[9])
		}
		fab = uint32(data[10]) | uint32(data[11])<<8 | uint32(data[12])<<16 | uint32(data[13])<<24
		ok = true
	default:
		if len(data) < selectionLen {
			return sa, 0, false, errAt(len(data), ErrTruncated, "selection of %d bytes, want 8", len(data))
		}
		return sa, 0, false, errAt(selectionLen, ErrData, "selection of %d bytes, want 8 (or 14 with a fabrication number)", len(data))
	}
	sa.ID = uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
	sa.Manufacturer = ManufacturerFromBytes(data[4], data[5])
	sa.Version = data[6]
	sa.Medium = DeviceType(data[7])
	return sa, fab, ok, nil
}

// Header is the header of a variable data response (EN 13757-3, 6.2
// and 6.3): the long header of CI 0x72/0x76 carries the slave's secondary
// address; the short header of CI 0x7A only access number, status and
// signature; CI 0x78 has none.
type Header struct {
	CI      byte
	Long    bool             // ID, Manufacturer, Version and Medium are set
	Address SecondaryAddress // long header: the slave's secondary address
	Access  byte             // access number, counted up by the slave per response
	Status  byte             // status byte (StatusXxx bits)
	// Signature is the 2-byte signature (configuration word in later
	// editions); 0 when not encrypted.
	Signature uint16
}

// Status byte bits (EN 13757-3, table 8). Bits 1–0 are the application
// status: 0 no error, 1 busy, 2 any application error, 3 abnormal
// condition or alarm.
const (
	StatusApplication byte = 0x03
	StatusPowerLow    byte = 0x04
	StatusPermanent   byte = 0x08
	StatusTemporary   byte = 0x10
)

// MSB reports whether the response is mode 2 (multi-byte fields high
// byte first: CI 0x76).
func (h Header) MSB() bool { return h.CI == CIRspLongMSB }

// HeaderLen returns the length of the header of a response with CI ci,
// and false for a CI without a variable data structure.
func HeaderLen(ci byte) (int, bool) {
	switch ci {
	case CIRspLong, CIRspLongMSB:
		return longHeaderLen, true
	case CIRspShort:
		return shortHeaderLen, true
	case CIRspNoHeader:
		return 0, true
	}
	return 0, false
}

// AppendHeader appends h's fields as its CI lays them out (nothing for
// CI 0x78).
func AppendHeader(dst []byte, h Header) []byte {
	var b [longHeaderLen]byte
	p := b[:0]
	n, ok := HeaderLen(h.CI)
	if !ok || n == 0 {
		return dst
	}
	if n == longHeaderLen {
		p = h.Address.append(p)
		if h.MSB() {
			p[0], p[1], p[2], p[3] = p[3], p[2], p[1], p[0]
			p[4], p[5] = p[5], p[4]
		}
	}
	p = append(p, h.Access, h.Status, byte(h.Signature), byte(h.Signature>>8))
	if h.MSB() {
		p[len(p)-2], p[len(p)-1] = p[len(p)-1], p[len(p)-2]
	}
	return append(dst, p...)
}

// ParseHeader reads the header of a response with CI ci from data (the
// bytes after CI) and returns it with its length.
func ParseHeader(ci byte, data []byte) (Header, int, error) {
	h := Header{CI: ci}
	n, ok := HeaderLen(ci)
	if !ok {
		return h, 0, errAt(0, ErrCI, "CI 0x%02X (%s) carries no variable data structure", ci, ciName(ci))
	}
	if len(data) < n {
		return h, 0, errAt(len(data), ErrTruncated, "CI 0x%02X needs a %d-byte header, have %d bytes", ci, n, len(data))
	}
	p := data[:n]
	if n == longHeaderLen {
		msb := ci == CIRspLongMSB
		id, man := [4]byte(p[0:4]), [2]byte(p[4:6])
		if msb {
			id[0], id[1], id[2], id[3] = id[3], id[2], id[1], id[0]
			man[0], man[1] = man[1], man[0]
		}
		h.Long = true
		h.Address = SecondaryAddress{
			ID:           uint32(id[0]) | uint32(id[1])<<8 | uint32(id[2])<<16 | uint32(id[3])<<24,
			Manufacturer: ManufacturerFromBytes(man[0], man[1]),
			Version:      p[6], Medium: DeviceType(p[7]),
		}
		p = p[8:]
	}
	if n > 0 {
		h.Access, h.Status = p[0], p[1]
		if ci == CIRspLongMSB {
			h.Signature = uint16(p[2])<<8 | uint16(p[3])
		} else {
			h.Signature = uint16(p[2]) | uint16(p[3])<<8
		}
	}
	return h, n, nil
}

func ciName(ci byte) string {
	switch {
	case ci == CIRspError:
		return "application error"
	case ci == CIRspAlarm:
		return "alarm"
	case ci == CIRspFixed || ci == CIRspFixedMSB:
		return "fixed data structure"
	case ci == CIAppReset || ci == CIDataSend || ci == CISelect || ci == CISelectMSB:
		return "a master's CI"
	case ci >= CIBaud300 && ci <= CIBaud38400:
		return "baud rate switch"
	}
	return "not a variable data response"
}

// Response is a slave's RSP_UD with a variable data structure.
type Response struct {
	C       byte // RSP_UD with the ACD and DFC bits
	A       byte // the slave's primary address (253 when selected by secondary address)
	Header  Header
	Records []Record
	// More is set when the records end with DIF 0x1F: the slave has more
	// records, read with the next REQ_UD2 (FCB toggled).
	More bool
}

// ParseResponse checks a long frame and decodes its RSP_UD: the header
// and the records, appended to recs (reused; they alias p, or a copy of
// p's data for a mode 2 response). dev overrides the medium for the OBIS
// mapping when not 0xFF; with 0xFF the long header's medium is used (the
// abstract medium without one). res is AppendRecords'. Errors wrap the
// package's sentinels and name the byte position in p; on an error in
// the records the header and the records before it are returned.
func ParseResponse(p []byte, recs []Record, dev DeviceType, res Resolver) (Response, error) {
	t, err := ParseTelegram(p)
	if err != nil {
		return Response{}, err
	}
	if t.Kind != KindLong && t.Kind != KindControl {
		return Response{}, errAt(0, ErrFrame, "a %s, want the long frame of a RSP_UD", t.Kind)
	}
	r := Response{C: t.C, A: t.A}
	if t.C&CBitPRM != 0 || t.C&0x0F != CRspUD {
		return r, errAt(4, ErrFrame, "C field %02X (%s), want RSP_UD (08, 18, 28, 38)", t.C, CName(t.C))
	}
	r.Header, r.Records, r.More, err = ParseUserData(t.CI, t.Data, recs, dev, res)
	if err != nil {
		err = shiftErr(err, 7)
	}
	return r, err
}

// ParseUserData decodes the user data of a response with CI ci (data is
// the bytes after CI): its header and records, as ParseResponse. Error
// positions are in data.
func ParseUserData(ci byte, data []byte, recs []Record, dev DeviceType, res Resolver) (Header, []Record, bool, error) {
	h, n, err := ParseHeader(ci, data)
	if err != nil {
		return h, recs, false, err
	}
	if dev == DeviceType(wildcardByte) {
		dev = DevOther
		if h.Long {
			dev = h.Address.Medium
		}
	}
	body := data[n:]
	base := len(recs)
	if h.MSB() {
		// Mode 2: every multi-byte data field is high byte first. Find
		// the fields (their lengths do not depend on the byte order),
		// then decode a copy with each field reversed.
		first, err := AppendRecords(recs, body, dev, res)
		if err != nil {
			return h, first, false, shiftErr(err, n)
		}
		cp := append([]byte(nil), body...)
		for _, rec := range first[base:] {
			if rec.Kind == KindBytes && rec.Quantity == QuantityMfctData {
				continue
			}
			off := rec.Offset + len(rec.Header)
			if rec.Coding == Variable {
				off++
			}
			d := cp[off : off+len(rec.Data)]
			for i, j := 0, len(d)-1; i < j; i, j = i+1, j-1 {
				d[i], d[j] = d[j], d[i]
			}
		}
		body = cp
		recs = first[:base]
	}
	out, err := AppendRecords(recs, body, dev, res)
	more := false
	if k := len(out); k > base && out[k-1].Quantity == QuantityMfctData && len(out[k-1].Header) == 1 && out[k-1].Header[0] == DIFMfctDataMore {
		more = true
	}
	if err != nil {
		return h, out, more, shiftErr(err, n)
	}
	return h, out, more, nil
}

// shiftErr moves the position of an error of this package by off.
func shiftErr(err error, off int) error {
	var pe *Error
	if errors.As(err, &pe) {
		c := *pe
		c.Pos += off
		return &c
	}
	return err
}

// AppendResponse appends a RSP_UD long frame (C RSP_UD with acd, dfc
// bits as given in c) from slave address a with header h and the
// encoded records. records longer than the frame allows are cut.
func AppendResponse(dst []byte, c, a byte, h Header, records []byte) []byte {
	var buf [maxLongData]byte
	data := AppendHeader(buf[:0], h)
	room := maxLongData - len(data)
	if len(records) > room {
		records = records[:room]
	}
	data = append(data, records...)
	return AppendFrame(dst, Frame{C: c, A: a, CI: h.CI, Data: data})
}

// MaxRecordBytes is the room for records in one RSP_UD with CI ci.
func MaxRecordBytes(ci byte) int {
	n, _ := HeaderLen(ci)
	return maxLongData - n
}
