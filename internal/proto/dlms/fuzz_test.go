package dlms_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smgw/smgw/internal/proto/dlms"
)

// Seeds: f.Add below and testdata/fuzz/<target>/, generated from the
// recorded Gurux sessions (every distinct APDU, deciphered ones too).

// checkAPDU is the property every APDU parser holds: no panic; what
// parses (also with trailing bytes) re-encodes to bytes that parse
// without error and re-encode identically; canonical input re-encodes
// to itself.
func checkAPDU(t *testing.T, p []byte) {
	a, err := dlms.ParseAPDU(p)
	if err != nil && !errors.Is(err, dlms.ErrTrailing) {
		if a != nil {
			t.Fatalf("APDU %T returned with error %v", a, err)
		}
		return
	}
	enc := a.Append(nil)
	b, err := dlms.ParseAPDU(enc)
	if err != nil {
		t.Fatalf("re-encoded %T does not parse: %v\n% X\nfrom\n% X", a, err, enc, p)
	}
	if enc2 := b.Append(nil); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding not stable for %T:\n% X\n% X", a, enc, enc2)
	}
	if a.APDUTag() != p[0] {
		t.Fatalf("tag 0x%02X, input 0x%02X", a.APDUTag(), p[0])
	}
}

func fuzzAPDU(f *testing.F, tags ...byte) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, tag := range tags {
			checkAPDU(t, append([]byte{tag}, body...))
		}
	})
}

// FuzzAPDU: ParseAPDU on any bytes.
func FuzzAPDU(f *testing.F) {
	f.Add([]byte{0xC0, 0x01, 0xC1, 0x00, 0x08, 0, 0, 1, 0, 0, 0xFF, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > 0 {
			checkAPDU(t, p)
		} else if _, err := dlms.ParseAPDU(p); !errors.Is(err, dlms.ErrShort) {
			t.Fatal(err)
		}
	})
}

// FuzzGetRequest: the bytes after the GET-Request tag.
func FuzzGetRequest(f *testing.F) { fuzzAPDU(f, dlms.TagGetRequest) }

// FuzzGetResponse: the bytes after the GET-Response tag.
func FuzzGetResponse(f *testing.F) { fuzzAPDU(f, dlms.TagGetResponse) }

// FuzzSetRequest: the bytes after the SET-Request tag.
func FuzzSetRequest(f *testing.F) { fuzzAPDU(f, dlms.TagSetRequest) }

// FuzzSetResponse: the bytes after the SET-Response tag.
func FuzzSetResponse(f *testing.F) { fuzzAPDU(f, dlms.TagSetResponse) }

// FuzzActionRequest: the bytes after the ACTION-Request tag.
func FuzzActionRequest(f *testing.F) { fuzzAPDU(f, dlms.TagActionRequest) }

// FuzzActionResponse: the bytes after the ACTION-Response tag.
func FuzzActionResponse(f *testing.F) { fuzzAPDU(f, dlms.TagActionResponse) }

// FuzzNotification: event and data notifications, exception response
// and confirmed service error.
func FuzzNotification(f *testing.F) {
	fuzzAPDU(f, dlms.TagEventNotification, dlms.TagDataNotification, dlms.TagExceptionResponse, dlms.TagConfirmedServiceError)
}

// FuzzAARQ: the bytes after the AARQ tag.
func FuzzAARQ(f *testing.F) { fuzzAPDU(f, dlms.TagAARQ) }

// FuzzAARE: the bytes after the AARE tag.
func FuzzAARE(f *testing.F) { fuzzAPDU(f, dlms.TagAARE) }

// FuzzRelease: RLRQ and RLRE.
func FuzzRelease(f *testing.F) { fuzzAPDU(f, dlms.TagRLRQ, dlms.TagRLRE) }

// FuzzInitiate: InitiateRequest and InitiateResponse.
func FuzzInitiate(f *testing.F) { fuzzAPDU(f, dlms.TagInitiateRequest, dlms.TagInitiateResponse) }

var (
	fuzzEK    = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	fuzzAK    = []byte{0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}
	fuzzTitle = []byte("ABCDEFGH")
)

// FuzzCiphered: glo-, ded- and general-ciphering APDUs parse and
// re-encode, decryption with the recorded keys never panics, and what
// decrypts encrypts back to the same APDU.
func FuzzCiphered(f *testing.F) {
	suite, err := dlms.NewSuite0(fuzzEK, fuzzAK)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{0xDB, 0x08, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 0x05, 0x30, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) == 0 {
			return
		}
		checkAPDU(t, p)
		a, err := dlms.ParseAPDU(p)
		c, ok := a.(dlms.Ciphered)
		if err != nil || !ok {
			return
		}
		title := fuzzTitle
		if c.IsGeneral() {
			title = nil
		}
		plain, err := suite.Decrypt(c, title)
		if err != nil {
			return
		}
		if title == nil {
			title = c.SystemTitle
		}
		again, err := suite.Encrypt(c.Tag, c.SC, title, c.IC, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Append(nil), c.Append(nil)) {
			t.Fatal("re-encryption differs")
		}
	})
}

// FuzzData: ParseData never panics; values re-encode to the same bytes
// (the A-XDR lengths in the input being the shortest).
func FuzzData(f *testing.F) {
	for _, b := range [][]byte{
		{0x00}, {0x01, 0x00}, {0x02, 0x02, 0x12, 0x00, 0x08, 0x09, 0x02, 0xAB, 0xCD},
		{0x13, 0x02, 0x02, 0x19, 0x12, 0x05, 0x80, 0x3B, 0x00, 0x01, 0x00, 0x02},
		{0x04, 0x0B, 0xFF, 0xE0}, {0x17, 0x3F, 0x80, 0, 0}, {0x18, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x19, 0x07, 0xEA, 0x0B, 0x16, 0x07, 0x02, 0x2A, 0x3B, 0x00, 0x80, 0x00, 0xFF},
		{0x01, 0x81, 0x80}, {0x09, 0x84, 0xFF, 0xFF, 0xFF, 0xFF},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		d, n, err := dlms.DecodeData(p)
		if err != nil {
			return
		}
		enc := d.Append(nil)
		back, err := dlms.ParseData(enc)
		if err != nil {
			t.Fatalf("re-encoded does not parse: %v\n% X", err, enc)
		}
		if !bytes.Equal(back.Append(nil), enc) {
			t.Fatal("encoding not stable")
		}
		if canonical(p[:n]) && !bytes.Equal(enc, p[:n]) {
			t.Fatalf("re-encoded\n% X\nfrom\n% X", enc, p[:n])
		}
		_ = d.String()
		if dt, ok := d.DateTime(); ok {
			_, _ = dt.Time()
		}
		if d.Tag() == dlms.TagStructure {
			_, _ = dlms.ParseRangeDescriptor(d)
			_, _ = dlms.ParseEntryDescriptor(d)
		}
	})
}

// canonical reports whether every A-XDR length in p could be its
// shortest form, judged roughly: no 0x81 followed by a value below 0x80,
// no 0x82 0x00, …. It is only used to decide whether to insist on
// byte-for-byte equality, so false negatives are harmless.
func canonical(p []byte) bool {
	for i := 0; i+1 < len(p); i++ {
		switch {
		case p[i] == 0x81 && p[i+1] < 0x80, p[i] >= 0x82 && p[i] <= 0x84 && p[i+1] == 0:
			return false
		}
	}
	return true
}
