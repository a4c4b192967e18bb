package config

import (
	"strings"
	"testing"
)

func TestHANExtraConfig(t *testing.T) {
	c, err := Parse("h.toml", []byte(modbusBase+`
[han]
enabled = true
interface = "han0"

[mdns]
enabled = true
level = "-S1"

[hass]
enabled = true
broker = "mqtts://192.168.7.20:8883"
ca_file = "/etc/smgw/ha-ca.pem"
meters = ["elec-1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.MDNS.Enabled || c.MDNS.Level != "-S1" || c.HASS.Broker != "mqtts://192.168.7.20:8883" || len(c.HASS.Meters) != 1 {
		t.Fatalf("mdns %+v hass %+v", c.MDNS, c.HASS)
	}
}

func TestHANExtraProblems(t *testing.T) {
	_, err := Parse("h.toml", []byte(modbusBase+`
[mdns]
enabled = true
instance = "a.b"
level = "x y"

[hass]
enabled = true
broker = "http://ha:1883"
ca_file = "ca.pem"
base_topic = "smgw/#"
meters = ["bad id"]
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"mdns.enabled: DNS-SD advertises the HAN service on han.interface",
		"mdns.instance: \"a.b\"",
		"mdns.level: \"x y\"",
		"hass.broker: \"http://ha:1883\": want mqtt://host:port or mqtts://host:port",
		"hass.ca_file: \"ca.pem\": want an absolute path",
		"hass.base_topic: \"smgw/#\"",
		"hass.meters[0]:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := Parse("h.toml", []byte(modbusBase+"[hass]\nenabled = true\n")); err == nil || !strings.Contains(err.Error(), "hass.broker: required") {
		t.Errorf("hass without broker: %v", err)
	}
}
