// Package wrapper is the IEC 62056-47 (DLMS/COSEM transport over TCP and
// UDP) wrapper: the 8-byte header of version (0x0001), source wPort,
// destination wPort and length that precedes every APDU. Header.Append and
// Parse encode and decode one wrapper PDU; Split finds whole PDUs in a TCP
// byte stream.
package wrapper
