//go:build unix && !linux

package mdns

func bindToDevice(fd int, ifname string) {}
