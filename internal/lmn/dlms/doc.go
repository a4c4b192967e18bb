// Package dlms is the DLMS/COSEM meter driver (IEC 62056) for meters on
// an RS-485 line (HDLC, IEC 62056-46) or behind a TCP converter (HDLC
// transparently, or the IEC 62056-47 wrapper).
//
// A Line owns one port and a bus.Runner that shares it between its
// meters; each Meter has a poll plan of three jobs: "registers" (the
// configured class 1/3/4 registers, value and scaler_unit as exact
// meter.Values), "profile" (the load profile, class 7, read by range
// from the entry after the last one stored up to now, so an outage
// leaves no gap) and "clock" (read the meter's clock and correct a drift
// beyond a limit). Disconnect and Reconnect (class 70) are commands that
// go before the next poll.
//
// Each job is one session: SNRM/UA (proposing window 7 and information
// fields of 2030 bytes unless configured otherwise, taking what the
// meter grants), AARQ/AARE with no authentication, LLS or HLS-GMAC
// (security suite 0, glo-ciphered APDUs, invocation counters persisted
// so they never repeat and the meter's replays are rejected across
// restarts), the requests (with block transfer), and DISC.
//
// The codecs are internal/proto/hdlc and internal/proto/dlms; the port is
// hal/serial's. The simulator in dlmssim is the far end in tests and in
// `smgw demo`.
package dlms
