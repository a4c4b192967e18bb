package command

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/smgw/smgw/internal/meter"
)

// Content types in the protected header (COSE label 3) of a command and of
// a response.
const (
	ContentTypeCommand  = "application/smgw-command+cbor"
	ContentTypeResponse = "application/smgw-response+cbor"
)

// Version is the payload format version (key "v").
const Version = 1

// Limits of an envelope.
const (
	// MaxEnvelope is the largest command envelope accepted, in bytes.
	MaxEnvelope = 256 << 10
	// MaxIDLen bounds command ids and key ids.
	MaxIDLen = 64
)

// Kinds of command (the payload's "kind"). They are persisted in the event
// log and sent on the wire; docs/commands.md gives each one's arguments.
const (
	KindStatus          meter.CommandKind = "status"
	KindReadReadings    meter.CommandKind = "read-readings"
	KindSetPollInterval meter.CommandKind = "set-poll-interval"
	KindAddMeter        meter.CommandKind = "add-meter"
	KindRemoveMeter     meter.CommandKind = "remove-meter"
	KindImportMeterKey  meter.CommandKind = "import-meter-key"
	KindTariff          meter.CommandKind = meter.CmdTariff     // "tariff": a price schedule
	KindPrice           meter.CommandKind = meter.CmdPrice      // "price": dynamic 15-minute prices
	KindMessage         meter.CommandKind = meter.CmdMessage    // "message": to the in-home display
	KindDemandResponse  meter.CommandKind = meter.CmdDemandResp // "demand-response": start or cancel
	KindDisconnect      meter.CommandKind = meter.CmdDisconnect // "disconnect": open the breaker
	KindReconnect       meter.CommandKind = meter.CmdReconnect  // "reconnect": close the breaker
	KindFirmwareUpdate  meter.CommandKind = "firmware-update"   // download and install an update file
)

// Kinds lists every command kind, in the order docs/commands.md gives them.
func Kinds() []meter.CommandKind {
	return []meter.CommandKind{KindStatus, KindReadReadings, KindSetPollInterval, KindAddMeter,
		KindRemoveMeter, KindImportMeterKey, KindTariff, KindPrice, KindMessage, KindDemandResponse,
		KindDisconnect, KindReconnect, KindFirmwareUpdate}
}

// Payload is the CBOR map a command envelope signs.
type Payload struct {
	Version int             `cbor:"v"`
	ID      string          `cbor:"id"`   // unique per HES; replays are refused by id
	Gateway string          `cbor:"gw"`   // the gateway it is for
	Issued  int64           `cbor:"iat"`  // Unix seconds
	Expires int64           `cbor:"exp"`  // Unix seconds
	Kind    string          `cbor:"kind"` // one of Kinds
	Args    cbor.RawMessage `cbor:"args,omitempty"`
}

// Command is a verified command.
type Command struct {
	Payload
	KeyID string // the HES key that signed it
	Role  Role   // that key's role
	// JSON: the command came in the JSON form (a JWS); its arguments are
	// JSON and it is answered in the JSON form.
	JSON     bool
	argsJSON []byte
}

// IssuedAt and ExpiresAt return the validity window as times.
func (c *Command) IssuedAt() time.Time  { return time.Unix(c.Issued, 0).UTC() }
func (c *Command) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// DecodeArgs decodes the command's arguments into v (a pointer), refusing
// unknown fields. A command without arguments decodes as an empty map.
func (c *Command) DecodeArgs(v any) error {
	if c.JSON {
		a := c.argsJSON
		if len(a) == 0 {
			a = []byte("{}")
		}
		d := json.NewDecoder(bytes.NewReader(a))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			return Reject(ReasonBadArgs, "arguments of %s: %v", c.Kind, err)
		}
		return nil
	}
	a := []byte(c.Args)
	if len(a) == 0 {
		a = []byte{0xa0}
	}
	if err := argsMode.Unmarshal(a, v); err != nil {
		return Reject(ReasonBadArgs, "arguments of %s: %v", c.Kind, err)
	}
	return nil
}

