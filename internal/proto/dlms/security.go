package dlms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Security control byte bits (IEC 62056-5-3 security header).
const (
	SCAuthentication = 0x10 // authenticated (GCM tag)
	SCEncryption     = 0x20 // encrypted
	SCBroadcastKey   = 0x40 // key set: broadcast (else unicast)
	SCCompression    = 0x80
	SCSuiteMask      = 0x0F // security suite id (0 here)

	SCAuthOnly = SCAuthentication
	SCEncOnly  = SCEncryption
	SCAuthEnc  = SCAuthentication | SCEncryption
)

// TagLen is the GCM authentication tag length of security suite 0.
const TagLen = 12

// SystemTitleLen is the length of a system title.
const SystemTitleLen = 8

// Ciphered is a ciphered APDU: a service-specific glo- or ded- APDU
// (TagGloGetRequest, TagGloInitiateRequest, …) or a general-glo- or
// general-ded-ciphering APDU, which also carries the sender's system
// title. Payload is what follows the security header: the ciphertext
// followed by the tag (authenticated and encrypted), the plaintext and the
// tag (authenticated only) or the ciphertext alone (encrypted only).
type Ciphered struct {
	Tag         byte
	SystemTitle []byte // general-glo/ded-ciphering only
	SC          byte   // security control
	IC          uint32 // invocation counter
	Payload     []byte
}

// APDUTag returns the ciphered APDU's tag.
func (c Ciphered) APDUTag() byte { return c.Tag }

// IsGeneral reports whether c is general-glo- or general-ded-ciphering.
func (c Ciphered) IsGeneral() bool {
	return c.Tag == TagGeneralGloCiphering || c.Tag == TagGeneralDedCiphering
}

// Append encodes the ciphered APDU.
func (c Ciphered) Append(dst []byte) []byte {
	dst = append(dst, c.Tag)
	if c.IsGeneral() {
		dst = appendOctets(dst, c.SystemTitle)
	}
	dst = AppendLength(dst, 5+len(c.Payload))
	dst = appendU32(append(dst, c.SC), c.IC)
	return append(dst, c.Payload...)
}

// isCipheredTag reports whether t is the tag of a ciphered APDU.
func isCipheredTag(t byte) bool {
	switch t {
	case TagGloInitiateRequest, TagGloInitiateResponse, TagGloConfirmedServiceError,
		TagDedInitiateRequest, TagDedInitiateResponse, TagDedConfirmedServiceError,
		TagGeneralGloCiphering, TagGeneralDedCiphering:
		return true
	}
	return (t >= TagGloGetRequest && t <= TagGloActionResponse && t != 0xCE) ||
		(t >= TagDedGetRequest && t <= TagDedActionResponse && t != 0xD6)
}

func (r *reader) ciphered(tag byte) (Ciphered, error) {
	c := Ciphered{Tag: tag}
	var err error
	if c.IsGeneral() {
		if c.SystemTitle, err = r.octets("system-title"); err != nil {
			return c, err
		}
	}
	content, err := r.octets("ciphered content")
	if err != nil {
		return c, err
	}
	if len(content) < 5 {
		return c, fmt.Errorf("%w: ciphered content of %d bytes has no security header", ErrShort, len(content))
	}
	c.SC = content[0]
	c.IC = binary.BigEndian.Uint32(content[1:])
	c.Payload = content[5:]
	return c, nil
}

// Glo and ded tags of the services, by the plain APDU's tag.
var (
	gloTags = map[byte]byte{
		TagInitiateRequest: TagGloInitiateRequest, TagInitiateResponse: TagGloInitiateResponse,
		TagConfirmedServiceError: TagGloConfirmedServiceError,
		TagGetRequest:            TagGloGetRequest, TagSetRequest: TagGloSetRequest, TagEventNotification: TagGloEventNotification,
		TagActionRequest: TagGloActionRequest, TagGetResponse: TagGloGetResponse, TagSetResponse: TagGloSetResponse,
		TagActionResponse: TagGloActionResponse,
	}
	dedTags = map[byte]byte{
		TagInitiateRequest: TagDedInitiateRequest, TagInitiateResponse: TagDedInitiateResponse,
		TagConfirmedServiceError: TagDedConfirmedServiceError,
		TagGetRequest:            TagDedGetRequest, TagSetRequest: TagDedSetRequest, TagEventNotification: TagDedEventNotification,
		TagActionRequest: TagDedActionRequest, TagGetResponse: TagDedGetResponse, TagSetResponse: TagDedSetResponse,
		TagActionResponse: TagDedActionResponse,
	}
)

// GloTag returns the glo-ciphered tag for a plain APDU's tag (e.g.
// TagGetRequest → TagGloGetRequest); ok is false when there is none.
func GloTag(plain byte) (byte, bool) { t, ok := gloTags[plain]; return t, ok }

// DedTag returns the ded-ciphered tag for a plain APDU's tag.
func DedTag(plain byte) (byte, bool) { t, ok := dedTags[plain]; return t, ok }

