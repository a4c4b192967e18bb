package ctl

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

const peerCredSupported = true

// peerCredOf reads SO_PEERCRED of c.
func peerCredOf(c *net.UnixConn) (peerCred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return peerCred{}, fmt.Errorf("ctl: peer credentials: %w", err)
	}
	var uc *syscall.Ucred
	var uerr error
	if err := raw.Control(func(fd uintptr) {
		uc, uerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return peerCred{}, fmt.Errorf("ctl: peer credentials: %w", err)
	}
	if uerr != nil {
		return peerCred{}, fmt.Errorf("ctl: peer credentials: %w", uerr)
	}
	return peerCred{PID: uc.Pid, UID: uc.Uid, GID: uc.Gid}, nil
}

// supplementaryGroups reads the Groups line of /proc/<pid>/status; nil if
// it cannot.
func supplementaryGroups(pid int32) []uint32 {
	if pid <= 0 {
		return nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return nil
	}
	return parseGroupsLine(b)
}
