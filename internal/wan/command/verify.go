package command

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Reason is a machine-readable reason a command was refused or failed,
// carried in the response's "err" and in the event log. The names are on
// the wire.
type Reason string

// Reasons.
const (
	ReasonMalformed    Reason = "malformed"         // not a well-formed envelope or payload
	ReasonUnsigned     Reason = "unsigned"          // no signature
	ReasonBadSignature Reason = "bad-signature"     // the signature does not verify, or not ES256
	ReasonUnknownKey   Reason = "unknown-key"       // the key id names no configured HES key
	ReasonExpired      Reason = "expired"           // past its expiry (beyond the skew)
	ReasonNotYetValid  Reason = "not-yet-valid"     // issued in the future (beyond the skew)
	ReasonTooLong      Reason = "validity-too-long" // expiry − issued-at over max_validity
	ReasonReplayed     Reason = "replayed"          // its id was seen before
	ReasonWrongGateway Reason = "wrong-gateway"     // for another gateway
	ReasonForbidden    Reason = "forbidden"         // the key's role may not send this kind
	ReasonUnknownKind  Reason = "unknown-kind"      // no such command
	ReasonBadArgs      Reason = "bad-arguments"     // the arguments are wrong for the kind
	ReasonUnknownMeter Reason = "unknown-meter"     // the meter is not known to the gateway
	ReasonNotSupported Reason = "not-supported"     // the meter's driver cannot do it
	ReasonBusy         Reason = "busy"              // the replay guard is full; retry later
	ReasonFailed       Reason = "failed"            // accepted, but carrying it out failed
)

// Rejection is the error of a refused or failed command. Every error of
// Verify is one.
type Rejection struct {
	Reason Reason
	Msg    string
}

func (r *Rejection) Error() string { return "command: " + string(r.Reason) + ": " + r.Msg }

// Is makes errors.Is(err, &Rejection{Reason: X}) match by reason.
func (r *Rejection) Is(target error) bool {
	t, ok := target.(*Rejection)
	return ok && t.Reason == r.Reason && (t.Msg == "" || t.Msg == r.Msg)
}

// Reject returns a *Rejection with a formatted message.
func Reject(reason Reason, format string, args ...any) error {
	return &Rejection{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// ReasonOf returns err's reason: the Rejection's, or ReasonFailed.
func ReasonOf(err error) Reason {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ReasonFailed
}

// Role is what a HES key may do.
type Role string

// Roles, each allowed what the one before is and more (docs/commands.md).
const (
	RoleReader   Role = "reader"   // status and readings
	RoleOperator Role = "operator" // + poll intervals, tariffs, prices, messages, demand response
	RoleAdmin    Role = "admin"    // + meters, meter keys, disconnect and reconnect, firmware
)

// roleKinds is the roles matrix: the kinds each role adds to the one below.
var roleKinds = map[Role][]meter.CommandKind{
	RoleReader:   {KindStatus, KindReadReadings},
	RoleOperator: {KindSetPollInterval, KindTariff, KindPrice, KindMessage, KindDemandResponse},
	RoleAdmin:    {KindAddMeter, KindRemoveMeter, KindImportMeterKey, KindDisconnect, KindReconnect, KindFirmwareUpdate},
}

var roleOrder = []Role{RoleReader, RoleOperator, RoleAdmin}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	if slices.Contains(roleOrder, Role(s)) {
		return Role(s), nil
	}
	return "", fmt.Errorf("command: unknown role %q (known: reader, operator, admin)", s)
}

// Allows reports whether role may send commands of kind.
func (r Role) Allows(kind meter.CommandKind) bool {
	top := slices.Index(roleOrder, r)
	for _, x := range roleOrder[:top+1] {
		if slices.Contains(roleKinds[x], kind) {
			return true
		}
	}
	return false
}

// Key is a HES key commands are verified with.
type Key struct {
	ID     string
	Role   Role
	Public *ecdsa.PublicKey
}

// RoleHeader is the PEM header that carries a key's role in the key
// store's form of a HES key ("hes/<id>" records of kind secret).
const RoleHeader = "Role"

// ParseKeyPEM reads an ECDSA P-256 public key from a PEM "PUBLIC KEY"
// block (SubjectPublicKeyInfo) or from the key of a PEM "CERTIFICATE"
// (taken as it is: no chain is built, the HES key is trusted by being
// configured or imported). If the block has a "Role" header, it is
// returned too ("" otherwise).
func ParseKeyPEM(b []byte) (*ecdsa.PublicKey, string, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" && blk.Type != "CERTIFICATE" {
		return nil, "", errors.New("command: expected a PEM \"PUBLIC KEY\" or \"CERTIFICATE\" block")
	}
	var k any
	if blk.Type == "CERTIFICATE" {
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("command: certificate: %w", err)
		}
		k = c.PublicKey
	} else {
		var err error
		if k, err = x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
			return nil, "", fmt.Errorf("command: public key: %w", err)
		}
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, "", errors.New("command: public key is not ECDSA P-256")
	}
	return ek, blk.Headers[RoleHeader], nil
}

