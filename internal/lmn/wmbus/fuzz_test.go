package wmbus

import (
	"testing"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
)

// FuzzHandle feeds arbitrary frames to a service with the two test
// meters configured: nothing may panic, and nothing stored may come from
// a frame whose decryption check failed.
func FuzzHandle(f *testing.F) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	w, h := testMeters(f)
	f.Add(w.Telegram(c.t), false)
	f.Add(h.Telegram(c.t), true)
	f.Add([]byte{0x0A, 0x44, 0xA7, 0x4D, 0x01, 0x00, 0x00, 0x10, 0x01, 0x07, 0x7A}, true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, stripped bool) {
		s := newTestService(t, c, &memSink{}, mapKeys{"heat-w": heatKey})
		fr := halwmbus.Frame{Data: data, Time: c.t}
		if stripped {
			fr.CRC = halwmbus.CRCStripped
		}
		for range 2 {
			s.Handle(fr)
		}
		st := s.Stats()
		if st.Frames != 2 || st.Stored+st.Dropped+st.Unknown+st.Unreadable != 2 {
			t.Fatalf("stats do not add up: %+v", st)
		}
	})
}
