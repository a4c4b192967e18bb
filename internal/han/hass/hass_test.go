package hass

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

// haSensorKeys are the MQTT sensor discovery options Home Assistant
// documents (https://www.home-assistant.io/integrations/sensor.mqtt/,
// full names) that this package may send; haDeviceKeys those of device.
var (
	haSensorKeys = []string{"availability_topic", "device", "device_class", "name", "origin",
		"payload_available", "payload_not_available", "state_class", "state_topic", "suggested_display_precision",
		"unique_id", "unit_of_measurement"}
	haDeviceKeys = []string{"identifiers", "manufacturer", "model", "name", "via_device"}
	// Device classes and their units as Home Assistant's sensor
	// documentation lists them (the subset used here).
	haUnits = map[string][]string{
		"energy": {"Wh", "kWh", "MWh", "MJ", "GJ"}, "power": {"W", "kW"}, "gas": {"m³", "ft³", "CCF"},
		"water": {"L", "m³", "gal"}, "voltage": {"V", "mV"}, "current": {"A", "mA"}, "frequency": {"Hz"},
		"reactive_power": {"var"}, "apparent_power": {"VA"}, "temperature": {"°C"}, "volume": {"L", "m³"},
	}
)

func TestSensorFor(t *testing.T) {
	for _, c := range []struct {
		obis  string
		unit  meter.Unit
		class string
		state string
		uom   string
		name  string
	}{
		{"1-0:1.8.0*255", meter.UnitWattHour, "energy", "total_increasing", "kWh", "Energy import"},
		{"1-0:2.8.0*255", meter.UnitWattHour, "energy", "total_increasing", "kWh", "Energy export"},
		{"1-0:1.8.2*255", meter.UnitWattHour, "energy", "total_increasing", "kWh", "Energy import tariff 2"},
		{"1-0:16.7.0*255", meter.UnitWatt, "power", "measurement", "W", "Power"},
		{"1-0:21.7.0*255", meter.UnitWatt, "power", "measurement", "W", "Power L1"},
		{"1-0:32.7.0*255", meter.UnitVolt, "voltage", "measurement", "V", "Voltage L1"},
		{"1-0:71.7.0*255", meter.UnitAmpere, "current", "measurement", "A", "Current L3"},
		{"7-0:3.0.0*255", meter.UnitCubicMetre, "gas", "total_increasing", "m³", "Gas"},
		{"8-0:1.0.0*255", meter.UnitCubicMetre, "water", "total_increasing", "m³", "Water"},
		{"8-0:1.0.0*255", meter.UnitLitre, "water", "total_increasing", "m³", "Water"},
		{"6-0:1.0.0*255", meter.UnitWattHour, "energy", "total_increasing", "kWh", "Heat energy"},
	} {
		s, ok := SensorFor(meter.MustOBIS(c.obis), c.unit)
		if !ok || s.DeviceClass != c.class || s.StateClass != c.state || s.Unit != c.uom || s.Name != c.name {
			t.Errorf("%s %s: %+v %v, want %s %s %s %q", c.obis, c.unit, s, ok, c.class, c.state, c.uom, c.name)
		}
		if !slices.Contains(haUnits[s.DeviceClass], s.Unit) {
			t.Errorf("%s: unit %s is not one Home Assistant accepts for %s", c.obis, s.Unit, s.DeviceClass)
		}
	}
	for _, c := range []struct {
		obis string
		unit meter.Unit
	}{{"1-0:1.7.0*255", meter.UnitWattHour}, {"0-0:96.1.0*255", meter.UnitNone}, {"1-0:13.7.0*255", meter.UnitCount}} {
		if s, ok := SensorFor(meter.MustOBIS(c.obis), c.unit); ok {
			t.Errorf("%s %s: published as %+v", c.obis, c.unit, s)
		}
	}
	s, _ := SensorFor(meter.MustOBIS("1-0:1.8.0*255"), meter.UnitWattHour)
	for v, want := range map[meter.Value]string{meter.V(12345, -1): "1.2345", meter.V(7, 3): "7", meter.V(-5, 0): "-0.005"} {
		if got := s.State(v); got != want {
			t.Errorf("State(%s) = %q, want %q", v, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, o := range []*Options{nil, {Broker: "http://x", Node: "gw"}, {Broker: "mqtt://", Node: "gw"}, {Broker: "mqtt://127.0.0.1:1883"}} {
		if _, err := New(nil, o); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", o, err)
		}
	}
}

// sub collects the messages of topic filters from the broker with
// mosquitto_sub, as "topic\tpayload" lines.
type sub struct {
	mu   sync.Mutex
	msgs map[string][]string
	cmd  *exec.Cmd
	done chan struct{}
}

func subscribe(t *testing.T, addr string, filters ...string) *sub {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		t.Skip("mosquitto_sub is not installed (apt-get install mosquitto-clients)")
	}
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-h", host, "-p", port, "-F", "%t\t%p", "-q", "1"}
	for _, f := range filters {
		args = append(args, "-t", f)
	}
	s := &sub{msgs: map[string][]string{}, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			topic, payload, _ := strings.Cut(sc.Text(), "\t")
			s.mu.Lock()
			s.msgs[topic] = append(s.msgs[topic], payload)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait(); <-s.done })
	return s
}

