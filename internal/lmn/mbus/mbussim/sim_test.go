package mbussim

import (
	"bytes"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

var t0 = time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)

func tg(t *testing.T, p []byte) pmbus.Telegram {
	t.Helper()
	x, err := pmbus.ParseTelegram(p)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The frame count bit: toggled, the next telegram of a multi-telegram
// read; unchanged, the last one again; after the last, a fresh read.
func TestFCBAndTelegrams(t *testing.T) {
	now := t0
	m, err := New(&Options{Primary: 5, ID: 0x12345678, Medium: pmbus.DevHeatOutlet, History: 12, PerTelegram: 6, Now: func() time.Time { return now }, Since: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if a := m.handle(tg(t, pmbus.AppendSndNKE(nil, 5))); !bytes.Equal(a, []byte{pmbus.Ack}) {
		t.Fatalf("SND_NKE: % X", a)
	}
	var got [][]byte
	fcb := true
	for i := 0; i < 3; i++ {
		a := m.handle(tg(t, pmbus.AppendReqUD2(nil, 5, fcb)))
		if again := m.handle(tg(t, pmbus.AppendReqUD2(nil, 5, fcb))); !bytes.Equal(a, again) {
			t.Fatalf("telegram %d not repeated with the same FCB", i+1)
		}
		got = append(got, a)
		fcb = !fcb
	}
	var energy meter.Value
	for i, a := range got {
		r, err := pmbus.ParseResponse(a, nil, 0xFF, nil)
		if err != nil {
			t.Fatalf("telegram %d: %v", i+1, err)
		}
		if r.More != (i < 2) || r.Header.Address != m.Address() || r.A != 5 {
			t.Fatalf("telegram %d: more %v header %+v", i+1, r.More, r.Header)
		}
		if i == 0 {
			energy = r.Records[0].Value
		}
	}
	if energy != meter.V(m.EnergyWh(now), 3) || m.EnergyWh(now) != 1_234_000+3*3600 {
		t.Fatalf("energy %v, want %d kWh", energy, m.EnergyWh(now))
	}
	// After the last telegram, a toggled FCB starts a fresh read.
	now = now.Add(time.Minute)
	a := m.handle(tg(t, pmbus.AppendReqUD2(nil, 5, fcb)))
	r, _ := pmbus.ParseResponse(a, nil, 0xFF, nil)
	if !r.More || r.Records[0].Value != meter.V(m.EnergyWh(now), 3) {
		t.Fatalf("fresh read: %+v", r.Records[0])
	}
	// Not addressed: silence.
	if a := m.handle(tg(t, pmbus.AppendReqUD2(nil, 6, true))); a != nil {
		t.Fatalf("answered for address 6: % X", a)
	}
}

// Selection by secondary address with wildcards, and deselection.
func TestSelection(t *testing.T) {
	m, _ := New(&Options{Primary: 0, ID: 0x12345678, Medium: pmbus.DevWater})
	sel := func(s string) []byte {
		sa, err := pmbus.ParseSecondaryAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		return m.handle(tg(t, pmbus.AppendSelect(nil, sa, false)))
	}
	if a := sel("1234FFFF"); !bytes.Equal(a, []byte{pmbus.Ack}) {
		t.Fatalf("wildcard selection: % X", a)
	}
	a := m.handle(tg(t, pmbus.AppendReqUD2(nil, pmbus.AddrNetwork, true)))
	if r, err := pmbus.ParseResponse(a, nil, 0xFF, nil); err != nil || r.A != pmbus.AddrNetwork || r.Header.Address.ID != 0x12345678 {
		t.Fatalf("%+v %v", r, err)
	}
	if a := sel("2FFFFFFF"); a != nil {
		t.Fatalf("non-matching selection answered % X", a)
	}
	if a := m.handle(tg(t, pmbus.AppendReqUD2(nil, pmbus.AddrNetwork, false))); a != nil {
		t.Fatalf("deselected meter answered % X", a)
	}
	sel("12345678")
	m.handle(tg(t, pmbus.AppendSndNKE(nil, pmbus.AddrNetwork)))
	if a := m.handle(tg(t, pmbus.AppendReqUD2(nil, pmbus.AddrNetwork, false))); a != nil {
		t.Fatalf("meter answered after SND_NKE to 253: % X", a)
	}
}

// Mode 2 (CI 0x76) and short-header answers decode to the same values.
func TestModes(t *testing.T) {
	for _, ci := range []byte{pmbus.CIRspLong, pmbus.CIRspLongMSB, pmbus.CIRspShort, pmbus.CIRspNoHeader} {
		m, _ := New(&Options{Primary: 1, Medium: pmbus.DevElectricity, CI: ci, Now: func() time.Time { return t0 }})
		a := m.handle(tg(t, pmbus.AppendReqUD2(nil, 1, false)))
		r, err := pmbus.ParseResponse(a, nil, pmbus.DevElectricity, nil)
		if err != nil || r.Records[0].OBIS.String() != "1-0:1.8.0*255" || r.Records[0].Value != meter.V(m.EnergyWh(t0), 0) ||
			r.Records[3].OBIS.String() != "1-0:1.7.0*255" {
			t.Fatalf("CI %02X: %+v %v", ci, r, err)
		}
	}
}

func TestCollide(t *testing.T) {
	if c := collide([][]byte{{0xE5}, {0xE5}}); !bytes.Equal(c, []byte{0xE5}) {
		t.Fatalf("% X", c)
	}
	c := collide([][]byte{{0x68, 0x10, 0x10}, {0x68, 0x0F}})
	if !bytes.Equal(c, []byte{0x68, 0x00 ^ 0x5A, 0x10 ^ 0x5A}) {
		t.Fatalf("% X", c)
	}
	if _, err := New(&Options{ID: 0x1234567A}); err == nil {
		t.Fatal("hex digit accepted in the identification number")
	}
}
