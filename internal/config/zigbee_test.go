package config

import (
	"strings"
	"testing"
)

func TestZigbeeConfig(t *testing.T) {
	c, err := Parse("z.toml", []byte(modbusBase+`
[[meter]]
id = "elec-1"
driver = "sim"
profile = "electricity"
[[meter]]
id = "gas-1"
driver = "sim"
profile = "water"

[zigbee]
enabled = true
port = "/dev/ttyACM0"
channel = 20
pan_id = 0x1A62
extended_pan_id = "00:12:4b:00:01:02:03:04"
electricity = "elec-1"
gas = "gas-1"
provider_id = 7
`))
	if err != nil {
		t.Fatal(err)
	}
	z := c.Zigbee
	if !z.Enabled || z.Port != "/dev/ttyACM0" || z.Channel != 20 || z.PANID != 0x1A62 || z.Electricity != "elec-1" || z.Gas != "gas-1" || z.ProviderID != 7 {
		t.Errorf("%+v", z)
	}
	if v, err := ParseEUI64Hex(z.ExtendedPANID); err != nil || v != 0x00124b0001020304 {
		t.Errorf("extended PAN id %x %v", v, err)
	}
}

func TestZigbeeConfigProblems(t *testing.T) {
	_, err := Parse("z.toml", []byte(modbusBase+`
[zigbee]
enabled = true
port = "ttyACM0"
driver = "ezsp"
channel = 27
pan_id = 70000
extended_pan_id = "0000000000000000"
water = "nope"
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"zigbee.port", "zigbee.driver", "zigbee.channel", "zigbee.pan_id", "zigbee.extended_pan_id",
		"zigbee.electricity", `zigbee.water: meter "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
