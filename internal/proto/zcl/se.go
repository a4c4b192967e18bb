package zcl

import (
	"encoding/binary"
	"fmt"
)

// The cluster-specific payloads of the Smart Energy clusters (07-5356
// annex D). Every Parse function rejects a short payload with ErrShort;
// optional trailing fields of later revisions are read when present and
// further trailing bytes are ignored (as the specification asks of a
// receiver facing a newer sender).

func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// ---- Price ----

// PublishPrice is the Price cluster's PublishPrice payload (SE 1.1
// fields). Unused optional fields carry their invalid markers (0xff…).
type PublishPrice struct {
	ProviderID    uint32
	RateLabel     []byte // 1…12 bytes
	IssuerEventID uint32
	CurrentTime   uint32 // UTCTime
	UnitOfMeasure uint8
	Currency      uint16 // ISO 4217 numeric
	// PriceTrailingDigit (high nibble) and PriceTier (low nibble).
	TrailingDigit, PriceTier uint8
	// NumberOfPriceTiers (high nibble) and RegisterTier (low nibble).
	NumberOfTiers, RegisterTier uint8
	StartTime                   uint32 // UTCTime; 0 is now
	Duration                    uint16 // minutes; 0xffff until changed
	Price                       uint32
	PriceRatio                  uint8  // 0xff unused
	GenerationPrice             uint32 // 0xffffffff unused
	GenerationPriceRatio        uint8  // 0xff unused
	AlternateCostDelivered      uint32 // 0xffffffff unused
	AlternateCostUnit           uint8  // 0xff unused
	AlternateCostTrailingDigit  uint8  // high nibble; 0xff unused
	NumberOfBlockThresholds     uint8
	PriceControl                uint8
}

// UnusedPriceFields sets the optional fields to "not used".
func (p *PublishPrice) UnusedPriceFields() {
	p.PriceRatio, p.GenerationPrice, p.GenerationPriceRatio = 0xff, 0xffffffff, 0xff
	p.AlternateCostDelivered, p.AlternateCostUnit, p.AlternateCostTrailingDigit = 0xffffffff, 0xff, 0xff
}

// AppendPublishPrice appends a PublishPrice payload.
func AppendPublishPrice(dst []byte, p PublishPrice) ([]byte, error) {
	if len(p.RateLabel) > 12 {
		return dst, fmt.Errorf("%w: publish price: rate label of %d bytes, at most 12", ErrRange, len(p.RateLabel))
	}
	if p.TrailingDigit > 15 || p.PriceTier > 15 || p.NumberOfTiers > 15 || p.RegisterTier > 15 {
		return dst, fmt.Errorf("%w: publish price: trailing digit, tiers and register tier are 4-bit fields", ErrRange)
	}
	dst = appendU32(dst, p.ProviderID)
	dst = append(append(dst, byte(len(p.RateLabel))), p.RateLabel...)
	dst = appendU32(dst, p.IssuerEventID)
	dst = appendU32(dst, p.CurrentTime)
	dst = append(dst, p.UnitOfMeasure)
	dst = appendU16(dst, p.Currency)
	dst = append(dst, p.TrailingDigit<<4|p.PriceTier, p.NumberOfTiers<<4|p.RegisterTier)
	dst = appendU32(dst, p.StartTime)
	dst = appendU16(dst, p.Duration)
	dst = appendU32(dst, p.Price)
	dst = append(dst, p.PriceRatio)
	dst = appendU32(dst, p.GenerationPrice)
	dst = append(dst, p.GenerationPriceRatio)
	dst = appendU32(dst, p.AlternateCostDelivered)
	dst = append(dst, p.AlternateCostUnit, p.AlternateCostTrailingDigit, p.NumberOfBlockThresholds, p.PriceControl)
	return dst, nil
}