// wait returns the last payload on topic once cond accepts it (10 s at most).
func (s *sub) wait(t *testing.T, topic string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ps := s.msgs[topic]
		s.mu.Unlock()
		if len(ps) > 0 && cond(ps[len(ps)-1]) {
			return ps[len(ps)-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no accepted message on %s; got %q (all topics: %d)", topic, s.msgs[topic], len(s.msgs))
	return ""
}

func anyMsg(string) bool { return true }

func TestPublishToMosquitto(t *testing.T) {
	testutil.CheckGoroutines(t)
	b := mqtttest.Start(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "smgw.db"), &store.Options{Keys: keys.Static{Key: bytes.Repeat([]byte{0x5a}, 32)}, NoSync: true, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := st.Append(ctx,
		meter.Reading{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: t0, Value: meter.V(12345678, -1), Unit: meter.UnitWattHour},
		meter.Reading{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:16.7.0*255"), Time: t0, Value: meter.V(512, 0), Unit: meter.UnitWatt},
		meter.Reading{Meter: "gas-1", OBIS: meter.MustOBIS("7-0:3.0.0*255"), Time: t0, Value: meter.V(1234567, -3), Unit: meter.UnitCubicMetre},
		meter.Reading{Meter: "other", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: t0, Value: meter.V(1, 0), Unit: meter.UnitWattHour},
	); err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, b.PlainAddr, "homeassistant/#", "smgw/#")
	p, err := New(st, &Options{Broker: b.PlainURL(), Node: "gw test.1", Meters: []meter.MeterID{"elec-1", "gas-1"}, Version: "test", Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	}()

	if got := s.wait(t, "smgw/gw_test_1/availability", anyMsg); got != "online" {
		t.Errorf("availability %q", got)
	}
	cfgTopic := "homeassistant/sensor/gw_test_1/elec-1_1-0_1_8_0_255/config"
	var c map[string]any
	if err := json.Unmarshal([]byte(s.wait(t, cfgTopic, anyMsg)), &c); err != nil {
		t.Fatal(err)
	}
	for k := range c {
		if !slices.Contains(haSensorKeys, k) {
			t.Errorf("discovery key %q is not a documented MQTT sensor option", k)
		}
	}
	for k, want := range map[string]any{"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh",
		"state_topic": "smgw/gw_test_1/elec-1/1-0_1_8_0_255/state", "availability_topic": "smgw/gw_test_1/availability",
		"unique_id": "smgw_gw_test_1_elec-1_1-0_1_8_0_255", "name": "Energy import", "payload_available": "online"} {
		if c[k] != want {
			t.Errorf("%s = %v, want %v", k, c[k], want)
		}
	}
	dev, _ := c["device"].(map[string]any)
	for k := range dev {
		if !slices.Contains(haDeviceKeys, k) {
			t.Errorf("device key %q is not documented", k)
		}
	}
	if ids, _ := dev["identifiers"].([]any); len(ids) != 1 || ids[0] != "smgw_gw_test_1_elec-1" {
		t.Errorf("device identifiers %v", dev["identifiers"])
	}
	if got := s.wait(t, "smgw/gw_test_1/elec-1/1-0_1_8_0_255/state", anyMsg); got != "1234.5678" {
		t.Errorf("energy state %q, want 1234.5678 (kWh)", got)
	}
	if got := s.wait(t, "smgw/gw_test_1/gas-1/7-0_3_0_0_255/state", anyMsg); got != "1234.567" {
		t.Errorf("gas state %q", got)
	}
	var gc map[string]any
	json.Unmarshal([]byte(s.wait(t, "homeassistant/sensor/gw_test_1/gas-1_7-0_3_0_0_255/config", anyMsg)), &gc)
	if gc["device_class"] != "gas" || gc["unit_of_measurement"] != "m³" || gc["state_class"] != "total_increasing" {
		t.Errorf("gas config %v", gc)
	}
	var pc map[string]any
	json.Unmarshal([]byte(s.wait(t, "homeassistant/sensor/gw_test_1/elec-1_1-0_16_7_0_255/config", anyMsg)), &pc)
	if pc["device_class"] != "power" || pc["unit_of_measurement"] != "W" || pc["state_class"] != "measurement" {
		t.Errorf("power config %v", pc)
	}
	// A live reading becomes a new state.
	if err := st.Append(ctx, meter.Reading{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:16.7.0*255"), Time: t0.Add(time.Second), Value: meter.V(1999, 0), Unit: meter.UnitWatt}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "smgw/gw_test_1/elec-1/1-0_16_7_0_255/state", func(p string) bool { return p == "1999" })
	s.mu.Lock()
	for topic := range s.msgs {
		if strings.Contains(topic, "other") {
			t.Errorf("meter outside Options.Meters published: %s", topic)
		}
	}
	s.mu.Unlock()
	// An orderly stop says offline.
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	done <- nil
	s.wait(t, "smgw/gw_test_1/availability", func(p string) bool { return p == "offline" })
}
