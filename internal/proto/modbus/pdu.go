package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Function codes this package encodes and decodes.
const (
	FuncReadHolding   byte = 0x03 // Read Holding Registers
	FuncReadInput     byte = 0x04 // Read Input Registers
	FuncWriteSingle   byte = 0x06 // Write Single Register
	FuncWriteMultiple byte = 0x10 // Write Multiple Registers

	// ExceptionFlag is set in the function code of an exception response.
	ExceptionFlag byte = 0x80
)

// Limits of the specification (Modbus Application Protocol V1.1b3, 6.3,
// 6.4, 6.12).
const (
	MaxReadRegisters  = 125 // 0x007D: quantity of registers of functions 3 and 4
	MaxWriteRegisters = 123 // 0x007B: quantity of registers of function 16
	MaxPDU            = 253 // bytes: a 256-byte RTU frame less address and CRC
)

// Errors of this package. All of them are permanent for the bytes given:
// decoding the same bytes again fails the same way. A driver treats
// ErrCRC and ErrFrame as a garbled line (retry), ErrMismatch as a reply to
// something else (resynchronise), and an *Exception as the meter's answer.
var (
	// ErrShort is returned (wrapped) when bytes end before the frame or
	// PDU they start is complete.
	ErrShort = errors.New("modbus: frame too short")
	// ErrCRC is returned (wrapped) when an RTU frame's CRC does not match.
	ErrCRC = errors.New("modbus: CRC error")
	// ErrFrame is returned (wrapped) for a malformed frame or PDU: a byte
	// count that disagrees with the length, trailing bytes, a bad MBAP
	// header.
	ErrFrame = errors.New("modbus: malformed frame")
	// ErrFunction is returned (wrapped) for a function code this package
	// does not handle.
	ErrFunction = errors.New("modbus: unsupported function")
	// ErrRange is returned (wrapped) for a quantity, address range or value
	// count outside the specification's limits.
	ErrRange = errors.New("modbus: out of range")
	// ErrMismatch is returned (wrapped) by ParseResponse when a response
	// does not answer the request (another function, unit, address or
	// quantity).
	ErrMismatch = errors.New("modbus: response does not match the request")
)

// ExceptionCode is the code of an exception response (Modbus Application
// Protocol V1.1b3, 7).
type ExceptionCode byte

// Exception codes of the specification.
const (
	ExIllegalFunction        ExceptionCode = 0x01
	ExIllegalDataAddress     ExceptionCode = 0x02
	ExIllegalDataValue       ExceptionCode = 0x03
	ExServerDeviceFailure    ExceptionCode = 0x04
	ExAcknowledge            ExceptionCode = 0x05
	ExServerDeviceBusy       ExceptionCode = 0x06
	ExMemoryParityError      ExceptionCode = 0x08
	ExGatewayPathUnavailable ExceptionCode = 0x0A
	ExGatewayTargetFailed    ExceptionCode = 0x0B
)

var exceptionNames = map[ExceptionCode]string{
	ExIllegalFunction:        "illegal function",
	ExIllegalDataAddress:     "illegal data address",
	ExIllegalDataValue:       "illegal data value",
	ExServerDeviceFailure:    "server device failure",
	ExAcknowledge:            "acknowledge",
	ExServerDeviceBusy:       "server device busy",
	ExMemoryParityError:      "memory parity error",
	ExGatewayPathUnavailable: "gateway path unavailable",
	ExGatewayTargetFailed:    "gateway target device failed to respond",
}

// String names the code as the specification does, or "exception 0xNN".
func (c ExceptionCode) String() string {
	if n, ok := exceptionNames[c]; ok {
		return n
	}
	return fmt.Sprintf("exception 0x%02X", byte(c))
}

// Known reports whether c is one of the specification's codes.
func (c ExceptionCode) Known() bool { _, ok := exceptionNames[c]; return ok }

// Exception is a meter's exception response: it is the error
// ParseResponse returns for one. Use errors.As to read the code.
type Exception struct {
	Function byte // the request's function code (without ExceptionFlag)
	Code     ExceptionCode
}

func (e *Exception) Error() string {
	return fmt.Sprintf("modbus: exception response to function %d: %s (code %d)", e.Function, e.Code, byte(e.Code))
}

