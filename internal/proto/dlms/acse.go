package dlms

import (
	"bytes"
	"fmt"
	"slices"
)

// Application context names (the value of the object identifier
// 2.16.756.5.8.1.x, joint-iso-ccitt country(16) country-name(756)
// identified-organization(5) DLMS-UA(8) application-context(1)).
var (
	ContextLN         = []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x01}
	ContextSN         = []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x02}
	ContextLNCiphered = []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x03}
	ContextSNCiphered = []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x04}
)

// Authentication mechanism levels (the last arc of the mechanism name
// 2.16.756.5.8.2.x).
const (
	MechanismNone   = 0
	MechanismLow    = 1 // LLS, a password
	MechanismHigh   = 2 // HLS, manufacturer-specific
	MechanismMD5    = 3
	MechanismSHA1   = 4
	MechanismGMAC   = 5 // HLS with GMAC, security suite 0
	MechanismSHA256 = 6
	MechanismECDSA  = 7
)

// Mechanism returns the mechanism name for a level.
func Mechanism(level uint8) []byte { return []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x02, level} }

// MechanismLevel returns the level of a mechanism name, ok false for a
// name outside 2.16.756.5.8.2.
func MechanismLevel(name []byte) (uint8, bool) {
	if len(name) == 7 && bytes.Equal(name[:6], []byte{0x60, 0x85, 0x74, 0x05, 0x08, 0x02}) {
		return name[6], true
	}
	return 0, false
}

// Association results and diagnostics of the AARE.
const (
	AssociationAccepted          = 0
	AssociationRejectedPermanent = 1
	AssociationRejectedTransient = 2

	DiagNull                        = 0
	DiagNoReasonGiven               = 1
	DiagContextNotSupported         = 2
	DiagMechanismNotRecognised      = 11
	DiagMechanismRequired           = 12
	DiagAuthenticationFailure       = 13
	DiagAuthenticationRequired      = 14
	DiagProviderNoCommonACSEVersion = 2 // acse-service-provider
)

// Release reasons of RLRQ and RLRE.
const (
	ReleaseNormal      = 0
	ReleaseUrgent      = 1 // RLRQ
	ReleaseUserDefined = 30
	ReleaseNotFinished = 1 // RLRE
)

// TLV is a field of an ACSE APDU this package does not interpret, kept as
// its tag and contents so that it re-encodes as it came.
type TLV struct {
	Tag   byte
	Value []byte
}

// AARQ is the A-ASSOCIATE request (IEC 62056-5-3 ACSE, BER encoded).
type AARQ struct {
	ApplicationContext []byte // object identifier value, e.g. ContextLN
	CallingAPTitle     []byte // the client's system title (HLS), nil if absent
	CallingAEQualifier []byte // nil if absent
	ACSERequirements   bool   // sender-acse-requirements: authentication
	Mechanism          []byte // mechanism name, nil if absent
	AuthValue          []byte // calling-authentication-value: password or challenge
	UserInfo           []byte // the xDLMS APDU: InitiateRequest or its ciphered form
	Other              []TLV  // other fields, by tag
}

// AARE is the A-ASSOCIATE response.
type AARE struct {
	ApplicationContext []byte
	Result             uint8 // AssociationAccepted, …
	// DiagProvider selects acse-service-provider (true) or
	// acse-service-user (false) for Diagnostic.
	DiagProvider      bool
	Diagnostic        uint8
	RespondingAPTitle []byte // the server's system title, nil if absent
	ACSERequirements  bool
	Mechanism         []byte
	AuthValue         []byte // responding-authentication-value: StoC
	UserInfo          []byte // InitiateResponse, ConfirmedServiceError or their ciphered form
	Other             []TLV
}

// RLRQ is the A-RELEASE request; RLRE the response.
type RLRQ struct {
	HasReason bool
	Reason    uint8
	UserInfo  []byte
}

// RLRE is the A-RELEASE response.
type RLRE RLRQ

// APDUTag returns TagAARQ.
func (AARQ) APDUTag() byte { return TagAARQ }

// APDUTag returns TagAARE.
func (AARE) APDUTag() byte { return TagAARE }

// APDUTag returns TagRLRQ.
func (RLRQ) APDUTag() byte { return TagRLRQ }

// APDUTag returns TagRLRE.
func (RLRE) APDUTag() byte { return TagRLRE }

func tlv(dst []byte, tag byte, v []byte) []byte {
	return append(AppendLength(append(dst, tag), len(v)), v...)
}

// wrapped returns the contents "inner-tag length value".
func wrapped(tag byte, v []byte) []byte { return tlv(nil, tag, v) }

// tagNumber orders context-specific tags by number.
func tagNumber(t byte) byte { return t & 0x1F }

