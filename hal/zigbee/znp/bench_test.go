package znp

import "testing"

func benchFrame(b *testing.B) Frame {
	f, err := AfIncomingMsg{Cluster: 0x0702, SrcAddr: 0x1234, SrcEndpoint: 1, DstEndpoint: 1, LinkQuality: 80,
		Data: make([]byte, 40), HasTrailer: true}.Frame()
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkEncode: one AF_INCOMING_MSG with 40 data bytes, typed → wire.
func BenchmarkEncode(b *testing.B) {
	m := AfIncomingMsg{Cluster: 0x0702, SrcAddr: 0x1234, SrcEndpoint: 1, DstEndpoint: 1, LinkQuality: 80,
		Data: make([]byte, 40), HasTrailer: true}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		f, err := m.Frame()
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendFrame(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: the stream decoder on a buffer of back-to-back frames
// and the typed parse of each; reports frames/s.
func BenchmarkDecode(b *testing.B) {
	one, _ := AppendFrame(nil, benchFrame(b))
	var stream []byte
	const n = 64
	for range n {
		stream = append(stream, one...)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var d Decoder
	frames := 0
	for b.Loop() {
		d.Write(stream)
		for {
			f, ok, err := d.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			if _, err := ParseAfIncomingMsg(f); err != nil {
				b.Fatal(err)
			}
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