// Suite0 is security suite 0 (AES-GCM-128, 12-byte tags) with one block
// cipher key (the global unicast, broadcast or dedicated key) and the
// authentication key. It is safe for concurrent use.
type Suite0 struct {
	block cipher.Block
	aead  cipher.AEAD
	ak    []byte
}

// NewSuite0 returns the suite for a 16-byte block cipher key ek and an
// authentication key ak (16 bytes; it may be nil for encryption only).
func NewSuite0(ek, ak []byte) (*Suite0, error) {
	if len(ek) != 16 {
		return nil, fmt.Errorf("%w: block cipher key of %d bytes, suite 0 needs 16", ErrSecurity, len(ek))
	}
	if ak != nil && len(ak) != 16 {
		return nil, fmt.Errorf("%w: authentication key of %d bytes, suite 0 needs 16", ErrSecurity, len(ak))
	}
	b, err := aes.NewCipher(ek)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecurity, err)
	}
	g, err := cipher.NewGCMWithTagSize(b, TagLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecurity, err)
	}
	return &Suite0{block: b, aead: g, ak: append([]byte(nil), ak...)}, nil
}

func iv(systemTitle []byte, ic uint32) ([]byte, error) {
	if len(systemTitle) != SystemTitleLen {
		return nil, fmt.Errorf("%w: system title of %d bytes, want 8", ErrSecurity, len(systemTitle))
	}
	v := make([]byte, 12)
	copy(v, systemTitle)
	binary.BigEndian.PutUint32(v[8:], ic)
	return v, nil
}

func (s *Suite0) checkSC(sc byte) error {
	if sc&SCSuiteMask != 0 {
		return fmt.Errorf("%w: security suite %d (only 0)", ErrSecurity, sc&SCSuiteMask)
	}
	if sc&SCCompression != 0 {
		return fmt.Errorf("%w: compression (security control 0x%02X)", ErrSecurity, sc)
	}
	if sc&(SCAuthentication|SCEncryption) == 0 {
		return fmt.Errorf("%w: security control 0x%02X neither authenticates nor encrypts", ErrSecurity, sc)
	}
	if sc&SCAuthentication != 0 && len(s.ak) == 0 {
		return fmt.Errorf("%w: authentication without an authentication key", ErrSecurity)
	}
	return nil
}

// ctr applies the GCM keystream (counter from 2, as GCM encrypts) to p.
func (s *Suite0) ctr(nonce, p []byte) []byte {
	ctrIV := make([]byte, 16)
	copy(ctrIV, nonce)
	ctrIV[15] = 2
	out := make([]byte, len(p))
	cipher.NewCTR(s.block, ctrIV).XORKeyStream(out, p)
	return out
}

// Protect returns the payload (what follows SC ‖ IC) that protects
// plaintext under security control sc, with the sender's system title and
// invocation counter ic.
func (s *Suite0) Protect(sc byte, systemTitle []byte, ic uint32, plaintext []byte) ([]byte, error) {
	if err := s.checkSC(sc); err != nil {
		return nil, err
	}
	nonce, err := iv(systemTitle, ic)
	if err != nil {
		return nil, err
	}
	switch sc & (SCAuthentication | SCEncryption) {
	case SCEncryption:
		return s.ctr(nonce, plaintext), nil
	case SCAuthentication:
		aad := make([]byte, 0, 1+len(s.ak)+len(plaintext))
		aad = append(append(append(aad, sc), s.ak...), plaintext...)
		out := append(make([]byte, 0, len(plaintext)+TagLen), plaintext...)
		return s.aead.Seal(out, nonce, nil, aad), nil
	}
	aad := append([]byte{sc}, s.ak...)
	return s.aead.Seal(make([]byte, 0, len(plaintext)+TagLen), nonce, plaintext, aad), nil
}

// Unprotect checks and deciphers a payload and returns the plaintext.
func (s *Suite0) Unprotect(sc byte, systemTitle []byte, ic uint32, payload []byte) ([]byte, error) {
	if err := s.checkSC(sc); err != nil {
		return nil, err
	}
	nonce, err := iv(systemTitle, ic)
	if err != nil {
		return nil, err
	}
	switch sc & (SCAuthentication | SCEncryption) {
	case SCEncryption:
		return s.ctr(nonce, payload), nil
	case SCAuthentication:
		if len(payload) < TagLen {
			return nil, fmt.Errorf("%w: %d bytes, shorter than the tag", ErrShort, len(payload))
		}
		plain := payload[:len(payload)-TagLen]
		aad := make([]byte, 0, 1+len(s.ak)+len(plain))
		aad = append(append(append(aad, sc), s.ak...), plain...)
		if _, err := s.aead.Open(nil, nonce, payload[len(payload)-TagLen:], aad); err != nil {
			return nil, fmt.Errorf("%w: GMAC of IC %d from %X", ErrAuth, ic, systemTitle)
		}
		return append([]byte(nil), plain...), nil
	}
	if len(payload) < TagLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the tag", ErrShort, len(payload))
	}
	aad := append([]byte{sc}, s.ak...)
	plain, err := s.aead.Open(nil, nonce, payload, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: GCM tag of IC %d from %X", ErrAuth, ic, systemTitle)
	}
	return plain, nil
}

