package hdlc

import "fmt"

// LLC headers (IEC 62056-46 8.1): the first segment of every APDU sent in
// an I frame starts with one. Destination LSAP 0xE6, source LSAP 0xE6 for a
// command (client to server) or 0xE7 for a response, quality 0x00.
var (
	LLCRequest  = []byte{0xE6, 0xE6, 0x00}
	LLCResponse = []byte{0xE6, 0xE7, 0x00}
)

// StripLLC removes the LLC header from the start of an APDU: a request's
// (E6 E6 00) when response is false, a response's (E6 E7 00) when true.
func StripLLC(p []byte, response bool) ([]byte, error) {
	want := LLCRequest
	if response {
		want = LLCResponse
	}
	if len(p) < 3 || p[0] != want[0] || p[1] != want[1] || p[2] != want[2] {
		n := min(len(p), 3)
		return nil, fmt.Errorf("%w: % X, want % X", ErrLLC, p[:n], want)
	}
	return p[3:], nil
}
