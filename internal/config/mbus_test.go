package config

import (
	"strings"
	"testing"
)

func TestMBusConfig(t *testing.T) {
	c, err := Parse("b.toml", []byte(modbusBase+`
[[bus]]
port = "/dev/ttyUSB2"
baud = 9600
rs485 = true
timeout_ms = 400

[[meter]]
id = "heat-1"
driver = "mbus"
port = "/dev/ttyUSB2"
address = "5"

[[meter]]
id = "water-1"
driver = "mbus"
port = "/dev/ttyUSB2"
address = "12345678"
manufacturer = "ABB"
medium = "cold water"
interval = "1h"

[[meter]]
id = "elec-1"
driver = "mbus"
tcp = "192.168.1.40:10001"
address = "0011223324400102"
`))
	if err != nil {
		t.Fatal(err)
	}
	lines := c.MBusLines()
	if len(lines) != 2 || len(lines[0].Meters) != 2 || lines[0].Baud != 9600 || !lines[0].RS485 || lines[0].TimeoutMS != 400 ||
		lines[1].Baud != DefaultMBusBaud || lines[1].Name() != "192.168.1.40:10001" {
		t.Fatalf("lines %+v", lines)
	}
	if p, sec, ok := lines[0].Meters[0].MBusAddress(); !ok || p != 5 || sec != nil {
		t.Fatalf("heat-1: %d %v %v", p, sec, ok)
	}
	if _, sec, ok := lines[0].Meters[1].MBusAddress(); !ok || sec.IDString() != "12345678" || sec.Manufacturer.String() != "ABB" || sec.Version != 0xFF {
		t.Fatalf("water-1: %v %v", sec, ok)
	}
	if _, sec, ok := lines[1].Meters[0].MBusAddress(); !ok || sec.String() != "0011223324400102" {
		t.Fatalf("elec-1: %v %v", sec, ok)
	}
}

func TestMBusConfigProblems(t *testing.T) {
	_, err := Parse("b.toml", []byte(modbusBase+`
[[meter]]
id = "m-1"
driver = "mbus"
address = "251"

[[meter]]
id = "m-2"
driver = "mbus"
port = "/dev/ttyUSB2"
address = "7"
baud = 14400
parity = "none"

[[meter]]
id = "m-3"
driver = "mbus"
port = "/dev/ttyUSB2"
address = "7"
manufacturer = "ABB"

[[meter]]
id = "m-4"
driver = "mbus"
port = "/dev/ttyUSB2"
address = "1234FFFF"

[[meter]]
id = "m-5"
driver = "mbus"
port = "/dev/ttyUSB2"

[[meter]]
id = "m-6"
driver = "mbus"
port = "/dev/ttyUSB3"
address = "12345678"
manufacturer = "A1"
medium = "lava"

[[meter]]
id = "modbus-1"
driver = "modbus"
port = "/dev/ttyUSB3"
unit = 1
profile = "sdm630"
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"meter[0].port: is required for an mbus meter",
		"meter[0].address: \"251\" is neither a primary address",
		"meter[1].baud: 14400 is not an M-Bus baud rate",
		"meter[1].parity: does not apply to driver \"mbus\"",
		"meter[2].address: primary address 7 on /dev/ttyUSB2 is also meter[1]",
		"meter[2].manufacturer: applies to a secondary address only",
		"meter[3].address: \"1234FFFF\" is neither",
		"meter[4].address: is required for an mbus meter",
		"meter[5].manufacturer: \"A1\" is not a three-letter manufacturer code",
		"meter[5].medium: unknown medium \"lava\"",
		"meter[5].port: /dev/ttyUSB3 is also the line of meter[6] (driver \"modbus\")",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "applies to driver \"modbus\" only") {
		t.Errorf("port/baud of an mbus meter reported as modbus-only:\n%v", err)
	}
}
