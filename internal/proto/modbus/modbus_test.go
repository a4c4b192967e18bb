package modbus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestCRCVectors checks CRC16 against independent vectors: the CRC
// catalogue's check value, the worked example of the serial line
// specification (6.2.2: the frame 02 07 carries CRC 0x1241, sent 41 12)
// and frames whose CRC is widely published.
func TestCRCVectors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint16
	}{
		{hex.EncodeToString([]byte("123456789")), 0x4B37}, // CRC-16/MODBUS check value
		{"0207", 0x1241},
		{"010300000001", 0x0A84},
	} {
		if got := CRC16(unhex(t, tt.in)); got != tt.want {
			t.Errorf("CRC16(%s) = %04X, want %04X", tt.in, got, tt.want)
		}
	}
	for _, frame := range []string{
		"02 07 41 12",
		"01 03 00 00 00 01 84 0A",
		"01 03 00 00 00 0A C5 CD",
		"11 03 00 6B 00 03 76 87",
		"11 03 06 AE 41 56 52 43 40 49 AD",
	} {
		if _, _, err := ParseRTU(unhex(t, frame)); err != nil {
			t.Errorf("ParseRTU(%s) = %v", frame, err)
		}
	}
}

// specExamples are the request/response examples of the Modbus
// Application Protocol Specification V1.1b3 (6.3, 6.4, 6.6, 6.12, 7).
var specExamples = []struct {
	name     string
	req      Request
	reqPDU   string
	respPDU  string
	resp     Response
	regs     []uint16
	excCode  ExceptionCode
	excFunc  byte
	excInput string
}{
	{name: "6.3 read holding registers 108-110", req: ReadHolding(0x6B, 3),
		reqPDU: "03 00 6B 00 03", respPDU: "03 06 02 2B 00 00 00 64", regs: []uint16{555, 0, 100}},
	{name: "6.4 read input register 9", req: ReadInput(0x08, 1),
		reqPDU: "04 00 08 00 01", respPDU: "04 02 00 0A", regs: []uint16{10}},
	{name: "6.6 write register 2 to 3", req: WriteSingle(0x01, 0x03),
		reqPDU: "06 00 01 00 03", respPDU: "06 00 01 00 03", resp: Response{Function: 6, Address: 1, Value: 3, Quantity: 1}},
	{name: "6.12 write registers 2-3", req: WriteMultiple(0x01, []uint16{0x000A, 0x0102}),
		reqPDU: "10 00 01 00 02 04 00 0A 01 02", respPDU: "10 00 01 00 02", resp: Response{Function: 16, Address: 1, Quantity: 2}},
}

func TestSpecExamples(t *testing.T) {
	for _, ex := range specExamples {
		t.Run(ex.name, func(t *testing.T) {
			pdu, err := AppendRequest(nil, ex.req)
			if err != nil || !bytes.Equal(pdu, unhex(t, ex.reqPDU)) {
				t.Fatalf("AppendRequest = % X, %v; want %s", pdu, err, ex.reqPDU)
			}
			back, err := ParseRequest(pdu)
			if err != nil || back.Function != ex.req.Function || back.Address != ex.req.Address ||
				back.Quantity != ex.req.Quantity || !equalU16(back.Values, ex.req.Values) {
				t.Fatalf("ParseRequest = %+v, %v; want %+v", back, err, ex.req)
			}
			resp, err := ParseResponse(unhex(t, ex.respPDU), ex.req)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if ex.regs != nil {
				if !equalU16(resp.Registers(), ex.regs) {
					t.Fatalf("registers %v, want %v", resp.Registers(), ex.regs)
				}
			} else if resp.Function != ex.resp.Function || resp.Address != ex.resp.Address ||
				resp.Quantity != ex.resp.Quantity || resp.Value != ex.resp.Value {
				t.Fatalf("ParseResponse = %+v, want %+v", resp, ex.resp)
			}
			out, err := AppendResponse(nil, resp)
			if err != nil || !bytes.Equal(out, unhex(t, ex.respPDU)) {
				t.Fatalf("AppendResponse = % X, %v; want %s", out, err, ex.respPDU)
			}
			if ResponseLen(ex.req) != len(out) || RequestLen(ex.req) != len(pdu) {
				t.Fatalf("ResponseLen %d RequestLen %d, want %d %d", ResponseLen(ex.req), RequestLen(ex.req), len(out), len(pdu))
			}
		})
	}
}