// ParsePublishPrice decodes a PublishPrice payload. Fields from
// PriceRatio on are optional (older senders end early); missing ones come
// back as "not used".
func ParsePublishPrice(b []byte) (PublishPrice, error) {
	r := &reader{p: b, cmd: "publish price"}
	var p PublishPrice
	p.UnusedPriceFields()
	p.ProviderID = r.u32("provider id")
	p.RateLabel = r.str("rate label")
	p.IssuerEventID = r.u32("issuer event id")
	p.CurrentTime = r.u32("current time")
	p.UnitOfMeasure = r.u8("unit of measure")
	p.Currency = r.u16("currency")
	td := r.u8("price trailing digit and tier")
	nt := r.u8("number of tiers and register tier")
	p.TrailingDigit, p.PriceTier = td>>4, td&15
	p.NumberOfTiers, p.RegisterTier = nt>>4, nt&15
	p.StartTime = r.u32("start time")
	p.Duration = r.u16("duration")
	p.Price = r.u32("price")
	if r.err != nil {
		return p, r.err
	}
	if r.more() {
		p.PriceRatio = r.u8("price ratio")
	}
	if r.more() {
		p.GenerationPrice = r.u32("generation price")
	}
	if r.more() {
		p.GenerationPriceRatio = r.u8("generation price ratio")
	}
	if r.more() {
		p.AlternateCostDelivered = r.u32("alternate cost delivered")
	}
	if r.more() {
		p.AlternateCostUnit = r.u8("alternate cost unit")
	}
	if r.more() {
		p.AlternateCostTrailingDigit = r.u8("alternate cost trailing digit")
	}
	if r.more() {
		p.NumberOfBlockThresholds = r.u8("number of block thresholds")
	}
	if r.more() {
		p.PriceControl = r.u8("price control")
	}
	return p, r.err
}

// GetCurrentPrice is the GetCurrentPrice payload.
type GetCurrentPrice struct {
	// Options bit 0: the requestor's receiver is on when idle (it wants
	// later price changes pushed).
	Options uint8
}

// RxOnWhenIdle reports bit 0 of Options.
func (g GetCurrentPrice) RxOnWhenIdle() bool { return g.Options&1 != 0 }

// AppendGetCurrentPrice appends a GetCurrentPrice payload.
func AppendGetCurrentPrice(dst []byte, g GetCurrentPrice) []byte { return append(dst, g.Options) }

// ParseGetCurrentPrice decodes a GetCurrentPrice payload.
func ParseGetCurrentPrice(b []byte) (GetCurrentPrice, error) {
	r := &reader{p: b, cmd: "get current price"}
	return GetCurrentPrice{Options: r.u8("command options")}, r.err
}

// GetScheduled is the payload of GetScheduledPrices and of DRLC's
// GetScheduledEvents.
type GetScheduled struct {
	StartTime uint32 // UTCTime; 0 is now
	Count     uint8  // 0 is every one
}

// AppendGetScheduled appends a GetScheduledPrices/GetScheduledEvents payload.
func AppendGetScheduled(dst []byte, g GetScheduled) []byte {
	return append(appendU32(dst, g.StartTime), g.Count)
}

// ParseGetScheduled decodes a GetScheduledPrices/GetScheduledEvents payload.
func ParseGetScheduled(b []byte) (GetScheduled, error) {
	r := &reader{p: b, cmd: "get scheduled"}
	g := GetScheduled{StartTime: r.u32("start time"), Count: r.u8("number of events")}
	return g, r.err
}

// ---- Messaging ----

// Message control bits (07-5356 D.5.2.3.1.1.1).
const (
	MsgImportanceLow      uint8 = 0x00
	MsgImportanceMedium   uint8 = 0x04
	MsgImportanceHigh     uint8 = 0x08
	MsgImportanceCritical uint8 = 0x0c
	MsgConfirmRequired    uint8 = 0x80
)

// DisplayMessage is the Messaging cluster's DisplayMessage payload.
type DisplayMessage struct {
	ID        uint32
	Control   uint8  // transmission (bits 0–1), importance (2–3), confirmation (7)
	StartTime uint32 // UTCTime; 0 is now
	Duration  uint16 // minutes; 0xffff until changed
	Message   []byte // character string, ≤ 254 bytes on the wire (ZCL's limit)
}

// AppendDisplayMessage appends a DisplayMessage payload.
func AppendDisplayMessage(dst []byte, m DisplayMessage) ([]byte, error) {
	if len(m.Message) > 254 {
		return dst, fmt.Errorf("%w: display message: text of %d bytes, at most 254", ErrRange, len(m.Message))
	}
	dst = appendU32(dst, m.ID)
	dst = append(dst, m.Control)
	dst = appendU32(dst, m.StartTime)
	dst = appendU16(dst, m.Duration)
	return append(append(dst, byte(len(m.Message))), m.Message...), nil
}

// ParseDisplayMessage decodes a DisplayMessage payload.
func ParseDisplayMessage(b []byte) (DisplayMessage, error) {
	r := &reader{p: b, cmd: "display message"}
	m := DisplayMessage{ID: r.u32("message id"), Control: r.u8("message control"),
		StartTime: r.u32("start time"), Duration: r.u16("duration")}
	m.Message = r.value(TypeCharStr, "message").B
	return m, r.err
}

