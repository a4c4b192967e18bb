package meter

import (
	"errors"
	"fmt"
	"time"
)

// CommandKind says what a command asks the gateway to do. The names are
// persisted in the event log and sent on the wire.
type CommandKind string

// Command kinds.
const (
	CmdTariff      CommandKind = "tariff"          // install a tariff (time-of-use registers)
	CmdPrice       CommandKind = "price"           // publish prices
	CmdMessage     CommandKind = "message"         // display a message to the household
	CmdDemandResp  CommandKind = "demand-response" // schedule or cancel a demand-response event
	CmdDisconnect  CommandKind = "disconnect"      // open the meter's breaker
	CmdReconnect   CommandKind = "reconnect"       // close (or arm) the meter's breaker
	CmdConfig      CommandKind = "config"          // change configuration
	CmdFirmware    CommandKind = "firmware"        // install a firmware image
	CmdReadNow     CommandKind = "read-now"        // read a meter out of schedule
	CmdOptOut      CommandKind = "opt-out"         // a consumer opts out of a demand-response event
	CmdAcknowledge CommandKind = "acknowledge"     // a consumer confirms a message
	CmdSetClock    CommandKind = "set-clock"       // set a meter's or the gateway's clock
)

// Origin says who issued a command; authorisation depends on it.
type Origin string

// Origins.
const (
	OriginHES      Origin = "hes"      // the utility's head-end system (WAN)
	OriginConsumer Origin = "consumer" // the household (HAN)
	OriginLocal    Origin = "local"    // the device's own console or CLI
)

// Command is a request to the gateway from the HES, the household or the
// local console. It passes through one command path (internal/app) that
// authorises it, records it in the event log and dispatches it.
type Command struct {
	ID      string            // unique per issuer; replays are rejected by id
	Kind    CommandKind       // what to do
	Origin  Origin            // who asks
	Issuer  string            // the authenticated identity (certificate subject, HAN client id, user)
	Meter   MeterID           // the meter it concerns, "" for the gateway itself
	Issued  time.Time         // when the issuer created it
	Expires time.Time         // not to be executed after this; zero: never expires
	Params  map[string]string // kind-specific arguments
	Payload []byte            // kind-specific body (a tariff table, a firmware image reference)
}

// ErrCommand is returned (wrapped) for a malformed command.
var ErrCommand = errors.New("meter: invalid command")

// Validate checks the command's shape (not its authorisation).
func (c Command) Validate() error {
	if c.ID == "" {
		return fmt.Errorf("%w: no id", ErrCommand)
	}
	if c.Kind == "" {
		return fmt.Errorf("%w %s: no kind", ErrCommand, c.ID)
	}
	switch c.Origin {
	case OriginHES, OriginConsumer, OriginLocal:
	default:
		return fmt.Errorf("%w %s: unknown origin %q", ErrCommand, c.ID, c.Origin)
	}
	if c.Meter != "" {
		if err := c.Meter.Validate(); err != nil {
			return fmt.Errorf("%w %s: %w", ErrCommand, c.ID, err)
		}
	}
	if !c.Expires.IsZero() && !c.Issued.IsZero() && c.Expires.Before(c.Issued) {
		return fmt.Errorf("%w %s: expires before it was issued", ErrCommand, c.ID)
	}
	return nil
}

// Expired reports whether the command may no longer be executed at now.
func (c Command) Expired(now time.Time) bool {
	return !c.Expires.IsZero() && now.After(c.Expires)
}