// CBOR modes: deterministic encoding (RFC 8949 core deterministic, times
// as Unix seconds, TextMarshalers such as meter.Value and meter.OBIS as
// text), and strict, bounded decoding.
var (
	encMode  cbor.EncMode
	decMode  cbor.DecMode
	argsMode cbor.DecMode
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions()
	eo.Time = cbor.TimeUnix
	eo.TextMarshaler = cbor.TextMarshalerTextString
	if encMode, err = eo.EncMode(); err != nil {
		panic(err) // static options: a bug, found by every test
	}
	do := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 16384,
		MaxMapPairs:      16384,
		IndefLength:      cbor.IndefLengthForbidden,
		TextUnmarshaler:  cbor.TextUnmarshalerTextString,
	}
	if decMode, err = do.DecMode(); err != nil {
		panic(err)
	}
	do.ExtraReturnErrors = cbor.ExtraDecErrorUnknownField
	if argsMode, err = do.DecMode(); err != nil {
		panic(err)
	}
}

// Marshal encodes v in the deterministic CBOR the envelopes use.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// Unmarshal decodes CBOR data into v with the envelopes' limits.
func Unmarshal(data []byte, v any) error { return decMode.Unmarshal(data, v) }

// Sign makes a command envelope: the payload p encoded as CBOR and signed
// with key (ECDSA P-256, ES256) under key id kid. The HES does this; the
// gateway's tests and `smgw` tooling use it too.
func Sign(key crypto.Signer, kid string, p *Payload) ([]byte, error) {
	body, err := encMode.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("command: encode payload: %w", err)
	}
	return sign1(key, kid, ContentTypeCommand, body)
}

func sign1(key crypto.Signer, kid, ctype string, body []byte) ([]byte, error) {
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("command: signing key is not ECDSA P-256")
	}
	s, err := cose.NewSigner(cose.AlgorithmES256, key)
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmES256)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = []byte(kid)
	msg.Headers.Protected[cose.HeaderLabelContentType] = ctype
	msg.Payload = body
	if err := msg.Sign(rand.Reader, nil, s); err != nil {
		return nil, fmt.Errorf("command: sign: %w", err)
	}
	return msg.MarshalCBOR()
}

// Envelope is a parsed, not yet verified, command envelope.
type Envelope struct {
	KeyID   string
	msg     *cose.Sign1Message
	payload Payload

	// The JSON form (jws.go).
	jws          bool
	signingInput []byte
	sig          []byte
	argsJSON     []byte
}

// JSON reports whether the envelope is in the JSON form (a JWS).
func (e *Envelope) JSON() bool { return e.jws }

// Payload returns the envelope's decoded payload (not yet verified).
func (e *Envelope) Payload() *Payload { return &e.payload }

