package config

import (
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

func TestUpdateMaxSize(t *testing.T) {
	c, err := Parse("test.toml", []byte(ok+"[update]\nmax_size = \"64MiB\"\n"))
	if err != nil || c.Update.MaxSize != 64<<20 {
		t.Fatalf("max_size: %v %v", c, err)
	}
	if Default().Update.MaxSize != 256<<20 || Default().WAN.MQTT.StatusEvery.Std() != 15*time.Minute {
		t.Error("defaults")
	}
	for _, v := range []string{"512KiB", "5GiB"} {
		_, err := Parse("test.toml", []byte(ok+"[update]\nmax_size = \""+v+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "update.max_size") {
			t.Errorf("max_size %s: %v", v, err)
		}
	}
}

func TestCheckMeter(t *testing.T) {
	c := Default()
	c.Security.AllowInsecure = true
	c.WMBus.Kind = WMBusSim
	mod := func(id string, unit int) Meter {
		m := DefaultMeter()
		m.ID, m.Driver, m.Port, m.Unit, m.Profile = meter.MeterID("m-"+id), DriverModbus, "/dev/ttyUSB0", unit, "sdm630"
		return m
	}
	others := []Meter{mod("a", 1), mod("b", 2)}
	if ps := c.CheckMeter(others, mod("c", 3)); ps != nil {
		t.Errorf("a good meter: %v", ps)
	}
	ps := c.CheckMeter(others, mod("c", 2))
	if len(ps) != 1 || ps[0].Key != "unit" || !strings.Contains(ps[0].Msg, "m-b") {
		t.Errorf("unit used twice: %+v", ps)
	}
	w := DefaultMeter()
	w.ID, w.Driver, w.Manufacturer, w.Address = "w-1", DriverWMBus, "KA", "1234567"
	ps = c.CheckMeter(others, w)
	keys := map[string]bool{}
	for _, p := range ps {
		keys[p.Key] = true
	}
	if !keys["manufacturer"] || !keys["address"] || len(ps) != 2 {
		t.Errorf("bad wmbus meter: %+v", ps)
	}
	d := DefaultMeter()
	d.ID, d.Driver, d.TCP, d.Auth = "d-1", DriverDLMS, "127.0.0.1:4059", "bogus"
	if ps := c.CheckMeter(nil, d); len(ps) == 0 || ps[0].Key != "auth" {
		t.Errorf("bad dlms meter: %+v", ps)
	}
}
