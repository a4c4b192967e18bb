// Package mbus is the wired M-Bus master (EN 13757-2/-3) for meters on an
// M-Bus line behind a level converter (or a TCP converter): it reads the
// meters' RSP_UD telegrams and stores their records as readings keyed by
// OBIS, and it finds meters on a line (primary and secondary address
// scans) for the installer's probe.
//
// A Master speaks the link layer on one port: SND_NKE, the selection by
// secondary address (SND_UD to 253 with CI 0x52, wildcards allowed) and
// REQ_UD2 with the frame count bit toggled after every answer, so that a
// lost answer is repeated by the meter and a multi-telegram read (DIF
// 0x1F, "more records follow") advances. Each request waits for the
// answer's first byte for the response timeout (330 bit times + 50 ms
// of EN 13757-2, plus a margin for the converter), then for each further
// byte a gap; an answer that does not check (a checksum error, a
// collision of two meters, a dropped byte) is counted as a frame error,
// the line is left to go quiet, and the request is repeated with the same
// frame count bit, up to Retries times.
//
// A Line owns the port and a bus.Runner (internal/lmn/bus) that shares
// it between its meters: each Meter has a poll plan of one job,
// "registers", every Interval: SND_NKE (on the first read and after a
// failure; a meter addressed by secondary address is selected instead),
// then REQ_UD2 until the meter has no more telegrams. The records with a
// value and an OBIS code (internal/proto/mbus's mapping) become readings
// with exact decimal values: instantaneous ones (OBIS D = 7) go to
// Sink.Live, the others to Sink.Append. Errors are counted per meter in
// the runner's health counters (timeouts, frame errors, protocol errors
// by kind).
//
// ScanPrimary and ScanSecondary find the meters of a line (the secondary
// scan narrows a wildcard selection digit by digit where meters collide,
// as EN 13757-3 describes). The simulator in mbussim is the far end in
// tests, benchmarks and the probe's tests.
package mbus
