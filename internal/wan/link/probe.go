package link

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IfState is what the kernel says of one network interface.
type IfState struct {
	Name         string `json:"name"`
	Exists       bool   `json:"exists"`
	OperUp       bool   `json:"oper_up"`       // operstate "up" (or "unknown" with carrier, as some drivers report)
	Carrier      bool   `json:"carrier"`       // carrier 1
	DefaultRoute bool   `json:"default_route"` // an IPv4 default route goes out of it
}

// Usable reports whether traffic can leave through the interface.
func (s IfState) Usable() bool { return s.Exists && s.OperUp && s.Carrier && s.DefaultRoute }

// Probe looks at network interfaces. SysProbe reads the kernel's view;
// tests pass their own.
type Probe func(names ...string) ([]IfState, error)

// SysProbe returns a Probe over sysfs (root/class/net/NAME/operstate and
// carrier) and the IPv4 routing table (proc/net/route). root "" is "/sys"
// and proc "" is "/proc"; tests point them at a directory of their own.
func SysProbe(root, proc string) Probe {
	if root == "" {
		root = "/sys"
	}
	if proc == "" {
		proc = "/proc"
	}
	return func(names ...string) ([]IfState, error) {
		routes, err := os.ReadFile(filepath.Join(proc, "net", "route"))
		if err != nil {
			return nil, fmt.Errorf("link: routing table: %w", err)
		}
		defaults := defaultRouteIfaces(routes)
		out := make([]IfState, len(names))
		for i, name := range names {
			s := IfState{Name: name}
			if name == "" {
				out[i] = s
				continue
			}
			dir := filepath.Join(root, "class", "net", name)
			op, err := os.ReadFile(filepath.Join(dir, "operstate"))
			if err == nil {
				s.Exists = true
				// carrier is unreadable (EINVAL) while the interface is down.
				c, _ := os.ReadFile(filepath.Join(dir, "carrier"))
				s.Carrier = strings.TrimSpace(string(c)) == "1"
				st := strings.TrimSpace(string(op))
				s.OperUp = st == "up" || st == "unknown" && s.Carrier
				s.DefaultRoute = defaults[name]
			}
			out[i] = s
		}
		return out, nil
	}
}

// Routes returns the interfaces that hold an IPv4 default route.
type Routes func() (map[string]bool, error)

// SysRoutes returns Routes over proc/net/route; proc "" is "/proc".
func SysRoutes(proc string) Routes {
	if proc == "" {
		proc = "/proc"
	}
	return func() (map[string]bool, error) {
		b, err := os.ReadFile(filepath.Join(proc, "net", "route"))
		if err != nil {
			return nil, fmt.Errorf("link: routing table: %w", err)
		}
		return defaultRouteIfaces(b), nil
	}
}

// defaultRouteIfaces reads /proc/net/route: the interfaces with a default
// route (destination and mask 0) that is up (flag RTF_UP).
func defaultRouteIfaces(b []byte) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		var flags uint64
		fmt.Sscanf(f[3], "%x", &flags)
		if f[1] == "00000000" && f[7] == "00000000" && flags&1 != 0 {
			out[f[0]] = true
		}
	}
	return out
}
