// Package znpsim simulates a TI Z-Stack 3.x ZNP co-processor and the
// Zigbee devices on its network, on one end of a pseudo-terminal pair
// made by socat (Pair); the code under test (hal/zigbee's ZNP driver)
// opens the other end as a serial port. Tests and the demo use it.
//
// The simulator speaks MT frames (package hal/zigbee/znp) as the firmware
// does: every SREQ gets its SRSP after Options.SRSPDelay, an SREQ it does
// not know gets RPC_ERROR, frames with a bad FCS are dropped silently,
// and indications (AREQs) follow on their own. It keeps NV items across
// resets, forms a network with BDB commissioning or restores it with
// ZDO_STARTUP_FROM_APP, registers endpoints (APS_DUPLICATE_ENTRY for a
// second time), and answers with the statuses Z-Stack uses for errors:
// INVALID_PARAMETER for a bad channel mask, endpoint or install code
// format, NWK_INVALID_REQUEST for data or permit-join before the network
// is up, NWK_NO_ROUTE for data to an unknown address, MAC_NO_ACK for data
// to a device that is offline.
//
// # Devices
//
// AddDevice puts a device in radio range:
//
//	sim.AddDevice(eui64, installCode, ep, handle)
//
// It joins as soon as joining is open (ZDO_MGMT_PERMIT_JOIN_REQ) and the
// trust centre holds the link key derived from its install code
// (APP_CNF_BDB_ADD_INSTALLCODE): the simulator then sends ZDO_TC_DEV_IND
// and ZDO_END_DEVICE_ANNCE_IND with the device's network address
// (NWKAddr, stable for an EUI-64). A device added with a nil install code
// uses the default global link key and joins only while the trust centre
// does not require install codes. A device whose key does not match never
// joins.
//
// handle is the device's application: it is called on the device's own
// goroutine, one frame at a time and in the order sent, with every frame
// the gateway sends to the device (Frame's
// SrcAddr is the coordinator 0x0000, SrcEndpoint the gateway's endpoint,
// DstEndpoint the device's, Cluster and Payload the ZCL frame), after the
// simulator has confirmed delivery with AF_DATA_CONFIRM. Each []byte it
// returns is sent back to the gateway as AF_INCOMING_MSG from that
// device, with the same cluster, from the device's endpoint to the
// gateway's. handle may be nil (the device acknowledges and stays
// quiet). Deliver sends any frame from a device at any time (an
// attribute report, a ReportEventStatus); Leave makes a device leave;
// SetOnline(false) takes it out of range (MAC_NO_ACK, no leave answer).
//
// # Faults
//
// Kick resets the co-processor as its watchdog would: SYS_RESET_IND with
// reason watchdog, the network down until the host restarts it (NV and
// joined devices are kept, registered endpoints are lost). Silence makes
// it ignore everything for a while, as a hung firmware does. Inject
// writes raw bytes (a bad FCS, a wrong length, garbage) to the host.
package znpsim
