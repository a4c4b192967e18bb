//go:build !linux

package ctl

import (
	"errors"
	"net"
)

// Without SO_PEERCRED the socket file's mode is the only guard.
const peerCredSupported = false

func peerCredOf(*net.UnixConn) (peerCred, error) {
	return peerCred{}, errors.New("ctl: peer credentials not supported on this system")
}

func supplementaryGroups(int32) []uint32 { return nil }
