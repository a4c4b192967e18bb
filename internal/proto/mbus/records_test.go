package mbus

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// One record per DIF/VIF path: data codings, DIFE fields, the primary
// VIF table, FB and FD extensions, combinable VIFEs, plain text, dates.
func TestRecordPaths(t *testing.T) {
	type want struct {
		q     Quantity
		value string
		unit  meter.Unit
		obis  string
	}
	tests := []struct {
		name string
		hex  string
		dev  DeviceType
		want want
		// optional checks
		storage uint64
		tariff  uint32
		subunit uint16
		fn      Function
		kind    Kind
		time    string
		mods    Modifier
		nodata  bool
	}{
		// data codings
		{name: "int8", hex: "0113FF", dev: DevWater, want: want{QuantityVolume, "-0.001", meter.UnitCubicMetre, "8-0:1.0.0*255"}},
		{name: "int16", hex: "02133930", dev: DevWater, want: want{QuantityVolume, "12.345", meter.UnitCubicMetre, ""}},
		{name: "int24", hex: "0313010000", dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, ""}},
		{name: "int32", hex: "0413D2040000", dev: DevWater, want: want{QuantityVolume, "1.234", meter.UnitCubicMetre, ""}},
		{name: "int48", hex: "0613010000000000", dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, ""}},
		{name: "int64", hex: "0713FFFFFFFFFFFFFFFF", dev: DevWater, want: want{QuantityVolume, "-0.001", meter.UnitCubicMetre, ""}},
		{name: "real32", hex: "05130000C841", dev: DevWater, want: want{QuantityVolume, "0.025", meter.UnitCubicMetre, ""}},
		{name: "bcd2", hex: "091399", dev: DevWater, want: want{QuantityVolume, "0.099", meter.UnitCubicMetre, ""}},
		{name: "bcd4", hex: "0A133412", dev: DevWater, want: want{QuantityVolume, "1.234", meter.UnitCubicMetre, ""}},
		{name: "bcd6", hex: "0B13563412", dev: DevWater, want: want{QuantityVolume, "123.456", meter.UnitCubicMetre, ""}},
		{name: "bcd8", hex: "0C1378563412", dev: DevWater, want: want{QuantityVolume, "12345.678", meter.UnitCubicMetre, ""}},
		{name: "bcd12", hex: "0E13121110090807", dev: DevWater, want: want{QuantityVolume, "70809101.112", meter.UnitCubicMetre, ""}},
		{name: "bcd negative", hex: "0A5A25F1", dev: DevHeatOutlet, want: want{QuantityFlowTemperature, "-12.5", meter.UnitCelsius, "6-0:10.0.0*255"}},
		{name: "lvar bcd", hex: "0D13C23412", dev: DevWater, want: want{QuantityVolume, "1.234", meter.UnitCubicMetre, ""}},
		{name: "lvar negative bcd", hex: "0D13D23412", dev: DevWater, want: want{QuantityVolume, "-1.234", meter.UnitCubicMetre, ""}},
		{name: "lvar binary", hex: "0D13E20100", dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, ""}},
		{name: "lvar text", hex: "0DFD0C03434241", dev: DevWater, want: want{QuantityModelVersion, "ABC", meter.UnitCount, ""}, kind: KindText},
		{name: "no data", hex: "0013", dev: DevWater, want: want{QuantityVolume, "", meter.UnitCubicMetre, ""}, nodata: true},
		{name: "selection", hex: "0813", dev: DevWater, want: want{QuantityVolume, "", meter.UnitCubicMetre, ""}, nodata: true},
		// DIF/DIFE fields
		{name: "storage 1", hex: "4413D2040000", dev: DevWater, want: want{QuantityVolume, "1.234", meter.UnitCubicMetre, "8-0:1.0.0*1"}, storage: 1},
		{name: "difes", hex: "C4C04013D2040000", dev: DevWater, want: want{QuantityVolume, "1.234", meter.UnitCubicMetre, "8-3:1.0.0*1"}, storage: 1, subunit: 3},
		{name: "tariff", hex: "8410062C010000", dev: DevHeatOutlet, want: want{QuantityEnergy, "300000", meter.UnitWattHour, "6-0:1.0.1*255"}, tariff: 1},
		{name: "storage 5 tariff 2", hex: "C422062C010000", dev: DevHeatOutlet, want: want{QuantityEnergy, "300000", meter.UnitWattHour, "6-0:1.0.2*5"}, storage: 5, tariff: 2},
		{name: "maximum", hex: "142B10000000", dev: DevElectricity, want: want{QuantityPower, "16", meter.UnitWatt, "1-0:1.6.0*255"}, fn: Maximum},
		{name: "minimum", hex: "242B10000000", dev: DevElectricity, want: want{QuantityPower, "16", meter.UnitWatt, "1-0:1.3.0*255"}, fn: Minimum},
		{name: "during error", hex: "342B10000000", dev: DevElectricity, want: want{QuantityPower, "16", meter.UnitWatt, ""}, fn: ValueDuringError},
		// primary VIFs
		{name: "energy Wh", hex: "0403E8030000", dev: DevElectricity, want: want{QuantityEnergy, "1000", meter.UnitWattHour, "1-0:1.8.0*255"}},
		{name: "energy J", hex: "040EE8030000", dev: DevHeatOutlet, want: want{QuantityEnergy, "1000000000", meter.UnitJoule, "6-0:1.0.0*255"}},
		{name: "mass", hex: "021B0100", dev: DevHeatOutlet, want: want{QuantityMass, "1", meter.UnitKilogram, "6-0:3.0.0*255"}},
		{name: "on time", hex: "02220A00", dev: DevHeatOutlet, want: want{QuantityOnTime, "10", meter.UnitHour, ""}},
		{name: "operating time", hex: "02270500", dev: DevHeatOutlet, want: want{QuantityOperatingTime, "5", meter.UnitDay, "0-0:96.8.0*255"}},
		{name: "power J/h", hex: "02310500", dev: DevHeatOutlet, want: want{QuantityPower, "50", meter.UnitJoulePerHour, "6-0:8.0.0*255"}},
		{name: "flow m3/min", hex: "02430100", dev: DevWater, want: want{QuantityVolumeFlow, "0.0060", meter.UnitCubicMetreH, "8-0:2.0.0*255"}},
		{name: "flow m3/s", hex: "02490100", dev: DevWater, want: want{QuantityVolumeFlow, "0.00003600", meter.UnitCubicMetreH, ""}},
		{name: "mass flow", hex: "02530100", dev: DevHeatOutlet, want: want{QuantityMassFlow, "1", meter.UnitOther, ""}},
		{name: "return temp", hex: "025E0100", dev: DevHeatOutlet, want: want{QuantityReturnTemperature, "0.1", meter.UnitCelsius, "6-0:11.0.0*255"}},
		{name: "temp diff", hex: "02610100", dev: DevHeatOutlet, want: want{QuantityTemperatureDifference, "0.01", meter.UnitKelvin, "6-0:12.0.0*255"}},
		{name: "external temp", hex: "02650100", dev: DevHCA, want: want{QuantityExternalTemperature, "0.01", meter.UnitCelsius, "4-0:7.0.0*255"}},
		{name: "pressure", hex: "02690100", dev: DevWater, want: want{QuantityPressure, "0.01", meter.UnitBar, ""}},
		{name: "hca", hex: "026E0100", dev: DevHCA, want: want{QuantityHCA, "1", meter.UnitCount, "4-0:1.0.0*255"}},
		{name: "hca signed (type B)", hex: "026EB1FE", dev: DevHCA, want: want{QuantityHCA, "-335", meter.UnitCount, "4-0:1.0.0*255"}},
		{name: "FB kVARh x0.1 (VIFE 75)", hex: "04FB82753F000000", dev: DevElectricity, want: want{QuantityReactiveEnergy, "6300", meter.UnitVarHour, "1-0:3.8.0*255"}},
		{name: "averaging", hex: "01700A", dev: DevWater, want: want{QuantityAveragingDuration, "10", meter.UnitSecond, ""}},
		{name: "actuality", hex: "01750A", dev: DevWater, want: want{QuantityActualityDuration, "10", meter.UnitMinute, ""}},
		{name: "fabrication", hex: "0C7878563412", dev: DevWater, want: want{QuantityFabricationNumber, "12345678", meter.UnitCount, "0-0:96.1.0*255"}},
		// FB table
		{name: "FB MWh", hex: "02FB000A00", dev: DevHeatOutlet, want: want{QuantityEnergy, "1000000", meter.UnitWattHour, ""}},
		{name: "FB GJ", hex: "02FB090100", dev: DevHeatOutlet, want: want{QuantityEnergy, "1000000000", meter.UnitJoule, ""}},
		{name: "FB MCal", hex: "02FB0D0100", dev: DevHeatOutlet, want: want{QuantityEnergy, "4184000", meter.UnitJoule, ""}},
		{name: "FB kVARh", hex: "02FB020100", dev: DevElectricity, want: want{QuantityReactiveEnergy, "1000", meter.UnitVarHour, "1-0:3.8.0*255"}},
		{name: "FB humidity", hex: "02FB1A0A00", dev: DevRoomSensor, want: want{"relative_humidity", "1.0", meter.UnitPercent, ""}},
		{name: "FB frequency", hex: "02FB2D8813", dev: DevElectricity, want: want{QuantityFrequency, "50.00", meter.UnitHertz, "1-0:14.7.0*255"}},
		// FD table
		{name: "FD access number", hex: "01FD0805", dev: DevWater, want: want{QuantityAccessNumber, "5", meter.UnitCount, ""}},
		{name: "FD error flags", hex: "02FD17FFFF", dev: DevWater, want: want{QuantityErrorFlags, "65535", meter.UnitCount, "0-0:97.97.0*255"}},
		{name: "FD volts", hex: "02FD48E600", dev: DevElectricity, want: want{QuantityVoltage, "23.0", meter.UnitVolt, "1-0:32.7.0*255"}},
		{name: "FD amperes", hex: "02FD590100", dev: DevElectricity, want: want{QuantityCurrent, "0.001", meter.UnitAmpere, "1-0:31.7.0*255"}},
		{name: "FD battery days", hex: "02FD740A00", dev: DevWater, want: want{QuantityRemainingBattery, "10", meter.UnitDay, ""}},
		{name: "FD RF level", hex: "01FD71B0", dev: DevWater, want: want{QuantityRFLevel, "-80", meter.UnitDBm, ""}},
		{name: "FD storage interval months", hex: "01FD2801", dev: DevWater, want: want{QuantityStorageInterval, "1", meter.UnitMonth, ""}},
		// combinable VIFEs
		{name: "backward", hex: "04833CE8030000", dev: DevElectricity, want: want{QuantityEnergy, "1000", meter.UnitWattHour, "1-0:2.8.0*255"}, mods: ModBackward},
		{name: "forward", hex: "04933B01000000", dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, "8-0:1.0.0*255"}, mods: ModForward},
		{name: "correction 10^-1", hex: "0493750A000000", dev: DevWater, want: want{QuantityVolume, "0.0010", meter.UnitCubicMetre, ""}, mods: ModCorrection},
		{name: "correction 10^3", hex: "04937D01000000", dev: DevWater, want: want{QuantityVolume, "1", meter.UnitCubicMetre, ""}, mods: ModCorrection},
		{name: "per hour", hex: "0493220100000000"[:14], dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, ""}, mods: ModPerHour},
		{name: "error code", hex: "0493150100000000"[:14], dev: DevWater, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, ""}, mods: ModErrorCode},
		{name: "base conditions", hex: "04933E01000000", dev: DevGas, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, "7-0:13.0.0*255"}, mods: ModBaseConditions},
		{name: "gas volume", hex: "041301000000", dev: DevGas, want: want{QuantityVolume, "0.001", meter.UnitCubicMetre, "7-0:3.0.0*255"}},
		// manufacturer and plain text
		{name: "mfct VIF", hex: "04FF0701000000", dev: DevHeatOutlet, want: want{QuantityMfct, "1", meter.UnitNone, ""}},
		{name: "plain text", hex: "027C03726162E803", dev: DevOther, want: want{QuantityPlainText, "1000", meter.UnitOther, ""}},
		// dates and times
		{name: "date G", hex: "426CBF2C", dev: DevWater, want: want{QuantityDate, "", 0, "0-0:1.0.0*1"}, storage: 1, kind: KindDate, time: "2021-12-31"},
		{name: "datetime F", hex: "046D1E02DE21", dev: DevWater, want: want{QuantityDateTime, "", 0, "0-0:1.0.0*255"}, kind: KindDateTime, time: "2022-01-30T02:30:00"},
		{name: "datetime I", hex: "066D2D1E02DE2104", dev: DevWater, want: want{QuantityDateTime, "", 0, ""}, kind: KindDateTime, time: "2022-01-30T02:30:45"},
		{name: "time J", hex: "036D2D1E02", dev: DevWater, want: want{QuantityDateTime, "", 0, ""}, kind: KindTime, time: "02:30:45"},
		{name: "invalid date", hex: "426CFFFF", dev: DevWater, want: want{QuantityDate, "", 0, ""}, storage: 1, kind: KindBytes},
		{name: "battery change date", hex: "02FD700101", dev: DevWater, want: want{QuantityBatteryChangeDate, "", meter.UnitNone, ""}, kind: KindDate, time: "2000-01-01"},
		{name: "invalid bcd", hex: "0A13FFAA", dev: DevWater, want: want{QuantityVolume, "", meter.UnitCubicMetre, ""}, kind: KindBytes},
	}
	for _, tc := range tests {
		data := unhex(t, tc.hex)
		recs, err := AppendRecords(nil, data, tc.dev, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(recs) != 1 {
			t.Errorf("%s: %d records", tc.name, len(recs))
			continue
		}
		r := recs[0]
		kind := tc.kind
		if kind == 0 && !tc.nodata {
			kind = KindNumber
		}
		if r.Quantity != tc.want.q || r.Kind != kind || r.Storage != tc.storage || r.Tariff != tc.tariff || r.Subunit != tc.subunit || r.Function != tc.fn {
			t.Errorf("%s: %s kind %v storage %d tariff %d subunit %d function %v", tc.name, r.Quantity, r.Kind, r.Storage, r.Tariff, r.Subunit, r.Function)
		}
		if kind == KindNumber && (r.Value.String() != tc.want.value || r.Unit != tc.want.unit) {
			t.Errorf("%s: value %s %v (%d e%d), want %s %v", tc.name, r.Value, r.Unit, r.Value.M, r.Value.E, tc.want.value, tc.want.unit)
		}
		if kind == KindText && string(r.AppendText(nil)) != tc.want.value {
			t.Errorf("%s: text %q", tc.name, r.AppendText(nil))
		}
		if tc.time != "" {
			var got string
			switch kind {
			case KindDate:
				got = r.Time.Format("2006-01-02")
			case KindDateTime:
				got = r.Time.Format("2006-01-02T15:04:05")
			case KindTime:
				got = r.Time.Format("15:04:05")
			}
			if got != tc.time {
				t.Errorf("%s: time %s, want %s", tc.name, got, tc.time)
			}
		}
		if tc.want.obis != "" && r.OBIS.String() != tc.want.obis {
			t.Errorf("%s: OBIS %s, want %s", tc.name, r.OBIS, tc.want.obis)
		}
		if tc.mods != 0 && r.Modifiers&tc.mods == 0 {
			t.Errorf("%s: modifiers %b lack %b", tc.name, r.Modifiers, tc.mods)
		}
		if string(r.Header)+string(r.Data) != string(data) && tc.kind != KindNone && r.Coding != Variable && len(r.UnitText) == 0 {
			t.Errorf("%s: header %X + data %X != input", tc.name, r.Header, r.Data)
		}
	}
}

