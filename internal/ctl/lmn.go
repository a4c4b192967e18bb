package ctl

import "time"

// LMNStatus is the RS-485 meter lines' part of Status (docs/modbus.md,
// docs/dlms.md): every line the daemon serves and the health of each
// meter on it, as the line's scheduler (internal/lmn/bus) counts it.
// `smgw status` and the status page show it.
type LMNStatus struct {
	Buses []LMNBus `json:"buses"`
}

// LMNBus is one line: a serial port, or a TCP link to a converter.
type LMNBus struct {
	Driver string `json:"driver"` // modbus, dlms, mbus
	Port   string `json:"port"`   // device path or host:port
	// Open is whether the port is open and its scheduler runs (false
	// while it is being (re)opened).
	Open bool `json:"open"`
	// Occupancy is the share of the last 15 minutes the line carried
	// jobs, waiting for answers included (0…1); BusySeconds the line's
	// busy time since it was opened.
	Occupancy   float64    `json:"occupancy"`
	BusySeconds float64    `json:"busy_seconds"`
	Meters      []LMNMeter `json:"meters"`
}

// Meter states of LMNMeter.State.
const (
	LMNOK          = "ok"          // the last poll or command succeeded
	LMNFailing     = "failing"     // the meter answers, but with errors
	LMNUnreachable = "unreachable" // the meter did not answer
	LMNWaiting     = "waiting"     // not polled yet
)

// LMNMeter is one RS-485 meter's health.
type LMNMeter struct {
	Meter   string `json:"meter"`
	Driver  string `json:"driver"`            // modbus, dlms, mbus
	Port    string `json:"port"`              // its line's device or address
	Address string `json:"address,omitempty"` // on the line: "unit 3", "server 1/17"
	State   string `json:"state"`             // LMNOK, LMNFailing, LMNUnreachable, LMNWaiting
	// LastSuccess is when a job (poll or command) last succeeded.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// ConsecutiveFailures counts the failed jobs since then.
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Jobs                uint64 `json:"jobs"`     // polls and commands run
	Failures            uint64 `json:"failures"` // of those, failed
	// Errors by kind, each error counted once (also those a retry
	// recovered from): no answer, garbled frames (CRC, FCS, framing),
	// refusals by kind ("exception:illegal data address",
	// "access:read-write-denied", …) and the rest.
	Timeouts    uint64            `json:"timeouts"`
	FrameErrors uint64            `json:"frame_errors"`
	Protocol    map[string]uint64 `json:"protocol,omitempty"`
	Other       uint64            `json:"other"`
	// Retries counts requests and jobs repeated after a failure.
	Retries     uint64    `json:"retries"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}
