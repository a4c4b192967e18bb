package serial

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Flags of struct serial_rs485 (linux/serial.h).
const (
	serRS485Enabled      = 1 << 0
	serRS485RTSOnSend    = 1 << 1
	serRS485RTSAfterSend = 1 << 2
	serRS485RxDuringTx   = 1 << 4
)

// serialRS485 is struct serial_rs485: flags, the two delays in
// milliseconds, and padding to 32 bytes.
type serialRS485 struct {
	Flags       uint32
	DelayBefore uint32
	DelayAfter  uint32
	Padding     [5]uint32
}

// rs485Flags returns the kernel's form of r.
func rs485Struct(r *RS485) serialRS485 {
	var s serialRS485
	if r.Enabled {
		s.Flags |= serRS485Enabled
	}
	if r.RTSOnSend {
		s.Flags |= serRS485RTSOnSend
	}
	if r.RTSAfterSend {
		s.Flags |= serRS485RTSAfterSend
	}
	if r.RxDuringTx {
		s.Flags |= serRS485RxDuringTx
	}
	s.DelayBefore = uint32(r.DelayBefore.Milliseconds())
	s.DelayAfter = uint32(r.DelayAfter.Milliseconds())
	return s
}

// setRS485 applies r to the device open as f with TIOCSRS485.
func setRS485(f *os.File, r *RS485) error {
	s := rs485Struct(r)
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.TIOCSRS485, uintptr(unsafe.Pointer(&s)))
	}); err != nil {
		return err
	}
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, unix.ENOTTY), errors.Is(errno, unix.EINVAL), errors.Is(errno, unix.EOPNOTSUPP):
		return fmt.Errorf("%w (TIOCSRS485: %v); use a transceiver with automatic direction control, or leave rs485 off", ErrRS485Unsupported, errno)
	}
	return fmt.Errorf("TIOCSRS485: %w", errno)
}
