package wmbus

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"time"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// Decode decodes frame with the meter's key (16 bytes, or nil for none)
// into t, reusing t's slices. On an error t holds the header as far as it
// was read and no records.
func (d *Decoder) Decode(frame, key []byte, t *Telegram) error {
	t.Reset()
	d.key = key
	err := d.decode(frame, key, t)
	d.key = nil
	if err != nil {
		t.Records = t.Records[:0]
		t.MeterTime = time.Time{}
	}
	return err
}

func (d *Decoder) decode(frame, key []byte, t *Telegram) error {
	h := &t.Header
	f, err := d.link(frame, h)
	if err != nil {
		return err
	}
	if key != nil && len(key) != 16 {
		return errAt(0, ErrKey, "got %d bytes", len(key))
	}
	p, err := d.chain(f, h.APDU, h)
	if err != nil {
		return err
	}
	sec := &t.Security
	if h.ELL.Encrypted {
		sec.ELL = true
		if key == nil {
			// A receiver may have decrypted it already: then the
			// payload CRC checks over the plaintext.
			if len(f)-p >= 2 && crcOK2(f[p+2:], binary.LittleEndian.Uint16(f[p:])) {
				sec.Plaintext = true
			} else {
				return errAt(p, ErrNoKey, "ELL AES-CTR encrypted payload")
			}
		} else {
			b, err := d.block(key)
			if err != nil {
				return err
			}
			ctrXOR(b, ellIV(h), f[p:], &d.cs)
			if len(f)-p < 2 || !crcOK2(f[p+2:], binary.LittleEndian.Uint16(f[p:])) {
				return errAt(p, ErrDecrypt, "ELL payload CRC does not match after AES-CTR decryption")
			}
			sec.Decrypted = true
		}
		h.ELL.PayloadCRC = binary.LittleEndian.Uint16(f[p:])
		h.APDU = p + 2
		if p, err = d.chain(f, p+2, h); err != nil {
			return err
		}
	}
	sec.Mode = h.Mode
	sec.AccessNumber = h.AccessNumber
	sec.MessageCounter = h.AFL.MessageCounter
	// TPL security
	apdu := f[p:]
	switch h.Mode {
	case ModeNone:
	case Mode5, Mode7:
		n := 16 * h.EncryptedBlocks
		if n > len(apdu) {
			return errAt(p+len(apdu), ErrTruncated, "%d encrypted blocks announced, %d bytes left", h.EncryptedBlocks, len(apdu))
		}
		if n == 0 {
			break
		}
		if key == nil {
			if apdu[0] == 0x2F && apdu[1] == 0x2F {
				sec.Plaintext = true
				break
			}
			return errAt(p, ErrNoKey, "mode %d encrypted payload", h.Mode)
		}
		master, err := d.block(key)
		if err != nil {
			return err
		}
		if h.Mode == Mode5 {
			cbcDecrypt(master, mode5IV(h), apdu[:n], &d.cs)
		} else {
			if !h.AFL.HasCounter {
				return errAt(p, ErrUnsupported, "mode 7 without an AFL message counter")
			}
			kenc, err := newBlock(deriveKey(master, kdfEncMeter, h.AFL.MessageCounter, h.Meter.ID, &d.cs, &d.kdfIn))
			if err != nil {
				return err
			}
			if h.AFL.MACLen > 0 {
				if err := d.verifyMAC(master, f, h); err != nil {
					return err
				}
				sec.Authenticated = true
			}
			cbcDecrypt(kenc, [16]byte{}, apdu[:n], &d.cs)
		}
		if apdu[0] != 0x2F || apdu[1] != 0x2F {
			return errAt(p, ErrDecrypt, "mode %d payload begins %02X%02X, not 2F2F", h.Mode, apdu[0], apdu[1])
		}
		sec.Decrypted = true
	default:
		return errAt(h.APDU-1, ErrUnsupported, "security mode %d", h.Mode)
	}

	t.Payload = append(t.Payload[:0], apdu...)
	if err := d.records(t, p); err != nil {
		return err
	}
	for i := range t.Records {
		r := &t.Records[i]
		if r.Quantity == mbus.QuantityDateTime && r.Kind == mbus.KindDateTime && r.Storage == 0 && r.Function == mbus.Instantaneous && r.Tariff == 0 && r.Subunit == 0 {
			t.MeterTime = r.Time
			break
		}
	}
	return nil
}

// verifyMAC checks the AFL MAC: AES-CMAC under Kmac of MCL || MCR ||
// [ML] || the frame from the TPL CI on, truncated to the MAC's length.
func (d *Decoder) verifyMAC(master cipher.Block, f []byte, h *Header) error {
	kmac, err := newBlock(deriveKey(master, kdfMACMeter, h.AFL.MessageCounter, h.Meter.ID, &d.cs, &d.kdfIn))
	if err != nil {
		return err
	}
	tplPos := h.TPLAt
	var hdr [7]byte
	hdr[0] = h.AFL.MCL
	binary.LittleEndian.PutUint32(hdr[1:], h.AFL.MessageCounter)
	n := 5
	if h.AFL.HasLength {
		binary.LittleEndian.PutUint16(hdr[5:], h.AFL.MessageLength)
		n = 7
	}
	msg := append(d.macBuf[:0], hdr[:n]...)
	msg = append(msg, f[tplPos:]...)
	d.macBuf = msg
	mac := cmac(kmac, msg, &d.cs)
	if subtle.ConstantTimeCompare(mac[:h.AFL.MACLen], h.AFL.MAC[:h.AFL.MACLen]) == 1 {
		return nil
	}
	return errAt(tplPos, ErrMAC, "AFL MAC %X, computed %X", h.AFL.MAC[:h.AFL.MACLen], mac[:h.AFL.MACLen])
}