func encodeFields(dst []byte, apduTag byte, fields []TLV) []byte {
	slices.SortStableFunc(fields, func(a, b TLV) int { return int(tagNumber(a.Tag)) - int(tagNumber(b.Tag)) })
	var body []byte
	for _, f := range fields {
		body = tlv(body, f.Tag, f.Value)
	}
	return tlv(dst, apduTag, body)
}

var acseReqAuth = []byte{0x07, 0x80}

// Append encodes the AARQ.
func (a AARQ) Append(dst []byte) []byte {
	f := slices.Clone(a.Other)
	if a.ApplicationContext != nil {
		f = append(f, TLV{0xA1, wrapped(0x06, a.ApplicationContext)})
	}
	if a.CallingAPTitle != nil {
		f = append(f, TLV{0xA6, wrapped(0x04, a.CallingAPTitle)})
	}
	if a.CallingAEQualifier != nil {
		f = append(f, TLV{0xA7, wrapped(0x04, a.CallingAEQualifier)})
	}
	if a.ACSERequirements {
		f = append(f, TLV{0x8A, acseReqAuth})
	}
	if a.Mechanism != nil {
		f = append(f, TLV{0x8B, a.Mechanism})
	}
	if a.AuthValue != nil {
		f = append(f, TLV{0xAC, wrapped(0x80, a.AuthValue)})
	}
	if a.UserInfo != nil {
		f = append(f, TLV{0xBE, wrapped(0x04, a.UserInfo)})
	}
	return encodeFields(dst, TagAARQ, f)
}

// Append encodes the AARE.
func (a AARE) Append(dst []byte) []byte {
	f := slices.Clone(a.Other)
	if a.ApplicationContext != nil {
		f = append(f, TLV{0xA1, wrapped(0x06, a.ApplicationContext)})
	}
	f = append(f, TLV{0xA2, []byte{0x02, 0x01, a.Result}})
	diag := byte(0xA1)
	if a.DiagProvider {
		diag = 0xA2
	}
	f = append(f, TLV{0xA3, wrapped(diag, []byte{0x02, 0x01, a.Diagnostic})})
	if a.RespondingAPTitle != nil {
		f = append(f, TLV{0xA4, wrapped(0x04, a.RespondingAPTitle)})
	}
	if a.ACSERequirements {
		f = append(f, TLV{0x88, acseReqAuth})
	}
	if a.Mechanism != nil {
		f = append(f, TLV{0x89, a.Mechanism})
	}
	if a.AuthValue != nil {
		f = append(f, TLV{0xAA, wrapped(0x80, a.AuthValue)})
	}
	if a.UserInfo != nil {
		f = append(f, TLV{0xBE, wrapped(0x04, a.UserInfo)})
	}
	return encodeFields(dst, TagAARE, f)
}

func (r RLRQ) appendAs(dst []byte, tag byte) []byte {
	var f []TLV
	if r.HasReason {
		f = append(f, TLV{0x80, []byte{r.Reason}})
	}
	if r.UserInfo != nil {
		f = append(f, TLV{0xBE, wrapped(0x04, r.UserInfo)})
	}
	return encodeFields(dst, tag, f)
}

// Append encodes the RLRQ.
func (r RLRQ) Append(dst []byte) []byte { return r.appendAs(dst, TagRLRQ) }

// Append encodes the RLRE.
func (r RLRE) Append(dst []byte) []byte { return RLRQ(r).appendAs(dst, TagRLRE) }

// berFields reads the fields of an ACSE APDU body.
func (r *reader) berFields(what string) ([]TLV, error) {
	var out []TLV
	for r.left() > 0 {
		tag, err := r.u8(what + " field tag")
		if err != nil {
			return nil, err
		}
		if tag&0x1F == 0x1F {
			r.off--
			return nil, r.errInvalid("%s: multi-octet tag 0x%02X", what, tag)
		}
		v, err := r.octets(fmt.Sprintf("%s field 0x%02X", what, tag))
		if err != nil {
			return nil, err
		}
		out = append(out, TLV{tag, v})
	}
	return out, nil
}

// unwrap reads "tag length value" that must fill v exactly.
func unwrap(v []byte, tag byte, what string) ([]byte, bool) {
	r := reader{b: v}
	t, err := r.u8(what)
	if err != nil || t != tag {
		return nil, false
	}
	inner, err := r.octets(what)
	if err != nil || r.left() != 0 {
		return nil, false
	}
	// Keep an empty value distinct from an absent one.
	if inner == nil {
		inner = []byte{}
	}
	return inner, true
}

// unwrapInt reads "02 01 v".
func unwrapInt(v []byte) (uint8, bool) {
	if len(v) == 3 && v[0] == 0x02 && v[1] == 0x01 {
		return v[2], true
	}
	return 0, false
}

