// Package serial opens the gateway's serial lines (RS-485, RS-232) with
// github.com/tarm/serial, and TCP connections to serial-to-Ethernet
// converters, behind one small Port interface: an io.ReadWriteCloser with
// a read deadline.
//
// tarm/serial's limits are handled here so that drivers need not know
// them:
//
//   - A read timeout comes back from tarm as io.EOF, with the termios
//     VTIME resolution of 100 ms. Every port is opened with that shortest
//     timeout and Read loops over it until the caller's deadline
//     (SetReadDeadline, or ReadContext's context), which is therefore
//     honoured to within about 100 ms.
//   - tarm's Close hangs while a read without a timeout is pending. Because
//     a read here never waits more than 100 ms in the kernel, Close marks
//     the port closed and returns once the pending Read has noticed, within
//     about 100 ms, which then returns ErrClosed.
//   - Parity errors are not reported (tarm sets IGNPAR): bytes with a
//     parity error are dropped silently, so every protocol must rely on its
//     own CRC.
//   - Only the standard baud rates of tarm's table are available; any
//     other is refused by Open with ErrConfig naming the rates.
//   - tarm does not expose its file descriptor, so the RS-485 mode
//     (TIOCSRS485: the kernel drives the transceiver's direction with RTS)
//     is set on the device node on a descriptor of our own before tarm
//     opens the port. A driver that does not support it (a USB adapter
//     without RS-485 support, a pseudo-terminal) gives ErrRS485Unsupported.
//
// One owner per line: Open and DialTCP refuse a device (by its resolved
// path) or address that this process already has open (ErrBusy), and a
// serial device is also locked with flock(2) so that another process
// using the same convention is refused too. This process-wide registry is
// the package's one piece of global state, on purpose: two owners of one
// RS-485 line corrupt each other's frames.
//
// The package imports nothing of the gateway's internal packages.
package serial