// CancelMessage is the CancelMessage payload.
type CancelMessage struct {
	ID      uint32
	Control uint8
}

// AppendCancelMessage appends a CancelMessage payload.
func AppendCancelMessage(dst []byte, c CancelMessage) []byte {
	return append(appendU32(dst, c.ID), c.Control)
}

// ParseCancelMessage decodes a CancelMessage payload.
func ParseCancelMessage(b []byte) (CancelMessage, error) {
	r := &reader{p: b, cmd: "cancel message"}
	c := CancelMessage{ID: r.u32("message id"), Control: r.u8("message control")}
	return c, r.err
}

// MessageConfirmation is the MessageConfirmation payload (SE 1.1 fields;
// the SE 1.2 confirmation control and response text are ignored).
type MessageConfirmation struct {
	ID   uint32
	Time uint32 // UTCTime
}

// AppendMessageConfirmation appends a MessageConfirmation payload.
func AppendMessageConfirmation(dst []byte, c MessageConfirmation) []byte {
	return appendU32(appendU32(dst, c.ID), c.Time)
}

// ParseMessageConfirmation decodes a MessageConfirmation payload.
func ParseMessageConfirmation(b []byte) (MessageConfirmation, error) {
	r := &reader{p: b, cmd: "message confirmation"}
	c := MessageConfirmation{ID: r.u32("message id"), Time: r.u32("confirmation time")}
	return c, r.err
}

// ---- Demand Response and Load Control ----

// Device class bits (07-5356 table D-2).
const (
	ClassHVAC        uint16 = 1 << 0
	ClassStripHeater uint16 = 1 << 1
	ClassWaterHeater uint16 = 1 << 2
	ClassPoolPump    uint16 = 1 << 3
	ClassSmartAppl   uint16 = 1 << 4
	ClassIrrigation  uint16 = 1 << 5
	ClassManagedCI   uint16 = 1 << 6
	ClassSimpleMisc  uint16 = 1 << 7
	ClassExtLighting uint16 = 1 << 8
	ClassIntLighting uint16 = 1 << 9
	ClassEV          uint16 = 1 << 10
	ClassGeneration  uint16 = 1 << 11
)

// Event status values of ReportEventStatus (07-5356 table D-9).
const (
	EventReceived        uint8 = 0x01
	EventStarted         uint8 = 0x02
	EventCompleted       uint8 = 0x03
	EventOptOut          uint8 = 0x04
	EventOptIn           uint8 = 0x05
	EventCancelled       uint8 = 0x06
	EventSuperseded      uint8 = 0x07
	EventPartialOptOut   uint8 = 0x08
	EventPartialOptIn    uint8 = 0x09
	EventCompletedNoPart uint8 = 0x0a
	EventRejectedCancel  uint8 = 0xf8
	EventRejectedExpired uint8 = 0xfb
	EventRejectedUndef   uint8 = 0xfd
	EventRejected        uint8 = 0xfe
)

// LoadControlEvent is the LoadControlEvent payload. Unused set points and
// offsets carry their invalid markers (see UnusedLoadFields).
type LoadControlEvent struct {
	IssuerEventID   uint32
	DeviceClass     uint16
	EnrollmentGroup uint8
	StartTime       uint32 // UTCTime; 0 is now
	Duration        uint16 // minutes
	Criticality     uint8  // 1…9 (0x0f for the SE 1.2 "service disconnect")
	CoolingOffset   uint8  // 0.1 °C; 0xff unused
	HeatingOffset   uint8  // 0.1 °C; 0xff unused
	CoolingSetPoint int16  // 0.01 °C; −32768 unused
	HeatingSetPoint int16  // 0.01 °C; −32768 unused
	AvgLoadAdjust   int8   // percent; −128 unused
	DutyCycle       uint8  // percent; 0xff unused
	EventControl    uint8  // bit 0 randomise start, bit 1 randomise end
}

// UnusedLoadFields marks the set points, offsets, load adjustment and duty
// cycle as not used.
func (e *LoadControlEvent) UnusedLoadFields() {
	e.CoolingOffset, e.HeatingOffset = 0xff, 0xff
	e.CoolingSetPoint, e.HeatingSetPoint = -32768, -32768
	e.AvgLoadAdjust, e.DutyCycle = -128, 0xff
}

