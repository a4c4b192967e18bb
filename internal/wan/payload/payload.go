package payload

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
	"math"
	"math/big"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/smgw/smgw/internal/meter"
)

// Version is the batch format version written in every message.
const Version = 1

// Format names a payload format.
type Format string

// The payload formats.
const (
	// CBOR is a compact batch (RFC 8949, core deterministic encoding)
	// inside a COSE_Sign1 (RFC 9052) signed with ES256. The default.
	CBOR Format = "cbor"
	// JSON is the batch as a plain JSON document, unsigned: for easy
	// integration where TLS client authentication is deemed enough.
	JSON Format = "json"
	// JWS is the JSON document as the payload of a JWS in the flattened
	// JSON serialization (RFC 7515 §7.2.2), signed with ES256.
	JWS Format = "jws"
)

// Formats lists the formats.
var Formats = []Format{CBOR, JSON, JWS}

// ContentType returns the MQTT v5 content type the uplink sets for f.
func (f Format) ContentType() string {
	switch f {
	case CBOR:
		return `application/cose; cose-type="cose-sign1"`
	case JWS:
		return "application/jose+json"
	}
	return "application/json"
}

// Errors of this package; the wrapping error says what was wrong and where.
var (
	// ErrFormat is returned for a message that is not a well-formed batch.
	ErrFormat = errors.New("payload: malformed message")
	// ErrSignature is returned when a signature does not verify with the
	// key given, or names another gateway than the batch.
	ErrSignature = errors.New("payload: signature does not verify")
	// ErrUnsigned is returned by Verify for an unsigned (JSON) message.
	ErrUnsigned = errors.New("payload: message is not signed")
	// ErrTooLarge is returned by the encoders for a batch they cannot
	// represent (more readings than the range, times out of range).
	ErrTooLarge = errors.New("payload: batch cannot be encoded")
)

// Limits a decoder enforces.
const (
	// MaxReadings is the most readings a batch may hold.
	MaxReadings = 1 << 20
	// MaxMeters is the most meters a batch may name.
	MaxMeters = 1 << 16
)

// Batch is one uplink message: readings of consecutive outbox sequence
// numbers First…Last of one gateway. Readings[i] has sequence number
// First+i, so len(Readings) == Last-First+1.
type Batch struct {
	Gateway  string
	First    uint64
	Last     uint64
	Readings []meter.Reading
}

// check reports whether b is consistent.
func (b *Batch) check() error {
	if b.Gateway == "" {
		return fmt.Errorf("%w: no gateway id", ErrFormat)
	}
	if len(b.Readings) == 0 {
		return fmt.Errorf("%w: no readings", ErrFormat)
	}
	if len(b.Readings) > MaxReadings {
		return fmt.Errorf("%w: %d readings, at most %d", ErrFormat, len(b.Readings), MaxReadings)
	}
	if b.First == 0 || b.Last < b.First || b.Last-b.First != uint64(len(b.Readings)-1) {
		return fmt.Errorf("%w: sequence range %d…%d does not fit %d readings", ErrFormat, b.First, b.Last, len(b.Readings))
	}
	return nil
}

// wireBatch is the CBOR batch (docs/mqtt.md has its CDDL).
type wireBatch struct {
	_        struct{} `cbor:",toarray"`
	Version  uint64
	Gateway  string
	First    uint64
	Last     uint64
	Time     int64  // the first reading's time, Unix milliseconds
	Res      uint64 // the time deltas' unit, milliseconds
	Meters   []string
	Readings []wireReading
}

