package dlms_test

import (
	"testing"

	"github.com/smgw/smgw/internal/proto/dlms"
)

// profileBuffer is a load profile's buffer attribute: 96 rows (one day of
// 15-minute periods) of 4 columns: the clock as a 12-octet date-time and
// three double-long-unsigned energy registers.
func profileBuffer() dlms.Data {
	rows := make([]dlms.Data, 96)
	for i := range rows {
		dt := dlms.DateTime{Year: 2026, Month: 11, Day: 22, Weekday: 7, Hour: uint8(i / 4), Minute: uint8(i % 4 * 15), Deviation: -60}
		rows[i] = dlms.Structure(dt.Octets(), dlms.Uint32(uint32(1000000+i*250)), dlms.Uint32(uint32(i*3)), dlms.Uint32(uint32(500000+i*7)))
	}
	return dlms.Array(rows...)
}

// BenchmarkDataEncodeProfile: encoding the 96×4 buffer.
func BenchmarkDataEncodeProfile(b *testing.B) {
	d := profileBuffer()
	buf := d.Append(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = d.Append(buf[:0])
	}
}

// BenchmarkDataDecodeProfile: decoding the 96×4 buffer.
func BenchmarkDataDecodeProfile(b *testing.B) {
	enc := profileBuffer().Append(nil)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dlms.ParseData(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// recordedBlock is the first GET-Response-With-Datablock of the recorded
// wrapper-none session (profile by entry, 489 bytes).
func recordedBlocks(b *testing.B) [][]byte {
	var out [][]byte
	for _, s := range loadSessions(b) {
		if s.Transport != "wrapper" || s.Auth != "none" {
			continue
		}
		for _, a := range sessionAPDUs(b, s) {
			if len(a.apdu) > 2 && a.apdu[0] == dlms.TagGetResponse && a.apdu[1] == dlms.GetResponseWithDatablock {
				out = append(out, a.apdu)
			}
		}
	}
	return out
}

// BenchmarkGetResponseDatablock: parsing a recorded GET-Response-With-
// Datablock APDU (block header and raw data; 493 bytes).
func BenchmarkGetResponseDatablock(b *testing.B) {
	blk := recordedBlocks(b)[9]
	b.SetBytes(int64(len(blk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dlms.ParseAPDU(blk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileByBlocks: the recorded 4-block profile read (by entry):
// parse each block, join the raw data and decode the buffer (96 rows).
func BenchmarkProfileByBlocks(b *testing.B) {
	blocks := recordedBlocks(b)[9:13]
	n := 0
	for _, blk := range blocks {
		n += len(blk)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var raw []byte
	for b.Loop() {
		raw = raw[:0]
		for _, blk := range blocks {
			a, err := dlms.ParseAPDU(blk)
			if err != nil {
				b.Fatal(err)
			}
			raw = append(raw, a.(dlms.GetResponse).Block.Raw...)
		}
		d, err := dlms.ParseData(raw)
		if err != nil || d.Len() < 96 {
			b.Fatal(d.Len(), err)
		}
	}
}

var benchTitle = []byte("ABCDEFGH")

func benchSuite(b *testing.B) *dlms.Suite0 {
	s, err := dlms.NewSuite0(fuzzEK, fuzzAK)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkGCMEncrypt: general-glo-ciphering (authenticated and
// encrypted) of a 480-byte APDU, encoded.
func BenchmarkGCMEncrypt(b *testing.B) {
	s := benchSuite(b)
	plain := make([]byte, 480)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	var buf []byte
	for i := uint32(0); b.Loop(); i++ {
		c, err := s.Encrypt(dlms.TagGeneralGloCiphering, dlms.SCAuthEnc, benchTitle, i, plain)
		if err != nil {
			b.Fatal(err)
		}
		buf = c.Append(buf[:0])
	}
}

// BenchmarkGCMDecrypt: parsing and deciphering that APDU.
func BenchmarkGCMDecrypt(b *testing.B) {
	s := benchSuite(b)
	c, err := s.Encrypt(dlms.TagGeneralGloCiphering, dlms.SCAuthEnc, benchTitle, 1, make([]byte, 480))
	if err != nil {
		b.Fatal(err)
	}
	enc := c.Append(nil)
	b.SetBytes(480)
	b.ReportAllocs()
	for b.Loop() {
		a, err := dlms.ParseAPDU(enc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Decrypt(a.(dlms.Ciphered), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRequestRoundTrip: encoding and parsing a GET-Request-Normal.
func BenchmarkGetRequestRoundTrip(b *testing.B) {
	g := dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: 0xC1, Attr: dlms.AttributeDescriptor{Class: 3, Instance: [6]byte{1, 0, 1, 8, 0, 255}, Attribute: 2}}
	buf := g.Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Append(buf[:0])
		if _, err := dlms.ParseAPDU(buf); err != nil {
			b.Fatal(err)
		}
	}
}
