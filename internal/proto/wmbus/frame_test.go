package wmbus

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

var testKey = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}

// linkLayer returns a stripped frame's first 10 bytes (L fixed later):
// C 44, manufacturer ABC, id 12345678, version 1, type water.
func linkLayer() []byte {
	m, _ := mbus.ParseManufacturer("ABC")
	return []byte{0, 0x44, byte(m), byte(m >> 8), 0x78, 0x56, 0x34, 0x12, 0x01, 0x07}
}

// withL sets the L field of a stripped frame.
func withL(f []byte) []byte {
	f[0] = byte(len(f) - 1)
	return f
}

// toA inserts the format A block CRCs into a stripped frame.
func toA(f []byte) []byte {
	out := append([]byte(nil), f[:10]...)
	c := CRC(f[:10])
	out = append(out, byte(c>>8), byte(c))
	for p := 10; p < len(f); p += 16 {
		blk := f[p:min(p+16, len(f))]
		out = append(out, blk...)
		c := CRC(blk)
		out = append(out, byte(c>>8), byte(c))
	}
	return out
}

// toB adds the format B CRCs to a stripped frame and fixes L.
func toB(f []byte) []byte {
	f = append([]byte(nil), f...)
	if len(f) <= 126 {
		f[0] = byte(len(f) + 2 - 1)
		c := CRC(f)
		return append(f, byte(c>>8), byte(c))
	}
	f[0] = byte(len(f) + 4 - 1)
	out := append([]byte(nil), f[:126]...)
	c := CRC(out)
	out = append(out, byte(c>>8), byte(c))
	rest := f[126:]
	c = CRC(rest)
	out = append(out, rest...)
	return append(out, byte(c>>8), byte(c))
}

// plainRecords: volume 12.345 m³, flow temperature 21.5 °C (×0.1),
// date-time 2026-11-22 06:30, an idle filler.
var plainRecords = []byte{0x0C, 0x13, 0x45, 0x23, 0x01, 0x00, 0x02, 0x5A, 0xD7, 0x00, 0x04, 0x6D, 0x1E, 0x06, 0x56, 0x3B, 0x2F}

func shortTPL(acc byte, cfg uint16) []byte {
	return []byte{CIShort, acc, 0x00, byte(cfg), byte(cfg >> 8)}
}

func checkPlainRecords(t *testing.T, tg *Telegram) {
	t.Helper()
	if len(tg.Records)%3 != 0 || len(tg.Records) == 0 {
		t.Fatalf("%d records, want 3 (or 3n)", len(tg.Records))
	}
	r := tg.Records[0]
	if r.Quantity != mbus.QuantityVolume || r.Value != meter.V(12345, -3) || r.Unit != meter.UnitCubicMetre || r.OBIS != meter.OBISVolumeWater {
		t.Errorf("record 0 = %+v", r)
	}
	if r := tg.Records[1]; r.Value != meter.V(215, -1) || r.Unit != meter.UnitCelsius || r.OBIS != meter.MustOBIS("8-0:3.0.0") {
		t.Errorf("record 1 = %+v", r)
	}
	if tg.MeterTime.Format("2006-01-02 15:04") != "2026-11-22 06:30" {
		t.Errorf("meter time %v", tg.MeterTime)
	}
}

