package wrapper

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the only wrapper protocol version, 0x0001.
const Version = 0x0001

// HeaderLen is the length of the wrapper header.
const HeaderLen = 8

// Well-known wPorts and the IANA TCP/UDP port of DLMS/COSEM.
const (
	PortTCP           = 4059
	WPortManagement   = 1  // the management logical device (server)
	WPortPublicClient = 16 // the public client (client)
)

// Errors (wrapped, with the values that were wrong).
var (
	// ErrShort is returned when the bytes end before the header or the
	// length it announces; on a stream, read more and try again.
	ErrShort = errors.New("wrapper: short PDU")
	// ErrVersion is returned for a version other than 0x0001; the stream
	// cannot be resynchronised and the connection should be closed.
	ErrVersion = errors.New("wrapper: unsupported version")
	// ErrLength is returned when the length field disagrees with the bytes
	// given to Parse, or exceeds the caller's limit.
	ErrLength = errors.New("wrapper: bad length")
)

// Header is the wrapper header of one APDU.
type Header struct {
	Version uint16 // Version (0x0001)
	Src     uint16 // source wPort (the client SAP, or the server's logical device)
	Dst     uint16 // destination wPort
	Length  uint16 // length of the APDU that follows
}

// Append appends the header followed by apdu, with Version 0x0001 and the
// length of apdu (Version and Length of h are ignored). An APDU longer
// than 65535 bytes cannot be wrapped; the caller must not pass one.
func Append(dst []byte, src, dstPort uint16, apdu []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = binary.BigEndian.AppendUint16(dst, src)
	dst = binary.BigEndian.AppendUint16(dst, dstPort)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(apdu)))
	return append(dst, apdu...)
}

// Append appends the header as it is.
func (h Header) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, h.Version)
	dst = binary.BigEndian.AppendUint16(dst, h.Src)
	dst = binary.BigEndian.AppendUint16(dst, h.Dst)
	return binary.BigEndian.AppendUint16(dst, h.Length)
}

// ParseHeader reads the header at the start of p.
func ParseHeader(p []byte) (Header, error) {
	if len(p) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, the header has 8", ErrShort, len(p))
	}
	h := Header{
		Version: binary.BigEndian.Uint16(p),
		Src:     binary.BigEndian.Uint16(p[2:]),
		Dst:     binary.BigEndian.Uint16(p[4:]),
		Length:  binary.BigEndian.Uint16(p[6:]),
	}
	if h.Version != Version {
		return h, fmt.Errorf("%w: 0x%04X (wPorts %d→%d)", ErrVersion, h.Version, h.Src, h.Dst)
	}
	return h, nil
}

// Parse reads one whole wrapper PDU and returns its header and APDU (a
// subslice of p).
func Parse(p []byte) (Header, []byte, error) {
	h, err := ParseHeader(p)
	if err != nil {
		return h, nil, err
	}
	if n := len(p) - HeaderLen; n != int(h.Length) {
		return h, nil, fmt.Errorf("%w: length field %d, %d bytes follow (wPorts %d→%d)", ErrLength, h.Length, n, h.Src, h.Dst)
	}
	return h, p[HeaderLen:], nil
}

// Split finds the first whole PDU at the start of a stream buffer: it
// returns its length n (header included) and header, or n == 0 with
// ErrShort when more bytes are needed. maxAPDU (0: 65535) bounds the
// announced length: a longer one is ErrLength, as is a wrong version
// (ErrVersion); both mean the stream is lost.
func Split(p []byte, maxAPDU int) (n int, h Header, err error) {
	h, err = ParseHeader(p)
	if err != nil {
		return 0, h, err
	}
	if maxAPDU > 0 && int(h.Length) > maxAPDU {
		return 0, h, fmt.Errorf("%w: %d bytes announced, limit %d (wPorts %d→%d)", ErrLength, h.Length, maxAPDU, h.Src, h.Dst)
	}
	if len(p) < HeaderLen+int(h.Length) {
		return 0, h, fmt.Errorf("%w: %d of %d bytes", ErrShort, len(p), HeaderLen+int(h.Length))
	}
	return HeaderLen + int(h.Length), h, nil
}
