// Package ptypace is a serial line in software for benchmarks of RS-485
// drivers: two pseudo-terminals whose masters are joined by a relay that
// paces the bytes to a line rate, as two UARTs at a fixed character time
// would. The driver opens one pty's slave (with hal/serial, as it would a
// real device), the peer (a simulated meter) the other's. Only tests and
// benchmarks import it.
//
// Timing is kept on an absolute schedule: a byte leaves when it has
// arrived and the previous byte has left, so a burst takes exactly its
// bytes times the character time however late the relay's goroutine
// wakes; a late wake-up is caught up by writing the bytes already due
// together, and only the lateness of a burst's last write shows. Bytes
// are written in chunks of a few milliseconds of line time (not one
// write per byte), and the ptys are opened directly on /dev/ptmx (no
// socat in the path), so the relay costs little CPU and stays on time on
// a loaded machine. Linux only: elsewhere New skips the test.
//
// Compared with hal/serial/serialtest.Relay (which also injects faults),
// whose schedule restarts at every wake-up so that timer lateness adds to
// every byte under load, this relay is for line-rate figures.
package ptypace
