package mbus

import (
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Errors of this package. Every error it returns wraps one of them and
// names the byte position in the data it was given.
var (
	// ErrTruncated is returned when the data ends inside a record.
	ErrTruncated = errors.New("mbus: truncated")
	// ErrUnknownVIF is returned for a VIF or VIFE code the standard
	// reserves (a conforming meter never sends it).
	ErrUnknownVIF = errors.New("mbus: unknown VIF")
	// ErrDIF is returned for a DIF the standard reserves, or more DIFEs or
	// VIFEs than it allows (10 each).
	ErrDIF = errors.New("mbus: invalid DIF")
	// ErrData is returned for a data field that does not hold what its
	// coding says (a BCD digit above 9 where none is allowed, a variable
	// length field with a reserved LVAR, a date out of range).
	ErrData = errors.New("mbus: invalid data")
	// ErrFrame is returned by ParseFrame for a wired M-Bus frame with a
	// bad start, length, checksum or stop byte.
	ErrFrame = errors.New("mbus: invalid frame")
)

// Error is the error type of this package: a sentinel, the byte position
// in the data given and a reason.
type Error struct {
	Pos    int    // byte position in the data given to AppendRecords or ParseFrame
	Err    error  // one of the sentinels above
	Reason string // what was wrong
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Pos)
	}
	return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Pos, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(pos int, sentinel error, format string, args ...any) error {
	return &Error{Pos: pos, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
}

// Offset returns the byte position an error of this package names, and
// whether it names one.
func Offset(err error) (int, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Pos, true
	}
	return 0, false
}

// Function is the function field of the DIF (bits 5–4): what kind of
// value the record holds.
type Function uint8

// Functions (EN 13757-3, table 4). The codes are the standard's.
const (
	Instantaneous    Function = 0
	Maximum          Function = 1
	Minimum          Function = 2
	ValueDuringError Function = 3
)

// String returns "instantaneous", "maximum", "minimum" or "error", the
// names of the decode JSON.
func (f Function) String() string {
	switch f {
	case Instantaneous:
		return "instantaneous"
	case Maximum:
		return "maximum"
	case Minimum:
		return "minimum"
	case ValueDuringError:
		return "error"
	}
	return fmt.Sprintf("function(%d)", uint8(f))
}

// Coding is the data field of the DIF (bits 3–0): the length and coding
// of the data. The codes are the standard's (table 5).
type Coding uint8

// Data field codings.
const (
	NoData        Coding = 0x0
	Int8          Coding = 0x1
	Int16         Coding = 0x2
	Int24         Coding = 0x3
	Int32         Coding = 0x4
	Real32        Coding = 0x5
	Int48         Coding = 0x6
	Int64         Coding = 0x7
	SelectionRead Coding = 0x8
	BCD2          Coding = 0x9
	BCD4          Coding = 0xA
	BCD6          Coding = 0xB
	BCD8          Coding = 0xC
	Variable      Coding = 0xD
	BCD12         Coding = 0xE
	Special       Coding = 0xF
)

// Kind says which field of a Record carries its value.
type Kind uint8

