package mdns

import "golang.org/x/sys/unix"

func bindToDevice(fd int, ifname string) {
	_ = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname) // EPERM without CAP_NET_RAW
}
