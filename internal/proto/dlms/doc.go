// Package dlms is the DLMS/COSEM application layer codec (IEC 62056-5-3,
// the Green Book; data types of IEC 62056-6-2, the Blue Book): A-XDR and
// the COSEM Data type, the ACSE APDUs AARQ/AARE/RLRQ/RLRE with the xDLMS
// initiate request and response, the LN-referencing services GET, SET and
// ACTION in their normal, with-list and block-transfer forms, selective
// access descriptors, event and data notifications, exception responses
// and confirmed service errors, and security suite 0 (AES-GCM-128) with
// glo-, ded- and general-glo/ded-ciphering, HLS-GMAC authentication and a
// replay-rejecting frame counter. ScalerUnit turns register values into
// exact meter.Values and back.
//
// It is a pure codec: every APDU type has an Append method that encodes it
// and ParseAPDU decodes any of them. It knows nothing of clients, servers,
// associations or transports; the HDLC link (package hdlc) and the TCP
// wrapper (package wrapper) carry its bytes, and the meter driver and the
// HES server decide what to send.
package dlms
