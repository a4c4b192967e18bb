package wmbus

import (
	"encoding/binary"
	"sort"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

// codeDecoders are the manufacturer decoders written in code, for data a
// profile file cannot describe; a profile names one with "decoder NAME".
// A decoder is called after the generic records are decoded (it reads
// their manufacturer data, DIF 0F), or, for a manufacturer CI (A0–B7),
// instead of them with the APDU in t.Payload (pos is its position in the
// frame).
var codeDecoders = map[string]codeDecoder{
	"apator162":  {decodeApator162, true},
	"izar":       {decodeIZAR, true},
	"apatorna1":  {decodeApatorNA1, true},
	"hydrodigit": {decodeHydrodigit, false},
	"bfw240":     {decodeBFW240, true},
	"qundis55":   {decodeQundis55, false},
}

// codeDecoder is a manufacturer decoder; whole says it decodes the APDU
// itself instead of the generic records.
type codeDecoder struct {
	fn    func(d *Decoder, p *profile, t *Telegram, pos int) error
	whole bool
}

func codeDecoderNames() []string {
	var n []string
	for k := range codeDecoders {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// apator162Len gives the length of the value after each tag of the Apator
// AT-WMBUS-16-2 manufacturer data seen so far; 0 for unknown tags.
func apator162Len(tag byte) int {
	switch {
	case tag == 0x10, tag == 0xA0, tag == 0xF0:
		return 4
	case tag == 0x40:
		return 6
	case tag == 0x41:
		return 7
	case tag == 0x43:
		return 2
	case tag == 0x44:
		return 3
	case tag&0xF0 == 0x70:
		return 4*(int(tag&0x0F)+1) + 1
	case tag&0xF0 == 0x80:
		return 10
	case tag&0xF0 == 0x90:
		return 3
	}
	return 0
}

// decodeApator162 reads the Apator 16-2 water meters' APDU: 2F2F, a
// byte (0F, the manufacturer-data DIF, in most), a 3-byte header, then
// tagged values; tag 10 is the total volume in litres (4 bytes). A tag
// whose length is not known ends the walk; if that is before the volume,
// the telegram is rejected.
func decodeApator162(d *Decoder, p *profile, t *Telegram, pos int) error {
	data := t.Payload
	if len(data) < 6 || data[0] != 0x2F || data[1] != 0x2F {
		return errAt(pos, ErrFormat, "apator162: APDU does not begin 2F2F")
	}
	t.Records = append(t.Records, mbus.Record{
		Quantity: mbus.QuantityMfctData, Kind: mbus.KindBytes, Table: mbus.TableNone, Coding: mbus.Special,
		Offset: 2, Header: data[2:3], Data: data[3:],
	})
	found := false
	for i := 6; i < len(data); {
		tag := data[i]
		if tag == 0xFF {
			break // padding
		}
		n := apator162Len(tag)
		if n == 0 {
			if found {
				break
			}
			return errAt(pos+i, ErrFormat, "apator162: manufacturer data tag %02X of unknown length before the volume", tag)
		}
		if len(data)-i-1 < n {
			if found {
				break // the meters seen end with two bytes of CRC-like trailer
			}
			return errAt(pos+i, ErrTruncated, "apator162: tag %02X needs %d bytes", tag, n)
		}
		if tag == 0x10 {
			t.Records = append(t.Records, mbus.Record{
				OBIS: meter.OBIS{8, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber,
				Value: meter.V(int64(binary.LittleEndian.Uint32(data[i+1:])), -3), Unit: meter.UnitCubicMetre,
				Table: mbus.TableMfct, Coding: mbus.Int32, Offset: i,
				Header: data[i : i+1], Data: data[i+1 : i+5],
			})
			found = true
		}
		i += 1 + n
	}
	if !found {
		t.Records = t.Records[:0]
		return errAt(pos, ErrFormat, "apator162: no volume (tag 10) in the manufacturer data")
	}
	return nil
}

// PRIOS keys of Diehl IZAR radio modules; the first whose decoded data
// begins with the 0x4B marker is the one.
var priosKeys = [...][2]uint32{{0x39BC8A10, 0xE66D83F8}, {0x51728910, 0xE66D83F8}}

// decodeIZAR reads a Diehl (Sappel, Hydrometer) IZAR radio telegram of a
// manufacturer CI A0–A3. Its payload after 4 plain header bytes is
// scrambled (PRIOS): each byte is XORed with a 32-bit LFSR (taps 1, 2, 11
// and 31) stepped 8 times, seeded with the key XOR the frame's bytes 2–5,
// 6–9 and 10–13 (manufacturer, address, CI and header) read big-endian.
// Decoded, it begins with 4B, then the volume and the last month's volume
// in litres. The header holds the remaining battery life in half years
// (low 5 bits of byte 1) and the transmission period (4 << low nibble of
// byte 0, seconds).
func decodeIZAR(d *Decoder, p *profile, t *Telegram, pos int) error {
	pay := t.Payload
	if len(pay) < 9 {
		return errAt(pos+len(pay), ErrTruncated, "izar: %d bytes of data, want at least 9", len(pay))
	}
	a := t.Link.Bytes()
	seed := binary.BigEndian.Uint32(a[0:4]) ^ binary.BigEndian.Uint32(a[4:8]) ^
		uint32(t.TPLCI)<<24 ^ uint32(pay[0])<<16 ^ uint32(pay[1])<<8 ^ uint32(pay[2])
	enc := pay[4:]
	first := enc[0]
	found := false
	for _, k := range priosKeys {
		if priosByte(k[0]^k[1]^seed, first) == 0x4B {
			priosXOR(k[0]^k[1]^seed, enc)
			found = true
			break
		}
	}
	if !found {
		return errAt(pos+4, ErrDecrypt, "izar: PRIOS-decoded data does not begin with 4B under any known key")
	}
	t.Security.Decrypted = true
	t.Records = append(t.Records, mbus.Record{
		OBIS: meter.OBIS{8, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber,
		Value: meter.V(int64(binary.LittleEndian.Uint32(enc[1:5])), -3), Unit: meter.UnitCubicMetre,
		Table: mbus.TableMfct, Coding: mbus.Int32, Offset: 5, Data: enc[1:5],
	})
	if len(enc) >= 9 {
		t.Records = append(t.Records, mbus.Record{
			OBIS: meter.OBIS{8, 0, 1, 0, 0, 1}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber, Storage: 1,
			Value: meter.V(int64(binary.LittleEndian.Uint32(enc[5:9])), -3), Unit: meter.UnitCubicMetre,
			Table: mbus.TableMfct, Coding: mbus.Int32, Offset: 9, Data: enc[5:9],
		})
	}
	t.Records = append(t.Records,
		mbus.Record{
			Quantity: mbus.QuantityRemainingBattery, Kind: mbus.KindNumber, Value: meter.V(int64(pay[1]&0x1F)*5, -1),
			Unit: meter.UnitYear, Table: mbus.TableMfct, Offset: 1, Data: pay[1:2],
		},
		mbus.Record{
			Quantity: "transmission_period", Kind: mbus.KindNumber, Value: meter.V(4<<(pay[0]&0x0F), 0),
			Unit: meter.UnitSecond, Table: mbus.TableMfct, Offset: 0, Data: pay[0:1],
		})
	return nil
}

// priosStep advances the PRIOS LFSR by 8 bits.
func priosStep(key uint32) uint32 {
	for range 8 {
		bit := (key>>1 ^ key>>2 ^ key>>11 ^ key>>31) & 1
		key = key<<1 | bit
	}
	return key
}

// priosByte returns the first decoded byte under key.
func priosByte(key uint32, b byte) byte { return b ^ byte(priosStep(key)) }

// priosXOR descrambles p in place.
func priosXOR(key uint32, p []byte) {
	for i := range p {
		key = priosStep(key)
		p[i] ^= byte(key)
	}
}

// decodeApatorNA1 reads an Apator NA-1 water meter telegram (CI A0/A1):
// two plain bytes, then one AES-128-CBC block under the meter's key with
// the IV of mode 5 built from the link address and the first plain byte.
// The block begins with 2F (the check), then:
//
//   - bytes 1–4: the volume, packed: the low nibble of byte 1, then bytes
//     2–4 above it, in units of 10^m litres where m is bits 4–5 of byte 1;
//   - bytes 5–8: the meter's clock, seconds since 2000-01-01 00:00;
//   - bytes 9–13: the last historic reading: its age in hours (byte 9,
//     and bits 2–7 of byte 10 above it) and how much less than the
//     volume it was (bits 0–1 of byte 10, then bytes 11–13 above them,
//     in the volume's units);
//   - bytes 14–15: current and historic status flags.
//
// The historic volume is the meter's own reading, sent as a difference to
// keep the block short; it becomes a storage-1 record with its age
// (actuality duration, storage 1).
func decodeApatorNA1(d *Decoder, p *profile, t *Telegram, pos int) error {
	pay := t.Payload
	if len(pay) < 18 {
		return errAt(pos+len(pay), ErrTruncated, "apatorna1: %d bytes of data, want 18", len(pay))
	}
	if d.key == nil {
		return errAt(pos+2, ErrNoKey, "apatorna1: AES-encrypted block")
	}
	b, err := d.block(d.key)
	if err != nil {
		return err
	}
	var iv [16]byte
	a := t.Link.Bytes()
	copy(iv[:8], a[:])
	for i := 8; i < 16; i++ {
		iv[i] = pay[0]
	}
	blk := pay[2:18]
	cbcDecrypt(b, iv, blk, &d.cs)
	if blk[0] != 0x2F {
		return errAt(pos+2, ErrDecrypt, "apatorna1: decrypted block begins %02X, not 2F", blk[0])
	}
	t.Security.Decrypted = true
	e := int8(blk[1]>>4&3) - 3
	v := int64(blk[1]&0x0F) | int64(blk[2])<<4 | int64(blk[3])<<12 | int64(blk[4])<<20
	clock := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(binary.LittleEndian.Uint32(blk[5:9])) * time.Second)
	age := int64(blk[9]) | int64(blk[10]>>2)<<8
	delta := int64(blk[10]&3) | int64(blk[11])<<2 | int64(blk[12])<<10 | int64(blk[13])<<18
	t.Records = append(t.Records,
		mbus.Record{
			OBIS: meter.OBIS{8, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber,
			Value: meter.V(v, e), Unit: meter.UnitCubicMetre, Table: mbus.TableMfct, Offset: 3, Data: blk[1:5],
		},
		mbus.Record{
			OBIS: meter.OBIS{0, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityDateTime, Kind: mbus.KindDateTime,
			Time: clock, Table: mbus.TableMfct, Offset: 7, Data: blk[5:9],
		},
		mbus.Record{
			OBIS: meter.OBIS{8, 0, 1, 0, 0, 1}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber, Storage: 1,
			Value: meter.V(v-delta, e), Unit: meter.UnitCubicMetre, Table: mbus.TableMfct, Offset: 13, Data: blk[10:14],
		},
		mbus.Record{
			Quantity: mbus.QuantityActualityDuration, Kind: mbus.KindNumber, Storage: 1,
			Value: meter.V(age, 0), Unit: meter.UnitHour, Table: mbus.TableMfct, Offset: 11, Data: blk[9:11],
		})
	return nil
}

// hydrodigitVolts is the BMeters Hydrodigit battery voltage code table
// (low nibble of the battery byte), in centivolts; 0, E and F mean 3.7 V.
var hydrodigitVolts = [16]int64{370, 190, 210, 220, 230, 240, 250, 265, 280, 290, 305, 320, 335, 350, 370, 370}

// decodeHydrodigit reads the manufacturer data (after DIF 0F) of a
// BMeters Hydrodigit water meter, after the generic records. Its first
// byte says which blocks follow, in this order: bit 0 the battery byte
// (voltage code in the low nibble), bit 1 a fraud type byte and a fraud
// date (3 bytes BCD: year, month in the low nibble, day), bit 7 a leak
// date (3 bytes BCD: year, month, day), bit 2 the backflow volume (4
// bytes, litres), bit 4 the volumes at the end of each calendar month
// January to December (12 × 3 bytes, 10 litres; FFFFFF: none, the module
// was not yet fitted). A monthly slot holds the latest end of that month,
// so the one of the meter's current month is 12 months old: with the
// meter's date the slots become storage numbers 1 (last month) to 12;
// without a date they are left out. Data shorter than its blocks ends the
// walk without error (the meters seen pad or cut short).
func decodeHydrodigit(d *Decoder, p *profile, t *Telegram, pos int) error {
	var data []byte
	var month time.Month
	base := 0 // APDU position of data
	for k := range t.Records {
		r := &t.Records[k]
		switch {
		case r.Quantity == mbus.QuantityMfctData && data == nil:
			data, base = r.Data, r.Offset+1
		case r.Quantity == mbus.QuantityDateTime && r.Kind == mbus.KindDateTime && r.Storage == 0 && month == 0:
			month = r.Time.Month()
		}
	}
	if len(data) == 0 {
		return nil
	}
	c := data[0]
	i := 1
	add := func(r mbus.Record) {
		r.Table, r.Offset = mbus.TableMfct, base+i
		if r.Kind == mbus.KindNumber && r.OBIS == (meter.OBIS{}) {
			r.OBIS = mbus.MapOBIS(&r, t.Meter.Device)
		}
		t.Records = append(t.Records, r)
	}
	if c&0x01 != 0 {
		if i+1 > len(data) {
			return nil
		}
		add(mbus.Record{Quantity: mbus.QuantityVoltage, Kind: mbus.KindNumber,
			Value: meter.V(hydrodigitVolts[data[i]&0x0F], -2), Unit: meter.UnitVolt, Data: data[i : i+1]})
		i++
	}
	date := func(q mbus.Quantity, b []byte, monthMask byte) {
		y, ok1 := bcdByte(b[0])
		m, ok2 := bcdByte(b[1] & monthMask)
		dd, ok3 := bcdByte(b[2])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && dd >= 1 && dd <= 31 {
			add(mbus.Record{Quantity: q, Kind: mbus.KindDate, Data: b,
				Time: time.Date(2000+y, time.Month(m), dd, 0, 0, 0, 0, time.UTC)})
		}
	}
	if c&0x02 != 0 {
		if i+4 > len(data) {
			return nil
		}
		i++ // fraud type
		date("fraud_date", data[i:i+3], 0x0F)
		i += 3
	}
	if c&0x80 != 0 {
		if i+3 > len(data) {
			return nil
		}
		date("leak_date", data[i:i+3], 0xFF)
		i += 3
	}
	if c&0x04 != 0 {
		if i+4 > len(data) {
			return nil
		}
		add(mbus.Record{Quantity: "backflow_volume", Modifiers: mbus.ModBackward, Kind: mbus.KindNumber,
			Value: meter.V(int64(binary.LittleEndian.Uint32(data[i:])), -3), Unit: meter.UnitCubicMetre, Data: data[i : i+4]})
		i += 4
	}
	if c&0x10 != 0 && month != 0 {
		for m := 1; m <= 12 && i+3 <= len(data); m++ {
			b := data[i : i+3]
			if v := int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16; v != 0xFFFFFF {
				add(mbus.Record{Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber, Storage: uint64((int(month)-m+11)%12 + 1),
					Value: meter.V(v, -2), Unit: meter.UnitCubicMetre, Data: b})
			}
			i += 3
		}
	}
	return nil
}

// bcdByte reads two BCD digits.
func bcdByte(b byte) (int, bool) {
	hi, lo := b>>4, b&0x0F
	return int(hi)*10 + int(lo), hi <= 9 && lo <= 9
}

// decodeQundis55 reads the manufacturer record (VIF FF5F, 53 bytes of
// LVAR data) that Qundis Q water 5.5 and Q heat 5.5 meters send with CI
// 78, after the generic records. Offsets in the record's data:
//
//   - 9: the VIF of the values (13: litres, 06: kWh, 0D: 0.1 MJ, …);
//     10–11: FFFF (the layout mark; other data is left alone);
//   - 12–15: the current value, BCD;
//   - 16–17 and 18–21: the yearly due date (type G) and the value at it,
//     BCD (storage 1);
//   - 22–23 and 24–27: the last monthly due date and the value at it
//     (storage 17, the meter's numbering);
//   - 28–51: 12 monthly consumptions, 16-bit, oldest first, the last one
//     the month that ended at the monthly due date; 8000: no value. Volume
//     consumptions count in ten times the VIF's unit (10 l for VIF 13),
//     energy ones in the VIF's unit (checked against the due-date values:
//     the consumptions of the months since the yearly due date add up to
//     the difference of the two due-date values).
//
// The monthly consumptions are the meter's own figures, not derived
// here; they become records of quantity volume_month or energy_month
// (modifier per month) with storage 1 (the month ending at the monthly
// due date) to 12.
func decodeQundis55(d *Decoder, p *profile, t *Telegram, pos int) error {
	var r *mbus.Record
	for k := range t.Records {
		if x := &t.Records[k]; x.Table == mbus.TableMfct && len(x.Header) == 3 && x.Header[1] == 0xFF && x.Header[2] == 0x5F {
			r = x
			break
		}
	}
	if r == nil || len(r.Data) < 52 || r.Data[10] != 0xFF || r.Data[11] != 0xFF {
		return nil
	}
	data, base := r.Data, r.Offset+len(r.Header)+1
	vif := data[9]
	var q, qm mbus.Quantity
	var unit meter.Unit
	var e, em int8
	switch {
	case vif <= 0x07:
		q, qm, unit, e, em = mbus.QuantityEnergy, "energy_month", meter.UnitWattHour, int8(vif)-3, int8(vif)-3
	case vif <= 0x0F:
		q, qm, unit, e, em = mbus.QuantityEnergy, "energy_month", meter.UnitJoule, int8(vif&7), int8(vif&7)
	case vif >= 0x10 && vif <= 0x17:
		q, qm, unit, e, em = mbus.QuantityVolume, "volume_month", meter.UnitCubicMetre, int8(vif&7)-6, int8(vif&7)-5
	default:
		return nil
	}
	dev := t.Meter.Device
	for _, at := range [...]struct {
		off     int
		storage uint64
	}{{12, 0}, {18, 1}, {24, 17}} {
		b := data[at.off : at.off+4]
		var m int64
		ok := true
		for k := 3; k >= 0; k-- {
			hi, lo := b[k]>>4, b[k]&15
			if hi > 9 || lo > 9 {
				ok = false
				break
			}
			m = m*100 + int64(hi)*10 + int64(lo)
		}
		if !ok {
			continue
		}
		nr := mbus.Record{Quantity: q, Kind: mbus.KindNumber, Value: meter.V(m, e), Unit: unit, Storage: at.storage,
			Table: mbus.TableMfct, Coding: mbus.BCD8, Offset: base + at.off, Data: b}
		nr.OBIS = mbus.MapOBIS(&nr, dev)
		t.Records = append(t.Records, nr)
	}
	for k := range 12 {
		b := data[28+2*k : 30+2*k]
		v := binary.LittleEndian.Uint16(b)
		if v == 0x8000 {
			continue
		}
		t.Records = append(t.Records, mbus.Record{Quantity: qm, Modifiers: mbus.ModPerMonth, Kind: mbus.KindNumber,
			Value: meter.V(int64(v), em), Unit: unit, Storage: uint64(12 - k),
			Table: mbus.TableMfct, Coding: mbus.Int16, Offset: base + 28 + 2*k, Data: b})
	}
	return nil
}

// decodeBFW240 reads a BFW 240 radio heat cost allocator's APDU (CI 7A,
// unencrypted): after 2F2F it is manufacturer data, though its bytes 2–3
// look like a record header (DIF 6F-like, VIF 1F). Offsets in the APDU:
//
//   - 4–5: the units at the end of the previous billing period, big-endian;
//   - 6–7: the units of the current billing period so far, big-endian;
//   - 9–36: 18 month-end values, 12 bits each, the newest (one month
//     ago) at the end: value n (0 newest) has its low byte at
//     36 − 3n/2 and its high nibble in the low nibble of the byte before
//     when 12n is a multiple of 8, else its low byte at 35 − (3n−1)/2 and
//     its high nibble in the high nibble of the byte after;
//   - 37–39: the meter's date, BCD day, month, year (2000+).
//
// The month values become storage 1 (one month ago) to 18.
func decodeBFW240(d *Decoder, p *profile, t *Telegram, pos int) error {
	c := t.Payload
	if len(c) < 40 {
		return errAt(pos+len(c), ErrTruncated, "bfw240: %d bytes of data, want 40", len(c))
	}
	if c[0] != 0x2F || c[1] != 0x2F {
		return errAt(pos, ErrFormat, "bfw240: APDU does not begin 2F2F")
	}
	dev := t.Meter.Device
	hca := func(q mbus.Quantity, v int64, storage uint64, off int, b []byte) {
		r := mbus.Record{Quantity: q, Kind: mbus.KindNumber, Value: meter.V(v, 0), Unit: meter.UnitCount, Unitless: true,
			Storage: storage, Table: mbus.TableMfct, Offset: off, Data: b}
		if q == mbus.QuantityHCA {
			r.OBIS = mbus.MapOBIS(&r, dev)
		}
		t.Records = append(t.Records, r)
	}
	hca(mbus.QuantityHCA, int64(c[6])<<8|int64(c[7]), 0, 6, c[6:8])
	hca("hca_units_billing_period", int64(c[4])<<8|int64(c[5]), 0, 4, c[4:6])
	for n := range 18 {
		off := n * 12 / 8
		var lo, hi byte
		var at int
		if n*12%8 == 0 {
			at = 35 - off
			lo, hi = c[36-off], c[35-off]&0x0F
		} else {
			at = 35 - off
			lo, hi = c[35-off], c[36-off]>>4
		}
		hca(mbus.QuantityHCA, int64(hi)<<8|int64(lo), uint64(n+1), at, c[at:at+2])
	}
	dd, ok1 := bcdByte(c[37])
	mm, ok2 := bcdByte(c[38])
	yy, ok3 := bcdByte(c[39])
	if ok1 && ok2 && ok3 && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31 {
		t.Records = append(t.Records, mbus.Record{OBIS: meter.OBIS{0, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityDate, Kind: mbus.KindDate,
			Time: time.Date(2000+yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC), Table: mbus.TableMfct, Offset: 37, Data: c[37:40]})
	}
	return nil
}
