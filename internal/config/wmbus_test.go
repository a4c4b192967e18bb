package config

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestWMBusGood(t *testing.T) {
	c, err := Parse("w.toml", []byte(ok+`
[wmbus]
kind = "im871a"
device = "/dev/ttyUSB0"
link_mode = "t1"
max_clock_skew = "0"

[[meter]]
id = "water-3"
driver = "wmbus"
manufacturer = "kam"
address = "12345678"
key = "000102030405060708090a0b0c0d0e0f"
medium = "water"

[[meter]]
id = "87654321"
driver = "wmbus"
manufacturer = "DME"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.WMBus.Kind != WMBusIM871A || c.WMBus.MaxClockSkew != 0 || c.WMBus.DupWindow != Duration(2*time.Minute) {
		t.Errorf("wmbus %+v", c.WMBus)
	}
	m := c.Meters[len(c.Meters)-2]
	if m.WMBusAddress() != "12345678" || len(m.WMBusKey()) != 16 || m.Medium != "water" {
		t.Errorf("meter %+v", m)
	}
	if m := c.Meters[len(c.Meters)-1]; m.WMBusAddress() != "87654321" || m.WMBusKey() != nil {
		t.Errorf("meter %+v", m)
	}
}

func TestWMBusProblems(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []at
	}{
		{"unknown kind", "[wmbus]\nkind = \"cul\"\n" + ok, []at{{2, "wmbus.kind"}}},
		{"dongle without device", "[wmbus]\nkind = \"amb8465\"\n" + ok, []at{{1, "wmbus.device"}}},
		{"relative device", "[wmbus]\nkind = \"im871a\"\ndevice = \"ttyUSB0\"\n" + ok, []at{{3, "wmbus.device"}}},
		{"lines without file", "[wmbus]\nkind = \"lines\"\n" + ok, []at{{1, "wmbus.file"}}},
		{"bad link mode", "[wmbus]\nkind = \"sim\"\nlink_mode = \"N1\"\n" + ok, []at{{3, "wmbus.link_mode"}}},
		{"bad skew", "[wmbus]\nkind = \"sim\"\nmax_clock_skew = \"10s\"\n" + ok, []at{{3, "wmbus.max_clock_skew"}}},
		{"bad window", "[wmbus]\nkind = \"sim\"\ndup_window = \"2h\"\n" + ok, []at{{3, "wmbus.dup_window"}}},
		{"meter without receiver", ok + "[[meter]]\nid = \"12345678\"\ndriver = \"wmbus\"\nmanufacturer = \"KAM\"\n",
			[]at{{5, "meter[0].driver"}}},
		{"meter fields", "[wmbus]\nkind = \"sim\"\n" + ok + "[[meter]]\nid = \"w\"\ndriver = \"wmbus\"\nmanufacturer = \"K4M\"\nkey = \"00\"\nmedium = \"lava\"\n",
			[]at{{5, "meter[0].address"}, {8, "meter[0].manufacturer"}, {9, "meter[0].key"}, {10, "meter[0].medium"}}},
		{"bad address", "[wmbus]\nkind = \"sim\"\n" + ok + "[[meter]]\nid = \"w\"\ndriver = \"wmbus\"\nmanufacturer = \"KAM\"\naddress = \"123\"\n",
			[]at{{9, "meter[0].address"}}},
		{"same meter twice", "[wmbus]\nkind = \"sim\"\n" + ok +
			"[[meter]]\nid = \"a\"\ndriver = \"wmbus\"\nmanufacturer = \"KAM\"\naddress = \"12345678\"\n" +
			"[[meter]]\nid = \"b\"\ndriver = \"wmbus\"\nmanufacturer = \"kam\"\naddress = \"12345678\"\n",
			[]at{{14, "meter[1].address"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(tt.toml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse: %v; want an *Error", err)
			}
			var got []at
			for _, p := range e.Problems {
				got = append(got, at{p.Line, p.Key})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems at %v, want %v\n%v", got, tt.want, err)
			}
		})
	}
}

func TestAddDemoWMBus(t *testing.T) {
	c := Demo("/var/lib/smgw-demo")
	c.AddDemoWMBus()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.WMBus.Kind != WMBusSim || len(c.Meters) != 5 || c.Meters[3].ID != "wmbus-water-1" || c.Meters[4].Medium != "heat" ||
		len(c.Meters[4].WMBusKey()) != 16 || c.Meters[3].Interval != Duration(30*time.Second) {
		t.Errorf("wmbus %+v, meters %+v", c.WMBus, c.Meters[3:])
	}
}