// Request is a request PDU of one of the four functions.
type Request struct {
	Function byte
	// Address is the first register's address (PDU address, 0-based).
	Address uint16
	// Quantity is the number of registers read (3, 4) or written (16); for
	// function 6 it is ignored and taken as 1.
	Quantity uint16
	// Values are the registers written: one for function 6, Quantity for
	// function 16; nil for reads.
	Values []uint16
}

// ReadHolding returns a function 3 request.
func ReadHolding(addr, qty uint16) Request {
	return Request{Function: FuncReadHolding, Address: addr, Quantity: qty}
}

// ReadInput returns a function 4 request.
func ReadInput(addr, qty uint16) Request {
	return Request{Function: FuncReadInput, Address: addr, Quantity: qty}
}

// WriteSingle returns a function 6 request.
func WriteSingle(addr, value uint16) Request {
	return Request{Function: FuncWriteSingle, Address: addr, Quantity: 1, Values: []uint16{value}}
}

// WriteMultiple returns a function 16 request.
func WriteMultiple(addr uint16, values []uint16) Request {
	return Request{Function: FuncWriteMultiple, Address: addr, Quantity: uint16(len(values)), Values: values}
}

// Validate checks r against the specification's limits: a known
// function, a quantity in range, values that agree with it, and an
// address range that does not run past 0xFFFF.
func (r Request) Validate() error {
	switch r.Function {
	case FuncReadHolding, FuncReadInput:
		if r.Quantity < 1 || r.Quantity > MaxReadRegisters {
			return fmt.Errorf("%w: function %d reads %d registers, must be 1…%d", ErrRange, r.Function, r.Quantity, MaxReadRegisters)
		}
		if len(r.Values) != 0 {
			return fmt.Errorf("%w: function %d carries no values", ErrRange, r.Function)
		}
	case FuncWriteSingle:
		if len(r.Values) != 1 {
			return fmt.Errorf("%w: function 6 writes exactly 1 value, not %d", ErrRange, len(r.Values))
		}
		return nil
	case FuncWriteMultiple:
		if r.Quantity < 1 || r.Quantity > MaxWriteRegisters {
			return fmt.Errorf("%w: function 16 writes %d registers, must be 1…%d", ErrRange, r.Quantity, MaxWriteRegisters)
		}
		if len(r.Values) != int(r.Quantity) {
			return fmt.Errorf("%w: function 16 quantity %d but %d values", ErrRange, r.Quantity, len(r.Values))
		}
	default:
		return fmt.Errorf("%w: function code %d", ErrFunction, r.Function)
	}
	if int(r.Address)+int(r.Quantity) > 0x10000 {
		return fmt.Errorf("%w: registers %d…%d run past 65535", ErrRange, r.Address, int(r.Address)+int(r.Quantity)-1)
	}
	return nil
}

// AppendRequest appends r's PDU (function code and data) to dst.
func AppendRequest(dst []byte, r Request) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return dst, err
	}
	dst = append(dst, r.Function)
	dst = binary.BigEndian.AppendUint16(dst, r.Address)
	switch r.Function {
	case FuncReadHolding, FuncReadInput:
		dst = binary.BigEndian.AppendUint16(dst, r.Quantity)
	case FuncWriteSingle:
		dst = binary.BigEndian.AppendUint16(dst, r.Values[0])
	case FuncWriteMultiple:
		dst = binary.BigEndian.AppendUint16(dst, r.Quantity)
		dst = append(dst, byte(2*r.Quantity))
		for _, v := range r.Values {
			dst = binary.BigEndian.AppendUint16(dst, v)
		}
	}
	return dst, nil
}