// AppendLoadControlEvent appends a LoadControlEvent payload (23 bytes).
func AppendLoadControlEvent(dst []byte, e LoadControlEvent) []byte {
	dst = appendU32(dst, e.IssuerEventID)
	dst = appendUint(dst, uint64(e.DeviceClass), 2)
	dst = append(dst, e.EnrollmentGroup)
	dst = appendU32(dst, e.StartTime)
	dst = appendU16(dst, e.Duration)
	dst = append(dst, e.Criticality, e.CoolingOffset, e.HeatingOffset)
	dst = appendU16(dst, uint16(e.CoolingSetPoint))
	dst = appendU16(dst, uint16(e.HeatingSetPoint))
	return append(dst, byte(e.AvgLoadAdjust), e.DutyCycle, e.EventControl)
}

// ParseLoadControlEvent decodes a LoadControlEvent payload.
func ParseLoadControlEvent(b []byte) (LoadControlEvent, error) {
	r := &reader{p: b, cmd: "load control event"}
	e := LoadControlEvent{
		IssuerEventID: r.u32("issuer event id"), DeviceClass: r.u16("device class"),
		EnrollmentGroup: r.u8("utility enrollment group"), StartTime: r.u32("start time"),
		Duration: r.u16("duration"), Criticality: r.u8("criticality level"),
		CoolingOffset: r.u8("cooling temperature offset"), HeatingOffset: r.u8("heating temperature offset"),
		CoolingSetPoint: int16(r.u16("cooling temperature set point")), HeatingSetPoint: int16(r.u16("heating temperature set point")),
		AvgLoadAdjust: int8(r.u8("average load adjustment")), DutyCycle: r.u8("duty cycle"), EventControl: r.u8("event control"),
	}
	return e, r.err
}

// CancelLoadControlEvent is the CancelLoadControlEvent payload.
type CancelLoadControlEvent struct {
	IssuerEventID   uint32
	DeviceClass     uint16
	EnrollmentGroup uint8
	CancelControl   uint8  // bit 0: randomise the end (graceful)
	EffectiveTime   uint32 // UTCTime; 0 is now
}

// AppendCancelLoadControlEvent appends a CancelLoadControlEvent payload.
func AppendCancelLoadControlEvent(dst []byte, c CancelLoadControlEvent) []byte {
	dst = appendU32(dst, c.IssuerEventID)
	dst = appendU16(dst, c.DeviceClass)
	dst = append(dst, c.EnrollmentGroup, c.CancelControl)
	return appendU32(dst, c.EffectiveTime)
}

// ParseCancelLoadControlEvent decodes a CancelLoadControlEvent payload.
func ParseCancelLoadControlEvent(b []byte) (CancelLoadControlEvent, error) {
	r := &reader{p: b, cmd: "cancel load control event"}
	c := CancelLoadControlEvent{IssuerEventID: r.u32("issuer event id"), DeviceClass: r.u16("device class"),
		EnrollmentGroup: r.u8("utility enrollment group"), CancelControl: r.u8("cancel control"),
		EffectiveTime: r.u32("effective time")}
	return c, r.err
}

// SignatureLen is the length of ReportEventStatus's signature field.
const SignatureLen = 42

// ReportEventStatus is the ReportEventStatus payload a load control device
// sends.
type ReportEventStatus struct {
	IssuerEventID      uint32
	Status             uint8
	Time               uint32 // UTCTime of the status
	CriticalityApplied uint8
	CoolingSetPoint    uint16 // applied; 0x8000 unused
	HeatingSetPoint    uint16 // applied; 0x8000 unused
	AvgLoadAdjust      int8   // applied; −128 unused
	DutyCycle          uint8  // applied; 0xff unused
	EventControl       uint8
	SignatureType      uint8 // 0 none, 1 ECDSA
	Signature          [SignatureLen]byte
}

// AppendReportEventStatus appends a ReportEventStatus payload (60 bytes).
func AppendReportEventStatus(dst []byte, s ReportEventStatus) []byte {
	dst = appendU32(dst, s.IssuerEventID)
	dst = append(dst, s.Status)
	dst = appendU32(dst, s.Time)
	dst = append(dst, s.CriticalityApplied)
	dst = appendU16(dst, s.CoolingSetPoint)
	dst = appendU16(dst, s.HeatingSetPoint)
	dst = append(dst, byte(s.AvgLoadAdjust), s.DutyCycle, s.EventControl, s.SignatureType)
	return append(dst, s.Signature[:]...)
}

