package modbus

import "testing"

// BenchmarkEncodeRequest: one RTU read request frame (frames/s = 1/op).
func BenchmarkEncodeRequest(b *testing.B) {
	buf := make([]byte, 0, MaxRTUFrame)
	req := ReadInput(0, 80)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendRTURequest(buf[:0], 1, req)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResponse: split (CRC check included) and decode an RTU
// response of 80 registers (an SDM630's block of float32 values), as the
// driver does.
func BenchmarkDecodeResponse(b *testing.B) {
	req := ReadInput(0, 80)
	pdu, _ := AppendResponse(nil, Response{Function: FuncReadInput, Data: make([]byte, 160)})
	frame := AppendRTU(nil, 1, pdu)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := SplitRTUResponse(frame, 1, req)
		if err != nil || n != len(frame) {
			b.Fatal(n, err)
		}
		if _, err := ParseResponse(frame[1:n-2], req); err != nil { // Split checked the CRC
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTCP: parse one Modbus TCP response ADU of 80 registers.
func BenchmarkDecodeTCP(b *testing.B) {
	req := ReadInput(0, 80)
	pdu, _ := AppendResponse(nil, Response{Function: FuncReadInput, Data: make([]byte, 160)})
	adu := AppendTCP(nil, 7, 1, pdu)
	b.SetBytes(int64(len(adu)))
	b.ReportAllocs()
	for b.Loop() {
		_, p, _, err := ParseTCP(adu)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseResponse(p, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCRC16 over a maximal RTU frame.
func BenchmarkCRC16(b *testing.B) {
	p := make([]byte, MaxRTUFrame-2)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		_ = CRC16(p)
	}
}

// BenchmarkDecodeSmallResponse: split and decode a 9-byte response of one
// float32 register pair, the commonest frame on a meter line.
func BenchmarkDecodeSmallResponse(b *testing.B) {
	req := ReadInput(0x48, 2)
	frame := AppendRTU(nil, 1, []byte{FuncReadInput, 4, 0x46, 0x40, 0xE6, 0xAE})
	b.ReportAllocs()
	for b.Loop() {
		n, err := SplitRTUResponse(frame, 1, req)
		if err != nil || n != len(frame) {
			b.Fatal(n, err)
		}
		if _, err := ParseResponse(frame[1:n-2], req); err != nil {
			b.Fatal(err)
		}
	}
}