// Parse decodes a command envelope without verifying its signature. The
// error is a *Rejection: malformed (not COSE_Sign1, a bad header or
// payload) or unsigned (a bare payload map, JSON, or an empty signature).
// When the payload could be decoded, the returned envelope is non-nil even
// with an error, so a rejection can name the command's id.
func Parse(b []byte) (*Envelope, error) {
	if len(b) == 0 {
		return nil, Reject(ReasonMalformed, "empty message")
	}
	if len(b) > MaxEnvelope {
		return nil, Reject(ReasonMalformed, "message of %d bytes is over the limit of %d", len(b), MaxEnvelope)
	}
	switch {
	case b[0]>>5 == 5: // a CBOR map: a payload without a signature
		e := &Envelope{}
		if decMode.Unmarshal(b, &e.payload) != nil {
			e = nil
		}
		return e, Reject(ReasonUnsigned, "a bare CBOR map, not a COSE_Sign1 envelope")
	case b[0] == '{':
		return nil, Reject(ReasonUnsigned, "bare JSON; commands are COSE_Sign1 envelopes or JWS")
	case IsJWS(b):
		return parseJWS(b)
	}
	msg := cose.NewSign1Message()
	if b[0] == 0x84 { // untagged COSE_Sign1 (a 4-element array)
		var um cose.UntaggedSign1Message
		if err := um.UnmarshalCBOR(b); err != nil {
			if errors.Is(err, cose.ErrEmptySignature) {
				return nil, Reject(ReasonUnsigned, "empty signature")
			}
			return nil, Reject(ReasonMalformed, "not a COSE_Sign1 envelope: %v", err)
		}
		*msg = cose.Sign1Message(um)
	} else if err := msg.UnmarshalCBOR(b); err != nil {
		if errors.Is(err, cose.ErrEmptySignature) {
			return nil, Reject(ReasonUnsigned, "empty signature")
		}
		return nil, Reject(ReasonMalformed, "not a COSE_Sign1 envelope: %v", err)
	}
	e := &Envelope{msg: msg}
	if ct, ok := msg.Headers.Protected[cose.HeaderLabelContentType]; ok && ct != ContentTypeCommand {
		return nil, Reject(ReasonMalformed, "content type %v, want %q", ct, ContentTypeCommand)
	}
	if msg.Payload == nil {
		return nil, Reject(ReasonMalformed, "detached payload is not supported")
	}
	if err := decMode.Unmarshal(msg.Payload, &e.payload); err != nil {
		return nil, Reject(ReasonMalformed, "payload: %v", err)
	}
	if len(msg.Signature) == 0 {
		return e, Reject(ReasonUnsigned, "empty signature")
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) == 0 {
		if _, un := msg.Headers.Unprotected[cose.HeaderLabelKeyID]; un {
			return e, Reject(ReasonMalformed, "key id must be in the protected header")
		}
		return e, Reject(ReasonMalformed, "no key id (COSE header 4) in the protected header")
	}
	if len(kid) > MaxIDLen {
		return e, Reject(ReasonUnknownKey, "key id of %d bytes", len(kid))
	}
	e.KeyID = string(kid)
	if alg, err := msg.Headers.Protected.Algorithm(); err != nil || alg != cose.AlgorithmES256 {
		return e, Reject(ReasonBadSignature, "algorithm %v (%v): only ES256 is accepted", alg, err)
	}
	return e, nil
}

// VerifySignature checks the envelope's signature with pub.
func (e *Envelope) VerifySignature(pub *ecdsa.PublicKey) error {
	if e.jws {
		return e.verifyJWS(pub)
	}
	v, err := cose.NewVerifier(cose.AlgorithmES256, pub)
	if err != nil {
		return Reject(ReasonUnknownKey, "key %s: %v", e.KeyID, err)
	}
	if err := e.msg.Verify(nil, v); err != nil {
		return Reject(ReasonBadSignature, "signature does not verify with key %s", e.KeyID)
	}
	return nil
}

// Response is the CBOR map the gateway signs as its answer.
type Response struct {
	Version int             `cbor:"v"`
	ID      string          `cbor:"id"` // the command's id, "" if it could not be read
	Gateway string          `cbor:"gw"`
	Time    int64           `cbor:"t"` // Unix seconds
	OK      bool            `cbor:"ok"`
	Error   *ErrorBody      `cbor:"err,omitempty"`
	Result  cbor.RawMessage `cbor:"result,omitempty"`
}

// ErrorBody says why a command was refused or failed.
type ErrorBody struct {
	Reason  Reason `cbor:"reason" json:"reason"`
	Message string `cbor:"msg" json:"msg"`
}

// SignResponse encodes and signs r with the gateway's key; kid is the
// gateway's id.
func SignResponse(key crypto.Signer, kid string, r *Response) ([]byte, error) {
	r.Version = Version
	body, err := encMode.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("command: encode response: %w", err)
	}
	return sign1(key, kid, ContentTypeResponse, body)
}

// ParseResponse verifies a response with the gateway's public key and
// decodes it (the HES side; tests).
func ParseResponse(b []byte, pub *ecdsa.PublicKey) (*Response, error) {
	msg := cose.NewSign1Message()
	if err := msg.UnmarshalCBOR(b); err != nil {
		return nil, fmt.Errorf("command: response: %w", err)
	}
	v, err := cose.NewVerifier(cose.AlgorithmES256, pub)
	if err != nil {
		return nil, fmt.Errorf("command: response: %w", err)
	}
	if err := msg.Verify(nil, v); err != nil {
		return nil, fmt.Errorf("command: response signature: %w", err)
	}
	var r Response
	if err := decMode.Unmarshal(msg.Payload, &r); err != nil {
		return nil, fmt.Errorf("command: response payload: %w", err)
	}
	return &r, nil
}
