// Package modbus is a pure codec for Modbus RTU and Modbus TCP (Modbus
// Application Protocol Specification V1.1b3; Modbus over Serial Line
// Specification and Implementation Guide V1.02; Modbus Messaging on
// TCP/IP Implementation Guide V1.0b).
//
// It covers what a meter reader needs: function codes 3 (Read Holding
// Registers), 4 (Read Input Registers), 6 (Write Single Register) and 16
// (Write Multiple Registers), requests and responses in both directions
// with the specification's length limits (1…125 registers read, 1…123
// written), exception responses (function | 0x80 and a named exception
// code), the RTU frame (unit address, PDU, CRC-16/MODBUS sent low byte
// first), a stream splitter that finds a response of the expected length
// in received bytes, the MBAP header of Modbus TCP, and the RTU timing
// (t1.5 and t3.5) computed from the baud rate and the character format.
//
// Framing is kept apart from meaning: AppendRTU/ParseRTU and
// AppendTCP/ParseTCP wrap and unwrap a PDU, AppendRequest/ParseRequest and
// AppendResponse/ParseResponse encode and decode it. Nothing here does
// I/O, starts goroutines or reads a clock; durations are computed values.
package modbus
