// Package modbus reads Modbus RTU and Modbus TCP meters: a Client that
// carries one request/response transaction over a hal/serial Port with the
// line's timing, and a Bus that owns one line and polls every meter on it
// by the plan its profile and interval give.
//
// A Bus is the one owner of its line (one goroutine, Run). Each meter's
// registers are batched into as few requests as the 125-register limit and
// the profile's max_registers and max_gap allow, into two groups: the
// instantaneous quantities (OBIS D = 7), read every LiveInterval and handed
// to the sink's Live, and the registers, read every Interval and handed to
// the sink's Append (which returns when they are durable). When several
// meters are due, the bus serves them one request at a time in turn, so a
// meter with many registers does not hold the line, and a meter that does
// not answer costs only its own timeouts: after a failed poll it backs off
// exponentially (up to its interval) while the others are still read.
// Every transaction keeps the RTU inter-frame silence (t3.5, from the baud
// rate and the character format) before it sends, retries timeouts and
// garbled frames, and counts per meter timeouts, CRC errors, malformed or
// mismatched frames and exception responses by code (Stats).
package modbus
