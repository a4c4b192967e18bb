// Package sep2 serves the gateway's IEEE 2030.5 (Smart Energy Profile 2.0)
// subset to in-home displays and energy managers on the HAN: the
// DeviceCapability and Time resources, the Metering function set
// (UsagePoint, MeterReading, ReadingType, ReadingSet, Reading) over the
// store's readings, the Pricing function set (TariffProfile,
// RateComponent, TimeTariffInterval, ConsumptionTariffInterval) over the
// tariff model, Messaging (MessagingProgram, TextMessage) and Demand
// Response and Load Control (DemandResponseProgram, EndDeviceControl),
// as XML per the standard's schema (application/sep+xml), with the
// standard's list paging (s, a, l).
//
// NewHandler returns an http.Handler for those resources; it is mounted
// behind the HAN service's client authentication (internal/han/web at
// /sep2/), which decides what a client may see through Options.Visible.
// The only write it accepts is a DrResponse to a demand-response event
// (status 4, opt-out), POSTed to the events' replyTo.
//
// docs/sep2.md lists the resources, the mapping from OBIS codes to
// ReadingType and the gaps to the standard (among them the mandatory
// TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 cipher suite, which Go's crypto/tls
// does not offer).
package sep2
