package hdlc

import "testing"

func benchFrame() Frame {
	info := make([]byte, 128)
	copy(info, LLCResponse)
	return Frame{Segmented: true, Dest: ClientAddress(16), Src: ServerAddress(1, 17), Control: IControl(3, 4, true), Info: info}
}

// BenchmarkFrameAppend: encoding one I frame with a 128-byte information field.
func BenchmarkFrameAppend(b *testing.B) {
	f := benchFrame()
	buf := make([]byte, 0, f.Len())
	b.SetBytes(int64(f.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0])
	}
}

// BenchmarkFrameParse: decoding (HCS, FCS) one I frame with 128 bytes of information.
func BenchmarkFrameParse(b *testing.B) {
	f := benchFrame()
	raw := f.Append(nil)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanner: finding and checking frames in a stream, 64 frames per Write.
func BenchmarkScanner(b *testing.B) {
	f := benchFrame()
	var stream []byte
	for range 64 {
		stream = f.Append(stream)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var s Scanner
	for b.Loop() {
		s.Write(stream)
		for n := 0; ; n++ {
			_, ok, err := s.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				if n != 64 {
					b.Fatal(n)
				}
				break
			}
		}
	}
}

// BenchmarkLinkExchange: a 60-byte request and a 4 KiB response through
// a client and a server Link in memory (window 7, 512-byte information
// fields): segmentation, acknowledgement and reassembly, frames parsed.
func BenchmarkLinkExchange(b *testing.B) {
	p := Params{MaxInfoTx: 512, MaxInfoRx: 512, WindowTx: 7, WindowRx: 7}
	client, server := newPair(b, p, p)
	w := &wire{t: b}
	req, resp := make([]byte, 60), make([]byte, 4096)
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		w.exchange(client, server, req, resp)
	}
}
