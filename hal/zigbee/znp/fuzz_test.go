package znp

import (
	"bytes"
	"reflect"
	"testing"
)

// parsers maps each command to its Parse function, for the fuzz targets.
func parsers() map[Cmd]func(Frame) (any, error) {
	m := map[Cmd]func(Frame) (any, error){}
	for _, e := range messages(nil) {
		m[e.f.Cmd] = e.back
	}
	return m
}

func seedFrames(f *testing.F) {
	for _, m := range messages(f) {
		b, err := AppendFrame(nil, m.f)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseFrame: ParseFrame never panics, and what it accepts encodes
// back to the same bytes.
func FuzzParseFrame(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := ParseFrame(b)
		if err != nil {
			return
		}
		out, err := AppendFrame(nil, fr)
		if err != nil || !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-encoded % X, input % X (%v)", out, b[:n], err)
		}
	})
}

// FuzzDecoder: the stream decoder never panics, always makes progress,
// and every frame it yields re-encodes to valid wire bytes.
func FuzzDecoder(f *testing.F) {
	seedFrames(f)
	f.Add([]byte{0x00, 0xFE, 0xFE, 0x00, 0x21, 0x01, 0x20, 0xFE, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		for i := 0; i < len(b); i += 7 {
			d.Write(b[i:min(i+7, len(b))])
			for steps := 0; ; steps++ {
				if steps > len(b)+1 {
					t.Fatal("decoder makes no progress")
				}
				fr, ok, err := d.Next()
				if err != nil {
					continue
				}
				if !ok {
					break
				}
				w, err := AppendFrame(nil, fr)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := ParseFrame(w); err != nil {
					t.Fatal(err)
				}
			}
		}
		for d.Stale() != nil {
			for {
				_, ok, err := d.Next()
				if !ok && err == nil {
					break
				}
			}
		}
		if d.Buffered() != 0 && d.Offset()+int64(d.Buffered()) != int64(len(b)) {
			t.Fatalf("offset %d + %d buffered != %d", d.Offset(), d.Buffered(), len(b))
		}
	})
}

// FuzzMessages: every typed Parse function survives any payload, and
// what it accepts encodes back to the same payload.
func FuzzMessages(f *testing.F) {
	for _, m := range messages(f) {
		f.Add(uint16(m.f.Cmd), m.f.Payload)
	}
	ps := parsers()
	f.Fuzz(func(t *testing.T, cmd uint16, payload []byte) {
		for c, p := range ps {
			if Cmd(cmd)&0xFF != c&0xFF {
				continue
			}
			fr := Frame{Cmd: c, Payload: payload}
			v, err := p(fr)
			if err != nil {
				continue
			}
			var back Frame
			switch x := v.(type) {
			case interface{ Frame() Frame }:
				back = x.Frame()
			case interface{ Frame() (Frame, error) }:
				if back, err = x.Frame(); err != nil {
					continue
				}
			default:
				continue
			}
			// Booleans other than 0 and 1 come back as 1: compare meaning.
			v2, err := p(back)
			if back.Cmd != c || err != nil || !reflect.DeepEqual(v, v2) || len(back.Payload) != len(payload) {
				t.Fatalf("%s: % X decoded to %+v, re-encoded % X: %+v %v", c, payload, v, back.Payload, v2, err)
			}
		}
	})
}

// FuzzInstallCode: any input is checked without panicking, and a code
// that passes has a right CRC.
func FuzzInstallCode(f *testing.F) {
	f.Add(mustHex(f, "83FED3407A939723A5C639B26916D505C3B5"))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := InstallCodeKey(b); err == nil {
			n := len(b) - 2
			if crc := InstallCodeCRC(b[:n]); byte(crc) != b[n] || byte(crc>>8) != b[n+1] {
				t.Fatal("accepted a wrong CRC")
			}
		}
	})
}