// TestSpecException is the exception example of the specification (7):
// a request to function 1 at address 0x04A1 answered 81 02.
func TestSpecException(t *testing.T) {
	req := Request{Function: 0x01, Address: 0x04A1, Quantity: 1}
	_, err := ParseResponse(unhex(t, "81 02"), req)
	var ex *Exception
	if !errors.As(err, &ex) || ex.Function != 1 || ex.Code != ExIllegalDataAddress {
		t.Fatalf("ParseResponse = %v, want exception 2 to function 1", err)
	}
	if got := ex.Error(); got != "modbus: exception response to function 1: illegal data address (code 2)" {
		t.Errorf("Error() = %q", got)
	}
	if got := AppendException(nil, 0x01, ExIllegalDataAddress); !bytes.Equal(got, []byte{0x81, 0x02}) {
		t.Errorf("AppendException = % X", got)
	}
	names := map[ExceptionCode]string{1: "illegal function", 2: "illegal data address", 3: "illegal data value",
		4: "server device failure", 5: "acknowledge", 6: "server device busy", 8: "memory parity error",
		10: "gateway path unavailable", 11: "gateway target device failed to respond", 7: "exception 0x07"}
	for c, n := range names {
		if c.String() != n || c.Known() != (c != 7) {
			t.Errorf("code %d: %q known=%v", c, c.String(), c.Known())
		}
	}
}

func equalU16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLimits(t *testing.T) {
	ok := []Request{ReadHolding(0, 1), ReadHolding(0, 125), ReadInput(0xFFFF-124, 125), WriteMultiple(0, make([]uint16, 123)), WriteSingle(0xFFFF, 1)}
	for _, r := range ok {
		if _, err := AppendRequest(nil, r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := []struct {
		r    Request
		want error
	}{
		{ReadHolding(0, 0), ErrRange},
		{ReadHolding(0, 126), ErrRange},
		{ReadInput(0xFFFF, 2), ErrRange},
		{WriteMultiple(0, make([]uint16, 124)), ErrRange},
		{WriteMultiple(0, nil), ErrRange},
		{Request{Function: 16, Quantity: 2, Values: []uint16{1}}, ErrRange},
		{Request{Function: 6}, ErrRange},
		{Request{Function: 3, Quantity: 1, Values: []uint16{1}}, ErrRange},
		{Request{Function: 1, Quantity: 1}, ErrFunction},
	}
	for _, tt := range bad {
		if _, err := AppendRequest(nil, tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.r, err, tt.want)
		}
	}
	if _, err := AppendRTURequest(nil, 248, ReadHolding(0, 1)); !errors.Is(err, ErrRange) {
		t.Errorf("unit 248: %v", err)
	}
	if _, err := AppendResponse(nil, Response{Function: 3, Data: make([]byte, 252)}); !errors.Is(err, ErrRange) {
		t.Errorf("126 registers answered: %v", err)
	}
}

func TestParseResponseErrors(t *testing.T) {
	req := ReadHolding(0x6B, 3)
	for _, tt := range []struct {
		pdu  string
		want error
	}{
		{"", ErrShort},
		{"03", ErrShort},
		{"03 06 02 2B 00 00 00", ErrShort},
		{"03 06 02 2B 00 00 00 64 00", ErrFrame},
		{"03 05 02 2B 00 00 00", ErrFrame},
		{"03 04 02 2B 00 00", ErrMismatch},
		{"04 06 02 2B 00 00 00 64", ErrMismatch},
		{"84 02", ErrMismatch},
		{"83", ErrShort},
		{"83 02 00", ErrFrame},
	} {
		if _, err := ParseResponse(unhex(t, tt.pdu), req); !errors.Is(err, tt.want) {
			t.Errorf("ParseResponse(%s) = %v, want %v", tt.pdu, err, tt.want)
		}
	}
	if _, err := ParseResponse(unhex(t, "06 00 02 00 03"), WriteSingle(1, 3)); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong address echoed: %v", err)
	}
	if _, err := ParseResponse(unhex(t, "06 00 01 00 04"), WriteSingle(1, 3)); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong value echoed: %v", err)
	}
	if _, err := ParseResponse(unhex(t, "10 00 01 00 03"), WriteMultiple(1, []uint16{1, 2})); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong quantity echoed: %v", err)
	}
}

