package zcl

import (
	"bytes"
	"testing"
)

func addFrameSeeds(f *testing.F) {
	cl, frames := readFrames(f)
	for i, b := range frames {
		f.Add(cl[i], b)
	}
}

// FuzzParseFrame: no input panics; a frame that parses re-encodes to the
// same bytes; every payload decoder survives every payload.
func FuzzParseFrame(f *testing.F) {
	addFrameSeeds(f)
	f.Fuzz(func(t *testing.T, cluster uint16, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		if fc := b[0] &^ fcReserved; fc != fr.FrameControl() {
			t.Fatalf("frame control 0x%02x decoded to 0x%02x", fc, fr.FrameControl())
		}
		if got := AppendFrame(nil, fr); !bytes.Equal(got[1:], b[1:]) {
			t.Fatalf("re-encoded % x, want % x", got, b)
		}
		decodePayload(cluster, fr)
		for _, c := range []uint16{ClusterPrice, ClusterMetering, ClusterMessaging, ClusterDRLC} {
			for _, d := range []Direction{ClientToServer, ServerToClient} {
				g := fr
				g.Type, g.Direction = FrameCluster, d
				decodePayload(c, g)
			}
		}
	})
}

// FuzzAttrValues: attribute records that parse re-encode to the same bytes.
func FuzzAttrValues(f *testing.F) {
	_, frames := readFrames(f)
	for _, b := range frames {
		if fr, err := ParseFrame(b); err == nil {
			f.Add(fr.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		recs, err := ParseAttrValues(p)
		if err == nil {
			got, err := AppendAttrValues(nil, recs)
			if err != nil {
				t.Fatalf("re-encoding %v: %v", recs, err)
			}
			if !bytes.Equal(got, p) && !hasFloatNaN(recs) {
				t.Fatalf("re-encoded % x, want % x", got, p)
			}
		}
		if rr, err := ParseReadAttributesResponse(p); err == nil {
			if _, err := AppendReadAttributesResponse(nil, rr); err != nil {
				t.Fatalf("re-encoding %v: %v", rr, err)
			}
		}
		if cr, err := ParseConfigureReporting(p); err == nil {
			got, err := AppendConfigureReporting(nil, cr)
			if err != nil || !bytes.Equal(got, p) && !hasFloatType(cr) {
				t.Fatalf("configure reporting re-encoded % x (%v), want % x", got, err, p)
			}
		}
		if rc, err := ParseReadReportingConfigResponse(p); err == nil {
			if _, err := AppendReadReportingConfigResponse(nil, rc); err != nil {
				t.Fatalf("re-encoding %v: %v", rc, err)
			}
		}
	})
}

func hasFloatNaN(recs []AttrValue) bool {
	for _, r := range recs {
		if types[r.Value.Type].class == 'f' {
			return true // NaN payloads do not round trip bit for bit
		}
	}
	return false
}

func hasFloatType(cs []ReportingConfig) bool {
	for _, c := range cs {
		if types[c.Type].class == 'f' {
			return true
		}
	}
	return false
}

// FuzzValue: every supported type decodes any bytes without panicking,
// and what decodes re-encodes to the bytes it took.
func FuzzValue(f *testing.F) {
	for t := range types {
		f.Add(uint8(t), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
		f.Add(uint8(t), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, ty uint8, p []byte) {
		v, n, err := ParseValue(Type(ty), p)
		if err != nil {
			return
		}
		if n > len(p) {
			t.Fatalf("took %d of %d bytes", n, len(p))
		}
		got, err := AppendValue(nil, v)
		if err != nil {
			if types[Type(ty)].class == 'f' {
				return
			}
			t.Fatalf("re-encoding %v: %v", v, err)
		}
		if types[Type(ty)].class != 'f' && !bytes.Equal(got, p[:n]) {
			t.Fatalf("%s: re-encoded % x, want % x", Type(ty), got, p[:n])
		}
		_ = v.String()
	})
}
