package modbus

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds are frames of the unit tests, for every fuzz target.
var fuzzSeeds = []string{
	"11 03 00 6B 00 03 76 87", "11 03 06 AE 41 56 52 43 40 49 AD", "01 04 04 43 66 4C CD FB 4A",
	"01 84 02 C2 C1", "01 06 00 01 00 03 98 0B", "01 10 00 01 00 02 04 00 0A 01 02 92 30",
	"01 10 00 01 00 02 10 08", "00 01 00 00 00 06 11 03 00 6B 00 03", "03 06 02 2B 00 00 00 64", "",
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(unhex(f, s))
	}
}

// FuzzParseRequest: ParseRequest never panics, and what it accepts
// encodes back to the same bytes.
func FuzzParseRequest(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := ParseRequest(p)
		if err != nil {
			return
		}
		out, err := AppendRequest(nil, r)
		if err != nil || !bytes.Equal(out, p) {
			t.Fatalf("ParseRequest(% X) = %+v; AppendRequest = % X, %v", p, r, out, err)
		}
	})
}

// FuzzParseResponse: for every request kind, ParseResponse never panics,
// and a normal response it accepts encodes back to the same bytes.
func FuzzParseResponse(f *testing.F) {
	addSeeds(f)
	reqs := []Request{ReadHolding(0x6B, 3), ReadInput(0, 2), WriteSingle(1, 3), WriteMultiple(1, []uint16{10, 258}), ReadHolding(0, 1)}
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, req := range reqs {
			r, err := ParseResponse(p, req)
			var ex *Exception
			if errors.As(err, &ex) {
				if !bytes.Equal(AppendException(nil, req.Function, ex.Code), p) {
					t.Fatalf("exception % X does not encode back", p)
				}
				continue
			}
			if err != nil {
				continue
			}
			out, err := AppendResponse(nil, r)
			if err != nil || !bytes.Equal(out, p) {
				t.Fatalf("ParseResponse(% X, %+v) = %+v; AppendResponse = % X, %v", p, req, r, out, err)
			}
		}
	})
}

// FuzzSplitRTU: the splitters never panic, never return a length beyond
// the input, and a frame they return has a good CRC.
func FuzzSplitRTU(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, req := range []Request{ReadHolding(0x6B, 3), WriteSingle(1, 3), WriteMultiple(1, []uint16{1})} {
			unit := byte(0)
			if len(p) > 0 {
				unit = p[0]
			}
			n, err := SplitRTUResponse(p, unit, req)
			if n < 0 || n > len(p) || err != nil && n != 0 {
				t.Fatalf("SplitRTUResponse(% X) = %d, %v", p, n, err)
			}
			if n > 0 {
				if _, _, err := ParseRTU(p[:n]); err != nil {
					t.Fatalf("split frame % X: %v", p[:n], err)
				}
			}
		}
		n, err := SplitRTURequest(p)
		if n < 0 || n > len(p) || err != nil && n != 0 {
			t.Fatalf("SplitRTURequest(% X) = %d, %v", p, n, err)
		}
		if n > 0 {
			_, pdu, err := ParseRTU(p[:n])
			if err != nil {
				t.Fatalf("split request % X: %v", p[:n], err)
			}
			_, _ = ParseRequest(pdu)
		}
	})
}

// FuzzRTURoundtrip: a request built from fuzzed fields either fails
// validation or survives an RTU round trip unchanged.
func FuzzRTURoundtrip(f *testing.F) {
	f.Add(byte(0x11), byte(3), uint16(0x6B), uint16(3), []byte{})
	f.Add(byte(1), byte(16), uint16(1), uint16(2), []byte{0, 10, 1, 2})
	f.Add(byte(1), byte(6), uint16(1), uint16(1), []byte{0, 3})
	f.Add(byte(247), byte(4), uint16(0xFF83), uint16(125), []byte{})
	f.Fuzz(func(t *testing.T, unit, fn byte, addr, qty uint16, vals []byte) {
		req := Request{Function: fn, Address: addr, Quantity: qty}
		if fn == FuncWriteSingle || fn == FuncWriteMultiple {
			for i := 0; i+1 < len(vals); i += 2 {
				req.Values = append(req.Values, uint16(vals[i])<<8|uint16(vals[i+1]))
			}
		}
		frame, err := AppendRTURequest(nil, unit, req)
		if err != nil {
			if len(frame) != 0 {
				t.Fatalf("AppendRTURequest failed but wrote % X", frame)
			}
			return
		}
		u, pdu, err := ParseRTU(frame)
		if err != nil || u != unit {
			t.Fatalf("ParseRTU(% X) = %d, %v", frame, u, err)
		}
		back, err := ParseRequest(pdu)
		if err != nil || back.Function != req.Function || back.Address != req.Address || !equalU16(back.Values, req.Values) {
			t.Fatalf("round trip of %+v gave %+v, %v", req, back, err)
		}
		if n, err := SplitRTURequest(frame); n != len(frame) || err != nil {
			t.Fatalf("SplitRTURequest(% X) = %d, %v", frame, n, err)
		}
	})
}

// FuzzParseTCP: ParseTCP never panics, and an ADU it accepts is rebuilt
// byte for byte by AppendTCP.
func FuzzParseTCP(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		h, pdu, n, err := ParseTCP(p)
		if err != nil {
			return
		}
		if n > len(p) || n != MBAPLen+len(pdu) {
			t.Fatalf("ParseTCP(% X): n %d, PDU %d bytes", p, n, len(pdu))
		}
		if out := AppendTCP(nil, h.Transaction, h.Unit, pdu); !bytes.Equal(out, p[:n]) {
			t.Fatalf("ParseTCP(% X) → AppendTCP % X", p[:n], out)
		}
	})
}