func TestSpecialFunctions(t *testing.T) {
	recs, err := AppendRecords(nil, unhex(t, "2F2F0413010000002F0F0102"), DevWater, nil)
	if err != nil || len(recs) != 2 || recs[1].Quantity != QuantityMfctData || string(recs[1].Data) != "\x01\x02" {
		t.Fatalf("%+v %v", recs, err)
	}
	if _, err := AppendRecords(nil, unhex(t, "7F"), DevWater, nil); !errors.Is(err, ErrDIF) {
		t.Fatalf("global readout: %v", err)
	}
	if _, err := AppendRecords(nil, unhex(t, "3F"), DevWater, nil); !errors.Is(err, ErrDIF) {
		t.Fatalf("reserved special function: %v", err)
	}
}

func TestRecordErrors(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		want error
		pos  int
	}{
		{"04", ErrTruncated, 1},
		{"0413", ErrTruncated, 2},
		{"041301", ErrTruncated, 2},
		{"84", ErrTruncated, 1},
		{"8080808080808080808080", ErrDIF, 11},
		{"016F00", ErrUnknownVIF, 1},
		{"01FD7F00", ErrUnknownVIF, 1},
		{"01FB0600", ErrUnknownVIF, 1},
		{"0D13F7", ErrData, 2},
		{"0D1305", ErrTruncated, 3},
		{"017C0561", ErrTruncated, 3},
		{"0193939393939393939393939301", ErrDIF, 12},
	} {
		_, err := AppendRecords(nil, unhex(t, tc.hex), DevWater, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.hex, err, tc.want)
			continue
		}
		if p, ok := Offset(err); !ok || p != tc.pos {
			t.Errorf("%s: %v at %d, want position %d", tc.hex, err, p, tc.pos)
		}
	}
}

