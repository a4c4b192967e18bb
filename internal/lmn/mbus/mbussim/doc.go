// Package mbussim simulates wired M-Bus meters (EN 13757-2/-3 slaves)
// on one line, for tests, benchmarks and the probe's tests: it answers
// on a port (one end of a pty pair, or a TCP connection) as the meters
// on a real line would.
//
// Each Meter has a primary address and a secondary address
// (identification number, manufacturer, version, medium) and answers
// SND_NKE with E5, a selection (SND_UD to 253, CI 0x52, wildcards)
// with E5 when it matches, and REQ_UD2 with a RSP_UD (CI 0x72) whose
// records are functions of its clock (Options.Now), so a test computes
// the exact values a read must give (EnergyWh, VolumeL and friends).
// Long record sets are split into several telegrams ending with DIF
// 0x1F; the frame count bit decides whether the next telegram is sent
// (FCB toggled) or the last one repeated (FCB unchanged), as
// EN 13757-2 describes.
//
// Several meters on one line answer a broadcast (254) or a wildcard
// selection at once: their answers collide as on the wire, where a
// character's 0 bits (the slave's current) win: identical answers
// overlap into one, different ones into garbled bytes (the bitwise AND).
//
// Faults are switched on at run time: Silent and VanishFor (the meter
// disappears, for good or for a time of its clock), Delay (it answers
// late), DropNext and GarbleNext (the next answers lose a byte or have
// one flipped), FailNext (an application error, CI 0x70).
package mbussim
