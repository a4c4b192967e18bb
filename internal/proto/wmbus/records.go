package wmbus

import (
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/proto/mbus"
)

// records decodes t.Payload (the APDU, which starts at position p of the
// stripped frame) into t.Records.
func (d *Decoder) records(t *Telegram, p int) error {
	h := &t.Header
	prof := d.opts.Profiles.lookup(h)
	_, _, isRecords := tplKind(h.TPLCI)
	if prof != nil && prof.decode != nil && (prof.whole || !isRecords && !isCompact(h.TPLCI)) {
		// manufacturer CI or data: the profile's code decodes it all
		t.Profile = prof.name
		return prof.decode(d, prof, t, p)
	}
	var err error
	switch {
	case isRecords:
		t.Records, err = mbus.AppendRecords(t.Records, t.Payload, h.Meter.Device, prof.resolver())
		if err != nil && !d.tolerate(err, t, prof) {
			return shift(err, p)
		}
		if d.opts.LearnFormats && !isCompact(h.TPLCI) {
			d.learn(t)
		}
		if prof != nil && len(prof.series) > 0 {
			if err := prof.decodeSeries(t, p); err != nil {
				return err
			}
		}
		if prof != nil && (len(prof.fields) > 0 || len(prof.sums) > 0) {
			if err := prof.decodeFields(t, p); err != nil {
				return err
			}
		}
	case isCompact(h.TPLCI):
		if err := d.compact(t, prof, p); err != nil {
			return err
		}
	case prof != nil && (len(prof.fields) > 0 || prof.opaque):
		t.Profile = prof.name
		if prof.opaque {
			t.Records = append(t.Records, mbus.Record{
				Quantity: mbus.QuantityMfctData, Kind: mbus.KindBytes, Table: mbus.TableNone, Coding: mbus.Special,
				Data: t.Payload,
			})
		}
		return prof.decodeFields(t, p)
	default:
		return errAt(h.TPLAt, ErrUnknownCI, "CI 0x%02X: no decoder for its data (manufacturer %s)", h.TPLCI, h.Meter.Manufacturer)
	}
	if prof != nil {
		t.Profile = prof.name
		if prof.decode != nil {
			// records decoded: the profile's code reads their
			// manufacturer data
			return prof.decode(d, prof, t, p)
		}
	}
	return nil
}

// shift re-bases an mbus error's position (in the APDU) onto the frame.
func shift(err error, p int) error {
	var me *mbus.Error
	if errors.As(err, &me) {
		return &Error{Pos: p + me.Pos, Err: me.Err, Reason: fmt.Sprintf("%s (application data byte %d)", me.Reason, me.Pos)}
	}
	return err
}

// tolerate reports whether a record error may be ignored (keeping the
// records before it): when the meter's profile says its data ends with
// bytes that are no records ("tail ignore"), or when the error lies in
// the unencrypted part after the encrypted blocks of a telegram that was
// encrypted (that part is neither confidential nor authenticated; the
// meters seen put padding there).
func (d *Decoder) tolerate(err error, t *Telegram, prof *profile) bool {
	if errors.Is(err, mbus.ErrUnknownVIF) {
		return false
	}
	if prof != nil && prof.tail {
		return true
	}
	pos, ok := mbus.Offset(err)
	return ok && (t.Security.Decrypted || t.Security.Plaintext) && pos >= 16*t.EncryptedBlocks
}
