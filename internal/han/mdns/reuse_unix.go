//go:build unix

package mdns

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// control lets the mDNS socket share port 5353 with other responders
// (avahi) and, where permitted (CAP_NET_RAW), binds it to the HAN
// interface so that the kernel delivers it nothing from elsewhere; the
// interface index of every packet is checked in any case.
func control(ifname string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			bindToDevice(int(fd), ifname) // best effort
		})
		if err != nil {
			return err
		}
		return serr
	}
}
