package sep2

import "encoding/xml"

// Namespace is the XML namespace of the schema this package follows
// (sep.xsd, version 2.0.4, in testdata/).
const Namespace = "http://ieee.org/2030.5"

// ContentType is the media type of every resource served.
const ContentType = "application/sep+xml"

// The XML structures below follow sep.xsd: each Go struct lists the
// elements of its schema type in the schema's order (base types first),
// because XML Schema sequences are ordered. Only what is served (or, for
// Response, read) is modelled.

type link struct {
	Href string `xml:"href,attr"`
}

type listLink struct {
	Href string  `xml:"href,attr"`
	All  *uint32 `xml:"all,attr,omitempty"`
}

// identified is IdentifiedObject's sequence (after Resource's href).
type identified struct {
	MRID        string  `xml:"mRID"`
	Description string  `xml:"description,omitempty"`
	Version     *uint16 `xml:"version,omitempty"`
}

type listAttrs struct {
	Href    string `xml:"href,attr,omitempty"`
	All     uint32 `xml:"all,attr"`
	Results uint32 `xml:"results,attr"`
}

type dateTimeInterval struct {
	Duration uint32 `xml:"duration"`
	Start    int64  `xml:"start"`
}

// DeviceCapability is the entry point (/dcap).
type deviceCapability struct {
	XMLName                       xml.Name  `xml:"http://ieee.org/2030.5 DeviceCapability"`
	Href                          string    `xml:"href,attr,omitempty"`
	PollRate                      uint32    `xml:"pollRate,attr,omitempty"`
	DemandResponseProgramListLink *listLink `xml:"DemandResponseProgramListLink,omitempty"`
	MessagingProgramListLink      *listLink `xml:"MessagingProgramListLink,omitempty"`
	ResponseSetListLink           *listLink `xml:"ResponseSetListLink,omitempty"`
	TariffProfileListLink         *listLink `xml:"TariffProfileListLink,omitempty"`
	TimeLink                      *link     `xml:"TimeLink,omitempty"`
	UsagePointListLink            *listLink `xml:"UsagePointListLink,omitempty"`
}

type timeResource struct {
	XMLName      xml.Name `xml:"http://ieee.org/2030.5 Time"`
	Href         string   `xml:"href,attr,omitempty"`
	PollRate     uint32   `xml:"pollRate,attr,omitempty"`
	CurrentTime  int64    `xml:"currentTime"`
	DSTEndTime   int64    `xml:"dstEndTime"`
	DSTOffset    int32    `xml:"dstOffset"`
	DSTStartTime int64    `xml:"dstStartTime"`
	LocalTime    *int64   `xml:"localTime,omitempty"`
	Quality      uint8    `xml:"quality"`
	TZOffset     int32    `xml:"tzOffset"`
}

// ---- Metering ----

type usagePoint struct {
	XMLName xml.Name `xml:"UsagePoint"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	RoleFlags            string    `xml:"roleFlags"`
	ServiceCategoryKind  uint8     `xml:"serviceCategoryKind"`
	Status               uint8     `xml:"status"`
	MeterReadingListLink *listLink `xml:"MeterReadingListLink,omitempty"`
}

type usagePointList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 UsagePointList"`
	listAttrs
	PollRate uint32       `xml:"pollRate,attr,omitempty"`
	Items    []usagePoint `xml:"UsagePoint"`
}

type meterReading struct {
	XMLName xml.Name `xml:"MeterReading"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	ReadingLink        *link     `xml:"ReadingLink,omitempty"`
	ReadingSetListLink *listLink `xml:"ReadingSetListLink,omitempty"`
	ReadingTypeLink    link      `xml:"ReadingTypeLink"`
}

type meterReadingList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 MeterReadingList"`
	listAttrs
	Items []meterReading `xml:"MeterReading"`
}