// Encrypt ciphers a plain APDU into a Ciphered with the given tag (a glo-
// or ded- service tag, or TagGeneralGloCiphering/TagGeneralDedCiphering,
// which carry systemTitle).
func (s *Suite0) Encrypt(tag, sc byte, systemTitle []byte, ic uint32, plain []byte) (Ciphered, error) {
	if !isCipheredTag(tag) {
		return Ciphered{}, fmt.Errorf("%w: tag 0x%02X is not a ciphered APDU", ErrInvalid, tag)
	}
	p, err := s.Protect(sc, systemTitle, ic, plain)
	if err != nil {
		return Ciphered{}, err
	}
	c := Ciphered{Tag: tag, SC: sc, IC: ic, Payload: p}
	if c.IsGeneral() {
		c.SystemTitle = append([]byte(nil), systemTitle...)
	}
	return c, nil
}

// Decrypt returns the plain APDU of c. systemTitle is the sender's; for
// general-glo/ded-ciphering it may be nil to use the one c carries.
func (s *Suite0) Decrypt(c Ciphered, systemTitle []byte) ([]byte, error) {
	if systemTitle == nil {
		systemTitle = c.SystemTitle
	}
	return s.Unprotect(c.SC, systemTitle, c.IC, c.Payload)
}

// GMAC returns the 12-byte tag of HLS authentication mechanism 5:
// GMAC(SC ‖ AK ‖ challenge) with SC = 0x10 and IV = systemTitle ‖ ic.
func (s *Suite0) GMAC(systemTitle []byte, ic uint32, challenge []byte) ([]byte, error) {
	if len(s.ak) == 0 {
		return nil, fmt.Errorf("%w: HLS-GMAC without an authentication key", ErrSecurity)
	}
	nonce, err := iv(systemTitle, ic)
	if err != nil {
		return nil, err
	}
	aad := make([]byte, 0, 1+len(s.ak)+len(challenge))
	aad = append(append(append(aad, SCAuthentication), s.ak...), challenge...)
	return s.aead.Seal(nil, nonce, nil, aad), nil
}

// HLSReply returns f(challenge) of HLS-GMAC as the replying side sends it
// (the client f(StoC) in reply_to_HLS_authentication, the server f(CtoS)
// in its return parameters): 0x10 ‖ IC ‖ GMAC(0x10 ‖ AK ‖ challenge),
// with the replying side's system title and invocation counter.
func (s *Suite0) HLSReply(systemTitle []byte, ic uint32, challenge []byte) ([]byte, error) {
	tag, err := s.GMAC(systemTitle, ic, challenge)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 5, 5+TagLen)
	out[0] = SCAuthentication
	binary.BigEndian.PutUint32(out[1:], ic)
	return append(out, tag...), nil
}

// VerifyHLSReply checks a reply to the challenge this side sent, computed
// by the peer with its system title. It returns the invocation counter
// the reply carries, for the caller's FrameCounter.
func (s *Suite0) VerifyHLSReply(systemTitle, challenge, reply []byte) (uint32, error) {
	if len(reply) != 5+TagLen || reply[0] != SCAuthentication {
		return 0, fmt.Errorf("%w: HLS reply of %d bytes (want 17, starting 0x10)", ErrAuth, len(reply))
	}
	ic := binary.BigEndian.Uint32(reply[1:])
	want, err := s.GMAC(systemTitle, ic, challenge)
	if err != nil {
		return 0, err
	}
	if subtle.ConstantTimeCompare(want, reply[5:]) != 1 {
		return ic, fmt.Errorf("%w: HLS-GMAC reply from %X with IC %d", ErrAuth, systemTitle, ic)
	}
	return ic, nil
}

// FrameCounter rejects replayed invocation counters of one peer and key:
// each accepted counter must be greater than the last. It holds no
// clock and does no I/O; the caller persists Last across restarts and
// restores it with NewFrameCounter. The zero value accepts any first
// counter.
type FrameCounter struct {
	last uint32
	seen bool
}

// NewFrameCounter returns a checker that accepts only counters greater
// than last.
func NewFrameCounter(last uint32) FrameCounter { return FrameCounter{last: last, seen: true} }

// Accept records ic if it is greater than the last accepted counter, and
// fails with ErrReplay otherwise. Call it only after the APDU has been
// authenticated, so a forged counter cannot advance it.
func (f *FrameCounter) Accept(ic uint32) error {
	if f.seen && ic <= f.last {
		return fmt.Errorf("%w: %d, last accepted %d", ErrReplay, ic, f.last)
	}
	f.last, f.seen = ic, true
	return nil
}

// Check reports whether ic would be accepted, without recording it.
func (f *FrameCounter) Check(ic uint32) error {
	if f.seen && ic <= f.last {
		return fmt.Errorf("%w: %d, last accepted %d", ErrReplay, ic, f.last)
	}
	return nil
}

// Last returns the last accepted counter; ok is false before the first.
func (f *FrameCounter) Last() (uint32, bool) { return f.last, f.seen }
