package zcl

// Profile and cluster ids (Smart Energy profile, 07-5356 table 5-x; ZCL
// chapter 3 for Basic, Identify and Time).
const (
	ProfileSmartEnergy uint16 = 0x0109
	// DeviceESI is the Energy Service Interface device id (07-5356 5.7).
	DeviceESI uint16 = 0x0500
	// DeviceIHD is the In-Premises Display device id.
	DeviceIHD uint16 = 0x0507

	ClusterBasic     uint16 = 0x0000
	ClusterIdentify  uint16 = 0x0003
	ClusterTime      uint16 = 0x000a
	ClusterKeyEstab  uint16 = 0x0800 // Key Establishment (CBKE)
	ClusterPrice     uint16 = 0x0700
	ClusterDRLC      uint16 = 0x0701
	ClusterMetering  uint16 = 0x0702
	ClusterMessaging uint16 = 0x0703
)

// Basic cluster attributes (ZCL 3.2.2.2).
const (
	BasicZCLVersion     uint16 = 0x0000 // uint8
	BasicAppVersion     uint16 = 0x0001 // uint8
	BasicStackVersion   uint16 = 0x0002 // uint8
	BasicHWVersion      uint16 = 0x0003 // uint8
	BasicManufacturer   uint16 = 0x0004 // string, ≤ 32
	BasicModel          uint16 = 0x0005 // string, ≤ 32
	BasicDateCode       uint16 = 0x0006 // string, ≤ 16
	BasicPowerSource    uint16 = 0x0007 // enum8
	BasicSWBuildID      uint16 = 0x4000 // string, ≤ 16
	PowerSourceMains1Ph uint8  = 0x01
)

// Identify cluster (ZCL 3.5).
const (
	IdentifyTime             uint16 = 0x0000 // uint16, seconds
	CmdIdentify              uint8  = 0x00   // client→server: uint16 time
	CmdIdentifyQuery         uint8  = 0x01   // client→server: no payload
	CmdIdentifyQueryResponse uint8  = 0x00   // server→client: uint16 timeout
)

// Time cluster attributes (ZCL 3.12.2.2).
const (
	TimeTime              uint16 = 0x0000 // UTC, R/W
	TimeStatus            uint16 = 0x0001 // map8
	TimeZone              uint16 = 0x0002 // int32, seconds east of UTC
	TimeDstStart          uint16 = 0x0003 // uint32, UTCTime
	TimeDstEnd            uint16 = 0x0004 // uint32, UTCTime
	TimeDstShift          uint16 = 0x0005 // int32, seconds
	TimeStandardTime      uint16 = 0x0006 // uint32
	TimeLocalTime         uint16 = 0x0007 // uint32
	TimeLastSetTime       uint16 = 0x0008 // UTC
	TimeValidUntil        uint16 = 0x0009 // UTC
	TimeStatusMaster      uint8  = 0x01
	TimeStatusSynced      uint8  = 0x02
	TimeStatusMasterZone  uint8  = 0x04 // MasterZoneDst
	TimeStatusSuperseding uint8  = 0x08
)

// Metering cluster attributes (07-5356 D.3.2.2).
const (
	MeterCurrentSummationDelivered uint16 = 0x0000 // uint48
	MeterCurrentSummationReceived  uint16 = 0x0001 // uint48
	MeterCurrentMaxDemandDelivered uint16 = 0x0002 // uint48
	MeterReadingSnapshotTime       uint16 = 0x0007 // UTC
	MeterDefaultUpdatePeriod       uint16 = 0x000a // uint8
	MeterProfileIntervalPeriod     uint16 = 0x000f // enum8
	MeterSupplyStatus              uint16 = 0x0014 // enum8
	// MeterTierSummationDelivered(n) and Received(n) are the tier
	// registers: 0x0100 + 2(n−1) and one above.
	MeterCurrentTier1SummationDelivered  uint16 = 0x0100 // uint48
	MeterStatus                          uint16 = 0x0200 // map8
	MeterUnitOfMeasure                   uint16 = 0x0300 // enum8
	MeterMultiplier                      uint16 = 0x0301 // uint24
	MeterDivisor                         uint16 = 0x0302 // uint24
	MeterSummationFormatting             uint16 = 0x0303 // map8
	MeterDemandFormatting                uint16 = 0x0304 // map8
	MeterHistoricalFormatting            uint16 = 0x0305 // map8
	MeterDeviceType                      uint16 = 0x0306 // map8
	MeterSiteID                          uint16 = 0x0307 // octstr
	MeterSerialNumber                    uint16 = 0x0308 // octstr
	MeterInstantaneousDemand             uint16 = 0x0400 // int24
	MeterCurrentDayConsumptionDelivered  uint16 = 0x0401 // uint24
	MeterCurrentDayConsumptionReceived   uint16 = 0x0402 // uint24
	MeterPreviousDayConsumptionDelivered uint16 = 0x0403 // uint24
	MeterPreviousDayConsumptionReceived  uint16 = 0x0404 // uint24
)

