// Package modbus reads Modbus RTU and Modbus TCP meters: a Client that
// carries one request/response transaction over a hal/serial Port with the
// line's timing, and a Bus that owns one line and polls every meter on it
// by the plan its profile and intervals give.
//
// A Bus runs on the line scheduler of internal/lmn/bus, as every RS-485
// driver does: one job on the line at a time; each meter's poll plan of
// two jobs, "registers" (OBIS D ≠ 7, every Interval, handed to the sink's
// Append, which returns when they are durable) and "live" (the
// instantaneous quantities, OBIS D = 7, every LiveInterval, handed to the
// sink's Live), both on the wall clock's grid; due meters served in turn
// (the one served longest ago first); commands (Bus.Do: a register write
// or read) before the next poll. A poll's registers are batched into as
// few requests as the 125-register limit and the profile's max_registers
// and max_gap allow.
//
// Faults: every transaction keeps the RTU inter-frame silence (t3.5, from
// the baud rate and the character format) before it sends and repeats a
// request after a timeout or a garbled frame (BusOptions.Retries). A
// request refused with an exception fails the poll but not its other
// requests; one that is not answered ends the poll at once, and the
// meter's other jobs wait for its retry, so a meter that is gone costs the
// line one timeout per retry. Failed polls are retried with exponential
// backoff from one second, never past the next regular slot. A port that
// fails (an adapter unplugged, a TCP connection lost) or a sink that
// refuses readings stops Run with the error (ErrPort for the port), so the
// owner can reopen the line.
//
// Health: Bus.Health gives the scheduler's per-meter counters (jobs,
// successes, consecutive failures, timeouts, frame errors, exceptions by
// code, retries, last error, state ok/failing/unreachable), as for every
// RS-485 driver; Bus.Stats the Modbus transaction counters (requests,
// responses, CRC errors, bad frames, exceptions by code, polls, readings).
package modbus
