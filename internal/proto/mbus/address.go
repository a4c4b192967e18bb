package mbus

import "fmt"

// Manufacturer is the 2-byte manufacturer code of EN 13757-3 (and EN
// 62056-21 flag ids): three letters A–Z packed 5 bits each,
// ((c1-64)<<10) | ((c2-64)<<5) | (c3-64), sent least significant byte first.
type Manufacturer uint16

// ManufacturerFromBytes reads the code as sent (little-endian).
func ManufacturerFromBytes(lo, hi byte) Manufacturer {
	return Manufacturer(uint16(lo) | uint16(hi)<<8)
}

// ParseManufacturer packs three letters; it fails for anything else.
func ParseManufacturer(s string) (Manufacturer, error) {
	if len(s) != 3 {
		return 0, fmt.Errorf("mbus: manufacturer %q: want three letters", s)
	}
	var m uint16
	for i := range 3 {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return 0, fmt.Errorf("mbus: manufacturer %q: want three letters", s)
		}
		m = m<<5 | uint16(c-64)
	}
	return Manufacturer(m), nil
}

// String returns the three letters; a code whose 5-bit groups are not
// letters prints its groups as '@' (0) or the byte beyond 'Z' as the
// standard's formula gives it, and a code with bit 15 set (reserved) has
// it ignored.
func (m Manufacturer) String() string {
	var b [3]byte
	m.appendTo(b[:0])
	return string(b[:])
}

// Append appends the three letters to dst.
func (m Manufacturer) Append(dst []byte) []byte { return m.appendTo(dst) }

func (m Manufacturer) appendTo(dst []byte) []byte {
	return append(dst, byte(m>>10&0x1F)+64, byte(m>>5&0x1F)+64, byte(m&0x1F)+64)
}

// DeviceType is the device type (medium) byte of the address (EN 13757-3,
// table 3 of annex; EN 13757-7 for the wireless additions).
type DeviceType uint8

// Device types the OBIS mapping distinguishes, and other common ones. The
// codes are the standard's.
const (
	DevOther              DeviceType = 0x00
	DevOil                DeviceType = 0x01
	DevElectricity        DeviceType = 0x02
	DevGas                DeviceType = 0x03
	DevHeatOutlet         DeviceType = 0x04 // heat meter, volume measured at return temperature: outlet
	DevSteam              DeviceType = 0x05
	DevWarmWater          DeviceType = 0x06 // 30–90 °C
	DevWater              DeviceType = 0x07
	DevHCA                DeviceType = 0x08 // heat cost allocator
	DevCompressedAir      DeviceType = 0x09
	DevCoolingOutlet      DeviceType = 0x0A
	DevCoolingInlet       DeviceType = 0x0B
	DevHeatInlet          DeviceType = 0x0C // heat meter, volume measured at flow temperature: inlet
	DevHeatCooling        DeviceType = 0x0D
	DevBusSystem          DeviceType = 0x0E
	DevUnknown            DeviceType = 0x0F
	DevIrrigationWater    DeviceType = 0x10
	DevWaterLogger        DeviceType = 0x11
	DevGasLogger          DeviceType = 0x12
	DevGasConverter       DeviceType = 0x13
	DevCalorificValue     DeviceType = 0x14
	DevHotWater           DeviceType = 0x15 // ≥ 90 °C
	DevColdWater          DeviceType = 0x16
	DevDualWater          DeviceType = 0x17
	DevPressure           DeviceType = 0x18
	DevADConverter        DeviceType = 0x19
	DevSmokeDetector      DeviceType = 0x1A
	DevRoomSensor         DeviceType = 0x1B // temperature, humidity
	DevGasDetector        DeviceType = 0x1C
	DevBreakerElectricity DeviceType = 0x20
	DevValve              DeviceType = 0x21
	DevCustomerUnit       DeviceType = 0x25 // display device
	DevWasteWater         DeviceType = 0x28
	DevGarbage            DeviceType = 0x29
	DevCarbonDioxide      DeviceType = 0x2A
	DevCommController     DeviceType = 0x31
	DevUnidirRepeater     DeviceType = 0x32
	DevBidirRepeater      DeviceType = 0x33
	DevRadioConverterSys  DeviceType = 0x36
	DevRadioConverterMtr  DeviceType = 0x37
	DevWiredAdapter       DeviceType = 0x38
)

var deviceNames = map[DeviceType]string{
	DevOther: "other", DevOil: "oil", DevElectricity: "electricity", DevGas: "gas",
	DevHeatOutlet: "heat", DevSteam: "steam", DevWarmWater: "warm water", DevWater: "water",
	DevHCA: "heat cost allocator", DevCompressedAir: "compressed air",
	DevCoolingOutlet: "cooling load (outlet)", DevCoolingInlet: "cooling load (inlet)",
	DevHeatInlet: "heat (inlet)", DevHeatCooling: "heat/cooling load", DevBusSystem: "bus/system component",
	DevUnknown: "unknown", DevIrrigationWater: "irrigation water", DevWaterLogger: "water data logger",
	DevGasLogger: "gas data logger", DevGasConverter: "gas converter", DevCalorificValue: "calorific value",
	DevHotWater: "hot water", DevColdWater: "cold water", DevDualWater: "dual register water",
	DevPressure: "pressure", DevADConverter: "A/D converter", DevSmokeDetector: "smoke detector",
	DevRoomSensor: "room sensor", DevGasDetector: "gas detector", DevBreakerElectricity: "breaker (electricity)",
	DevValve: "valve (gas or water)", DevCustomerUnit: "customer unit", DevWasteWater: "waste water",
	DevGarbage: "garbage", DevCarbonDioxide: "carbon dioxide", DevCommController: "communication controller",
	DevUnidirRepeater: "unidirectional repeater", DevBidirRepeater: "bidirectional repeater",
	DevRadioConverterSys: "radio converter (system side)", DevRadioConverterMtr: "radio converter (meter side)",
	DevWiredAdapter: "wired adapter",
}

// String names the medium ("water", "heat"); "device type 0xNN" for codes
// without a name.
func (d DeviceType) String() string {
	if n, ok := deviceNames[d]; ok {
		return n
	}
	return fmt.Sprintf("device type 0x%02X", uint8(d))
}

// ObisMedium returns the OBIS value group A of the device type's medium:
// 1 electricity, 4 heat cost allocator, 5 cooling, 6 heat, 7 gas, 8 cold
// water, 9 hot water; 0 (abstract) for devices without one.
func (d DeviceType) ObisMedium() byte {
	switch d {
	case DevElectricity, DevBreakerElectricity:
		return 1
	case DevHCA:
		return 4
	case DevCoolingOutlet, DevCoolingInlet:
		return 5
	case DevHeatOutlet, DevHeatInlet, DevHeatCooling, DevSteam:
		return 6
	case DevGas, DevGasLogger, DevGasConverter, DevCalorificValue:
		return 7
	case DevWater, DevColdWater, DevIrrigationWater, DevWaterLogger, DevDualWater, DevWasteWater:
		return 8
	case DevWarmWater, DevHotWater:
		return 9
	}
	return 0
}