func TestFrameFormats(t *testing.T) {
	f := withL(append(append(linkLayer(), shortTPL(7, 0)...), plainRecords...))
	long := withL(append(append(linkLayer(), shortTPL(7, 0)...), bytes.Repeat(plainRecords, 9)...))
	d := NewDecoder(nil)
	var tg Telegram
	for _, tc := range []struct {
		name  string
		frame []byte
		want  FrameFormat
	}{
		{"stripped", f, FormatNoCRC},
		{"A", toA(f), FormatA},
		{"B", toB(f), FormatB},
		{"B long", toB(long), FormatB},
		{"A long", toA(long), FormatA},
	} {
		if err := d.Decode(tc.frame, nil, &tg); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tg.Format != tc.want || tg.Meter.IDString() != "12345678" || tg.Meter.Manufacturer.String() != "ABC" || tg.AccessNumber != 7 {
			t.Fatalf("%s: header %+v", tc.name, tg.Header)
		}
		checkPlainRecords(t, &tg)
		if tc.name == "B long" && len(tg.Records) != 27 {
			t.Fatalf("B long: %d records", len(tg.Records))
		}
	}
	// Explicit formats too.
	for fm, frame := range map[FrameFormat][]byte{FormatA: toA(f), FormatB: toB(f), FormatNoCRC: f} {
		if err := NewDecoder(&Options{Format: fm}).Decode(frame, nil, &tg); err != nil {
			t.Fatalf("format %v: %v", fm, err)
		}
	}
	// Detected format A with a bad first block is a CRC error, not a
	// stripped frame with trailing bytes.
	badA := toA(f)
	badA[3] ^= 1
	if err := d.Decode(badA, nil, &tg); !errors.Is(err, ErrCRC) {
		t.Fatalf("format A, bad block 1, auto: %v", err)
	}
	// A flipped bit fails the CRC, with the position of the CRC.
	for _, frame := range [][]byte{toA(f), toB(long)} {
		bad := append([]byte(nil), frame...)
		bad[20] ^= 1
		fm := Detect(frame)
		err := NewDecoder(&Options{Format: fm}).Decode(bad, nil, &tg)
		if !errors.Is(err, ErrCRC) {
			t.Fatalf("format %v with a flipped bit: %v, want ErrCRC", fm, err)
		}
		if _, ok := Offset(err); !ok || len(tg.Records) != 0 {
			t.Fatalf("error without position or with records: %v", err)
		}
	}
}

func TestBadInput(t *testing.T) {
	f := withL(append(append(linkLayer(), shortTPL(7, 0)...), plainRecords...))
	var tg Telegram
	d := NewDecoder(nil)
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, ErrTruncated},
		{"short", f[:8], ErrTruncated},
		{"L too big", append([]byte{byte(len(f) + 5)}, f[1:]...), ErrTruncated},
		{"unknown CI", withL(append(linkLayer(), 0x01, 0x02, 0x03)), ErrUnknownCI},
		{"TPL cut", withL(append(linkLayer(), CIShort, 1)), ErrTruncated},
		{"record cut", withL(append(append(linkLayer(), shortTPL(7, 0)...), 0x0C, 0x13, 0x45)), mbus.ErrTruncated},
		{"reserved VIF", withL(append(append(linkLayer(), shortTPL(7, 0)...), 0x01, 0x6F, 0x01)), ErrUnknownVIF},
		{"bad key length", f, ErrKey},
	}
	for _, tc := range cases {
		key := []byte(nil)
		if tc.name == "bad key length" {
			key = []byte{1, 2, 3}
		}
		err := d.Decode(tc.frame, key, &tg)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if len(tg.Records) != 0 {
			t.Errorf("%s: records despite the error", tc.name)
		}
	}
}

// mode5Frame builds a mode 5 telegram of the records, encrypted with key.
func mode5Frame(t *testing.T, key []byte, records []byte, encBlocks int) []byte {
	t.Helper()
	pay := append([]byte{0x2F, 0x2F}, records...)
	for len(pay)%16 != 0 {
		pay = append(pay, 0x2F)
	}
	if encBlocks == 0 {
		encBlocks = len(pay) / 16
	}
	f := append(linkLayer(), shortTPL(0x42, uint16(5)<<8|uint16(encBlocks)<<4)...)
	var iv [16]byte
	copy(iv[:], f[2:10])
	for i := 8; i < 16; i++ {
		iv[i] = 0x42
	}
	b, _ := aes.NewCipher(key)
	enc := append([]byte(nil), pay...)
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(enc[:16*encBlocks], pay[:16*encBlocks])
	return withL(append(f, enc...))
}