// EncodeKeyPEM is the key store's form of a HES key: a PEM "PUBLIC KEY"
// block with a Role header.
func EncodeKeyPEM(pub *ecdsa.PublicKey, role Role) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{RoleHeader: string(role)}, Bytes: der}), nil
}

// Policy is what Verify checks a command against.
type Policy struct {
	Gateway     string          // this gateway's id
	Keys        map[string]*Key // by key id
	MaxSkew     time.Duration   // tolerated clock difference
	MaxValidity time.Duration   // longest expiry − issued-at accepted
}

// Verify parses an envelope and checks it against p at now: signature,
// key, payload version, id, gateway, validity window and role. It does not
// check for replay (see Guard). On error the returned envelope payload, if
// non-nil, names the command for the rejection's log entry.
func (p *Policy) Verify(b []byte, now time.Time) (*Command, *Payload, error) {
	env, err := Parse(b)
	var pl *Payload
	if env != nil {
		pl = env.Payload()
	}
	if err != nil {
		return nil, pl, err
	}
	key, ok := p.Keys[env.KeyID]
	if !ok {
		return nil, pl, Reject(ReasonUnknownKey, "no HES key %q is configured", env.KeyID)
	}
	if err := env.VerifySignature(key.Public); err != nil {
		return nil, pl, err
	}
	c := &Command{Payload: *pl, KeyID: key.ID, Role: key.Role, JSON: env.jws, argsJSON: env.argsJSON}
	switch {
	case c.Version != Version:
		return nil, pl, Reject(ReasonMalformed, "payload version %d, want %d", c.Version, Version)
	case !validID(c.ID):
		return nil, pl, Reject(ReasonMalformed, "command id must be 1…%d printable ASCII characters", MaxIDLen)
	case c.Gateway != p.Gateway:
		return nil, pl, Reject(ReasonWrongGateway, "command is for gateway %q, this is %q", c.Gateway, p.Gateway)
	case c.Issued <= 0 || c.Expires <= 0:
		return nil, pl, Reject(ReasonMalformed, "iat and exp must be positive Unix times")
	case c.Expires < c.Issued:
		return nil, pl, Reject(ReasonMalformed, "expires (%d) before it was issued (%d)", c.Expires, c.Issued)
	case time.Duration(c.Expires-c.Issued)*time.Second > p.MaxValidity:
		return nil, pl, Reject(ReasonTooLong, "valid for %s, more than the %s allowed",
			time.Duration(c.Expires-c.Issued)*time.Second, p.MaxValidity)
	}
	skew := int64(p.MaxSkew / time.Second)
	n := now.Unix()
	if n > c.Expires+skew {
		return nil, pl, Reject(ReasonExpired, "expired at %s (now %s)", c.ExpiresAt().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.Issued > n+skew {
		return nil, pl, Reject(ReasonNotYetValid, "issued at %s, in the future (now %s)", c.IssuedAt().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	kind := meter.CommandKind(c.Kind)
	if !slices.Contains(Kinds(), kind) {
		return nil, pl, Reject(ReasonUnknownKind, "unknown command kind %q", c.Kind)
	}
	if !key.Role.Allows(kind) {
		return nil, pl, Reject(ReasonForbidden, "key %s has role %s, which may not send %s", key.ID, key.Role, kind)
	}
	return c, pl, nil
}

// validID reports whether id is 1…MaxIDLen printable ASCII characters
// (no space or control characters), as command ids must be.
func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
