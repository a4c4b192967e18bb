// Package modem talks to an LTE modem over its AT command port (3GPP TS
// 27.007 and V.250): it checks the SIM (AT+CPIN?), the network
// registration (AT+CREG?, AT+CEREG?), the signal (AT+CSQ) and the
// operator (AT+COPS?), and sets the APN (AT+CGDCONT). Every command has a
// timeout; unsolicited result codes (URCs such as +CEREG: 1 or RING) that
// arrive between or inside answers are kept apart from the answers and
// reported.
//
// The port is a serial line (hal/serial, over tarm/serial with its read
// timeout always set) or anything with read deadlines. Modem has no
// goroutines: each call writes a command and reads its answer.
// modemsim is a simulator for tests, on one end of a pseudo-terminal pair.
package modem