// MeterTierSummationDelivered returns the attribute id of
// CurrentTier<n>SummationDelivered (n 1…48; 1…15 in SE 1.1).
func MeterTierSummationDelivered(n int) uint16 { return 0x0100 + uint16(2*(n-1)) }

// MeterTierSummationReceived returns the id of CurrentTier<n>SummationReceived.
func MeterTierSummationReceived(n int) uint16 { return 0x0101 + uint16(2*(n-1)) }

// UnitOfMeasure values (07-5356 table D-22); the BCD forms add 0x80.
const (
	UnitKWh        uint8 = 0x00 // kW and kWh
	UnitCubicMetre uint8 = 0x01 // m³ and m³/h
	UnitCubicFeet  uint8 = 0x02
	UnitCCF        uint8 = 0x03
	UnitUSGallon   uint8 = 0x04
	UnitImpGallon  uint8 = 0x05
	UnitBTU        uint8 = 0x06
	UnitLitre      uint8 = 0x07 // l and l/h
	UnitKPaGauge   uint8 = 0x08
	UnitKPaAbs     uint8 = 0x09
	UnitMCF        uint8 = 0x0a
	UnitUnitless   uint8 = 0x0b
	UnitMJ         uint8 = 0x0c // MJ and MJ/s
)

// MeteringDeviceType values (07-5356 table D-25).
const (
	DeviceElectric      uint8 = 0
	DeviceGas           uint8 = 1
	DeviceWater         uint8 = 2
	DeviceThermal       uint8 = 3
	DevicePressure      uint8 = 4
	DeviceHeat          uint8 = 5
	DeviceCooling       uint8 = 6
	DeviceMirroredGas   uint8 = 128
	DeviceMirroredWater uint8 = 129
)

// Metering Status bits (electricity, 07-5356 D.3.2.2.2).
const (
	MeterStatusCheckMeter        uint8 = 0x01
	MeterStatusLowBattery        uint8 = 0x02
	MeterStatusTamperDetect      uint8 = 0x04
	MeterStatusPowerFailure      uint8 = 0x08
	MeterStatusPowerQuality      uint8 = 0x10
	MeterStatusLeakDetect        uint8 = 0x20
	MeterStatusServiceDisconnect uint8 = 0x40
)

// Formatting returns a SummationFormatting / DemandFormatting byte: digits
// right of the decimal point (0…7), left of it (0…15), suppress leading
// zeros.
func Formatting(right, left int, suppressZeros bool) uint8 {
	f := uint8(right&7) | uint8(left&15)<<3
	if suppressZeros {
		f |= 0x80
	}
	return f
}

// Metering cluster commands (07-5356 D.3.2.3/D.3.2.4).
const (
	CmdGetProfile         uint8 = 0x00 // client→server
	CmdGetProfileResponse uint8 = 0x00 // server→client
)

// Price cluster commands (07-5356 D.4.2.3/D.4.2.4).
const (
	CmdGetCurrentPrice      uint8 = 0x00 // client→server
	CmdGetScheduledPrices   uint8 = 0x01 // client→server
	CmdPriceAcknowledgement uint8 = 0x02 // client→server (SE 1.1)
	CmdPublishPrice         uint8 = 0x00 // server→client
)

// DRLC cluster commands (07-5356 D.2.2.3/D.2.3.3).
const (
	CmdLoadControlEvent           uint8 = 0x00 // server→client
	CmdCancelLoadControlEvent     uint8 = 0x01 // server→client
	CmdCancelAllLoadControlEvents uint8 = 0x02 // server→client
	CmdReportEventStatus          uint8 = 0x00 // client→server
	CmdGetScheduledEvents         uint8 = 0x01 // client→server
)

// Messaging cluster commands (07-5356 D.5.2.3/D.5.2.4).
const (
	CmdDisplayMessage      uint8 = 0x00 // server→client
	CmdCancelMessage       uint8 = 0x01 // server→client
	CmdGetLastMessage      uint8 = 0x00 // client→server
	CmdMessageConfirmation uint8 = 0x01 // client→server
)
