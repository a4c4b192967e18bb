package mbus

import (
	"errors"
	"testing"
)

// FuzzAppendRecords: any bytes decode without panic; an error is one of
// the sentinels with a position inside the data; every record's Header
// and Data lie inside the data. Seeds: f.Add below and
// testdata/fuzz/FuzzAppendRecords.
func FuzzAppendRecords(f *testing.F) {
	for _, s := range []string{
		"0C1378563412", "2F2F046D1E02DE21", "C4C04013D2040000", "027C03726162E803", "0DFD0C03434241",
		"04933B01000000", "0F0102", "05130000C841", "0D13E20100", "8080808080808080808080",
	} {
		f.Add(unhex(f, s), byte(DevWater))
	}
	f.Fuzz(func(t *testing.T, data []byte, dev byte) {
		recs, err := AppendRecords(nil, data, DeviceType(dev), nil)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnknownVIF) && !errors.Is(err, ErrDIF) && !errors.Is(err, ErrData) {
				t.Fatalf("unexpected error %v", err)
			}
			if p, ok := Offset(err); !ok || p < 0 || p > len(data) {
				t.Fatalf("error %v: position %d outside 0…%d", err, p, len(data))
			}
		}
		for _, r := range recs {
			if r.Offset < 0 || r.Offset+len(r.Header)+len(r.Data) > len(data) {
				t.Fatalf("record outside the data: %+v", r)
			}
			_ = r.AppendText(nil)
			_ = r.OBIS.String()
		}
	})
}

// FuzzParseFrame: ParseFrame never panics, and what it accepts is built
// again byte for byte by AppendFrame.
func FuzzParseFrame(f *testing.F) {
	f.Add(AppendFrame(nil, Frame{C: 8, A: 1, CI: 0x72, Data: []byte{1, 2, 3}}))
	f.Add([]byte{0x68, 3, 3, 0x68, 8, 1, 0x72, 0x7B, 0x16})
	f.Add([]byte{0x68})
	f.Fuzz(func(t *testing.T, p []byte) {
		fr, err := ParseFrame(p)
		if err != nil {
			if _, ok := Offset(err); !ok {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if back := AppendFrame(nil, fr); string(back) != string(p) {
			t.Fatalf("ParseFrame(%X) = %+v, rebuilt %X", p, fr, back)
		}
	})
}

// BenchmarkAppendRecords decodes a typical heat meter's records (energy,
// volume, flow, temperatures, date-time, history) into a reused slice.
func BenchmarkAppendRecords(b *testing.B) {
	data := unhex(b, "0406A500000004FF072B01000004FF089C000000041421020000043B120000000259D014025D0009046D1E06563B4406A50000004414210200002F2F")
	var recs []Record
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if recs, err = AppendRecords(recs[:0], data, DevHeatOutlet, nil); err != nil {
			b.Fatal(err)
		}
	}
}
