package zigbee

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/zigbee/znp"
)

// Errors of this package.
var (
	// ErrTimeout is returned (wrapped) when the co-processor does not
	// answer a request or confirm a data request in time. It is
	// retryable; a run of them makes the driver reset the co-processor.
	ErrTimeout = errors.New("zigbee: co-processor timeout")
	// ErrNotReady is returned (wrapped) by Send, PermitJoin and Remove
	// while the network is not up: before Start, or while the driver
	// recovers from a co-processor reset. It is retryable.
	ErrNotReady = errors.New("zigbee: network not up")
	// ErrClosed is returned (wrapped) after Close.
	ErrClosed = errors.New("zigbee: driver closed")
	// ErrStatus is returned (wrapped, with a *znp.StatusError naming the
	// command and the status) when the co-processor answers a request
	// with a status other than success, or a data request is confirmed
	// with a failure (MAC_NO_ACK, NWK_NO_ROUTE, …). Whether to retry
	// depends on the status.
	ErrStatus = errors.New("zigbee: co-processor reported failure")
	// ErrUnsupported is returned (wrapped) by Start when the firmware is
	// not one the driver supports (Z-Stack Home 1.2, a missing
	// subsystem). It is permanent: flash Z-Stack 3.x ZNP firmware.
	ErrUnsupported = errors.New("zigbee: unsupported co-processor firmware")
	// ErrConfig is returned (wrapped) for a NetworkConfig or argument
	// out of range. It is permanent.
	ErrConfig = errors.New("zigbee: invalid configuration")
	// ErrInstallCode is returned (wrapped) for an install code of a
	// wrong length or with a wrong CRC (it is znp.ErrInstallCode).
	ErrInstallCode = znp.ErrInstallCode
)

// Frame is an application (APS) frame received from a device.
type Frame struct {
	SrcAddr      uint16 // the sender's network address
	SrcEndpoint  uint8
	DstEndpoint  uint8 // our endpoint
	Cluster      uint16
	LinkQuality  uint8
	Payload      []byte // the ZCL frame
	GroupID      uint16 // 0 unless sent to a group
	WasBroadcast bool
	SecurityUse  bool // APS security was used
}

// Device is a device on the network: its network (short) address and
// its IEEE (EUI-64) address.
type Device struct {
	NWK   uint16
	EUI64 uint64
}

func (d Device) String() string { return fmt.Sprintf("%016X/0x%04X", d.EUI64, d.NWK) }

// NetworkConfig is the network the co-processor forms as coordinator and
// trust centre, and the endpoints it registers.
type NetworkConfig struct {
	Channel       uint8  // 11…26
	PANID         uint16 // 0x0001…0xFFF7
	ExtendedPANID uint64 // not 0 nor all ones
	NetworkKey    [16]byte
	Endpoints     []Endpoint
}

// Endpoint is an application endpoint of the gateway.
type Endpoint struct {
	ID                      uint8  // 1…240
	Profile                 uint16 // 0x0109 Smart Energy
	DeviceID                uint16 // 0x0500 ESI
	InClusters, OutClusters []uint16
}

