// Package sim builds the wireless M-Bus telegrams of simulated meters: a
// water meter and a heat meter that send EN 13757-4 format-A frames (block
// CRCs included) with an OMS short transport header, encrypted in security
// mode 5 (AES-128-CBC, IV from the meter's address and access number,
// 0x2F2F decryption check). `smgw demo` feeds them through the line
// reader into the gateway's real decode path; tests and benchmarks use
// them as a source of fresh encrypted telegrams.
//
// The values are a deterministic function of the time (so a restarted
// demo carries on), and each telegram increments the meter's 8-bit access
// number.
package sim
