package hdlc

import (
	"bytes"
	"errors"
	"testing"
)

// Seeds: f.Add below and testdata/fuzz/<target>/ (recorded Gurux frames).

func fuzzSeeds(f *testing.F) {
	for _, b := range [][]byte{
		{0x7E, 0xA0, 0x07, 0x03, 0x21, 0x93, 0x0F, 0x01, 0x7E},
		{0x7E, 0xA0, 0x1E, 0x21, 0x03, 0x73, 0xC3, 0x7A, 0x81, 0x80, 0x12, 0x05, 0x01, 0x80, 0x06, 0x01, 0x80, 0x07, 0x04, 0, 0, 0, 1, 0x08, 0x04, 0, 0, 0, 1, 0x53, 0x3B, 0x7E},
		{}, {0x7E}, {0x7E, 0x7E}, {0x7E, 0xA0, 0x07, 0x02, 0x02, 0x02, 0x02, 0x7E, 0x7E},
	} {
		f.Add(b)
	}
}

// FuzzParse: Parse never panics; what it accepts re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			return
		}
		if got := fr.Append(nil); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded\n% X\nparsed from\n% X", got, b)
		}
		_ = fr.String()
		if fr.Control.Kind() == KindUA || fr.Control.Kind() == KindSNRM {
			if p, err := ParseParams(fr.Info); err == nil {
				if q, err := ParseParams(p.Append(nil)); err != nil || q != p {
					t.Fatalf("params %+v → %+v %v", p, q, err)
				}
			}
		}
	})
}

// FuzzScanner: the scanner never panics, always makes progress, every
// frame it returns parses, and it reports skipped bytes as *ScanError.
func FuzzScanner(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Scanner
		for i := 0; i < len(b); i += 7 {
			s.Write(b[i:min(i+7, len(b))])
			for n := 0; ; n++ {
				if n > len(b)+2 {
					t.Fatal("scanner does not make progress")
				}
				fr, ok, err := s.Next()
				if err != nil {
					var se *ScanError
					if !errors.As(err, &se) || se.Len <= 0 {
						t.Fatalf("error %v", err)
					}
					continue
				}
				if !ok {
					break
				}
				if _, err := Parse(fr.Append(nil)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if s.Buffered() > len(b) {
			t.Fatal("buffered more than written")
		}
	})
}

// FuzzParams: ParseParams never panics and what it accepts is stable.
func FuzzParams(f *testing.F) {
	f.Add([]byte{0x81, 0x80, 0x12, 0x05, 0x01, 0x80, 0x06, 0x01, 0x80, 0x07, 0x04, 0, 0, 0, 1, 0x08, 0x04, 0, 0, 0, 1})
	f.Add([]byte{0x81, 0x80, 0x08, 0x05, 0x02, 0x07, 0xEE, 0x07, 0x01, 0x07})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParams(b)
		if err != nil {
			return
		}
		if q, err := ParseParams(p.Append(nil)); err != nil || q != p {
			t.Fatalf("%+v → %+v %v", p, q, err)
		}
	})
}

// FuzzLink: frames of any content fed to a connected client and server
// never panic them, and afterwards a fresh exchange still works after a
// reconnect.
func FuzzLink(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := newPair(t, Params{WindowTx: 3, WindowRx: 3, MaxInfoTx: 64, MaxInfoRx: 64}, Params{WindowTx: 7, WindowRx: 7})
		var s Scanner
		s.Write(b)
		for range 100 {
			fr, ok, err := s.Next()
			if err != nil {
				continue
			}
			if !ok {
				break
			}
			_, _ = client.Receive(fr)
			_, _ = server.Receive(fr)
			_ = client.Retransmit()
		}
		// Craft frames with the right addresses from the input too.
		for i := 0; i+2 <= len(b) && i < 40; i += 2 {
			toServer := Frame{Dest: ServerAddress(1, 17), Src: ClientAddress(16), Control: Control(b[i]), Info: b[i+1 : min(len(b), i+20)], Segmented: b[i+1]&1 == 1}
			toClient := Frame{Dest: ClientAddress(16), Src: ServerAddress(1, 17), Control: Control(b[i+1]), Info: b[i:min(len(b), i+10)], Segmented: b[i]&1 == 1}
			_, _ = server.Receive(toServer)
			_, _ = client.Receive(toClient)
		}
		client, server = newPair(t, Params{}, Params{})
		w := &wire{t: t}
		req, resp := w.exchange(client, server, b, []byte{1})
		if !bytes.Equal(req, b) || !bytes.Equal(resp, []byte{1}) {
			t.Fatal("exchange after fuzzing failed")
		}
	})
}
