// Package modemsim simulates an LTE modem's AT command port for tests, on
// one end of a pseudo-terminal pair made by socat (Pair): the code under
// test opens the other end as a serial port. It answers AT, ATE0/ATE1,
// AT+CMEE, AT+CPIN?, AT+CREG?/=, AT+CEREG?/=, AT+CSQ, AT+COPS? and
// AT+CGDCONT, sends unsolicited result codes on request, and can answer
// ERROR, +CME ERROR or nothing at all for any command.
package modemsim
