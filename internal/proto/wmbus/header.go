package wmbus

import (
	"encoding/binary"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// CI fields (EN 13757-7 table 2, EN 13757-4 for the ELL).
const (
	CIELLShort     = 0x8C // ELL: CC, ACC
	CIELLLong      = 0x8D // ELL: CC, ACC, SN, payload CRC
	CIELLAddrShort = 0x8E // ELL with address: CC, ACC, M, A
	CIELLAddrLong  = 0x8F // ELL with address: CC, ACC, M, A, SN, payload CRC
	CIAFL          = 0x90 // authentication and fragmentation layer
	CIShort        = 0x7A // M-Bus response, short TPL header
	CILong         = 0x72 // M-Bus response, long TPL header
	CINoHeader     = 0x78 // M-Bus response, no TPL header
	CICompact      = 0x79 // compact frame (format signature), no TPL header
)

// tplKind returns the TPL header kind of ci and whether the APDU after it
// is M-Bus records (EN 13757-3) this package decodes.
func tplKind(ci byte) (kind TPLKind, known, records bool) {
	switch ci {
	case CIShort, 0x5A, 0x61, 0x65, 0x6A, 0x6E, 0x74, 0x7D, 0x7F, 0x88, 0x8A:
		kind, known = TPLShort, true
	case CILong, 0x53, 0x5B, 0x60, 0x64, 0x6B, 0x6F, 0x73, 0x75, 0x7C, 0x7E, 0x80, 0x89, 0x8B:
		kind, known = TPLLong, true
	case CINoHeader, CICompact, 0x51, 0x70, 0x71:
		kind, known = TPLNone, true
	}
	switch ci {
	case CIShort, CILong, CINoHeader, 0x5A, 0x5B, 0x53, 0x51:
		records = true
	}
	return
}

// isCompact reports whether ci is followed by a compact frame (format
// signature, full-frame CRC, data): 0x79 without a TPL header, 0x73
// after a long one (EN 13757-7).
func isCompact(ci byte) bool { return ci == CICompact || ci == 0x73 }

// Header reads the header of frame without a key into h: link layer, CI
// chain, ELL, AFL and TPL. When the ELL is encrypted, the headers inside
// it are not readable: h.TPLCI stays 0 and h.ELL.Encrypted is set.
func (d *Decoder) Header(frame []byte, h *Header) error {
	*h = Header{}
	f, err := d.link(frame, h)
	if err != nil {
		return err
	}
	_, err = d.chain(f, h.APDU, h)
	return err
}

// link strips the link layer into d.scratch and reads the link-layer
// fields; h.APDU is set to the position of the first CI.
func (d *Decoder) link(frame []byte, h *Header) ([]byte, error) {
	f, format, err := strip(d.scratch, frame, d.opts.Format)
	if f != nil {
		d.scratch = f
	}
	h.Format = format
	if err != nil {
		return nil, err
	}
	h.Stripped = len(f)
	if format == FormatMBus {
		h.L = int(f[1])
		h.C = f[4]
		h.Primary = f[5]
		h.APDU = 6
		// the checksum and the stop byte are not part of the APDU
		h.Stripped = len(f) - 2
		return f[:len(f)-2], nil
	}
	h.L = int(frame[0])
	h.C = f[1]
	h.Link = Address{
		Manufacturer: mbus.ManufacturerFromBytes(f[2], f[3]),
		ID:           binary.LittleEndian.Uint32(f[4:8]),
		Version:      f[8],
		Device:       mbus.DeviceType(f[9]),
	}
	h.Meter = h.Link
	h.APDU = 10
	return f, nil
}

// chain reads the CI chain of f from position p: ELL, AFL, TPL. It stops
// after the TPL header (h.APDU is then the APDU's position) or at an
// encrypted ELL (h.APDU is the position of the encrypted part).
func (d *Decoder) chain(f []byte, p int, h *Header) (int, error) {
	for {
		if p >= len(f) {
			return p, errAt(p, ErrTruncated, "CI field expected")
		}
		ci := f[p]
		if h.NCI < len(h.CIs) {
			h.CIs[h.NCI] = ci
			h.NCI++
		} else {
			return p, errAt(p, ErrUnknownCI, "more than %d CI fields", len(h.CIs))
		}
		switch ci {
		case CIELLShort, CIELLLong, CIELLAddrShort, CIELLAddrLong:
			if h.ELL.Present || h.AFL.Present {
				return p, errAt(p, ErrUnknownCI, "ELL CI 0x%02X after ELL or AFL", ci)
			}
			n := 2
			switch ci {
			case CIELLLong:
				n = 8
			case CIELLAddrShort:
				n = 10
			case CIELLAddrLong:
				n = 16
			}
			if len(f)-p-1 < n {
				return p, errAt(len(f), ErrTruncated, "ELL CI 0x%02X needs %d bytes", ci, n)
			}
			e := &h.ELL
			e.Present, e.CI, e.CC, e.ACC = true, ci, f[p+1], f[p+2]
			q := p + 3
			if ci == CIELLAddrShort || ci == CIELLAddrLong {
				e.HasAddress = true
				e.Address = Address{
					Manufacturer: mbus.ManufacturerFromBytes(f[q], f[q+1]),
					ID:           binary.LittleEndian.Uint32(f[q+2 : q+6]),
					Version:      f[q+6], Device: mbus.DeviceType(f[q+7]),
				}
				q += 8
			}
			h.AccessNumber = e.ACC
			if ci == CIELLLong || ci == CIELLAddrLong {
				e.SessionNumber = binary.LittleEndian.Uint32(f[q : q+4])
				q += 4
				switch enc := e.SessionNumber >> 29; enc {
				case 0:
				case 1:
					e.Encrypted = true
				default:
					return p, errAt(q-1, ErrUnsupported, "ELL encryption %d (only 0 none and 1 AES-CTR are defined)", enc)
				}
				// The payload CRC is part of the encrypted data.
				h.APDU = q
				if e.Encrypted {
					return q, nil
				}
				e.PayloadCRC = binary.LittleEndian.Uint16(f[q : q+2])
				if !crcOK2(f[q+2:], e.PayloadCRC) {
					return q, errAt(q, ErrCRC, "ELL payload CRC")
				}
				q += 2
			}
			p = q
		case CIAFL:
			if h.AFL.Present {
				return p, errAt(p, ErrUnknownCI, "second AFL")
			}
			q, err := parseAFL(f, p, &h.AFL)
			if err != nil {
				return p, err
			}
			p = q
		default:
			return d.tpl(f, p, h)
		}
	}
}

// crcOK2 reports whether crc (the ELL payload CRC, sent low byte first)
// is the CRC of p.
func crcOK2(p []byte, crc uint16) bool {
	c := CRC(p)
	return crc == c
}

// parseAFL reads the AFL at f[p] (its CI) into a and returns the position
// after it.
func parseAFL(f []byte, p int, a *AFL) (int, error) {
	if len(f)-p < 4 {
		return p, errAt(len(f), ErrTruncated, "AFL header")
	}
	afll := int(f[p+1])
	end := p + 2 + afll
	if end > len(f) {
		return p, errAt(p+1, ErrTruncated, "AFL length %d beyond the frame", afll)
	}
	if afll < 2 {
		return p, errAt(p+1, ErrLength, "AFL length %d below 2", afll)
	}
	a.Present = true
	a.FCL = binary.LittleEndian.Uint16(f[p+2:])
	q := p + 4
	need := func(n int, what string) error {
		if end-q < n {
			return errAt(q, ErrTruncated, "AFL %s beyond AFL length %d", what, afll)
		}
		return nil
	}
	if a.FCL&(1<<14) != 0 { // MF: more fragments follow
		return p, errAt(p+2, ErrUnsupported, "fragmented AFL message (FCL 0x%04X)", a.FCL)
	}
	if a.FCL&(1<<13) != 0 { // MCLP
		if err := need(1, "MCL"); err != nil {
			return p, err
		}
		a.MCL = f[q]
		q++
	}
	if a.FCL&(1<<9) != 0 { // KIP
		if err := need(2, "KI"); err != nil {
			return p, err
		}
		a.KeyInfo = binary.LittleEndian.Uint16(f[q:])
		q += 2
	}
	if a.FCL&(1<<11) != 0 { // MCRP
		if err := need(4, "MCR"); err != nil {
			return p, err
		}
		a.HasCounter = true
		a.MessageCounter = binary.LittleEndian.Uint32(f[q:])
		q += 4
	}
	if a.FCL&(1<<10) != 0 { // MACP
		n := 0
		switch a.MCL & 0x0F {
		case 3:
			n = 2
		case 4:
			n = 4
		case 5:
			n = 8
		case 6:
			n = 12
		case 7:
			n = 16
		default:
			return p, errAt(p+4, ErrUnsupported, "AFL authentication type %d", a.MCL&0x0F)
		}
		if err := need(n, "MAC"); err != nil {
			return p, err
		}
		a.MACLen = n
		copy(a.MAC[:], f[q:q+n])
		q += n
	}
	if a.FCL&(1<<12) != 0 { // MLP
		if err := need(2, "ML"); err != nil {
			return p, err
		}
		a.HasLength = true
		a.MessageLength = binary.LittleEndian.Uint16(f[q:])
		q += 2
	}
	return end, nil
}

// tpl reads the transport layer header at f[p] (its CI).
func (d *Decoder) tpl(f []byte, p int, h *Header) (int, error) {
	ci := f[p]
	kind, known, _ := tplKind(ci)
	if !known && !(ci >= 0xA0 && ci <= 0xB7) {
		return p, errAt(p, ErrUnknownCI, "CI 0x%02X", ci)
	}
	h.TPLCI = ci
	h.TPLAt = p
	h.TPL = kind
	q := p + 1
	if kind == TPLLong {
		if len(f)-q < 8 {
			return p, errAt(len(f), ErrTruncated, "long TPL header")
		}
		h.Meter = Address{
			ID:           binary.LittleEndian.Uint32(f[q:]),
			Manufacturer: mbus.ManufacturerFromBytes(f[q+4], f[q+5]),
			Version:      f[q+6],
			Device:       mbus.DeviceType(f[q+7]),
		}
		q += 8
	}
	if kind != TPLNone {
		if len(f)-q < 4 {
			return p, errAt(len(f), ErrTruncated, "TPL header: access number, status, configuration")
		}
		h.AccessNumber = f[q]
		h.Status = f[q+1]
		h.Config = binary.LittleEndian.Uint16(f[q+2:])
		q += 4
		h.Mode = SecurityMode(h.Config >> 8 & 0x1F)
		switch h.Mode {
		case ModeNone:
		case Mode5, Mode7, Mode2, Mode3:
			h.EncryptedBlocks = int(h.Config >> 4 & 0x0F)
			if h.Mode == Mode7 {
				if len(f)-q < 1 {
					return p, errAt(len(f), ErrTruncated, "mode 7 configuration field extension")
				}
				h.ConfigExt = f[q]
				q++
			}
		default:
			// the layout of other modes' configuration field differs;
			// what follows is not readable here
		}
	} else if h.ELL.Present {
		h.AccessNumber = h.ELL.ACC
	}
	h.APDU = q
	return q, nil
}