// ParseReportEventStatus decodes a ReportEventStatus payload. A sender
// that leaves out the signature (some do when its type is 0) is accepted.
func ParseReportEventStatus(b []byte) (ReportEventStatus, error) {
	r := &reader{p: b, cmd: "report event status"}
	s := ReportEventStatus{IssuerEventID: r.u32("issuer event id"), Status: r.u8("event status"),
		Time: r.u32("event status time"), CriticalityApplied: r.u8("criticality level applied"),
		CoolingSetPoint: r.u16("cooling set point applied"), HeatingSetPoint: r.u16("heating set point applied"),
		AvgLoadAdjust: int8(r.u8("average load adjustment applied")), DutyCycle: r.u8("duty cycle applied"),
		EventControl: r.u8("event control")}
	if r.err != nil {
		return s, r.err
	}
	if r.more() {
		s.SignatureType = r.u8("signature type")
		if r.more() && r.need(SignatureLen, "signature") {
			copy(s.Signature[:], r.p[r.off:r.off+SignatureLen])
			r.off += SignatureLen
		}
	}
	return s, r.err
}

// ---- Metering: GetProfile ----

// Profile interval channels and periods (07-5356 D.3.2.3.1.1, table D-31).
const (
	ChannelDelivered uint8 = 0
	ChannelReceived  uint8 = 1

	PeriodDaily  uint8 = 0
	Period60Min  uint8 = 1
	Period30Min  uint8 = 2
	Period15Min  uint8 = 3
	Period10Min  uint8 = 4
	Period7_5Min uint8 = 5
	Period5Min   uint8 = 6
	Period2_5Min uint8 = 7
)

// GetProfileResponse status values (07-5356 table D-30).
const (
	ProfileSuccess            uint8 = 0x00
	ProfileUndefinedChannel   uint8 = 0x01
	ProfileChannelUnsupported uint8 = 0x02
	ProfileInvalidEndTime     uint8 = 0x03
	ProfileTooManyPeriods     uint8 = 0x04
	ProfileNoIntervals        uint8 = 0x05
)

// GetProfile is the Metering cluster's GetProfile payload.
type GetProfile struct {
	Channel uint8
	EndTime uint32 // UTCTime; 0 is the most recent interval
	Periods uint8
}

// AppendGetProfile appends a GetProfile payload.
func AppendGetProfile(dst []byte, g GetProfile) []byte {
	return append(appendU32(append(dst, g.Channel), g.EndTime), g.Periods)
}

// ParseGetProfile decodes a GetProfile payload.
func ParseGetProfile(b []byte) (GetProfile, error) {
	r := &reader{p: b, cmd: "get profile"}
	g := GetProfile{Channel: r.u8("interval channel"), EndTime: r.u32("end time"), Periods: r.u8("number of periods")}
	return g, r.err
}

// GetProfileResponse is the GetProfileResponse payload: Intervals (each
// uint24) run from the most recent backwards.
type GetProfileResponse struct {
	EndTime   uint32
	Status    uint8
	Period    uint8
	Intervals []uint32
}

// AppendGetProfileResponse appends a GetProfileResponse payload.
func AppendGetProfileResponse(dst []byte, g GetProfileResponse) ([]byte, error) {
	if len(g.Intervals) > 255 {
		return dst, fmt.Errorf("%w: get profile response: %d intervals, at most 255", ErrRange, len(g.Intervals))
	}
	dst = appendU32(dst, g.EndTime)
	dst = append(dst, g.Status, g.Period, byte(len(g.Intervals)))
	for _, v := range g.Intervals {
		if v > 0xffffff {
			return dst, fmt.Errorf("%w: get profile response: interval value %d does not fit uint24", ErrRange, v)
		}
		dst = appendUint(dst, uint64(v), 3)
	}
	return dst, nil
}

// ParseGetProfileResponse decodes a GetProfileResponse payload.
func ParseGetProfileResponse(b []byte) (GetProfileResponse, error) {
	r := &reader{p: b, cmd: "get profile response"}
	g := GetProfileResponse{EndTime: r.u32("end time"), Status: r.u8("status"), Period: r.u8("profile interval period")}
	n := int(r.u8("number of periods delivered"))
	for i := 0; i < n && r.err == nil; i++ {
		g.Intervals = append(g.Intervals, r.u24(fmt.Sprintf("interval %d", i)))
	}
	return g, r.err
}
