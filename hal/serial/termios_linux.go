package serial

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ensureReadTimeout checks, through our own descriptor on the device,
// that the line's termios has the read timeout tarm/serial set (VMIN 0,
// VTIME 1: a read returns after at most 0.1 s), and restores it if
// something else on the device changed it: without it a pending Read, and
// so Close, could block for ever.
func ensureReadTimeout(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ierr = fmt.Errorf("TCGETS: %w", err)
			return
		}
		if t.Cc[unix.VMIN] == 0 && t.Cc[unix.VTIME] == 1 {
			return
		}
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 0, 1
		if err := unix.IoctlSetTermios(int(fd), unix.TCSETS, t); err != nil {
			ierr = fmt.Errorf("TCSETS: %w", err)
		}
	})
	if err != nil {
		return err
	}
	return ierr
}
