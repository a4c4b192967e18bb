// Package dlmssim is a DLMS/COSEM electricity meter simulator: the server
// side of an HDLC link (hdlc.Link in the server role) and of the DLMS
// application layer, for tests, the benchmark and `smgw demo`. It serves
// the clock (class 8), energy and instantaneous registers (class 3),
// a 4-channel 15-minute load profile (class 7, 1.0.99.1.0.255) and a
// daily profile (1.0.99.2.0.255) that grow in real time, with range and
// entry selective access and block transfer, the association object
// (class 15, object list and HLS pass 3/4) and the disconnect control
// (class 70). Associations: no authentication, LLS (a password) or
// HLS-GMAC with security suite 0 (glo-ciphered APDUs, frame counters
// that reject replays).
//
// Every value is a function of the simulator's clock (Options.Now), so a
// test can compute the exact numbers a read must give (ImportWh and
// friends), and a fake clock lets "an hour" pass at once. Faults are
// switched on at run time: Silent (the meter disappears), Delay (it
// answers late), FailNext (an exception response or a confirmed service
// error). Line faults (dropped or garbled bytes) belong to a relay
// between the driver and the simulator (hal/serial/serialtest).
package dlmssim