type testResolver struct{}

func (testResolver) Resolve(r *Record, vib []byte) bool {
	if string(vib) == "\xFD\xFD\x02" || string(vib) == "\xFF\x07" {
		r.Quantity, r.Unit, r.Value.E = "test", meter.UnitLitre, -1
		return true
	}
	return false
}

func TestResolver(t *testing.T) {
	recs, err := AppendRecords(nil, unhex(t, "02FDFD02B30004FF070A000000"), DevWater, testResolver{})
	if err != nil || len(recs) != 2 || recs[0].Quantity != "test" || recs[1].Value != meter.V(10, -1) || recs[1].Unit != meter.UnitLitre {
		t.Fatalf("%+v %v", recs, err)
	}
}

func TestFrame(t *testing.T) {
	f := AppendFrame(nil, Frame{C: 0x08, A: 0x01, CI: 0x72, Data: []byte{1, 2, 3}})
	if hex.EncodeToString(f) != "6806066808017201020380"[:18]+"8316" && !IsLongFrame(f) {
		t.Fatalf("%x", f)
	}
	got, err := ParseFrame(f)
	if err != nil || got.C != 8 || got.A != 1 || got.CI != 0x72 || string(got.Data) != "\x01\x02\x03" {
		t.Fatalf("%+v %v", got, err)
	}
	for i := range f {
		bad := append([]byte(nil), f...)
		bad[i] ^= 0x40
		if _, err := ParseFrame(bad); err == nil && i != 0 {
			t.Errorf("byte %d changed: no error", i)
		}
	}
	if _, err := ParseFrame(f[:5]); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: %v", err)
	}
}

func TestManufacturer(t *testing.T) {
	m, err := ParseManufacturer("KAM")
	if err != nil || m != 0x2C2D || m.String() != "KAM" || ManufacturerFromBytes(0x2D, 0x2C) != m {
		t.Fatalf("%04X %v", uint16(m), err)
	}
	if _, err := ParseManufacturer("K4M"); err == nil {
		t.Fatal("K4M accepted")
	}
	if DevWater.String() != "water" || DevWater.ObisMedium() != 8 || DevHotWater.ObisMedium() != 9 {
		t.Fatal("device type names")
	}
	_ = time.Now
}
