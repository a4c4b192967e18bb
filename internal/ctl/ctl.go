package ctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrNoDaemon is returned by Dial when no daemon listens on the
	// socket: the file is missing, or nothing answers on it. The CLI then
	// opens the store itself.
	ErrNoDaemon = errors.New("ctl: no daemon is running")
	// ErrDaemonRunning is returned by Listen when another process already
	// answers on the socket.
	ErrDaemonRunning = errors.New("ctl: another daemon is running")
	// ErrRefused is returned by Dial when the daemon accepted the
	// connection and closed it without an answer: the caller is not root,
	// the daemon's user or a member of its group.
	ErrRefused = errors.New("ctl: the daemon refused the connection")
	// ErrServerClosed is returned by Server.Run after Close.
	ErrServerClosed = errors.New("ctl: server closed")
	// ErrBadRequest is returned (wrapped) for a request the daemon cannot
	// parse, e.g. a malformed query parameter.
	ErrBadRequest = errors.New("ctl: bad request")
	// ErrNotFound is returned (wrapped) for an unknown endpoint or event log.
	ErrNotFound = errors.New("ctl: not found")
	// ErrSyntax is returned (wrapped) for malformed JSON on the wire.
	ErrSyntax = errors.New("ctl: malformed JSON")
	// ErrProtocol is returned (wrapped) when the daemon answers something
	// this client does not understand (a truncated stream, a wrong status).
	ErrProtocol = errors.New("ctl: protocol error")
)

// Reader is the read API the CLI uses; both *Client and Local satisfy it.
type Reader interface {
	// Query streams the readings q selects to fn, ordered by meter, OBIS
	// and time. An error from fn stops the query and is returned as is.
	Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error
	// Meters lists the meters and their series.
	Meters(ctx context.Context) ([]store.MeterInfo, error)
	// Events streams an event log's entries with Seq > after.
	Events(ctx context.Context, name store.LogName, after uint64, fn func(store.Event) error) error
	// VerifyLog checks an event log's hash chain; a broken chain is an
	// error for which errors.Is(err, store.ErrChainBroken) holds.
	VerifyLog(ctx context.Context, name store.LogName) (store.LogReport, error)
}

// Backend is what the daemon exposes on the socket (internal/app
// implements it over the store). *Client satisfies it too.
type Backend interface {
	Reader
	// Status describes the running gateway.
	Status(ctx context.Context) (Status, error)
}

// Status describes the running gateway, for `smgw status` and the status page.
type Status struct {
	GatewayID   string
	Version     string
	Started     time.Time
	Uptime      time.Duration
	KeyProvider string // keys.Provider.Name
	Insecure    bool   // the key provider keeps keys in plaintext (development)
	MetersSeen  int
	// ReadingsLastMinute counts readings made durable in the last minute.
	ReadingsLastMinute uint64
	WAN                string // link state in a word or line ("up", "down: no carrier")
	Store              store.Stats
	Services           []ServiceStatus
	// Live holds the latest instantaneous values (power, voltage, …).
	Live []meter.Reading
	// Uplink is the MQTT uplink's state (uplink.go); nil when there is
	// neither a broker nor an outbox channel for one.
	Uplink *UplinkStatus
	// Link is the WAN link's state (link.go); nil when unknown.
	Link *LinkStatus
	// LMN is the RS-485 meter lines' health (lmn.go); nil without any.
	LMN *LMNStatus
}

// ServiceStatus describes one service of the daemon.
type ServiceStatus struct {
	Name         string
	LastProgress time.Time // when the service last reported progress
	Healthy      bool
	Err          string // the last error, "" for none
}

// Local adapts a store opened read-only by the CLI (no daemon running) to
// Reader.
type Local struct{ S *store.Store }

// Query implements Reader.
func (l Local) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	return l.S.Query(ctx, q, fn)
}

// Meters implements Reader.
func (l Local) Meters(ctx context.Context) ([]store.MeterInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.S.Meters(), nil
}

// Events implements Reader.
func (l Local) Events(ctx context.Context, name store.LogName, after uint64, fn func(store.Event) error) error {
	return l.S.Events(ctx, name, after, fn)
}

// VerifyLog implements Reader.
func (l Local) VerifyLog(ctx context.Context, name store.LogName) (store.LogReport, error) {
	return l.S.VerifyLog(ctx, name)
}

var (
	_ Reader  = Local{}
	_ Backend = (*Client)(nil)
)

// RemoteError is an error the daemon reported. errors.Is matches it
// against the sentinel its code maps to (store.ErrChainBroken,
// ErrBadRequest, context.Canceled, …).
type RemoteError struct {
	Status  int    // HTTP status
	Code    string // machine-readable code, e.g. "chain-broken"
	Message string // the daemon's error text
}

func (e *RemoteError) Error() string { return "ctl: daemon: " + e.Message }

// Unwrap returns the sentinel the code maps to, or nil.
func (e *RemoteError) Unwrap() error {
	for _, c := range errorCodes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}

// errorCodes maps sentinels to the codes on the wire, most specific first.
// The codes are part of the protocol: never renumber or rename them.
var errorCodes = []struct {
	err    error
	code   string
	status int
}{
	{store.ErrChainBroken, "chain-broken", 409},
	{store.ErrCorrupt, "corrupt", 500},
	{store.ErrClosed, "store-closed", 503},
	{store.ErrLocked, "locked", 503},
	{store.ErrWrongKey, "wrong-key", 500},
	{store.ErrSchema, "schema", 500},
	{store.ErrInvalid, "invalid", 400},
	{store.ErrReadOnly, "read-only", 403},
	{keys.ErrNoTPM, "no-tpm", 503},                 // keys.go
	{keys.ErrTampered, "tpm-blob-refused", 500},    // keys.go
	{keys.ErrPCRMismatch, "tpm-pcr-mismatch", 500}, // keys.go
	{keys.ErrLockout, "tpm-lockout", 503},          // keys.go
	{keys.ErrCertificate, "bad-certificate", 400},  // keys.go
	{keys.ErrSecret, "bad-secret", 400},            // keys.go
	{ErrBadRequest, "bad-request", 400},
	{ErrNotFound, "not-found", 404},
	{context.DeadlineExceeded, "timeout", 504},
	{context.Canceled, "canceled", 503},
}

// errorCode returns the wire code and HTTP status for err.
func errorCode(err error) (string, int) {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return "internal", 500
}

func badParam(name string, err error) error {
	return fmt.Errorf("%w: parameter %s: %w", ErrBadRequest, name, err)
}
