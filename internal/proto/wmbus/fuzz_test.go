package wmbus_test

import (
	"errors"
	"testing"

	"github.com/smgw/smgw/internal/proto/mbus"
	"github.com/smgw/smgw/internal/proto/wmbus"
)

var fuzzKey = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}

func addCorpusSeeds(f *testing.F, withKey bool) {
	rows := loadCorpus(f)
	for i, r := range rows {
		if _, err := r.frameErr(); err != nil || i%7 != 0 {
			continue
		}
		if withKey {
			k := r.key(f)
			if k == nil {
				k = fuzzKey
			}
			f.Add(r.frame(f), k)
		} else {
			f.Add(r.frame(f))
		}
	}
}

// checkDecodeError checks what every error of Decode must be.
func checkDecodeError(t *testing.T, err error, tg *wmbus.Telegram) {
	t.Helper()
	if err == nil {
		return
	}
	if len(tg.Records) != 0 {
		t.Fatalf("records with error %v", err)
	}
	for _, s := range []error{wmbus.ErrTruncated, wmbus.ErrLength, wmbus.ErrCRC, wmbus.ErrUnknownCI, wmbus.ErrUnknownVIF,
		wmbus.ErrNoKey, wmbus.ErrDecrypt, wmbus.ErrMAC, wmbus.ErrKey, wmbus.ErrUnsupported, wmbus.ErrFormat,
		mbus.ErrTruncated, mbus.ErrDIF, mbus.ErrData} {
		if errors.Is(err, s) {
			if _, ok := wmbus.Offset(err); !ok {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
	}
	t.Fatalf("error of no documented kind: %v", err)
}

// FuzzDecode: Decode without a key never panics, fails only with the
// documented errors (with a position) and then yields no records; its
// JSON is always produced.
func FuzzDecode(f *testing.F) {
	addCorpusSeeds(f, false)
	d := wmbus.NewDecoder(&wmbus.Options{Profiles: testProfiles(f), LearnFormats: true})
	var tg wmbus.Telegram
	f.Fuzz(func(t *testing.T, frame []byte) {
		err := d.Decode(frame, nil, &tg)
		checkDecodeError(t, err, &tg)
		_ = wmbus.AppendJSON(nil, &tg, err)
	})
}

// FuzzDecodeKey: as FuzzDecode, with a key: decryption paths (mode 5,
// mode 7 with AFL MAC, ELL) on arbitrary input.
func FuzzDecodeKey(f *testing.F) {
	addCorpusSeeds(f, true)
	d := wmbus.NewDecoder(&wmbus.Options{Profiles: testProfiles(f)})
	var tg wmbus.Telegram
	f.Fuzz(func(t *testing.T, frame, key []byte) {
		err := d.Decode(frame, key, &tg)
		if err != nil && len(key) != 16 && key != nil && !errors.Is(err, wmbus.ErrKey) && tg.Encrypted() {
			t.Fatalf("key of %d bytes: %v", len(key), err)
		}
		checkDecodeError(t, err, &tg)
	})
}

// FuzzHeader: ParseHeader never panics and agrees with Decode on the
// meter's address.
func FuzzHeader(f *testing.F) {
	addCorpusSeeds(f, false)
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, err := wmbus.ParseHeader(frame)
		if err != nil {
			if _, ok := wmbus.Offset(err); !ok {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		tg, derr := wmbus.Decode(frame, nil)
		if derr == nil && tg.Meter != h.Meter {
			t.Fatalf("header %+v, decode %+v", h.Meter, tg.Meter)
		}
	})
}

// FuzzParseProfiles: the profile parser never panics; an error names the
// file and line.
func FuzzParseProfiles(f *testing.F) {
	f.Add([]byte("meter x\n  match KAM type=04,0C\n  vif FF07 quantity=forward_energy unit=other\n  format 0406\n"))
	f.Add([]byte("meter y\n match ABC version=01 ci=A0\n decoder apator162\n tail ignore\n vif FD74 quantity=battery unit=% exp=-1 obis=8-0:96.6.0 storage=0\n"))
	f.Add([]byte("match KAM\n"))
	f.Add([]byte("meter z\n  format 0D13\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		ps, err := wmbus.ParseProfiles("fuzz.prof", text)
		if err != nil {
			if !errors.Is(err, wmbus.ErrProfile) {
				t.Fatalf("error not ErrProfile: %v", err)
			}
			return
		}
		_ = ps.Names()
	})
}

// FuzzParseLine: the telegram line reader never panics; a frame it
// returns is non-empty and a key 16 bytes.
func FuzzParseLine(f *testing.F) {
	f.Add("T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x4944")
	f.Add("2E4492159293 00112233445566778899AABBCCDDEEFF")
	f.Add("# comment")
	f.Fuzz(func(t *testing.T, line string) {
		fr, key, err := wmbus.ParseLine(line)
		if err != nil {
			if !errors.Is(err, wmbus.ErrLine) {
				t.Fatalf("error not ErrLine: %v", err)
			}
			return
		}
		if fr != nil && len(fr) == 0 || key != nil && len(key) != 16 {
			t.Fatalf("ParseLine(%q) = %X, %X", line, fr, key)
		}
	})
}
