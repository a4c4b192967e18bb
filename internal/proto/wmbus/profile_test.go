package wmbus

import (
	"errors"
	"testing"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

const testProfile = `
# a test profile
meter abc-mfct
  match ABC type=07 ci=A0
  field 0 2 uint quantity=previous quantity_unused=x
`

// The profile language end to end: a manufacturer CI with fixed fields,
// a sum, a gate, an invalid marker; a records CI with vif rules and
// fields inside manufacturer data.
func TestProfileDirectives(t *testing.T) {
	if _, err := ParseProfiles("p.prof", []byte(testProfile)); !errors.Is(err, ErrProfile) {
		t.Fatalf("unknown option accepted: %v", err)
	}
	ps, err := ParseProfiles("p.prof", []byte(`
meter abc-mfct
  match ABC type=07 ci=A0
  expect 0 AA
  field 1 2 uint quantity=previous unit=m3 exp=-1 storage=1 obis=8-0:1.0.0*1
  field 3 2 bcd quantity=current unit=m3 exp=-1
  field 5 2 uint quantity=temp unit=°C factor=0.00390625 invalid=8000
  sum quantity=volume unit=m3 of=previous,current obis=8-0:1.0.0

meter abc-based
  match ABC type=07 ci=A1
  base 0 1
  expect 0 A0
  field 1 2 uint quantity=volume unit=m3 exp=-3

meter abc-records
  match ABC type=07 ci=7A
  series 9313
  vif FF07 quantity=special unit=Wh exp=2
  vif 13 storage=1 quantity=volume_at_due_date unit=m3 exp=-3
  field 1 2 uint in=mfct quantity=mfct_value unit=count
`))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&Options{Profiles: ps})
	var tg Telegram
	// CI A0: AA | 0A 00 (1.0) | 25 00 (BCD 2.5) | 00 19 (25 °C) … with the invalid temperature next.
	f := withL(append(linkLayer(), 0xA0, 0xAA, 0x0A, 0x00, 0x25, 0x00, 0x00, 0x19))
	if err := d.Decode(f, nil, &tg); err != nil {
		t.Fatal(err)
	}
	want := map[mbus.Quantity]meter.Value{"previous": meter.V(10, -1), "current": meter.V(25, -1), "temp": meter.V(25*390625*256, -8), "volume": meter.V(35, -1)}
	if len(tg.Records) != 4 || tg.Profile != "abc-mfct" {
		t.Fatalf("%d records, profile %q", len(tg.Records), tg.Profile)
	}
	for _, r := range tg.Records {
		if r.Value.Cmp(want[r.Quantity]) != 0 {
			t.Errorf("%s = %s, want %s", r.Quantity, r.Value, want[r.Quantity])
		}
	}
	if tg.Records[3].OBIS != meter.OBISVolumeWater {
		t.Errorf("sum OBIS %v", tg.Records[3].OBIS)
	}
	// invalid marker: the field is left out
	f = withL(append(linkLayer(), 0xA0, 0xAA, 0x0A, 0x00, 0x25, 0x00, 0x00, 0x80))
	if err := d.Decode(f, nil, &tg); err != nil || len(tg.Records) != 3 {
		t.Fatalf("invalid marker: %v, %d records", err, len(tg.Records))
	}
	// the gate fails: no fields, no error
	f = withL(append(linkLayer(), 0xA0, 0xBB, 0x0A, 0x00, 0x25, 0x00, 0x00, 0x19))
	if err := d.Decode(f, nil, &tg); err != nil || len(tg.Records) != 0 {
		t.Fatalf("gate: %v, %d records", err, len(tg.Records))
	}
	// too short for the fields: truncated
	f = withL(append(linkLayer(), 0xA0, 0xAA, 0x0A))
	if err := d.Decode(f, nil, &tg); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short: %v", err)
	}
	// base: a header whose length is its first byte
	f = withL(append(linkLayer(), 0xA1, 0x02, 0xEE, 0xEE, 0xA0, 0x39, 0x30))
	if err := d.Decode(f, nil, &tg); err != nil || len(tg.Records) != 1 || tg.Records[0].Value != meter.V(12345, -3) {
		t.Fatalf("base: %v %+v", err, tg.Records)
	}
	f = withL(append(linkLayer(), 0xA1, 0x09, 0xEE))
	if err := d.Decode(f, nil, &tg); !errors.Is(err, ErrTruncated) {
		t.Fatalf("base beyond the data: %v", err)
	}
	// a series: 2 values of 32 bits, one "no value", most recent first
	f = withL(append(append(linkLayer(), shortTPL(1, 0)...), 0x4D, 0x93, 0x13, 0x0E, 0x34, 0xFE,
		0x05, 0, 0, 0, 0, 0, 0, 0x80, 0x07, 0, 0, 0))
	if err := d.Decode(f, nil, &tg); err != nil {
		t.Fatal(err)
	}
	if len(tg.Records) != 3 || tg.Records[0].Kind != mbus.KindBytes || tg.Records[1].Value != meter.V(5, -3) ||
		tg.Records[1].Storage != 1 || tg.Records[2].Storage != 3 || tg.Records[2].OBIS != meter.MustOBIS("8-0:1.0.0*3") {
		t.Fatalf("series: %+v", tg.Records)
	}
	// records CI: vif rules (by VIB and storage) and a field in manufacturer data
	f = withL(append(append(linkLayer(), shortTPL(1, 0)...), 0x04, 0xFF, 0x07, 0x01, 0, 0, 0, 0x42, 0x13, 0x05, 0x00, 0x0F, 0x00, 0x07, 0x00))
	if err := d.Decode(f, nil, &tg); err != nil {
		t.Fatal(err)
	}
	got := map[mbus.Quantity]string{}
	for _, r := range tg.Records {
		got[r.Quantity] = r.Value.String() + " " + r.Unit.String()
	}
	if got["special"] != "100 Wh" || got["volume_at_due_date"] != "0.005 m³" || got["mfct_value"] != "7 count" {
		t.Fatalf("%v", got)
	}
}