func TestMode5(t *testing.T) {
	frame := mode5Frame(t, testKey, plainRecords, 0)
	d := NewDecoder(nil)
	var tg Telegram
	if err := d.Decode(toA(frame), testKey, &tg); err != nil {
		t.Fatal(err)
	}
	checkPlainRecords(t, &tg)
	if !tg.Security.Decrypted || tg.Security.Mode != Mode5 || tg.Security.AccessNumber != 0x42 || tg.EncryptedBlocks != 2 {
		t.Fatalf("security %+v", tg.Security)
	}
	// Header without a key.
	h, err := ParseHeader(frame)
	if err != nil || h.Mode != Mode5 || !h.Encrypted() || h.Meter.ID != 0x12345678 {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
	// No key, wrong key.
	if err := d.Decode(frame, nil, &tg); !errors.Is(err, ErrNoKey) || len(tg.Records) != 0 {
		t.Fatalf("no key: %v", err)
	}
	wrong := append([]byte(nil), testKey...)
	wrong[0] ^= 1
	if err := d.Decode(frame, wrong, &tg); !errors.Is(err, ErrDecrypt) || len(tg.Records) != 0 {
		t.Fatalf("wrong key: %v, %d records", err, len(tg.Records))
	}
	// Partial encryption: one block encrypted, the rest plaintext.
	part := mode5Frame(t, testKey, append(bytes.Repeat([]byte{0x2F}, 14), plainRecords...), 1)
	if err := d.Decode(part, testKey, &tg); err != nil {
		t.Fatal(err)
	}
	checkPlainRecords(t, &tg)
	// Already decrypted by the receiver: plaintext with the mode 5 header.
	body := append([]byte{0x2F, 0x2F}, plainRecords...)
	body = append(body, bytes.Repeat([]byte{0x2F}, 32-len(body))...)
	plain := withL(append(append(linkLayer(), shortTPL(0x42, 0x0520)...), body...))
	if err := d.Decode(plain, nil, &tg); err != nil || !tg.Security.Plaintext || tg.Security.Decrypted {
		t.Fatalf("already decrypted: %v %+v", err, tg.Security)
	}
}

// mode7Frame builds ELL 8C, AFL 90 (MCR, 8-byte CMAC) and a short TPL in
// mode 7, the payload encrypted with the derived Kenc.
func mode7Frame(t *testing.T, key []byte, counter uint32) []byte {
	t.Helper()
	pay := append([]byte{0x2F, 0x2F}, plainRecords...)
	for len(pay)%16 != 0 {
		pay = append(pay, 0x2F)
	}
	master, _ := aes.NewCipher(key)
	kenc := deriveKey(master, kdfEncMeter, counter, 0x12345678, &scratch{}, &[16]byte{})
	kmac := deriveKey(master, kdfMACMeter, counter, 0x12345678, &scratch{}, &[16]byte{})
	eb, _ := aes.NewCipher(kenc[:])
	enc := make([]byte, len(pay))
	cipher.NewCBCEncrypter(eb, make([]byte, 16)).CryptBlocks(enc, pay)
	cfg := uint16(7)<<8 | uint16(len(pay)/16)<<4
	tpl := []byte{CIShort, 0x33, 0x00, byte(cfg), byte(cfg >> 8), 0x10} // CFE: KDF A
	mcl := byte(0x25)                                                   // MCR present, AT 5: 8-byte CMAC
	var mcr [4]byte
	binary.LittleEndian.PutUint32(mcr[:], counter)
	macIn := append(append([]byte{mcl}, mcr[:]...), append(tpl, enc...)...)
	mb, _ := aes.NewCipher(kmac[:])
	mac := cmac(mb, macIn, &scratch{})
	fcl := uint16(1<<13 | 1<<11 | 1<<10)
	afl := append([]byte{CIAFL, 0, byte(fcl), byte(fcl >> 8), mcl}, mcr[:]...)
	afl = append(afl, mac[:8]...)
	afl[1] = byte(len(afl) - 2)
	f := append(linkLayer(), CIELLShort, 0x20, 0x33)
	f = append(f, afl...)
	f = append(f, tpl...)
	return withL(append(f, enc...))
}

func TestMode7(t *testing.T) {
	frame := mode7Frame(t, testKey, 0x01020304)
	d := NewDecoder(nil)
	var tg Telegram
	if err := d.Decode(frame, testKey, &tg); err != nil {
		t.Fatal(err)
	}
	checkPlainRecords(t, &tg)
	s := tg.Security
	if s.Mode != Mode7 || !s.Decrypted || !s.Authenticated || s.MessageCounter != 0x01020304 || tg.NCI != 3 {
		t.Fatalf("security %+v, CIs %X", s, tg.CIs[:tg.NCI])
	}
	h, err := ParseHeader(frame)
	if err != nil || !h.AFL.HasCounter || h.AFL.MessageCounter != 0x01020304 || h.Mode != Mode7 {
		t.Fatalf("ParseHeader: %+v %v", h, err)
	}
	bad := append([]byte(nil), frame...)
	bad[len(bad)-1] ^= 0x80
	if err := d.Decode(bad, testKey, &tg); !errors.Is(err, ErrMAC) || len(tg.Records) != 0 {
		t.Fatalf("tampered: %v", err)
	}
	wrong := append([]byte(nil), testKey...)
	wrong[15] ^= 1
	if err := d.Decode(frame, wrong, &tg); !errors.Is(err, ErrMAC) {
		t.Fatalf("wrong key: %v", err)
	}
}

// ellFrame builds ELL 8D with AES-CTR encryption of payload CRC and TPL.
func ellFrame(t *testing.T, key []byte) []byte {
	t.Helper()
	f := linkLayer()
	sn := uint32(1<<29 | 0x00ABCDE0)
	inner := append([]byte{CINoHeader}, plainRecords...)
	c := CRC(inner)
	plain := append([]byte{byte(c), byte(c >> 8)}, inner...)
	var iv [16]byte
	copy(iv[:8], f[2:10])
	iv[8] = 0x20
	binary.LittleEndian.PutUint32(iv[9:], sn)
	b, _ := aes.NewCipher(key)
	enc := make([]byte, len(plain))
	cipher.NewCTR(b, iv[:]).XORKeyStream(enc, plain)
	f = append(f, CIELLLong, 0x20, 0x55, byte(sn), byte(sn>>8), byte(sn>>16), byte(sn>>24))
	return withL(append(f, enc...))
}

func TestELL(t *testing.T) {
	frame := ellFrame(t, testKey)
	d := NewDecoder(nil)
	var tg Telegram
	if err := d.Decode(frame, testKey, &tg); err != nil {
		t.Fatal(err)
	}
	checkPlainRecords(t, &tg)
	if !tg.Security.ELL || !tg.Security.Decrypted || tg.AccessNumber != 0x55 {
		t.Fatalf("security %+v", tg.Security)
	}
	h, err := ParseHeader(frame)
	if err != nil || !h.ELL.Encrypted || h.TPLCI != 0 {
		t.Fatalf("ParseHeader: %+v %v", h, err)
	}
	wrong := append([]byte(nil), testKey...)
	wrong[3] ^= 1
	if err := d.Decode(frame, wrong, &tg); !errors.Is(err, ErrDecrypt) || len(tg.Records) != 0 {
		t.Fatalf("wrong key: %v", err)
	}
	if err := d.Decode(frame, nil, &tg); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestWiredMBus(t *testing.T) {
	// CI 72: id 12345678, manufacturer ABC, version 1, water, access 9, status 0, config 0.
	m, _ := mbus.ParseManufacturer("ABC")
	data := append([]byte{0x78, 0x56, 0x34, 0x12, byte(m), byte(m >> 8), 1, 7, 9, 0, 0, 0}, plainRecords...)
	frame := mbus.AppendFrame(nil, mbus.Frame{C: 0x08, A: 0x05, CI: 0x72, Data: data})
	var tg Telegram
	if err := NewDecoder(nil).Decode(frame, nil, &tg); err != nil {
		t.Fatal(err)
	}
	if tg.Format != FormatMBus || tg.Primary != 5 || tg.Meter.IDString() != "12345678" {
		t.Fatalf("header %+v", tg.Header)
	}
	checkPlainRecords(t, &tg)
	frame[len(frame)-2]++
	if err := NewDecoder(nil).Decode(frame, nil, &tg); !errors.Is(err, ErrCRC) {
		t.Fatalf("bad checksum: %v", err)
	}
}