type readingType struct {
	XMLName                   xml.Name `xml:"http://ieee.org/2030.5 ReadingType"`
	Href                      string   `xml:"href,attr,omitempty"`
	AccumulationBehaviour     *uint8   `xml:"accumulationBehaviour,omitempty"`
	Commodity                 *uint8   `xml:"commodity,omitempty"`
	DataQualifier             *uint8   `xml:"dataQualifier,omitempty"`
	FlowDirection             *uint8   `xml:"flowDirection,omitempty"`
	IntervalLength            *uint32  `xml:"intervalLength,omitempty"`
	Kind                      *uint8   `xml:"kind,omitempty"`
	NumberOfConsumptionBlocks *uint8   `xml:"numberOfConsumptionBlocks,omitempty"`
	NumberOfTouTiers          *uint8   `xml:"numberOfTouTiers,omitempty"`
	Phase                     *uint8   `xml:"phase,omitempty"`
	PowerOfTenMultiplier      *int8    `xml:"powerOfTenMultiplier,omitempty"`
	TieredConsumptionBlocks   *bool    `xml:"tieredConsumptionBlocks,omitempty"`
	UOM                       *uint8   `xml:"uom,omitempty"`
}

type reading struct {
	XMLName      xml.Name          `xml:"Reading"`
	Href         string            `xml:"href,attr,omitempty"`
	QualityFlags string            `xml:"qualityFlags,omitempty"`
	TimePeriod   *dateTimeInterval `xml:"timePeriod,omitempty"`
	TouTier      *uint8            `xml:"touTier,omitempty"`
	Value        *int64            `xml:"value,omitempty"`
}

// readingDoc is a Reading served on its own (the latest).
type readingDoc struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 Reading"`
	reading
}

type readingList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 ReadingList"`
	listAttrs
	Items []reading `xml:"Reading"`
}

type readingSet struct {
	XMLName xml.Name `xml:"ReadingSet"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	TimePeriod      dateTimeInterval `xml:"timePeriod"`
	ReadingListLink *listLink        `xml:"ReadingListLink,omitempty"`
}

type readingSetList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 ReadingSetList"`
	listAttrs
	Items []readingSet `xml:"ReadingSet"`
}

// ---- Pricing ----

type tariffProfile struct {
	XMLName xml.Name `xml:"TariffProfile"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	Currency                  *uint16   `xml:"currency,omitempty"`
	PricePowerOfTenMultiplier *int8     `xml:"pricePowerOfTenMultiplier,omitempty"`
	Primacy                   uint8     `xml:"primacy"`
	RateCode                  string    `xml:"rateCode,omitempty"`
	RateComponentListLink     *listLink `xml:"RateComponentListLink,omitempty"`
	ServiceCategoryKind       uint8     `xml:"serviceCategoryKind"`
}

type tariffProfileList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 TariffProfileList"`
	listAttrs
	PollRate uint32          `xml:"pollRate,attr,omitempty"`
	Items    []tariffProfile `xml:"TariffProfile"`
}

type rateComponent struct {
	XMLName xml.Name `xml:"RateComponent"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	ActiveTimeTariffIntervalListLink *listLink `xml:"ActiveTimeTariffIntervalListLink,omitempty"`
	ReadingTypeLink                  link      `xml:"ReadingTypeLink"`
	RoleFlags                        string    `xml:"roleFlags"`
	TimeTariffIntervalListLink       listLink  `xml:"TimeTariffIntervalListLink"`
}

type rateComponentList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 RateComponentList"`
	listAttrs
	Items []rateComponent `xml:"RateComponent"`
}

type eventStatus struct {
	CurrentStatus         uint8 `xml:"currentStatus"`
	DateTime              int64 `xml:"dateTime"`
	PotentiallySuperseded bool  `xml:"potentiallySuperseded"`
}

// event is Event's content after the identified object: creationTime,
// EventStatus, interval (RespondableSubscribableIdentifiedObject's
// attributes are on the embedding struct).
type event struct {
	identified
	CreationTime int64            `xml:"creationTime"`
	EventStatus  eventStatus      `xml:"EventStatus"`
	Interval     dateTimeInterval `xml:"interval"`
}

type timeTariffInterval struct {
	XMLName xml.Name `xml:"TimeTariffInterval"`
	Href    string   `xml:"href,attr,omitempty"`
	event
	ConsumptionTariffIntervalListLink *listLink `xml:"ConsumptionTariffIntervalListLink,omitempty"`
	TouTier                           uint8     `xml:"touTier"`
}

type timeTariffIntervalList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 TimeTariffIntervalList"`
	listAttrs
	Items []timeTariffInterval `xml:"TimeTariffInterval"`
}

