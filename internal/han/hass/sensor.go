package hass

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/smgw/smgw/internal/meter"
)

// Sensor is how one OBIS quantity appears in Home Assistant.
type Sensor struct {
	DeviceClass string // Home Assistant sensor device class; "" for none
	StateClass  string // "measurement", "total_increasing" or "total"
	Unit        string // unit_of_measurement
	// Exp is the power of ten the stored value is divided by for Unit
	// (3 for Wh to kWh).
	Exp  int8
	Name string // the entity's name within its device
}

// SensorFor maps an OBIS quantity in unit u to its Home Assistant
// sensor; ok is false for quantities not published (those without a
// device class and unit Home Assistant knows).
func SensorFor(o meter.OBIS, u meter.Unit) (Sensor, bool) {
	a, c, d, e := o[0], o[2], o[3], o[4]
	register := d == 8 || (a != 1 && d != 7) // an accumulating register
	tariff := ""
	if e >= 1 && e <= 9 && d == 8 {
		tariff = fmt.Sprintf(" tariff %d", e)
	}
	var s Sensor
	switch u {
	case meter.UnitWattHour:
		if !register {
			return Sensor{}, false
		}
		s = Sensor{DeviceClass: "energy", StateClass: "total_increasing", Unit: "kWh", Exp: 3}
	case meter.UnitJoule:
		if !register {
			return Sensor{}, false
		}
		s = Sensor{DeviceClass: "energy", StateClass: "total_increasing", Unit: "MJ", Exp: 6}
	case meter.UnitWatt:
		s = Sensor{DeviceClass: "power", StateClass: "measurement", Unit: "W"}
	case meter.UnitVar:
		s = Sensor{DeviceClass: "reactive_power", StateClass: "measurement", Unit: "var"}
	case meter.UnitVoltAmpere:
		s = Sensor{DeviceClass: "apparent_power", StateClass: "measurement", Unit: "VA"}
	case meter.UnitVolt:
		s = Sensor{DeviceClass: "voltage", StateClass: "measurement", Unit: "V"}
	case meter.UnitAmpere:
		s = Sensor{DeviceClass: "current", StateClass: "measurement", Unit: "A"}
	case meter.UnitHertz:
		s = Sensor{DeviceClass: "frequency", StateClass: "measurement", Unit: "Hz"}
	case meter.UnitCelsius:
		s = Sensor{DeviceClass: "temperature", StateClass: "measurement", Unit: "°C"}
	case meter.UnitCubicMetre, meter.UnitCubicMetreCor, meter.UnitLitre:
		if !register {
			return Sensor{}, false
		}
		switch a {
		case 7:
			s = Sensor{DeviceClass: "gas", StateClass: "total_increasing", Unit: "m³"}
		case 8, 9:
			s = Sensor{DeviceClass: "water", StateClass: "total_increasing", Unit: "m³"}
		default:
			s = Sensor{DeviceClass: "volume", StateClass: "total_increasing", Unit: "m³"}
		}
		if u == meter.UnitLitre {
			s.Exp = 3 // litres to m³
		}
	default:
		return Sensor{}, false
	}
	s.Name = name(a, c, d, s) + tariff
	return s, true
}

// name is the entity's English name.
func name(a, c, d byte, s Sensor) string {
	phase := ""
	if a == 1 {
		switch {
		case c >= 21 && c <= 40:
			phase, c = " L1", c-20
		case c >= 41 && c <= 60:
			phase, c = " L2", c-40
		case c >= 61 && c <= 80:
			phase, c = " L3", c-60
		}
	}
	switch s.DeviceClass {
	case "energy":
		switch {
		case a == 1 && c == 1:
			return "Energy import" + phase
		case a == 1 && c == 2:
			return "Energy export" + phase
		case a == 6:
			return "Heat energy"
		}
		return "Energy"
	case "power":
		switch {
		case a == 1 && (c == 1 || c == 16):
			return "Power" + phase
		case a == 1 && c == 2:
			return "Power export" + phase
		}
		return "Power" + phase
	case "gas":
		return "Gas"
	case "water":
		if a == 9 {
			return "Hot water"
		}
		return "Water"
	}
	n := strings.ReplaceAll(s.DeviceClass, "_", " ")
	return strings.ToUpper(n[:1]) + n[1:] + phase
}

// Device is the Home Assistant device of a meter.
type Device struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer,omitempty"`
	Model        string   `json:"model,omitempty"`
	ViaDevice    string   `json:"via_device,omitempty"`
}

// Config is a sensor's discovery payload (Home Assistant's MQTT sensor
// options, full names).
type Config struct {
	Name                      string `json:"name"`
	UniqueID                  string `json:"unique_id"`
	StateTopic                string `json:"state_topic"`
	DeviceClass               string `json:"device_class,omitempty"`
	StateClass                string `json:"state_class"`
	UnitOfMeasurement         string `json:"unit_of_measurement"`
	AvailabilityTopic         string `json:"availability_topic"`
	PayloadAvailable          string `json:"payload_available"`
	PayloadNotAvailable       string `json:"payload_not_available"`
	SuggestedDisplayPrecision *int   `json:"suggested_display_precision,omitempty"`
	Device                    Device `json:"device"`
	Origin                    Origin `json:"origin"`
}

// Origin names the software that made the discovery message.
type Origin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url,omitempty"`
}

// topicPart turns s into the characters Home Assistant allows in a
// discovery topic's node and object ids ([a-zA-Z0-9_-]).
func topicPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// obisPart is an OBIS code in a topic: "1-0_1_8_0_255".
func obisPart(o meter.OBIS) string {
	return fmt.Sprintf("%d-%d_%d_%d_%d_%d", o[0], o[1], o[2], o[3], o[4], o[5])
}

// State formats a value for Unit: the exact decimal of v / 10^Exp.
func (s Sensor) State(v meter.Value) string {
	e := int(v.E) - int(s.Exp)
	if e < -128 || e > 127 {
		return "" // not representable; never for real meter values
	}
	return meter.Value{M: v.M, E: int8(e)}.String()
}

func precision(s Sensor, e int8) *int {
	p := max(int(s.Exp)-int(e), 0)
	p = min(p, 6)
	return &p
}

func marshal(c Config) []byte {
	b, _ := json.Marshal(c) // only strings, ints and slices: cannot fail
	return b
}