// ParseRequest decodes a request PDU (what a server receives). The
// Values of a function 16 request are freshly allocated.
func ParseRequest(p []byte) (Request, error) {
	if len(p) < 1 {
		return Request{}, fmt.Errorf("%w: empty PDU", ErrShort)
	}
	fn := p[0]
	var r Request
	switch fn {
	case FuncReadHolding, FuncReadInput, FuncWriteSingle:
		if len(p) < 5 {
			return Request{}, fmt.Errorf("%w: function %d request needs 5 bytes, have %d", ErrShort, fn, len(p))
		}
		if len(p) > 5 {
			return Request{}, fmt.Errorf("%w: function %d request has %d trailing bytes", ErrFrame, fn, len(p)-5)
		}
		r = Request{Function: fn, Address: binary.BigEndian.Uint16(p[1:]), Quantity: binary.BigEndian.Uint16(p[3:])}
		if fn == FuncWriteSingle {
			r.Values, r.Quantity = []uint16{r.Quantity}, 1
		}
	case FuncWriteMultiple:
		if len(p) < 6 {
			return Request{}, fmt.Errorf("%w: function 16 request needs at least 6 bytes, have %d", ErrShort, len(p))
		}
		r = Request{Function: fn, Address: binary.BigEndian.Uint16(p[1:]), Quantity: binary.BigEndian.Uint16(p[3:])}
		n := int(p[5])
		if n != 2*int(r.Quantity) {
			return Request{}, fmt.Errorf("%w: function 16 byte count %d for %d registers", ErrFrame, n, r.Quantity)
		}
		if len(p) != 6+n {
			if len(p) < 6+n {
				return Request{}, fmt.Errorf("%w: function 16 request needs %d bytes, have %d", ErrShort, 6+n, len(p))
			}
			return Request{}, fmt.Errorf("%w: function 16 request has %d trailing bytes", ErrFrame, len(p)-6-n)
		}
		r.Values = make([]uint16, r.Quantity)
		for i := range r.Values {
			r.Values[i] = binary.BigEndian.Uint16(p[6+2*i:])
		}
	default:
		return Request{}, fmt.Errorf("%w: function code %d", ErrFunction, fn)
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// Response is a normal (non-exception) response PDU.
type Response struct {
	Function byte
	// Data is the registers read (functions 3, 4): 2 bytes per register,
	// big-endian, as on the wire. ParseResponse returns it aliasing its
	// input.
	Data []byte
	// Address and Value echo a function 6 request; Address and Quantity
	// echo a function 16 request.
	Address  uint16
	Quantity uint16
	Value    uint16
}

// Register returns the i-th register of Data (0 when out of range).
func (r Response) Register(i int) uint16 {
	if i < 0 || 2*i+2 > len(r.Data) {
		return 0
	}
	return binary.BigEndian.Uint16(r.Data[2*i:])
}

// Registers returns Data as registers.
func (r Response) Registers() []uint16 {
	out := make([]uint16, len(r.Data)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(r.Data[2*i:])
	}
	return out
}

// AppendResponse appends the PDU of a normal response to dst.
func AppendResponse(dst []byte, r Response) ([]byte, error) {
	switch r.Function {
	case FuncReadHolding, FuncReadInput:
		if len(r.Data)%2 != 0 || len(r.Data) < 2 || len(r.Data) > 2*MaxReadRegisters {
			return dst, fmt.Errorf("%w: function %d response with %d data bytes, must be an even 2…%d", ErrRange, r.Function, len(r.Data), 2*MaxReadRegisters)
		}
		dst = append(dst, r.Function, byte(len(r.Data)))
		dst = append(dst, r.Data...)
	case FuncWriteSingle:
		dst = append(dst, r.Function)
		dst = binary.BigEndian.AppendUint16(dst, r.Address)
		dst = binary.BigEndian.AppendUint16(dst, r.Value)
	case FuncWriteMultiple:
		if r.Quantity < 1 || r.Quantity > MaxWriteRegisters {
			return dst, fmt.Errorf("%w: function 16 response quantity %d, must be 1…%d", ErrRange, r.Quantity, MaxWriteRegisters)
		}
		dst = append(dst, r.Function)
		dst = binary.BigEndian.AppendUint16(dst, r.Address)
		dst = binary.BigEndian.AppendUint16(dst, r.Quantity)
	default:
		return dst, fmt.Errorf("%w: function code %d", ErrFunction, r.Function)
	}
	return dst, nil
}

// AppendException appends the PDU of an exception response to a request
// of function fn.
func AppendException(dst []byte, fn byte, code ExceptionCode) []byte {
	return append(dst, fn|ExceptionFlag, byte(code))
}

// ParseResponse decodes the response PDU p to request req. An exception
// response gives an *Exception error; a response that does not answer req
// gives ErrMismatch. Response.Data aliases p.
func ParseResponse(p []byte, req Request) (Response, error) {
	if len(p) < 1 {
		return Response{}, fmt.Errorf("%w: empty PDU", ErrShort)
	}
	fn := p[0]
	if fn&ExceptionFlag != 0 {
		if len(p) < 2 {
			return Response{}, fmt.Errorf("%w: exception response without a code", ErrShort)
		}
		if len(p) > 2 {
			return Response{}, fmt.Errorf("%w: exception response has %d trailing bytes", ErrFrame, len(p)-2)
		}
		if fn&^ExceptionFlag != req.Function {
			return Response{}, fmt.Errorf("%w: exception for function %d, asked function %d", ErrMismatch, fn&^ExceptionFlag, req.Function)
		}
		return Response{}, &Exception{Function: req.Function, Code: ExceptionCode(p[1])}
	}
	if fn != req.Function {
		return Response{}, fmt.Errorf("%w: function %d, asked function %d", ErrMismatch, fn, req.Function)
	}
	switch fn {
	case FuncReadHolding, FuncReadInput:
		if len(p) < 2 {
			return Response{}, fmt.Errorf("%w: function %d response without a byte count", ErrShort, fn)
		}
		n := int(p[1])
		if n%2 != 0 || n == 0 || n > 2*MaxReadRegisters {
			return Response{}, fmt.Errorf("%w: function %d byte count %d, must be an even 2…%d", ErrFrame, fn, n, 2*MaxReadRegisters)
		}
		if len(p) < 2+n {
			return Response{}, fmt.Errorf("%w: function %d response needs %d bytes, have %d", ErrShort, fn, 2+n, len(p))
		}
		if len(p) > 2+n {
			return Response{}, fmt.Errorf("%w: function %d response has %d trailing bytes", ErrFrame, fn, len(p)-2-n)
		}
		if n != 2*int(req.Quantity) {
			return Response{}, fmt.Errorf("%w: %d registers, asked %d", ErrMismatch, n/2, req.Quantity)
		}
		return Response{Function: fn, Data: p[2 : 2+n : 2+n]}, nil
	case FuncWriteSingle, FuncWriteMultiple:
		if len(p) < 5 {
			return Response{}, fmt.Errorf("%w: function %d response needs 5 bytes, have %d", ErrShort, fn, len(p))
		}
		if len(p) > 5 {
			return Response{}, fmt.Errorf("%w: function %d response has %d trailing bytes", ErrFrame, fn, len(p)-5)
		}
		r := Response{Function: fn, Address: binary.BigEndian.Uint16(p[1:])}
		if r.Address != req.Address {
			return Response{}, fmt.Errorf("%w: address %d, asked %d", ErrMismatch, r.Address, req.Address)
		}
		x := binary.BigEndian.Uint16(p[3:])
		if fn == FuncWriteSingle {
			r.Value, r.Quantity = x, 1
			if len(req.Values) == 1 && x != req.Values[0] {
				return Response{}, fmt.Errorf("%w: value %d echoed, wrote %d", ErrMismatch, x, req.Values[0])
			}
		} else {
			r.Quantity = x
			if x != req.Quantity {
				return Response{}, fmt.Errorf("%w: quantity %d echoed, wrote %d", ErrMismatch, x, req.Quantity)
			}
		}
		return r, nil
	}
	return Response{}, fmt.Errorf("%w: function code %d", ErrFunction, fn)
}

// ResponseLen is the length of the PDU of a normal response to req, 0 for
// a function this package does not handle. An exception response's PDU
// is 2 bytes.
func ResponseLen(req Request) int {
	switch req.Function {
	case FuncReadHolding, FuncReadInput:
		return 2 + 2*int(req.Quantity)
	case FuncWriteSingle, FuncWriteMultiple:
		return 5
	}
	return 0
}

// RequestLen is the length of req's PDU, 0 for a function this package
// does not handle.
func RequestLen(req Request) int {
	switch req.Function {
	case FuncReadHolding, FuncReadInput, FuncWriteSingle:
		return 5
	case FuncWriteMultiple:
		return 6 + 2*int(req.Quantity)
	}
	return 0
}