// Validate checks c's ranges.
func (c *NetworkConfig) Validate() error {
	switch {
	case c.Channel < 11 || c.Channel > 26:
		return fmt.Errorf("%w: channel %d: must be 11…26", ErrConfig, c.Channel)
	case c.PANID == 0 || c.PANID > 0xFFF7:
		return fmt.Errorf("%w: PAN id 0x%04X: must be 0x0001…0xFFF7", ErrConfig, c.PANID)
	case c.ExtendedPANID == 0 || c.ExtendedPANID == ^uint64(0):
		return fmt.Errorf("%w: extended PAN id %016X: must not be all zeros or ones", ErrConfig, c.ExtendedPANID)
	case c.NetworkKey == [16]byte{}:
		return fmt.Errorf("%w: network key is all zeros", ErrConfig)
	}
	seen := map[uint8]bool{}
	for _, e := range c.Endpoints {
		if e.ID == 0 || e.ID > 240 {
			return fmt.Errorf("%w: endpoint %d: must be 1…240", ErrConfig, e.ID)
		}
		if seen[e.ID] {
			return fmt.Errorf("%w: endpoint %d twice", ErrConfig, e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

// Event is one of Incoming, Announce, Left, Reset.
type Event interface{}

// Incoming is a frame received for one of our endpoints.
type Incoming struct{ Frame }

// Announce is a device that joined (or rejoined) and announced itself.
type Announce struct{ Device }

// Left is a device that left the network.
type Left struct{ Device }

// Reset reports that the co-processor reset itself or stopped answering
// (Reason says which) and that the driver has restarted it: the network
// is up again and Send works, but frames in flight were lost and
// anything the co-processor held only in RAM is gone, so a consumer
// re-sends what devices must have. Joined devices stay joined (the
// network state is in the co-processor's NV memory). While the driver
// recovers, Info().State is StateRecovering and operations return
// ErrNotReady; Reset comes once it is StateUp again.
type Reset struct{ Reason string }

// States of Info.State.
const (
	StateDown       = "down"       // not started
	StateStarting   = "starting"   // Start is running
	StateUp         = "up"         // network formed, endpoints registered
	StateRecovering = "recovering" // the co-processor reset or went silent; restarting it
	StateClosed     = "closed"
)

// Info describes the co-processor and the network.
type Info struct {
	Driver        string // "znp"
	Firmware      string // e.g. "Z-Stack 2.7.1 (product 2, transport 2) build 20230507"
	IEEE          uint64 // the coordinator's EUI-64
	Channel       uint8
	PANID         uint16
	ExtendedPANID uint64
	State         string // StateDown …
}

// NCP is a Zigbee network co-processor driven as coordinator and trust
// centre.
type NCP interface {
	// Start resets the co-processor, checks its firmware version, writes
	// the network configuration to its NV memory when it differs, forms
	// the network (or resumes the one in NV) as coordinator and trust
	// centre, and registers the endpoints.
	Start(ctx context.Context, cfg NetworkConfig) error
	// Send is an APS data request from our endpoint srcEP to endpoint
	// dstEP of the device dst; it returns when the co-processor confirms
	// delivery, with an error naming the status if it failed.
	Send(ctx context.Context, dst uint16, dstEP, srcEP uint8, cluster uint16, payload []byte) error
	// Events yields Incoming, Announce, Left and Reset; it is closed by
	// Close.
	Events() <-chan Event
	// PermitJoin lets only the device eui64, with the link key derived
	// from installCode (with its CRC), join during d.
	PermitJoin(ctx context.Context, eui64 uint64, installCode []byte, d time.Duration) error
	// Remove asks the device to leave the network.
	Remove(ctx context.Context, d Device) error
	// Info describes the co-processor and network.
	Info() Info
	// Close stops the driver and closes its port. It is idempotent and
	// never blocks for long.
	Close() error
}

// InstallCodeKey checks an install code with its CRC (6, 8, 12 or 16
// bytes of code and 2 of CRC-16, least significant byte first) and
// derives the link key from it (AES-MMO hash).
func InstallCodeKey(installCode []byte) ([16]byte, error) { return znp.InstallCodeKey(installCode) }

// ParseEUI64 reads an EUI-64 written as 16 hex digits, optionally with
// ':' or '-' between the bytes ("00:12:4B:00:01:02:03:04").
func ParseEUI64(s string) (uint64, error) {
	var v uint64
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case (c == ':' || c == '-') && n%2 == 0 && n > 0:
			continue
		default:
			return 0, fmt.Errorf("%w: EUI-64 %q: unexpected %q", ErrConfig, s, c)
		}
		v = v<<4 | uint64(d)
		n++
	}
	if n != 16 {
		return 0, fmt.Errorf("%w: EUI-64 %q: %d hex digits, want 16", ErrConfig, s, n)
	}
	return v, nil
}

// ParseInstallCode reads an install code with its CRC written in hex,
// with optional spaces, ':' or '-' between digits, and checks it.
func ParseInstallCode(s string) ([]byte, error) {
	var b []byte
	var hi byte
	half := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ' ' || c == ':' || c == '-':
			continue
		default:
			return nil, fmt.Errorf("%w: unexpected %q", ErrInstallCode, c)
		}
		if half {
			b = append(b, hi<<4|d)
		} else {
			hi = d
		}
		half = !half
	}
	if half {
		return nil, fmt.Errorf("%w: odd number of hex digits", ErrInstallCode)
	}
	if err := znp.CheckInstallCode(b); err != nil {
		return nil, err
	}
	return b, nil
}
