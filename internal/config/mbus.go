package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// DriverMBus reads wired M-Bus meters (EN 13757-2/-3) through a level
// converter on a serial port, or a serial-to-Ethernet converter (tcp).
//
// An mbus meter's keys: port or tcp (the line; meters with the same port
// share it), baud (300…38400; default the [[bus]] table's, else 2400),
// address (required: the primary address "0"…"250", or the secondary
// address: the 8-digit identification number, or 16 hex digits with
// manufacturer, version and medium), manufacturer (three letters: with
// an 8-digit address, narrows the selection), medium (overrides the
// medium the meter announces, for the OBIS codes; the names of the wmbus
// driver) and interval (the read period). A [[bus]] table with the same
// port sets the line's baud, rs485 mode, timeout_ms and retries. M-Bus
// lines are 8E1: parity, stop bits and framing do not apply.
const DriverMBus = "mbus"

// DefaultMBusBaud is the line speed of an M-Bus line without a baud key.
const DefaultMBusBaud = 2400

// mbusBauds are the line speeds of EN 13757-2.
var mbusBauds = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400}

// MBusLine is one line of mbus meters with its resolved settings.
type MBusLine struct {
	Bus            // Port or TCP; Baud, RS485, TimeoutMS (0: the driver's default) and Retries (0: the default) as resolved
	Meters []Meter // in file order
}

// Name returns the port or the tcp address.
func (l MBusLine) Name() string {
	if l.Port != "" {
		return l.Port
	}
	return l.TCP
}

// MBusLines groups the mbus meters by line, with the [[bus]] table's
// settings, else the meters' baud, else 2400 baud. Call it on a
// validated configuration.
func (c *Config) MBusLines() []MBusLine {
	var lines []MBusLine
	idx := map[string]int{}
	for _, m := range c.Meters {
		if m.Driver != DriverMBus {
			continue
		}
		k := lineKey(m.Port, m.TCP)
		i, ok := idx[k]
		if !ok {
			b := Bus{Port: m.Port, TCP: m.TCP}
			for _, x := range c.Buses {
				if lineKey(x.Port, x.TCP) == k {
					b = x
				}
			}
			i = len(lines)
			idx[k] = i
			lines = append(lines, MBusLine{Bus: b})
		}
		if lines[i].Baud == 0 {
			lines[i].Baud = m.Baud
		}
		lines[i].Meters = append(lines[i].Meters, m)
	}
	for i := range lines {
		if lines[i].Baud == 0 {
			lines[i].Baud = DefaultMBusBaud
		}
	}
	return lines
}

// MBusAddress returns an mbus meter's address: the primary address
// (secondary nil), or the secondary address to select (with the
// manufacturer key applied). ok is false for an invalid address.
func (m Meter) MBusAddress() (primary int, secondary *pmbus.SecondaryAddress, ok bool) {
	s := m.Address
	if s != "" && len(s) <= 3 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > int(pmbus.AddrMaxPrimary) || strings.TrimLeft(s, "0123456789") != "" {
			return 0, nil, false
		}
		return n, nil, true
	}
	if len(s) != 8 && len(s) != 16 {
		return 0, nil, false
	}
	sa, err := pmbus.ParseSecondaryAddress(s)
	if err != nil || strings.ContainsAny(s[:8], "Ff") {
		return 0, nil, false
	}
	if len(s) == 16 && sa.HasWildcard() {
		return 0, nil, false
	}
	if m.Manufacturer != "" {
		man, err := pmbus.ParseManufacturer(m.Manufacturer)
		if err != nil {
			return 0, nil, false
		}
		if len(s) == 16 && man != sa.Manufacturer {
			return 0, nil, false
		}
		sa.Manufacturer = man
	}
	return -1, &sa, true
}

