package config

import (
	"strings"
	"testing"
)

const modbusBase = `[gateway]
data_dir = "/tmp/x"
runtime_dir = "/tmp/x"
[security]
allow_insecure = true
`

// TestModbusConfig parses a configuration with two lines and checks the
// resolved lines.
func TestModbusConfig(t *testing.T) {
	c, err := Parse("m.toml", []byte(modbusBase+`
[[bus]]
port = "/dev/ttyUSB0"
baud = 19200
parity = "none"
stop_bits = 2
rs485 = true
rts_delay_after_ms = 1000
timeout_ms = 500
retries = -1

[[meter]]
id = "pv-1"
driver = "modbus"
port = "/dev/ttyUSB0"
unit = 1
profile = "sdm630"
interval = "1m"
live_interval = "10s"

[[meter]]
id = "hp-1"
driver = "modbus"
port = "/dev/ttyUSB0"
unit = 2
profile = "/etc/smgw/profiles/custom.toml"

[[meter]]
id = "tcp-1"
driver = "modbus"
tcp = "192.168.1.20:502"
unit = 255
profile = "em24"
`))
	if err != nil {
		t.Fatal(err)
	}
	lines := c.ModbusLines()
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	l := lines[0]
	if l.Name() != "/dev/ttyUSB0" || l.Baud != 19200 || l.Parity != "none" || l.StopBits != 2 || !l.RS485 ||
		l.RTSDelayAfterMS != 1000 || l.TimeoutMS != 500 || l.Retries != -1 ||
		l.Framing != FramingRTU || len(l.Meters) != 2 || l.Meters[1].Unit != 2 {
		t.Errorf("line 0: %+v", l)
	}
	l = lines[1]
	if l.Name() != "192.168.1.20:502" || l.Framing != FramingTCP || l.Baud != 9600 || l.Parity != "even" ||
		l.TimeoutMS != 1000 || l.Retries != 2 || len(l.Meters) != 1 {
		t.Errorf("line 1: %+v", l)
	}
}

// TestModbusProblems checks every modbus problem is named by file, line
// and key.
func TestModbusProblems(t *testing.T) {
	_, err := Parse("m.toml", []byte(modbusBase+`
[[bus]]
port = "/dev/ttyUSB0"
baud = 9600
framing = "ascii"
stop_bits = 3
rts_delay_before_ms = 1001
retries = 9

[[bus]]
port = "/dev/ttyUSB0"
tcp = "x"

[[meter]]
id = "a"
driver = "modbus"
port = "/dev/ttyUSB0"
unit = 1
baud = 19200
profile = "sdm999"

[[meter]]
id = "b"
driver = "modbus"
port = "/dev/ttyUSB0"
unit = 1
parity = "mark"
profile = "relative/x.toml"

[[meter]]
id = "c"
driver = "modbus"
unit = 300
baud = 14400

[[meter]]
id = "d"
driver = "sim"
profile = "heat"
unit = 3
`))
	if err == nil {
		t.Fatal("no error")
	}
	want := `m.toml:10: bus[0].framing: unknown framing "ascii"; known: rtu, tcp
m.toml:11: bus[0].stop_bits: 3 stop bits: must be 1 or 2
m.toml:12: bus[0].rts_delay_before_ms: 1001 is out of range: must be 0…1000 (milliseconds)
m.toml:13: bus[0].retries: 9 is out of range: must be -1 (none) … 5
m.toml:16: bus[1].port: a second [[bus]] for /dev/ttyUSB0 (also bus[0])
m.toml:17: bus[1].tcp: set either port or tcp, not both
m.toml:24: meter[0].baud: 19200 differs from the [[bus]] table's 9600 for /dev/ttyUSB0 (one line has one speed)
m.toml:25: meter[0].profile: unknown built-in profile "sdm999"; known: abb-b23, abb-b24, em24, em340, sdm120, sdm630, sdm72 (or the absolute path of a profile file)
m.toml:31: meter[1].unit: unit 1 on /dev/ttyUSB0 is also meter[0]
m.toml:32: meter[1].parity: unknown parity "mark"; known: none, even, odd
m.toml:33: meter[1].profile: "relative/x.toml" is not an absolute path
m.toml:35: meter[2].port: …
m.toml:39: meter[2].baud: 14400 is not a standard baud rate (custom rates are not supported); known: …
m.toml:45: meter[3].unit: applies to driver "modbus" only`
	got := err.Error()
	for _, line := range strings.Split(want, "\n") {
		prefix, _, _ := strings.Cut(line, "…")
		if !strings.Contains(got, prefix) {
			t.Errorf("missing %q in\n%s", prefix, got)
		}
	}
	for _, need := range []string{"meter[2].port: is required", "meter[2].unit: 300 is not a Modbus unit address: must be 1…247", "meter[2].profile: is required for a modbus meter"} {
		if !strings.Contains(got, need) {
			t.Errorf("missing %q in\n%s", need, got)
		}
	}
}
