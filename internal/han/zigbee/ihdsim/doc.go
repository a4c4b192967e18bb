// Package ihdsim is a simulated Zigbee Smart Energy in-premises display
// (IHD) for tests and the demo: the client side of the ESI's clusters. It
// builds the requests a display sends (Read Attributes, Configure
// Reporting, GetCurrentPrice, GetProfile, …), and Handle is its
// application: it records what the ESI sends (attribute values, reports,
// prices, messages, demand-response events, default responses), confirms
// messages that ask for it and answers load control events with
// ReportEventStatus (received, then opted out when OptOut is set).
//
// Handle has the signature of hal/zigbee/znpsim's device handler, so an
// IHD runs on the simulated co-processor's far side; tests without the
// simulator call it from a fake NCP.
package ihdsim