func TestRTU(t *testing.T) {
	// Example of the serial line specification's Figure 12 style: unit
	// 0x11, read 3 holding registers from 0x6B.
	frame, err := AppendRTURequest(nil, 0x11, ReadHolding(0x6B, 3))
	if err != nil || !bytes.Equal(frame, unhex(t, "11 03 00 6B 00 03 76 87")) {
		t.Fatalf("AppendRTURequest = % X, %v", frame, err)
	}
	if n, err := SplitRTURequest(frame); n != 8 || err != nil {
		t.Fatalf("SplitRTURequest = %d, %v", n, err)
	}
	resp := unhex(t, "11 03 06 AE 41 56 52 43 40 49 AD")
	for i := range len(resp) {
		if n, err := SplitRTUResponse(resp[:i], 0x11, ReadHolding(0x6B, 3)); n != 0 || err != nil {
			t.Fatalf("SplitRTUResponse of %d bytes = %d, %v", i, n, err)
		}
	}
	withMore := append(append([]byte(nil), resp...), 0x11, 0x03)
	if n, err := SplitRTUResponse(withMore, 0x11, ReadHolding(0x6B, 3)); n != len(resp) || err != nil {
		t.Fatalf("SplitRTUResponse = %d, %v", n, err)
	}
	unit, pdu, err := ParseRTU(resp)
	if err != nil || unit != 0x11 {
		t.Fatal(unit, err)
	}
	r, err := ParseResponse(pdu, ReadHolding(0x6B, 3))
	if err != nil || !equalU16(r.Registers(), []uint16{0xAE41, 0x5652, 0x4340}) || r.Register(3) != 0 || r.Register(-1) != 0 {
		t.Fatalf("ParseResponse = %v, %v", r.Registers(), err)
	}
	garbled := append([]byte(nil), resp...)
	garbled[4] ^= 0x10
	if _, err := SplitRTUResponse(garbled, 0x11, ReadHolding(0x6B, 3)); !errors.Is(err, ErrCRC) {
		t.Errorf("garbled: %v", err)
	}
	if _, err := SplitRTUResponse(resp, 0x12, ReadHolding(0x6B, 3)); !errors.Is(err, ErrMismatch) {
		t.Errorf("other unit: %v", err)
	}
	if _, err := SplitRTUResponse(resp, 0x11, ReadInput(0x6B, 3)); !errors.Is(err, ErrMismatch) {
		t.Errorf("other function: %v", err)
	}
	if _, err := SplitRTUResponse(unhex(t, "11 03 07"), 0x11, ReadHolding(0x6B, 3)); !errors.Is(err, ErrFrame) {
		t.Errorf("odd byte count: %v", err)
	}
	exc := AppendRTU(nil, 0x11, AppendException(nil, 3, ExServerDeviceBusy))
	if n, err := SplitRTUResponse(exc, 0x11, ReadHolding(0x6B, 3)); n != 5 || err != nil {
		t.Errorf("exception: %d, %v", n, err)
	}
	if RTUResponseLen(ReadHolding(0, 125)) != 255 || RTUResponseLen(WriteSingle(0, 0)) != 8 || RTUResponseLen(Request{}) != 0 {
		t.Error("RTUResponseLen")
	}
	if _, _, err := ParseRTU(make([]byte, 257)); !errors.Is(err, ErrFrame) {
		t.Errorf("long frame: %v", err)
	}
	if _, _, err := ParseRTU([]byte{1, 2, 3}); !errors.Is(err, ErrShort) {
		t.Errorf("short frame: %v", err)
	}
	if n, err := SplitRTURequest(unhex(t, "01 10 00 00 00 01")); n != 0 || err != nil {
		t.Errorf("partial fc16 request: %d %v", n, err)
	}
	if _, err := SplitRTURequest(unhex(t, "01 10 00 00 00 01 03")); !errors.Is(err, ErrFrame) {
		t.Errorf("odd fc16 byte count: %v", err)
	}
	if _, err := SplitRTURequest(unhex(t, "01 2B")); !errors.Is(err, ErrFunction) {
		t.Errorf("function 43: %v", err)
	}
}