// mbusProblems returns the problems of the mbus meters (and of [[bus]]
// tables of their lines).
func (c *Config) mbusProblems() []problem {
	var ps []problem
	add := func(key string, deps []string, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}, deps: deps})
	}
	type lineInfo struct {
		baud, baudAt int
		primaries    map[int]int
		secondaries  map[string]int
	}
	lines := map[string]*lineInfo{}
	others := map[string]int{} // lines of meters of other drivers
	for i, m := range c.Meters {
		if m.Driver != DriverMBus && (m.Port != "" || m.TCP != "") {
			k := lineKey(m.Port, m.TCP)
			if _, ok := others[k]; !ok {
				others[k] = i
			}
		}
	}
	for i, m := range c.Meters {
		if m.Driver != DriverMBus {
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		switch {
		case m.Port == "" && m.TCP == "":
			add(key("port"), []string{key("driver")}, "is required for an mbus meter: the serial device of the level converter (e.g. \"/dev/ttyUSB0\"), or set tcp = \"host:port\"")
		case m.Port != "" && m.TCP != "":
			add(key("tcp"), nil, "set either port or tcp, not both")
		case m.Port != "":
			if why := checkDir(m.Port); why != "" {
				add(key("port"), nil, "%s", why)
			}
		default:
			if why := checkTCPAddr(m.TCP); why != "" {
				add(key("tcp"), nil, "%s", why)
			}
		}
		if m.Baud != 0 && !slices.Contains(mbusBauds, m.Baud) {
			add(key("baud"), nil, "%d is not an M-Bus baud rate: must be 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400", m.Baud)
		}
		if m.Parity != "" {
			add(key("parity"), []string{key("driver")}, "does not apply to driver \"mbus\" (M-Bus lines are 8E1)")
		}
		if m.Unit != 0 {
			add(key("unit"), []string{key("driver")}, "applies to driver \"modbus\" only; an mbus meter's address is address")
		}
		if m.Key != "" {
			add(key("key"), []string{key("driver")}, "applies to driver \"wmbus\" only")
		}
		if m.Medium != "" && !contains(wmbusMedia, strings.ToLower(m.Medium)) {
			add(key("medium"), nil, "unknown medium %q; known: %s", m.Medium, strings.Join(wmbusMedia, ", "))
		}
		primary, sec, ok := m.MBusAddress()
		switch {
		case m.Address == "":
			add(key("address"), []string{key("driver")}, "is required for an mbus meter: the primary address \"0\"…\"250\" or the 8-digit secondary address (identification number)")
		case !ok && m.Manufacturer != "" && len(m.Address) == 8:
			add(key("manufacturer"), nil, "%q is not a three-letter manufacturer code", m.Manufacturer)
		case !ok:
			add(key("address"), nil, "%q is neither a primary address (0…250) nor a secondary address (8 digits, or 16 hex digits: id, manufacturer, version, medium; no wildcards)", m.Address)
		case sec == nil && m.Manufacturer != "":
			add(key("manufacturer"), []string{key("address")}, "applies to a secondary address only")
		}
		if m.Port == "" && m.TCP == "" {
			continue
		}
		k := lineKey(m.Port, m.TCP)
		if j, ok := others[k]; ok {
			add(key("port"), nil, "%s is also the line of meter[%d] (driver %q): one line speaks one protocol", strings.TrimPrefix(k, "tcp:"), j, c.Meters[j].Driver)
		}
		l := lines[k]
		if l == nil {
			l = &lineInfo{baudAt: -1, primaries: map[int]int{}, secondaries: map[string]int{}}
			for _, b := range c.Buses {
				if lineKey(b.Port, b.TCP) == k {
					l.baud = b.Baud
					if b.Baud != 0 && !slices.Contains(mbusBauds, b.Baud) {
						add(key("port"), nil, "the [[bus]] table of %s sets baud %d, not an M-Bus baud rate", strings.TrimPrefix(k, "tcp:"), b.Baud)
					}
					if b.Parity != "" && b.Parity != "even" || b.StopBits > 1 || b.Framing == FramingTCP {
						add(key("port"), nil, "the [[bus]] table of %s sets parity, stop bits or framing that M-Bus (8E1) does not use", strings.TrimPrefix(k, "tcp:"))
					}
				}
			}
			lines[k] = l
		}
		if m.Baud != 0 {
			switch {
			case l.baud != 0 && l.baudAt < 0 && m.Baud != l.baud:
				add(key("baud"), nil, "%d differs from the [[bus]] table's %d for %s (one line has one speed)", m.Baud, l.baud, strings.TrimPrefix(k, "tcp:"))
			case l.baudAt >= 0 && m.Baud != l.baud:
				add(key("baud"), nil, "%d differs from %d of meter[%d] on the same line (one line has one speed)", m.Baud, l.baud, l.baudAt)
			case l.baud == 0:
				l.baud, l.baudAt = m.Baud, i
			}
		}
		if !ok || !m.Enabled {
			continue
		}
		if sec == nil {
			if j, dup := l.primaries[primary]; dup {
				add(key("address"), nil, "primary address %d on %s is also meter[%d]", primary, strings.TrimPrefix(k, "tcp:"), j)
			} else {
				l.primaries[primary] = i
			}
		} else if j, dup := l.secondaries[sec.String()]; dup {
			add(key("address"), nil, "secondary address %s on %s is also meter[%d]", sec, strings.TrimPrefix(k, "tcp:"), j)
		} else {
			l.secondaries[sec.String()] = i
		}
	}
	return ps
}
