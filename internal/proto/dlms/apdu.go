package dlms

import "fmt"

// ParseAPDU decodes any APDU of this package from p. Ciphered APDUs come
// back as Ciphered (decipher them with Suite0.Decrypt and parse the
// plaintext again). When bytes follow a complete APDU the decoded APDU is
// returned together with an error wrapping ErrTrailing.
func ParseAPDU(p []byte) (APDU, error) {
	r := reader{b: p}
	tag, err := r.u8("APDU tag")
	if err != nil {
		return nil, err
	}
	var a APDU
	switch {
	case tag == TagGetRequest:
		a, err = r.getRequest()
	case tag == TagGetResponse:
		a, err = r.getResponse()
	case tag == TagSetRequest:
		a, err = r.setRequest()
	case tag == TagSetResponse:
		a, err = r.setResponse()
	case tag == TagActionRequest:
		a, err = r.actionRequest()
	case tag == TagActionResponse:
		a, err = r.actionResponse()
	case tag == TagEventNotification:
		a, err = r.eventNotification()
	case tag == TagDataNotification:
		a, err = r.dataNotification()
	case tag == TagExceptionResponse:
		a, err = r.exceptionResponse()
	case tag == TagConfirmedServiceError:
		a, err = r.confirmedServiceError()
	case tag == TagAARQ:
		a, err = r.aarq()
	case tag == TagAARE:
		a, err = r.aare()
	case tag == TagRLRQ:
		a, err = r.rlrq("RLRQ")
	case tag == TagRLRE:
		var q RLRQ
		q, err = r.rlrq("RLRE")
		a = RLRE(q)
	case tag == TagInitiateRequest:
		a, err = r.initiateRequest()
	case tag == TagInitiateResponse:
		a, err = r.initiateResponse()
	case isCipheredTag(tag):
		a, err = r.ciphered(tag)
	default:
		return nil, fmt.Errorf("%w: APDU tag 0x%02X", ErrInvalid, tag)
	}
	if err != nil {
		return nil, fmt.Errorf("dlms: APDU 0x%02X: %w", tag, err)
	}
	if err := r.end(fmt.Sprintf("APDU 0x%02X", tag)); err != nil {
		return a, err
	}
	return a, nil
}
