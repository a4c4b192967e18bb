//go:build unix

package serial

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockDevice opens the device node (without becoming its controlling
// terminal and without waiting for carrier) and takes an exclusive,
// non-blocking flock on it, held until the descriptor is closed.
func lockDevice(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by another process (flock)", ErrBusy, path)
		}
		return nil, fmt.Errorf("flock: %w", err)
	}
	return f, nil
}
