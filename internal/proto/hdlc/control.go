package hdlc

import "fmt"

// Control is the control field of a frame (ISO/IEC 13239, as IEC 62056-46
// uses it, modulo-8 sequence numbers).
type Control byte

// Kind is the frame kind a control field names.
type Kind uint8

// Frame kinds. The values are this package's own, not wire values.
const (
	KindUnknown Kind = iota
	KindI            // information
	KindRR           // receive ready
	KindRNR          // receive not ready
	KindSNRM         // set normal response mode
	KindDISC         // disconnect
	KindUA           // unnumbered acknowledge
	KindDM           // disconnected mode
	KindFRMR         // frame reject
	KindUI           // unnumbered information
)

var kindNames = [...]string{"unknown", "I", "RR", "RNR", "SNRM", "DISC", "UA", "DM", "FRMR", "UI"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Wire values of the unnumbered and supervisory control fields, with the
// P/F bit clear.
const (
	ctlRR   = 0x01
	ctlRNR  = 0x05
	ctlSNRM = 0x83
	ctlDISC = 0x43
	ctlUA   = 0x63
	ctlDM   = 0x0F
	ctlFRMR = 0x87
	ctlUI   = 0x03
	pfBit   = 0x10
)

func pf(p bool) Control {
	if p {
		return pfBit
	}
	return 0
}

// IControl returns the control field of an I frame.
func IControl(ns, nr uint8, poll bool) Control {
	return Control(nr&7)<<5 | pf(poll) | Control(ns&7)<<1
}

// RRControl returns the control field of an RR frame.
func RRControl(nr uint8, poll bool) Control { return Control(nr&7)<<5 | pf(poll) | ctlRR }

// RNRControl returns the control field of an RNR frame.
func RNRControl(nr uint8, poll bool) Control { return Control(nr&7)<<5 | pf(poll) | ctlRNR }

// Unnumbered control fields; P/F is set as every DLMS exchange uses them.
const (
	SNRM Control = ctlSNRM | pfBit
	DISC Control = ctlDISC | pfBit
	UA   Control = ctlUA | pfBit
	DM   Control = ctlDM | pfBit
	FRMR Control = ctlFRMR | pfBit
	UI   Control = ctlUI | pfBit
)

// Kind returns the kind of frame the control field names.
func (c Control) Kind() Kind {
	if c&1 == 0 {
		return KindI
	}
	if c&3 == 1 {
		switch c & 0x0F {
		case ctlRR:
			return KindRR
		case ctlRNR:
			return KindRNR
		}
		return KindUnknown // REJ and SREJ are not used by IEC 62056-46
	}
	switch c &^ pfBit {
	case ctlSNRM:
		return KindSNRM
	case ctlDISC:
		return KindDISC
	case ctlUA:
		return KindUA
	case ctlDM:
		return KindDM
	case ctlFRMR:
		return KindFRMR
	case ctlUI:
		return KindUI
	}
	return KindUnknown
}

// PF reports the poll/final bit.
func (c Control) PF() bool { return c&pfBit != 0 }

// NS returns the send sequence number of an I frame.
func (c Control) NS() uint8 { return uint8(c>>1) & 7 }

// NR returns the receive sequence number of an I, RR or RNR frame.
func (c Control) NR() uint8 { return uint8(c >> 5) }

// String prints the control field, e.g. "I N(S)=1 N(R)=2 P" or "RR N(R)=3".
func (c Control) String() string {
	k := c.Kind()
	p := ""
	if c.PF() {
		p = " P/F"
	}
	switch k {
	case KindI:
		return fmt.Sprintf("I N(S)=%d N(R)=%d%s", c.NS(), c.NR(), p)
	case KindRR, KindRNR:
		return fmt.Sprintf("%v N(R)=%d%s", k, c.NR(), p)
	case KindUnknown:
		return fmt.Sprintf("control 0x%02X", byte(c))
	}
	return k.String() + p
}
