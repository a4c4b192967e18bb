package sep2

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "s=3&l=20", "l=9999", "a=1700000000&l=0", "s=-1", "a=1e3", "s=2147483648", "l=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := ParseQuery(v)
		if err != nil {
			return
		}
		if p.Start < 0 || p.Limit < 0 || p.Limit > MaxResults {
			t.Fatalf("%q: %+v out of range", raw, p)
		}
		for _, n := range []int{0, 1, 7, 300} {
			lo, hi := p.window(n, func(i int) int64 { return int64(i) })
			if lo < 0 || hi < lo || hi > n || hi-lo > p.Limit {
				t.Fatalf("%q: window(%d) = %d, %d", raw, n, lo, hi)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add(drResponse(mRID("EndDeviceControl", "dr-active"), StatusOptOut))
	f.Add([]byte(`<TextResponse xmlns="http://ieee.org/2030.5"><endDeviceLFDI>AB</endDeviceLFDI><status>1</status><subject>00</subject></TextResponse>`))
	f.Add([]byte(`<Response xmlns="http://ieee.org/2030.5"><endDeviceLFDI>AB</endDeviceLFDI><subject>AB</subject><status>256</status></Response>`))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			return
		}
		if len(r.Subject) == 0 || len(r.Subject) > 32 || len(r.EndDeviceLFDI) > 40 || strings.ToUpper(r.Subject) != r.Subject {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// FuzzHandler requests arbitrary paths, queries and bodies of the
// handler over the test fixture: never a panic, never a 5xx.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{"/sep2/dcap", "/sep2/upt/elec-1/mr/0100010800ff/rs/1773100800/r?l=3&a=1", "/sep2/tp/home-2026/rc/0/tti/1773126000/cti/1",
		"/sep2/drp/0/edc/dr-active", "/sep2/msg/0/acttm?s=1", "/sep2/rsps/0/rsp", "/sep2/upt/%2e%2e/mr", "/sep2//upt"} {
		f.Add("GET", s, []byte(nil))
	}
	f.Add("POST", "/sep2/rsps/0/rsp", drResponse(mRID("EndDeviceControl", "dr-active"), StatusOptOut))
	h := newFixture(f).handler(nil)
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		switch method {
		case "GET", "HEAD", "POST", "PUT":
		default:
			return
		}
		if !strings.HasPrefix(target, "/sep2/") {
			return
		}
		if _, err := url.ParseRequestURI(target); err != nil || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // not a request line a client can send
		}
		r := get(h, method, target, body)
		if r.code >= 500 {
			t.Fatalf("%s %s: %d %s", method, target, r.code, r.body)
		}
	})
}