// TestTCP checks the MBAP framing with the example of the TCP
// implementation guide's layout: transaction 1, protocol 0, length 6,
// unit 0x11, read 3 holding registers from 0x6B.
func TestTCP(t *testing.T) {
	pdu, _ := AppendRequest(nil, ReadHolding(0x6B, 3))
	adu := AppendTCP(nil, 1, 0x11, pdu)
	if want := unhex(t, "00 01 00 00 00 06 11 03 00 6B 00 03"); !bytes.Equal(adu, want) {
		t.Fatalf("AppendTCP = % X", adu)
	}
	stream := append(append([]byte(nil), adu...), adu[:3]...)
	h, got, n, err := ParseTCP(stream)
	if err != nil || n != len(adu) || h != (MBAP{Transaction: 1, Length: 6, Unit: 0x11}) || !bytes.Equal(got, pdu) {
		t.Fatalf("ParseTCP = %+v % X %d %v", h, got, n, err)
	}
	if _, _, _, err := ParseTCP(stream[n:]); !errors.Is(err, ErrShort) {
		t.Errorf("partial header: %v", err)
	}
	if _, _, _, err := ParseTCP(adu[:10]); !errors.Is(err, ErrShort) {
		t.Errorf("partial PDU: %v", err)
	}
	for _, bad := range []string{"00 01 00 01 00 06 11", "00 01 00 00 00 01 11", "00 01 00 00 00 FF 11"} {
		if _, _, _, err := ParseTCP(unhex(t, bad)); !errors.Is(err, ErrFrame) {
			t.Errorf("ParseTCP(%s) = %v", bad, err)
		}
	}
}

// TestTiming checks t1.5 and t3.5 against the serial line specification
// (2.5.1.1): character times below 19200 baud, fixed above.
func TestTiming(t *testing.T) {
	for _, tt := range []struct {
		baud, bits int
		char, t15  time.Duration
		t35        time.Duration
	}{
		{9600, 11, 1145833, 1718749, 4010415},
		{9600, 10, 1041666, 1562499, 3645831},
		{19200, 11, 572916, 859374, 2005206},
		{38400, 11, 286458, 750 * time.Microsecond, 1750 * time.Microsecond},
		{115200, 10, 86805, 750 * time.Microsecond, 1750 * time.Microsecond},
		{0, 11, 0, 0, 0},
	} {
		if c := CharTime(tt.baud, tt.bits); c != tt.char {
			t.Errorf("CharTime(%d, %d) = %d", tt.baud, tt.bits, c)
		}
		if d := InterCharTimeout(tt.baud, tt.bits); d != tt.t15 {
			t.Errorf("InterCharTimeout(%d, %d) = %d, want %d", tt.baud, tt.bits, d, tt.t15)
		}
		if d := InterFrameDelay(tt.baud, tt.bits); d != tt.t35 {
			t.Errorf("InterFrameDelay(%d, %d) = %d, want %d", tt.baud, tt.bits, d, tt.t35)
		}
	}
	if CharBits(8, true, 1) != 11 || CharBits(8, false, 2) != 11 || CharBits(8, false, 1) != 10 {
		t.Error("CharBits")
	}
	if WireTime(96, 9600, 10) != 100*time.Millisecond || WireTime(0, 9600, 10) != 0 {
		t.Error("WireTime")
	}
}