type consumptionTariffInterval struct {
	XMLName          xml.Name `xml:"ConsumptionTariffInterval"`
	Href             string   `xml:"href,attr,omitempty"`
	ConsumptionBlock uint8    `xml:"consumptionBlock"`
	Price            *int32   `xml:"price,omitempty"`
	StartValue       uint64   `xml:"startValue"`
}

type consumptionTariffIntervalList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 ConsumptionTariffIntervalList"`
	listAttrs
	Items []consumptionTariffInterval `xml:"ConsumptionTariffInterval"`
}

// ---- Messaging ----

type messagingProgram struct {
	XMLName xml.Name `xml:"MessagingProgram"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	ActiveTextMessageListLink *listLink `xml:"ActiveTextMessageListLink,omitempty"`
	Locale                    string    `xml:"locale"`
	Primacy                   uint8     `xml:"primacy"`
	TextMessageListLink       *listLink `xml:"TextMessageListLink,omitempty"`
}

type messagingProgramList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 MessagingProgramList"`
	listAttrs
	PollRate uint32             `xml:"pollRate,attr,omitempty"`
	Items    []messagingProgram `xml:"MessagingProgram"`
}

type textMessage struct {
	XMLName          xml.Name `xml:"TextMessage"`
	Href             string   `xml:"href,attr,omitempty"`
	ReplyTo          string   `xml:"replyTo,attr,omitempty"`
	ResponseRequired string   `xml:"responseRequired,attr,omitempty"`
	event
	Priority    uint8  `xml:"priority"`
	TextMessage string `xml:"textMessage"`
}

type textMessageList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 TextMessageList"`
	listAttrs
	Items []textMessage `xml:"TextMessage"`
}

// ---- Demand response and load control ----

type demandResponseProgram struct {
	XMLName xml.Name `xml:"DemandResponseProgram"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	ActiveEndDeviceControlListLink *listLink `xml:"ActiveEndDeviceControlListLink,omitempty"`
	EndDeviceControlListLink       *listLink `xml:"EndDeviceControlListLink,omitempty"`
	Primacy                        uint8     `xml:"primacy"`
}

type demandResponseProgramList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 DemandResponseProgramList"`
	listAttrs
	PollRate uint32                  `xml:"pollRate,attr,omitempty"`
	Items    []demandResponseProgram `xml:"DemandResponseProgram"`
}

type offset struct {
	LoadAdjustmentPercentageOffset uint16 `xml:"loadAdjustmentPercentageOffset"`
}

type endDeviceControl struct {
	XMLName          xml.Name `xml:"EndDeviceControl"`
	Href             string   `xml:"href,attr,omitempty"`
	ReplyTo          string   `xml:"replyTo,attr,omitempty"`
	ResponseRequired string   `xml:"responseRequired,attr,omitempty"`
	event
	DeviceCategory     string  `xml:"deviceCategory"`
	DRProgramMandatory bool    `xml:"drProgramMandatory"`
	LoadShiftForward   bool    `xml:"loadShiftForward"`
	Offset             *offset `xml:"Offset,omitempty"`
}

type endDeviceControlList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 EndDeviceControlList"`
	listAttrs
	Items []endDeviceControl `xml:"EndDeviceControl"`
}

// ---- Responses ----

type responseSet struct {
	XMLName xml.Name `xml:"ResponseSet"`
	Href    string   `xml:"href,attr,omitempty"`
	identified
	ResponseListLink *listLink `xml:"ResponseListLink,omitempty"`
}

type responseSetList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 ResponseSetList"`
	listAttrs
	Items []responseSet `xml:"ResponseSet"`
}

type responseList struct {
	XMLName xml.Name `xml:"http://ieee.org/2030.5 ResponseList"`
	listAttrs
}

// Response is what a client POSTs to an event's replyTo: a Response,
// DrResponse or TextResponse (the elements this package reads; the rest
// of DrResponse is ignored).
type Response struct {
	// Kind is the root element's name: "Response", "DrResponse" or
	// "TextResponse".
	Kind string
	// Created is createdDateTime (Unix seconds); 0 when absent.
	Created int64
	// EndDeviceLFDI is the client's long-form device identifier (hex).
	EndDeviceLFDI string
	// Status is the response status (IEEE 2030.5 Table 27); 0 when absent.
	Status uint8
	// Subject is the mRID of the event responded to (hex, upper case).
	Subject string
}