// body reads the outer tag's length and returns a reader over the body.
func (r *reader) body(what string) (*reader, error) {
	n, err := r.length(what + " length")
	if err != nil {
		return nil, err
	}
	start := r.off
	b, err := r.take(n, what)
	if err != nil {
		return nil, err
	}
	// Offsets in errors stay relative to the whole APDU.
	full := r.b[:start+len(b)]
	return &reader{b: full, off: start}, nil
}

func (r *reader) aarq() (AARQ, error) {
	var a AARQ
	br, err := r.body("AARQ")
	if err != nil {
		return a, err
	}
	fields, err := br.berFields("AARQ")
	if err != nil {
		return a, err
	}
	for _, f := range fields {
		var ok bool
		switch f.Tag {
		case 0xA1:
			a.ApplicationContext, ok = unwrap(f.Value, 0x06, "application-context-name")
		case 0xA6:
			a.CallingAPTitle, ok = unwrap(f.Value, 0x04, "calling-AP-title")
		case 0xA7:
			a.CallingAEQualifier, ok = unwrap(f.Value, 0x04, "calling-AE-qualifier")
		case 0x8A:
			a.ACSERequirements, ok = bytes.Equal(f.Value, acseReqAuth), bytes.Equal(f.Value, acseReqAuth)
		case 0x8B:
			a.Mechanism, ok = f.Value, true
			if a.Mechanism == nil {
				a.Mechanism = []byte{}
			}
		case 0xAC:
			a.AuthValue, ok = unwrap(f.Value, 0x80, "calling-authentication-value")
		case 0xBE:
			a.UserInfo, ok = unwrap(f.Value, 0x04, "user-information")
		}
		if !ok {
			a.Other = append(a.Other, f)
		}
	}
	return a, nil
}

func (r *reader) aare() (AARE, error) {
	var a AARE
	br, err := r.body("AARE")
	if err != nil {
		return a, err
	}
	fields, err := br.berFields("AARE")
	if err != nil {
		return a, err
	}
	var haveResult, haveDiag bool
	for _, f := range fields {
		var ok bool
		switch f.Tag {
		case 0xA1:
			a.ApplicationContext, ok = unwrap(f.Value, 0x06, "application-context-name")
		case 0xA2:
			a.Result, ok = unwrapInt(f.Value)
			haveResult = ok
		case 0xA3:
			if len(f.Value) > 0 && (f.Value[0] == 0xA1 || f.Value[0] == 0xA2) {
				var in []byte
				if in, ok = unwrap(f.Value, f.Value[0], "result-source-diagnostic"); ok {
					a.Diagnostic, ok = unwrapInt(in)
					a.DiagProvider = f.Value[0] == 0xA2
				}
			}
			haveDiag = ok
		case 0xA4:
			a.RespondingAPTitle, ok = unwrap(f.Value, 0x04, "responding-AP-title")
		case 0x88:
			a.ACSERequirements, ok = bytes.Equal(f.Value, acseReqAuth), bytes.Equal(f.Value, acseReqAuth)
		case 0x89:
			a.Mechanism, ok = f.Value, true
			if a.Mechanism == nil {
				a.Mechanism = []byte{}
			}
		case 0xAA:
			a.AuthValue, ok = unwrap(f.Value, 0x80, "responding-authentication-value")
		case 0xBE:
			a.UserInfo, ok = unwrap(f.Value, 0x04, "user-information")
		}
		if !ok {
			switch f.Tag {
			case 0xA2, 0xA3:
				return a, fmt.Errorf("%w: AARE field 0x%02X malformed (% X)", ErrInvalid, f.Tag, f.Value)
			}
			a.Other = append(a.Other, f)
		}
	}
	if !haveResult || !haveDiag {
		return a, fmt.Errorf("%w: AARE without result or result-source-diagnostic", ErrInvalid)
	}
	return a, nil
}

func (r *reader) rlrq(what string) (RLRQ, error) {
	var q RLRQ
	br, err := r.body(what)
	if err != nil {
		return q, err
	}
	fields, err := br.berFields(what)
	if err != nil {
		return q, err
	}
	for _, f := range fields {
		switch {
		case f.Tag == 0x80 && len(f.Value) == 1 && !q.HasReason:
			q.HasReason, q.Reason = true, f.Value[0]
		case f.Tag == 0xBE && q.UserInfo == nil:
			var ok bool
			if q.UserInfo, ok = unwrap(f.Value, 0x04, "user-information"); !ok {
				return q, fmt.Errorf("%w: %s user-information malformed", ErrInvalid, what)
			}
		default:
			return q, fmt.Errorf("%w: %s field 0x%02X", ErrInvalid, what, f.Tag)
		}
	}
	return q, nil
}

