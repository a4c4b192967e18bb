//go:build !unix

package mdns

import "syscall"

func control(ifname string) func(network, address string, c syscall.RawConn) error { return nil }
