package zcl

import "errors"

// Errors of this package. All of them are permanent for the bytes given: a
// frame that fails to parse fails again; the caller answers it with the
// ZCL status StatusOf returns (or drops it) and never retries.
var (
	// ErrShort is returned (wrapped) when the bytes end before a field.
	ErrShort = errors.New("zcl: frame too short")
	// ErrMalformed is returned (wrapped) for a field whose value breaks
	// the frame's structure (a reserved frame type, a direction byte other
	// than 0 or 1, trailing bytes where none may follow).
	ErrMalformed = errors.New("zcl: malformed frame")
	// ErrUnsupportedType is returned (wrapped) for a data type this
	// package cannot size or encode (arrays, structures, sets, bags and
	// reserved type codes).
	ErrUnsupportedType = errors.New("zcl: unsupported data type")
	// ErrRange is returned (wrapped) by encoders when a value does not fit
	// its data type or a field its width.
	ErrRange = errors.New("zcl: value out of range")
)

// StatusOf maps an error of this package to the ZCL status a receiver
// answers with: MALFORMED_COMMAND for short or malformed frames,
// INVALID_DATA_TYPE for unsupported types, INVALID_VALUE for out-of-range
// values, FAILURE otherwise.
func StatusOf(err error) Status {
	switch {
	case err == nil:
		return StatusSuccess
	case errors.Is(err, ErrShort), errors.Is(err, ErrMalformed):
		return StatusMalformedCommand
	case errors.Is(err, ErrUnsupportedType):
		return StatusInvalidDataType
	case errors.Is(err, ErrRange):
		return StatusInvalidValue
	}
	return StatusFailure
}
