package web

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// ErrBind is returned (wrapped) when the HAN addresses cannot be used:
// an unspecified address, a WAN interface or one of its addresses, an
// unknown interface.
var ErrBind = errors.New("web: refusing to listen")

// InterfaceAddrs returns the IP addresses of a network interface by name;
// net.InterfaceByName with Addrs is the real one (SystemInterfaceAddrs),
// tests pass their own.
type InterfaceAddrs func(name string) ([]netip.Addr, error)

// SystemInterfaceAddrs reads an interface's addresses from the kernel.
func SystemInterfaceAddrs(name string) ([]netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	as, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is6() && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
			ip = ip.WithZone(name)
		}
		out = append(out, ip)
	}
	return out, nil
}

// Binding says where the service listens.
type Binding struct {
	// Interface is the HAN interface whose addresses are listened on
	// (followed as they change); "" for none.
	Interface string
	// Addresses are listened on besides the interface's.
	Addresses []netip.Addr
	// Port is the TCP port.
	Port int
	// WANInterfaces are never listened on, nor any of their addresses.
	WANInterfaces []string
	// Lookup reads an interface's addresses; nil is SystemInterfaceAddrs.
	Lookup InterfaceAddrs
}

// Resolve returns the host:port addresses to listen on now, sorted. It
// refuses an unspecified address (0.0.0.0, ::), a WAN interface and any
// address a WAN interface holds. An interface without addresses yet (the
// link not up) gives no error and no addresses.
func (b Binding) Resolve() ([]string, error) {
	lookup := b.Lookup
	if lookup == nil {
		lookup = SystemInterfaceAddrs
	}
	if b.Port <= 0 || b.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d is not 1…65535", ErrBind, b.Port)
	}
	if b.Interface == "" && len(b.Addresses) == 0 {
		return nil, fmt.Errorf("%w: no HAN interface or address configured", ErrBind)
	}
	if slices.Contains(b.WANInterfaces, b.Interface) && b.Interface != "" {
		return nil, fmt.Errorf("%w: %s is a WAN interface", ErrBind, b.Interface)
	}
	wan := map[netip.Addr]string{}
	for _, w := range b.WANInterfaces {
		if w == "" {
			continue
		}
		as, err := lookup(w)
		if err != nil {
			continue // a WAN interface that is not there holds no address
		}
		for _, a := range as {
			wan[a.WithZone("")] = w
		}
	}
	var ips []netip.Addr
	if b.Interface != "" {
		as, err := lookup(b.Interface)
		if err != nil {
			return nil, fmt.Errorf("%w: HAN interface %s: %v", ErrBind, b.Interface, err)
		}
		ips = append(ips, as...)
	}
	ips = append(ips, b.Addresses...)
	var out []string
	for _, ip := range ips {
		if !ip.IsValid() || ip.IsUnspecified() {
			return nil, fmt.Errorf("%w: %s listens on every interface, the WAN included", ErrBind, ip)
		}
		if ip.IsMulticast() {
			return nil, fmt.Errorf("%w: %s is a multicast address", ErrBind, ip)
		}
		if w, ok := wan[ip.WithZone("")]; ok {
			return nil, fmt.Errorf("%w: %s is an address of the WAN interface %s", ErrBind, ip, w)
		}
		out = append(out, net.JoinHostPort(ip.String(), strconv.Itoa(b.Port)))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