// InitiateRequest is the xDLMS InitiateRequest carried in the AARQ's
// user-information.
type InitiateRequest struct {
	DedicatedKey []byte // nil if absent
	// ResponseNotAllowed is the inverse of response-allowed (DEFAULT TRUE).
	ResponseNotAllowed bool
	HasQoS             bool
	QoS                int8
	DLMSVersion        uint8 // 6
	Conformance        uint32
	MaxPDU             uint16 // client-max-receive-pdu-size
}

// InitiateResponse is the xDLMS InitiateResponse carried in the AARE's
// user-information.
type InitiateResponse struct {
	HasQoS      bool
	QoS         int8
	DLMSVersion uint8
	Conformance uint32
	MaxPDU      uint16 // server-max-receive-pdu-size
	VAAName     uint16 // 0x0007 for LN referencing, 0xFA00 for SN
}

// VAANameLN is the vaa-name of a logical-name-referencing server.
const VAANameLN = 0x0007

// APDUTag returns TagInitiateRequest.
func (InitiateRequest) APDUTag() byte { return TagInitiateRequest }

// APDUTag returns TagInitiateResponse.
func (InitiateResponse) APDUTag() byte { return TagInitiateResponse }

func appendConformance(dst []byte, c uint32) []byte {
	return append(dst, 0x5F, 0x1F, 0x04, 0x00, byte(c>>16), byte(c>>8), byte(c))
}

func (r *reader) conformance() (uint32, error) {
	p, err := r.take(7, "conformance")
	if err != nil {
		return 0, err
	}
	if p[0] != 0x5F || p[1] != 0x1F || p[2] != 0x04 || p[3] != 0x00 {
		r.off -= 7
		return 0, r.errInvalid("conformance header % X, want 5F 1F 04 00", p[:4])
	}
	return uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6]), nil
}

// Append encodes the request.
func (q InitiateRequest) Append(dst []byte) []byte {
	dst = append(dst, TagInitiateRequest)
	if q.DedicatedKey == nil {
		dst = append(dst, 0)
	} else {
		dst = appendOctets(append(dst, 1), q.DedicatedKey)
	}
	if q.ResponseNotAllowed {
		dst = append(dst, 1, 0)
	} else {
		dst = append(dst, 0)
	}
	if q.HasQoS {
		dst = append(dst, 1, byte(q.QoS))
	} else {
		dst = append(dst, 0)
	}
	dst = append(dst, q.DLMSVersion)
	dst = appendConformance(dst, q.Conformance)
	return appendU16(dst, q.MaxPDU)
}

// Append encodes the response.
func (s InitiateResponse) Append(dst []byte) []byte {
	dst = append(dst, TagInitiateResponse)
	if s.HasQoS {
		dst = append(dst, 1, byte(s.QoS))
	} else {
		dst = append(dst, 0)
	}
	dst = append(dst, s.DLMSVersion)
	dst = appendConformance(dst, s.Conformance)
	dst = appendU16(dst, s.MaxPDU)
	return appendU16(dst, s.VAAName)
}

func (r *reader) initiateRequest() (InitiateRequest, error) {
	var q InitiateRequest
	ok, err := r.optional("dedicated-key")
	if err != nil {
		return q, err
	}
	if ok {
		if q.DedicatedKey, err = r.octets("dedicated-key"); err != nil {
			return q, err
		}
	}
	if ok, err = r.optional("response-allowed"); err != nil {
		return q, err
	}
	if ok {
		var allowed bool
		if allowed, err = r.boolean("response-allowed"); err != nil {
			return q, err
		}
		q.ResponseNotAllowed = !allowed
	}
	if q.HasQoS, err = r.optional("proposed-quality-of-service"); err != nil {
		return q, err
	}
	if q.HasQoS {
		var c byte
		c, err = r.u8("proposed-quality-of-service")
		q.QoS = int8(c)
		if err != nil {
			return q, err
		}
	}
	if q.DLMSVersion, err = r.u8("proposed-dlms-version-number"); err != nil {
		return q, err
	}
	if q.Conformance, err = r.conformance(); err != nil {
		return q, err
	}
	q.MaxPDU, err = r.u16("client-max-receive-pdu-size")
	return q, err
}

func (r *reader) initiateResponse() (InitiateResponse, error) {
	var s InitiateResponse
	var err error
	if s.HasQoS, err = r.optional("negotiated-quality-of-service"); err != nil {
		return s, err
	}
	if s.HasQoS {
		var c byte
		c, err = r.u8("negotiated-quality-of-service")
		s.QoS = int8(c)
		if err != nil {
			return s, err
		}
	}
	if s.DLMSVersion, err = r.u8("negotiated-dlms-version-number"); err != nil {
		return s, err
	}
	if s.Conformance, err = r.conformance(); err != nil {
		return s, err
	}
	if s.MaxPDU, err = r.u16("server-max-receive-pdu-size"); err != nil {
		return s, err
	}
	s.VAAName, err = r.u16("vaa-name")
	return s, err
}
