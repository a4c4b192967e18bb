package config

import (
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/meter"
)

func TestDLMSConfig(t *testing.T) {
	c, err := Parse("d.toml", []byte(modbusBase+`
[[meter]]
id = "dlms-1"
driver = "dlms"
port = "/dev/ttyUSB1"
baud = 9600
server_physical = 17
auth = "low"
password = "12345678"
registers = ["1.0.1.8.0.255", "1-0:2.8.0*255"]

[[meter]]
id = "dlms-2"
driver = "dlms"
port = "/dev/ttyUSB1"
server_physical = 18
auth = "high"
load_profile = "none"
clock_limit = "30s"
clock_mode = "shift"
window = 1
max_info = 128

[[meter]]
id = "dlms-3"
driver = "dlms"
tcp = "192.168.1.30:4059"
wrapper = true
`))
	if err != nil {
		t.Fatal(err)
	}
	lines := c.DLMSLines()
	if len(lines) != 2 || len(lines[0].Meters) != 2 || lines[0].Baud != 9600 || lines[1].Name() != "192.168.1.30:4059" {
		t.Fatalf("lines %+v", lines)
	}
	m := lines[0].Meters[0]
	if r := m.DLMSRegisters(); len(r) != 2 || r[1] != meter.MustOBIS("1.0.2.8.0.255") {
		t.Fatalf("registers %v", r)
	}
	if o, ok := m.DLMSLoadProfile(); !ok || o != meter.MustOBIS("1.0.99.1.0.255") {
		t.Fatalf("load profile %v %v", o, ok)
	}
	if _, ok := lines[0].Meters[1].DLMSLoadProfile(); ok {
		t.Fatal("load_profile none has a profile")
	}
}

func TestDLMSConfigProblems(t *testing.T) {
	_, err := Parse("d.toml", []byte(modbusBase+`
[[meter]]
id = "dlms-1"
driver = "dlms"
auth = "medium"
registers = ["1.8.0"]
load_profile = "1.0.1.8.0.255"
window = 9

[[meter]]
id = "dlms-2"
driver = "dlms"
port = "/dev/ttyUSB1"
password = "x"
clock_mode = "jump"
unit = 3

[[meter]]
id = "sim-1"
driver = "sim"
profile = "water"
auth = "low"
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"d.toml:7: meter[0].port: is required for a dlms meter", // reported at the table: no port key
		"meter[0].auth: unknown authentication \"medium\"",
		"meter[0].registers: registers[0]",
		"d.toml:12: meter[0].load_profile: 1.0.1.8.0.255 is not a profile",
		"meter[0].window: 9 is out of range",
		"meter[1].password: applies to auth = \"low\" only",
		"meter[1].clock_mode: unknown clock mode \"jump\"",
		"meter[1].unit: applies to driver \"modbus\" only",
		"meter[2].auth: applies to driver \"dlms\" only",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
