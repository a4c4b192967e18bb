package command

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The JSON form of the envelope, for HES integrations without CBOR: a JWS
// in compact serialisation (RFC 7515), ES256 (RFC 7518 §3.4: the
// signature is r‖s, 64 bytes), whose payload is the same map as the CBOR
// form's in JSON (times as Unix seconds in iat and exp; times inside args
// as RFC 3339 strings, byte strings as standard base64). The gateway
// answers a JWS command with a JWS response.

// JWS "typ" header values.
const (
	TypeCommandJWS  = "smgw-command+jws"
	TypeResponseJWS = "smgw-response+jws"
)

// IsJWS reports whether b looks like a JWS in compact serialisation (its
// header, base64url of a JSON object, starts "eyJ").
func IsJWS(b []byte) bool { return bytes.HasPrefix(b, []byte("eyJ")) }

type jwsHeader struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Typ  string   `json:"typ,omitempty"`
	Crit []string `json:"crit,omitempty"`
}

// jsonPayload is Payload in JSON.
type jsonPayload struct {
	Version int             `json:"v"`
	ID      string          `json:"id"`
	Gateway string          `json:"gw"`
	Issued  int64           `json:"iat"`
	Expires int64           `json:"exp"`
	Kind    string          `json:"kind"`
	Args    json.RawMessage `json:"args,omitempty"`
}

var b64 = base64.RawURLEncoding

// parseJWS parses a compact JWS command.
func parseJWS(b []byte) (*Envelope, error) {
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 {
		return nil, Reject(ReasonMalformed, "a JWS has 3 parts separated by '.', this has %d", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, Reject(ReasonMalformed, "JWS header: %v", err)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, Reject(ReasonMalformed, "JWS header: %v", err)
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, Reject(ReasonMalformed, "JWS payload: %v", err)
	}
	var jp jsonPayload
	if err := json.Unmarshal(pb, &jp); err != nil {
		return nil, Reject(ReasonMalformed, "JWS payload: %v", err)
	}
	e := &Envelope{jws: true, signingInput: []byte(parts[0] + "." + parts[1]),
		payload: Payload{Version: jp.Version, ID: jp.ID, Gateway: jp.Gateway, Issued: jp.Issued, Expires: jp.Expires, Kind: jp.Kind}}
	e.argsJSON = jp.Args
	if e.sig, err = b64.DecodeString(parts[2]); err != nil {
		return e, Reject(ReasonMalformed, "JWS signature: %v", err)
	}
	switch {
	case h.Alg == "none" || len(e.sig) == 0:
		return e, Reject(ReasonUnsigned, "JWS without a signature (alg %q)", h.Alg)
	case h.Alg != "ES256":
		return e, Reject(ReasonBadSignature, "JWS algorithm %q: only ES256 is accepted", h.Alg)
	case len(h.Crit) > 0:
		return e, Reject(ReasonMalformed, "JWS critical headers %q are not understood", h.Crit)
	case h.Typ != "" && h.Typ != TypeCommandJWS:
		return e, Reject(ReasonMalformed, "JWS typ %q, want %q", h.Typ, TypeCommandJWS)
	case h.Kid == "":
		return e, Reject(ReasonMalformed, "JWS without a kid")
	case len(h.Kid) > MaxIDLen:
		return e, Reject(ReasonUnknownKey, "key id of %d bytes", len(h.Kid))
	}
	e.KeyID = h.Kid
	return e, nil
}

func (e *Envelope) verifyJWS(pub *ecdsa.PublicKey) error {
	if len(e.sig) != 64 {
		return Reject(ReasonBadSignature, "ES256 signature of %d bytes, want 64", len(e.sig))
	}
	d := sha256.Sum256(e.signingInput)
	r, s := new(big.Int).SetBytes(e.sig[:32]), new(big.Int).SetBytes(e.sig[32:])
	if !ecdsa.Verify(pub, d[:], r, s) {
		return Reject(ReasonBadSignature, "signature does not verify with key %s", e.KeyID)
	}
	return nil
}

// signJWS makes a compact JWS of payload.
func signJWS(key crypto.Signer, kid, typ string, payload []byte) ([]byte, error) {
	if _, ok := key.Public().(*ecdsa.PublicKey); !ok {
		return nil, errors.New("command: signing key is not ECDSA")
	}
	hb, _ := json.Marshal(jwsHeader{Alg: "ES256", Kid: kid, Typ: typ})
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(payload)
	d := sha256.Sum256([]byte(in))
	der, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("command: sign: %w", err)
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("command: signature: %w", err)
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return []byte(in + "." + b64.EncodeToString(raw)), nil
}

// SignJWS makes a command envelope in the JSON form: p with its Args
// given as JSON (argsJSON, nil for none), signed ES256 by key as kid.
func SignJWS(key crypto.Signer, kid string, p *Payload, argsJSON []byte) ([]byte, error) {
	body, err := json.Marshal(jsonPayload{Version: p.Version, ID: p.ID, Gateway: p.Gateway, Issued: p.Issued,
		Expires: p.Expires, Kind: p.Kind, Args: argsJSON})
	if err != nil {
		return nil, fmt.Errorf("command: encode payload: %w", err)
	}
	return signJWS(key, kid, TypeCommandJWS, body)
}

// JSONResponse is the payload of a response in the JSON form.
type JSONResponse struct {
	Version int             `json:"v"`
	ID      string          `json:"id"`
	Gateway string          `json:"gw"`
	Time    int64           `json:"t"`
	OK      bool            `json:"ok"`
	Error   *ErrorBody      `json:"err,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// SignResponseJWS signs a response in the JSON form; result is marshalled
// with encoding/json.
func SignResponseJWS(key crypto.Signer, kid string, r *Response, result any) ([]byte, error) {
	jr := JSONResponse{Version: Version, ID: r.ID, Gateway: r.Gateway, Time: r.Time, OK: r.OK, Error: r.Error}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return nil, fmt.Errorf("command: encode result: %w", err)
		}
		jr.Result = b
	}
	body, err := json.Marshal(jr)
	if err != nil {
		return nil, fmt.Errorf("command: encode response: %w", err)
	}
	return signJWS(key, kid, TypeResponseJWS, body)
}

// ParseResponseJWS verifies a JSON-form response with the gateway's
// public key and decodes it.
func ParseResponseJWS(b []byte, pub *ecdsa.PublicKey) (*JSONResponse, error) {
	e, err := parseJWS(b)
	if err != nil && ReasonOf(err) != ReasonMalformed {
		return nil, err
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 {
		return nil, errors.New("command: response is not a compact JWS")
	}
	if e == nil {
		e = &Envelope{signingInput: []byte(parts[0] + "." + parts[1])}
		if e.sig, err = b64.DecodeString(parts[2]); err != nil {
			return nil, fmt.Errorf("command: response signature: %w", err)
		}
	}
	if err := e.verifyJWS(pub); err != nil {
		return nil, err
	}
	pb, _ := b64.DecodeString(parts[1])
	var r JSONResponse
	if err := json.Unmarshal(pb, &r); err != nil {
		return nil, fmt.Errorf("command: response payload: %w", err)
	}
	return &r, nil
}
