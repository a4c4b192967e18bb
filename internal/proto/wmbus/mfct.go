package wmbus

import (
	"encoding/binary"
	"sort"

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
	"apator162": {decodeApator162, true},
	"izar":      {decodeIZAR, true},
	"apatorna1": {decodeApatorNA1, true},
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
// The block begins with 2F (the check); the volume in litres is spread
// over nibbles: the low nibble of byte 1, then bytes 2–4.
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
	v := int64(blk[1]&0x0F) | int64(blk[2])<<4 | int64(blk[3])<<12 | int64(blk[4])<<20
	t.Records = append(t.Records, mbus.Record{
		OBIS: meter.OBIS{8, 0, 1, 0, 0, 255}, Quantity: mbus.QuantityVolume, Kind: mbus.KindNumber,
		Value: meter.V(v, -3), Unit: meter.UnitCubicMetre, Table: mbus.TableMfct, Offset: 3, Data: blk[1:5],
	})
	return nil
}