// Kinds of record value.
const (
	KindNone     Kind = 0 // no data (a selection for readout, DIF 0x08, or data field 0)
	KindNumber   Kind = 1 // Value and Unit
	KindDate     Kind = 2 // Time, a date (type G); its clock part is zero
	KindDateTime Kind = 3 // Time, a date and time (types F and I)
	KindTime     Kind = 4 // Time, a time of day (type J) on 0001-01-01
	KindText     Kind = 5 // Data holds a string, last character first (ASCII LVAR); see AppendText
	KindBytes    Kind = 6 // Data only: bits, manufacturer data, binary LVAR
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindNumber:
		return "number"
	case KindDate:
		return "date"
	case KindDateTime:
		return "datetime"
	case KindTime:
		return "time"
	case KindText:
		return "text"
	case KindBytes:
		return "bytes"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Table names the VIF table a record's VIF code is from.
type Table uint8

// VIF tables.
const (
	TablePrimary   Table = 0    // the primary VIF table (VIF 0x00–0x7B)
	TableFB        Table = 0xFB // the first extension table (VIF 0xFB)
	TableFD        Table = 0xFD // the second extension table (VIF 0xFD)
	TablePlainText Table = 0x7C // plain-text VIF (VIF 0x7C/0xFC): the unit is a string
	TableAny       Table = 0x7E // "any VIF" (0x7E/0xFE), readout selection
	TableMfct      Table = 0x7F // manufacturer-specific VIF (0x7F/0xFF)
	TableNone      Table = 0x01 // no VIF: special function records (DIF 0x0F, 0x1F, 0x2F)
)

// Modifier is the set of orthogonal (combinable) VIFEs on a record
// (EN 13757-3, table 15), as bits.
type Modifier uint32

// Modifiers. Combinations are allowed.
const (
	ModPerSecond      Modifier = 1 << iota // per second (VIFE 0x20)
	ModPerMinute                           // per minute (0x21)
	ModPerHour                             // per hour (0x22)
	ModPerDay                              // per day (0x23)
	ModPerWeek                             // per week (0x24)
	ModPerMonth                            // per month (0x25)
	ModPerYear                             // per year (0x26)
	ModPerRevolution                       // per revolution/measurement (0x27)
	ModPerPulse                            // increment per input or output pulse (0x28–0x2B)
	ModPerUnit                             // per litre, m³, kg, K, kWh, GJ, kW, … (0x2C–0x37)
	ModStartDate                           // start date(/time) of (0x39)
	ModUncorrected                         // VIF contains uncorrected unit or value (0x3A)
	ModForward                             // accumulation only if positive contributions: forward flow (0x3B)
	ModBackward                            // accumulation of abs value only if negative contributions: backward flow (0x3C)
	ModBaseConditions                      // value at base conditions (0x3E)
	ModLowerLimit                          // lower limit value (0x40)
	ModUpperLimit                          // upper limit value (0x48)
	ModLimitExceeds                        // number of exceeds of a limit (0x41, 0x49)
	ModLimitDate                           // date(/time) of begin or end of a limit exceed (0x42–0x4F)
	ModLimitDuration                       // duration of a limit exceed (0x50–0x6F)
	ModCorrection                          // a multiplicative or additive correction was applied (0x70–0x7D)
	ModFuture                              // future value (0x7E)
	ModMfct                                // manufacturer-specific VIFEs follow (0x7F)
	ModPhase                               // at phase L1, L2, L3 or N (FC/FD VIFE extension of 13757-3:2018, 0xFC)
	ModErrorCode                           // the VIFE carries a record error code (0x00–0x1F); see Record.ErrorCode
)

// Record is one decoded data record.
type Record struct {
	OBIS     meter.OBIS  // the quantity's OBIS code; zero if it has none
	Quantity Quantity    // what the record holds, e.g. "volume"
	Kind     Kind        // which of Value, Time, Text carries the value
	Value    meter.Value // KindNumber: the exact value, in Unit
	Unit     meter.Unit  // KindNumber: the DLMS unit; UnitCount for counts, UnitNone if unknown
	Time     time.Time   // KindDate, KindDateTime, KindTime: the meter's wall clock, location UTC (M-Bus carries no zone)

	Function Function // DIF function field
	Storage  uint64   // storage number (DIF bit 6 and DIFE bits 3–0; up to 41 bits)
	Tariff   uint32   // tariff (DIFE bits 5–4; up to 20 bits)
	Subunit  uint16   // subunit / device unit (DIFE bit 6; up to 10 bits)
	Coding   Coding   // DIF data field coding

	Table     Table    // the VIF table of VIFCode
	VIFCode   byte     // the VIF (or the extension table's VIFE) with the extension bit cleared
	Modifiers Modifier // orthogonal VIFEs
	ErrorCode byte     // record error code (VIFE 0x00–0x1F) when Modifiers has ModErrorCode
	Unitless  bool     // the VIF names a quantity without a physical unit in DLMS terms (counts, flags)

	Offset   int    // position of the DIF in the data given to AppendRecords
	Header   []byte // DIF, DIFEs, VIF and VIFEs as sent (plain-text unit string included); aliases the input
	Data     []byte // the data field as sent (LVAR byte excluded); aliases the input
	UnitText []byte

	reserved bool  // the VIF code is reserved (unless a Resolver names it)
	factor   int64 // the VIF's factor besides a power of ten (MCal → J, per minute → per hour) // plain-text VIF: the unit string as sent (last character first); see AppendUnitText
}

// Resolver names records the standard does not: see AppendRecords.
type Resolver interface {
	// Resolve is given a record whose DIB and VIB are decoded (its
	// Header set) and the VIB bytes; it may set Quantity, Unit, the
	// exponent Value.E, Unitless and OBIS, and returns true if it
	// did. A record it resolves is never an unknown-VIF error.
	Resolve(r *Record, vib []byte) bool
}

// String names the table: "VIF", "FB VIFE", "FD VIFE", ….
func (t Table) String() string {
	switch t {
	case TablePrimary:
		return "VIF"
	case TableFB:
		return "FB extension VIFE"
	case TableFD:
		return "FD extension VIFE"
	case TablePlainText:
		return "plain-text VIF"
	case TableAny:
		return "any VIF"
	case TableMfct:
		return "manufacturer VIF"
	}
	return "no VIF"
}

// SetResolved lets a resolver mark a record resolved without naming it
// otherwise (its quantity stays QuantityUnknown).
func (r *Record) SetResolved() { r.reserved = false }

// AppendText appends a KindText record's string in reading order (M-Bus
// sends strings last character first) to dst.
func (r *Record) AppendText(dst []byte) []byte {
	for i := len(r.Data) - 1; i >= 0; i-- {
		dst = append(dst, r.Data[i])
	}
	return dst
}

// AppendUnitText appends a plain-text VIF's unit string in reading order.
func (r *Record) AppendUnitText(dst []byte) []byte {
	for i := len(r.UnitText) - 1; i >= 0; i-- {
		dst = append(dst, r.UnitText[i])
	}
	return dst
}

// Quantity names what a record holds. The names are stable (they appear in
// the decode JSON) and are spelled in snake case.
type Quantity string

// Quantities of the VIF tables. Records with no name in the standard
// carry QuantityUnknown; those of a manufacturer-specific VIF
// QuantityMfct.
const (
	QuantityUnknown               Quantity = "unknown"
	QuantityMfct                  Quantity = "manufacturer_specific"
	QuantityMfctData              Quantity = "manufacturer_data" // DIF 0x0F/0x1F: the rest of the data
	QuantityEnergy                Quantity = "energy"
	QuantityReactiveEnergy        Quantity = "reactive_energy"
	QuantityApparentEnergy        Quantity = "apparent_energy"
	QuantityVolume                Quantity = "volume"
	QuantityMass                  Quantity = "mass"
	QuantityOnTime                Quantity = "on_time"
	QuantityOperatingTime         Quantity = "operating_time"
	QuantityPower                 Quantity = "power"
	QuantityReactivePower         Quantity = "reactive_power"
	QuantityApparentPower         Quantity = "apparent_power"
	QuantityVolumeFlow            Quantity = "volume_flow"
	QuantityMassFlow              Quantity = "mass_flow"
	QuantityFlowTemperature       Quantity = "flow_temperature"
	QuantityReturnTemperature     Quantity = "return_temperature"
	QuantityTemperatureDifference Quantity = "temperature_difference"
	QuantityExternalTemperature   Quantity = "external_temperature"
	QuantityTemperatureLimit      Quantity = "temperature_limit"
	QuantityPressure              Quantity = "pressure"
	QuantityDate                  Quantity = "date"
	QuantityDateTime              Quantity = "datetime"
	QuantityHCA                   Quantity = "hca_units"
	QuantityAveragingDuration     Quantity = "averaging_duration"
	QuantityActualityDuration     Quantity = "actuality_duration"
	QuantityFabricationNumber     Quantity = "fabrication_number"
	QuantityEnhancedID            Quantity = "enhanced_id"
	QuantityBusAddress            Quantity = "bus_address"
	QuantityMaxPowerCount         Quantity = "cumulative_max_power"
	QuantityFrequency             Quantity = "frequency"
	QuantityPhase                 Quantity = "phase_angle"
	QuantityCreditCurrency        Quantity = "credit"
	QuantityDebitCurrency         Quantity = "debit"
	QuantityAccessNumber          Quantity = "access_number"
	QuantityMedium                Quantity = "medium"
	QuantityManufacturer          Quantity = "manufacturer"
	QuantityParameterSet          Quantity = "parameter_set_id"
	QuantityModelVersion          Quantity = "model_version"
	QuantityHardwareVersion       Quantity = "hardware_version"
	QuantityFirmwareVersion       Quantity = "firmware_version"
	QuantitySoftwareVersion       Quantity = "software_version"
	QuantityCustomerLocation      Quantity = "customer_location"
	QuantityCustomer              Quantity = "customer"
	QuantityAccessCodeUser        Quantity = "access_code_user"
	QuantityAccessCodeOperator    Quantity = "access_code_operator"
	QuantityAccessCodeSysOperator Quantity = "access_code_system_operator"
	QuantityAccessCodeDeveloper   Quantity = "access_code_developer"
	QuantityPassword              Quantity = "password"
	QuantityErrorFlags            Quantity = "error_flags"
	QuantityErrorMask             Quantity = "error_mask"
	QuantitySecurityKey           Quantity = "security_key"
	QuantityDigitalOutput         Quantity = "digital_output"
	QuantityDigitalInput          Quantity = "digital_input"
	QuantityBaudRate              Quantity = "baud_rate"
	QuantityResponseDelay         Quantity = "response_delay"
	QuantityRetry                 Quantity = "retry"
	QuantityRemoteControl         Quantity = "remote_control"
	QuantityFirstStorage          Quantity = "first_storage_number"
	QuantityLastStorage           Quantity = "last_storage_number"
	QuantityStorageBlockSize      Quantity = "storage_block_size"
	QuantityDescriptorTariff      Quantity = "tariff_descriptor"
	QuantityStorageInterval       Quantity = "storage_interval"
	QuantityDurationSinceReadout  Quantity = "duration_since_readout"
	QuantityTariffStart           Quantity = "tariff_start"
	QuantityTariffDuration        Quantity = "tariff_duration"
	QuantityTariffPeriod          Quantity = "tariff_period"
	QuantityDimensionless         Quantity = "dimensionless"
	QuantityDataContainer         Quantity = "data_container"
	QuantityVoltage               Quantity = "voltage"
	QuantityCurrent               Quantity = "current"
	QuantityResetCounter          Quantity = "reset_counter"
	QuantityCumulationCounter     Quantity = "cumulation_counter"
	QuantityControlSignal         Quantity = "control_signal"
	QuantityDayOfWeek             Quantity = "day_of_week"
	QuantityWeekNumber            Quantity = "week_number"
	QuantityDayChange             Quantity = "day_change_time"
	QuantityParameterActivation   Quantity = "parameter_activation_state"
	QuantitySupplierInfo          Quantity = "supplier_info"
	QuantitySinceCumulation       Quantity = "duration_since_cumulation"
	QuantityBatteryOperatingTime  Quantity = "battery_operating_time"
	QuantityBatteryChangeDate     Quantity = "battery_change_date"
	QuantityRFLevel               Quantity = "rf_level"
	QuantityDST                   Quantity = "daylight_saving"
	QuantityListeningWindow       Quantity = "listening_window"
	QuantityRemainingBattery      Quantity = "remaining_battery_life"
	QuantityMeterStops            Quantity = "meter_stopped_count"
	QuantityDataContainerMfct     Quantity = "manufacturer_data_container"
	QuantityAnyVIF                Quantity = "any"
	QuantityPlainText             Quantity = "plain_text"
	QuantityIdleFiller            Quantity = "idle_filler"
)
