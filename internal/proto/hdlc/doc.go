// Package hdlc is the IEC 62056-46 data link layer of DLMS/COSEM on serial
// lines: HDLC frame format type 3 with its flags, format field
// (segmentation bit and 11-bit length), 1-, 2- and 4-byte addresses, control
// field, header and frame check sequences (CRC-16/X.25), the LLC header, and
// the parameters negotiated by SNRM/UA.
//
// Parse and Frame.Append turn one frame into a struct and back; Scanner
// finds frames in a byte stream and resynchronises after garbage. Link is
// the connection's bookkeeping (send and receive sequence numbers,
// segmentation and reassembly, windows of more than one frame) as a pure
// state machine: it is fed received frames and APDUs to send and returns
// the frames to write and the APDUs received. It owns no port, no timer and
// no goroutine; the driver that calls it does.
package hdlc
