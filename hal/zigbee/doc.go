// Package zigbee drives the gateway's Zigbee network co-processor (NCP):
// the radio chip that runs the Zigbee stack and forms the household's
// Smart Energy network, with the gateway as coordinator and trust centre.
//
// NCP is what the rest of the gateway uses (internal/han/zigbee serves
// the Smart Energy clusters through it): Start forms or resumes the
// network and registers the endpoints, Send is an APS data request that
// returns when the co-processor confirms delivery, Events yields frames
// received and devices that joined or left, PermitJoin opens the network
// for one device with its install code, Remove asks a device to leave.
//
// ZNP implements NCP for TI Z-Stack 3.x "ZNP" firmware (CC2652, CC1352,
// and CC2531 with Z-Stack 3.0.x) over a serial port at 115200 8N1, in the
// Monitor and Test (MT) protocol whose codec is package
// hal/zigbee/znp. An EZSP/ASH driver for Silicon Labs co-processors
// would be a second implementation beside it (EZSP type, ezsp.go and
// hal/zigbee/ezsp for its codec), with the same NCP interface and events.
//
// The ZNP driver owns its port: one goroutine reads frames (with a read
// timeout always set, so Close never hangs on tarm/serial), one
// supervises the co-processor. SREQs go out one at a time, as the MT
// protocol requires, each waiting for its SRSP with a timeout. An
// unexpected SYS_RESET_IND (the co-processor reset itself) or a run of
// unanswered requests makes the supervisor bring the co-processor back up
// with the same configuration (reset, NV check, restart of the network,
// endpoints), retrying with backoff until it answers or the driver is
// closed, and then emit a Reset event so that consumers re-send what was
// lost. A driver made with OpenZNP also reopens its serial device when
// the line fails (a USB adapter reset or re-plugged), then restarts the
// co-processor the same way. Malformed frames from the co-processor
// (garbage, bad FCS, wrong length) are logged, counted (Stats) and
// skipped; the stream resynchronises at the next good frame.
//
// Install codes: a Smart Energy device carries a 6, 8, 12 or 16-byte
// install code with a CRC-16; the trust centre derives the device's
// link key from it with the AES-MMO hash (InstallCodeKey), and the
// co-processor accepts the device only with that key (joining with the
// default global link key is switched off at Start).
//
// Package hal/zigbee/znpsim simulates a ZNP co-processor and the devices
// on its network, on a pseudo-terminal pair, for tests and the demo.
//
// The package imports nothing of internal/ (DESIGN: hal is the bottom
// layer).
package zigbee
