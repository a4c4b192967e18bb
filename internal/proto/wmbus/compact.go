package wmbus

import (
	"encoding/binary"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// maxLearned bounds the formats a decoder learns from full frames.
const maxLearned = 1024

// compact decodes a compact frame (CI 0x79, or 0x73 after a long TPL
// header): format signature (2 bytes), the full frame's CRC (2 bytes)
// and the data of the records only. The record headers come from a
// format whose signature (the EN 13757-4 CRC of the headers) matches:
// from the profiles, or learnt from an earlier full frame. The full frame
// rebuilt from them must match the CRC. In a decrypted frame the 2F2F
// check bytes before the signature and the 2F fill after the data are
// not part of it.
func (d *Decoder) compact(t *Telegram, prof *profile, p int) error {
	pay := t.Payload
	if t.Security.Decrypted && len(pay) >= 2 && pay[0] == 0x2F && pay[1] == 0x2F {
		pay = pay[2:]
		p += 2
		for len(pay) > 0 && pay[len(pay)-1] == 0x2F {
			pay = pay[:len(pay)-1]
		}
	}
	if len(pay) < 4 {
		return errAt(p+len(pay), ErrTruncated, "compact frame header (signature, full-frame CRC)")
	}
	sig := binary.LittleEndian.Uint16(pay)
	fullCRC := binary.LittleEndian.Uint16(pay[2:])
	var format []byte
	if d.opts.Profiles != nil {
		format = d.opts.Profiles.formats[sig]
	}
	if format == nil {
		format = d.learned[sig]
	}
	if format == nil {
		return errAt(p, ErrFormat, "compact frame format signature %04X unknown (no profile format, no full frame seen)", sig)
	}
	fields, err := formatFields(format, d.fields[:0])
	d.fields = fields
	if err != nil {
		return errAt(p, ErrFormat, "format %X: %v", format, err)
	}
	// Rebuild the full frame's records in d.full.
	data := pay[4:]
	full := d.full[:0]
	hstart, k := 0, 0
	for j := 0; j < len(fields); j += 2 {
		hend, n := fields[j], fields[j+1]
		if len(data)-k < n {
			return errAt(p+4+k, ErrTruncated, "compact frame data: format %04X needs more", sig)
		}
		full = append(full, format[hstart:hend]...)
		full = append(full, data[k:k+n]...)
		hstart, k = hend, k+n
	}
	d.full = full
	if k != len(data) {
		return errAt(p+4+k, ErrFormat, "compact frame has %d bytes after the data of format %04X", len(data)-k, sig)
	}
	if CRC(full) != fullCRC {
		return errAt(p+2, ErrCRC, "compact frame: full-frame CRC %04X, rebuilt frame has %04X", fullCRC, CRC(full))
	}
	t.Payload = append(t.Payload[:0], full...)
	t.Records, err = mbus.AppendRecords(t.Records, t.Payload, t.Meter.Device, prof.resolver())
	if err != nil {
		return errAt(p, ErrFormat, "compact frame rebuilt with format %04X: %v", sig, err)
	}
	return nil
}

// learn remembers the format of a full frame's records by signature.
func (d *Decoder) learn(t *Telegram) {
	f := d.fmtBuf[:0]
	for i := range t.Records {
		r := &t.Records[i]
		if r.Coding == mbus.Variable || r.Coding == mbus.Special || r.Table == mbus.TablePlainText {
			return
		}
		f = append(f, r.Header...)
	}
	d.fmtBuf = f
	if len(f) == 0 {
		return
	}
	sig := CRC(f)
	if _, ok := d.learned[sig]; ok {
		return
	}
	if d.learned == nil || len(d.learned) >= maxLearned {
		d.learned = map[uint16][]byte{}
	}
	d.learned[sig] = append([]byte(nil), f...)
}