// wireReading is one reading of a CBOR batch.
type wireReading struct {
	_       struct{} `cbor:",toarray"`
	Meter   uint64   // index into wireBatch.Meters
	OBIS    []byte   // 6 bytes
	DT      int64    // time since the reading before (the first: since wireBatch.Time), in Res
	M       int64    // mantissa
	E       int8     // decimal exponent
	Unit    uint8    // DLMS unit code
	Quality uint16   // meter.Quality flags
	Source  uint8    // meter.Source
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxArrayElements:  MaxReadings,
		MaxNestedLevels:   8,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// resolution returns the largest unit (in ms) that divides every time of
// rs less the first: the deltas then are small integers.
func resolution(rs []meter.Reading) int64 {
	t0 := rs[0].Time.UnixMilli()
	var g uint64
	for _, r := range rs[1:] {
		d := r.Time.UnixMilli() - t0
		if d == 0 {
			continue
		}
		g = gcd(g, uabs(d))
		if g == 1 {
			break
		}
	}
	if g == 0 || g > math.MaxInt32 {
		return 1
	}
	return int64(g)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func uabs(d int64) uint64 {
	if d < 0 {
		return uint64(-(d + 1)) + 1
	}
	return uint64(d)
}

// Encoder encodes batches, reusing its buffers. The zero value is ready;
// it is not safe for concurrent use.
type Encoder struct {
	wire   wireBatch
	meters map[meter.MeterID]uint64
}

// maxTimeMs bounds the times a batch may carry (year ±100000), so no delta
// overflows.
const maxTimeMs = 3_000_000_000_000_000

// AppendCBOR appends the CBOR batch of b (unsigned) to dst.
func (e *Encoder) AppendCBOR(dst []byte, b *Batch) ([]byte, error) {
	if err := b.check(); err != nil {
		return dst, err
	}
	if e.meters == nil {
		e.meters = map[meter.MeterID]uint64{}
	}
	clear(e.meters)
	w := &e.wire
	w.Version, w.Gateway, w.First, w.Last = Version, b.Gateway, b.First, b.Last
	w.Time, w.Res = b.Readings[0].Time.UnixMilli(), uint64(resolution(b.Readings))
	w.Meters = w.Meters[:0]
	w.Readings = w.Readings[:0]
	res := int64(w.Res)
	prev := w.Time
	for i, r := range b.Readings {
		idx, ok := e.meters[r.Meter]
		if !ok {
			if len(w.Meters) >= MaxMeters {
				return dst, fmt.Errorf("%w: more than %d meters", ErrTooLarge, MaxMeters)
			}
			idx = uint64(len(w.Meters))
			e.meters[r.Meter] = idx
			w.Meters = append(w.Meters, string(r.Meter))
		}
		t := r.Time.UnixMilli()
		if t > maxTimeMs || t < -maxTimeMs {
			return dst, fmt.Errorf("%w: reading %d (seq %d): time %s out of range", ErrTooLarge, i, b.First+uint64(i), r.Time)
		}
		w.Readings = append(w.Readings, wireReading{
			Meter: idx, OBIS: append([]byte(nil), r.OBIS[:]...), DT: (t - prev) / res,
			M: r.Value.M, E: r.Value.E, Unit: uint8(r.Unit), Quality: uint16(r.Quality), Source: uint8(r.Source),
		})
		prev = t
	}
	out, err := encMode.Marshal(w)
	if err != nil {
		return dst, fmt.Errorf("payload: encode: %w", err)
	}
	return append(dst, out...), nil
}

// ParseCBOR decodes a CBOR batch (the payload of the COSE_Sign1).
func ParseCBOR(p []byte) (*Batch, error) {
	var w wireBatch
	if err := decMode.Unmarshal(p, &w); err != nil {
		return nil, fmt.Errorf("%w: CBOR batch: %v", ErrFormat, err)
	}
	if w.Version != Version {
		return nil, fmt.Errorf("%w: batch version %d, want %d", ErrFormat, w.Version, Version)
	}
	if w.Res == 0 || w.Res > math.MaxInt32 {
		return nil, fmt.Errorf("%w: time resolution %d ms out of range", ErrFormat, w.Res)
	}
	if len(w.Meters) > MaxMeters {
		return nil, fmt.Errorf("%w: %d meters, at most %d", ErrFormat, len(w.Meters), MaxMeters)
	}
	for i, m := range w.Meters {
		if err := meter.MeterID(m).Validate(); err != nil {
			return nil, fmt.Errorf("%w: meter %d: %v", ErrFormat, i, err)
		}
	}
	b := &Batch{Gateway: w.Gateway, First: w.First, Last: w.Last, Readings: make([]meter.Reading, len(w.Readings))}
	t := w.Time
	if t > maxTimeMs || t < -maxTimeMs {
		return nil, fmt.Errorf("%w: base time %d out of range", ErrFormat, t)
	}
	res := int64(w.Res)
	for i, r := range w.Readings {
		if r.Meter >= uint64(len(w.Meters)) {
			return nil, fmt.Errorf("%w: reading %d: meter index %d, the batch names %d meters", ErrFormat, i, r.Meter, len(w.Meters))
		}
		if len(r.OBIS) != 6 {
			return nil, fmt.Errorf("%w: reading %d: OBIS of %d bytes, want 6", ErrFormat, i, len(r.OBIS))
		}
		if r.DT > maxTimeMs/res || r.DT < -maxTimeMs/res {
			return nil, fmt.Errorf("%w: reading %d: time delta %d out of range", ErrFormat, i, r.DT)
		}
		t += r.DT * res
		if t > maxTimeMs || t < -maxTimeMs {
			return nil, fmt.Errorf("%w: reading %d: time out of range", ErrFormat, i)
		}
		b.Readings[i] = meter.Reading{
			Meter: meter.MeterID(w.Meters[r.Meter]), OBIS: meter.OBIS(r.OBIS), Time: time.UnixMilli(t).UTC(),
			Value: meter.Value{M: r.M, E: r.E}, Unit: meter.Unit(r.Unit), Quality: meter.Quality(r.Quality),
			Source: meter.Source(r.Source),
		}
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// AppendCOSE appends b as a CBOR batch in a tagged COSE_Sign1 signed by
// signer (ECDSA P-256, ES256). The protected header carries the algorithm,
// the content type and the gateway id as key id.
func (e *Encoder) AppendCOSE(dst []byte, b *Batch, signer crypto.Signer) ([]byte, error) {
	body, err := e.AppendCBOR(nil, b)
	if err != nil {
		return dst, err
	}
	cs, err := cose.NewSigner(cose.AlgorithmES256, signer)
	if err != nil {
		return dst, fmt.Errorf("payload: signing key: %w", err)
	}
	msg := cose.Sign1Message{
		Headers: cose.Headers{Protected: cose.ProtectedHeader{
			cose.HeaderLabelAlgorithm:   cose.AlgorithmES256,
			cose.HeaderLabelContentType: CBORContentType,
			cose.HeaderLabelKeyID:       []byte(b.Gateway),
		}},
		Payload: body,
	}
	if err := msg.Sign(rand.Reader, nil, cs); err != nil {
		return dst, fmt.Errorf("payload: sign: %w", err)
	}
	out, err := msg.MarshalCBOR()
	if err != nil {
		return dst, fmt.Errorf("payload: encode COSE_Sign1: %w", err)
	}
	return append(dst, out...), nil
}

// CBORContentType is the content type in the COSE_Sign1's protected header.
const CBORContentType = "application/vnd.smgw.readings+cbor"

// jsonBatch is the JSON document.
type jsonBatch struct {
	V        int           `json:"v"`
	Gateway  string        `json:"gateway"`
	First    uint64        `json:"first"`
	Last     uint64        `json:"last"`
	Readings []jsonReading `json:"readings"`
}

type jsonReading struct {
	Seq     uint64        `json:"seq"`
	Meter   meter.MeterID `json:"meter"`
	OBIS    meter.OBIS    `json:"obis"`
	Time    string        `json:"time"`
	Value   meter.Value   `json:"value"`
	Unit    meter.Unit    `json:"unit"`
	Quality meter.Quality `json:"quality"`
	Source  meter.Source  `json:"source"`
}

// AppendJSON appends b as an unsigned JSON document to dst.
func (e *Encoder) AppendJSON(dst []byte, b *Batch) ([]byte, error) {
	if err := b.check(); err != nil {
		return dst, err
	}
	j := jsonBatch{V: Version, Gateway: b.Gateway, First: b.First, Last: b.Last, Readings: make([]jsonReading, len(b.Readings))}
	for i, r := range b.Readings {
		j.Readings[i] = jsonReading{
			Seq: b.First + uint64(i), Meter: r.Meter, OBIS: r.OBIS, Time: r.Time.UTC().Format(time.RFC3339Nano),
			Value: r.Value, Unit: r.Unit, Quality: r.Quality, Source: r.Source,
		}
	}
	out, err := json.Marshal(&j)
	if err != nil {
		return dst, fmt.Errorf("payload: encode JSON: %w", err)
	}
	return append(dst, out...), nil
}

// ParseJSON decodes an unsigned JSON document.
func ParseJSON(p []byte) (*Batch, error) {
	var j jsonBatch
	if err := strictJSON(p, &j); err != nil {
		return nil, fmt.Errorf("%w: JSON batch: %v", ErrFormat, err)
	}
	if j.V != Version {
		return nil, fmt.Errorf("%w: batch version %d, want %d", ErrFormat, j.V, Version)
	}
	if len(j.Readings) > MaxReadings {
		return nil, fmt.Errorf("%w: %d readings, at most %d", ErrFormat, len(j.Readings), MaxReadings)
	}
	b := &Batch{Gateway: j.Gateway, First: j.First, Last: j.Last, Readings: make([]meter.Reading, len(j.Readings))}
	for i, r := range j.Readings {
		t, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %d: time: %v", ErrFormat, i, err)
		}
		if r.Seq != j.First+uint64(i) {
			return nil, fmt.Errorf("%w: reading %d: seq %d, want %d", ErrFormat, i, r.Seq, j.First+uint64(i))
		}
		if err := r.Meter.Validate(); err != nil {
			return nil, fmt.Errorf("%w: reading %d: %v", ErrFormat, i, err)
		}
		b.Readings[i] = meter.Reading{Meter: r.Meter, OBIS: r.OBIS, Time: t.UTC(), Value: r.Value,
			Unit: r.Unit, Quality: r.Quality, Source: r.Source}
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

func strictJSON(p []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the document")
	}
	return nil
}

// jwsHeader is the JWS protected header.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Cty string `json:"cty"`
}

// jwsMessage is a JWS in the flattened JSON serialization.
type jwsMessage struct {
	Protected string `json:"protected"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

var b64 = base64.RawURLEncoding

// AppendJWS appends b as a JWS (flattened JSON serialization, ES256)
// whose payload is the JSON document.
func (e *Encoder) AppendJWS(dst []byte, b *Batch, signer crypto.Signer) ([]byte, error) {
	doc, err := e.AppendJSON(nil, b)
	if err != nil {
		return dst, err
	}
	if _, ok := signer.Public().(*ecdsa.PublicKey); !ok {
		return dst, errors.New("payload: signing key: not an ECDSA key")
	}
	hdr, _ := json.Marshal(jwsHeader{Alg: "ES256", Kid: b.Gateway, Cty: "json"})
	m := jwsMessage{Protected: b64.EncodeToString(hdr), Payload: b64.EncodeToString(doc)}
	h := sha256.Sum256([]byte(m.Protected + "." + m.Payload))
	der, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return dst, fmt.Errorf("payload: sign: %w", err)
	}
	sig, err := rawSignature(der)
	if err != nil {
		return dst, err
	}
	m.Signature = b64.EncodeToString(sig)
	out, _ := json.Marshal(&m)
	return append(dst, out...), nil
}

// rawSignature converts an ASN.1 ECDSA signature to the 64-byte r‖s of
// JWS (RFC 7518 §3.4).
func rawSignature(der []byte) ([]byte, error) {
	var s struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) > 0 || s.R == nil || s.S == nil {
		return nil, errors.New("payload: sign: the signer returned no ECDSA signature")
	}
	out := make([]byte, 64)
	if s.R.Sign() < 0 || s.S.Sign() < 0 || s.R.BitLen() > 256 || s.S.BitLen() > 256 {
		return nil, errors.New("payload: sign: the signer returned a signature not of P-256")
	}
	s.R.FillBytes(out[:32])
	s.S.FillBytes(out[32:])
	return out, nil
}

// Detect returns the format of msg by its first byte: a CBOR tag 18
// (COSE_Sign1) is CBOR, a JSON object with a "protected" member is JWS,
// any other JSON object is JSON.
func Detect(msg []byte) (Format, error) {
	msg = bytes.TrimSpace(msg)
	switch {
	case len(msg) > 0 && msg[0] == 0xd2:
		return CBOR, nil
	case len(msg) > 0 && msg[0] == '{':
		var probe struct {
			Protected *string `json:"protected"`
		}
		if err := json.Unmarshal(msg, &probe); err != nil {
			return "", fmt.Errorf("%w: not JSON: %v", ErrFormat, err)
		}
		if probe.Protected != nil {
			return JWS, nil
		}
		return JSON, nil
	}
	return "", fmt.Errorf("%w: neither a COSE_Sign1 (CBOR tag 18) nor a JSON object", ErrFormat)
}

// Verify decodes msg of any format and checks its signature with pub: the
// signature must verify and name the batch's gateway as key id. An
// unsigned JSON message gives ErrUnsigned (and the batch).
func Verify(msg []byte, pub *ecdsa.PublicKey) (*Batch, Format, error) {
	return open(msg, pub, true)
}

// Inspect decodes msg of any format without checking a signature.
func Inspect(msg []byte) (*Batch, Format, error) {
	return open(msg, nil, false)
}

func open(msg []byte, pub *ecdsa.PublicKey, verify bool) (*Batch, Format, error) {
	f, err := Detect(msg)
	if err != nil {
		return nil, "", err
	}
	switch f {
	case CBOR:
		var m cose.Sign1Message
		if err := m.UnmarshalCBOR(msg); err != nil {
			return nil, f, fmt.Errorf("%w: COSE_Sign1: %v", ErrFormat, err)
		}
		if m.Payload == nil {
			return nil, f, fmt.Errorf("%w: COSE_Sign1 without payload", ErrFormat)
		}
		b, err := ParseCBOR(m.Payload)
		if err != nil {
			return nil, f, err
		}
		if !verify {
			return b, f, nil
		}
		kid, _ := m.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
		if string(kid) != b.Gateway {
			return b, f, fmt.Errorf("%w: key id %q in the protected header, the batch is of gateway %q", ErrSignature, kid, b.Gateway)
		}
		v, err := cose.NewVerifier(cose.AlgorithmES256, pub)
		if err != nil {
			return b, f, fmt.Errorf("%w: key: %v", ErrSignature, err)
		}
		if err := m.Verify(nil, v); err != nil {
			return b, f, fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return b, f, nil
	case JWS:
		var m jwsMessage
		if err := strictJSON(msg, &m); err != nil {
			return nil, f, fmt.Errorf("%w: JWS: %v", ErrFormat, err)
		}
		hb, err1 := b64.DecodeString(m.Protected)
		doc, err2 := b64.DecodeString(m.Payload)
		sig, err3 := b64.DecodeString(m.Signature)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, f, fmt.Errorf("%w: JWS: base64url: %v", ErrFormat, err)
		}
		var h jwsHeader
		if err := strictJSON(hb, &h); err != nil {
			return nil, f, fmt.Errorf("%w: JWS protected header: %v", ErrFormat, err)
		}
		b, err := ParseJSON(doc)
		if err != nil {
			return nil, f, err
		}
		if !verify {
			return b, f, nil
		}
		if h.Alg != "ES256" {
			return b, f, fmt.Errorf("%w: JWS algorithm %q, want ES256", ErrSignature, h.Alg)
		}
		if h.Kid != b.Gateway {
			return b, f, fmt.Errorf("%w: key id %q in the protected header, the batch is of gateway %q", ErrSignature, h.Kid, b.Gateway)
		}
		if pub == nil || len(sig) != 64 {
			return b, f, fmt.Errorf("%w: no key or a signature of %d bytes", ErrSignature, len(sig))
		}
		hash := sha256.Sum256([]byte(m.Protected + "." + m.Payload))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, hash[:], r, s) {
			return b, f, ErrSignature
		}
		return b, f, nil
	default:
		b, err := ParseJSON(msg)
		if err != nil {
			return nil, f, err
		}
		if verify {
			return b, f, ErrUnsigned
		}
		return b, f, nil
	}
}
