package config

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/smgw/smgw/hal/serial"
	modbusprofiles "github.com/smgw/smgw/profiles/meters/modbus"
)

// Bus is one [[bus]] table: the settings of a serial line (or TCP link)
// that [[meter]] tables with driver "modbus" name by the same port (or
// tcp). Every key is optional; zero values take the defaults given.
type Bus struct {
	// Port (port) is the serial device, an absolute path. Either port or
	// tcp is required.
	Port string `toml:"port"`
	// TCP (tcp) is host:port of a Modbus TCP device or a serial-to-Ethernet
	// converter.
	TCP string `toml:"tcp"`
	// Framing (framing) is "rtu" (RTU frames with CRC: serial lines, and
	// transparent converters on tcp) or "tcp" (Modbus TCP's MBAP header).
	// Default "rtu" for port, "tcp" for tcp.
	Framing string `toml:"framing"`
	// Baud (baud) is the baud rate, a standard one (no custom rates).
	// Default 9600.
	Baud int `toml:"baud"`
	// Parity (parity) is "none", "even" or "odd". Default "even".
	Parity string `toml:"parity"`
	// StopBits (stop_bits) is 1 or 2. Default 1.
	StopBits int `toml:"stop_bits"`
	// RS485 (rs485) sets the kernel's RS-485 mode (TIOCSRS485) on the port
	// before it is opened, for transceivers whose direction the UART's RTS
	// line drives; the driver must support it. Default false (the
	// driver's setting is left as it is; adapters with automatic direction
	// control need nothing).
	RS485 bool `toml:"rs485"`
	// RTSActiveLow (rts_active_low): RTS is low while sending (and high
	// after). Default false: high while sending.
	RTSActiveLow bool `toml:"rts_active_low"`
	// RTSDelayBeforeMS (rts_delay_before_ms) and RTSDelayAfterMS
	// (rts_delay_after_ms) are the driver-enable delays around a
	// transmission in milliseconds, 0…1000. Default 0.
	RTSDelayBeforeMS int `toml:"rts_delay_before_ms"`
	RTSDelayAfterMS  int `toml:"rts_delay_after_ms"`
	// TimeoutMS (timeout_ms) is how long a meter may take to answer, in
	// milliseconds, 10…10000. Default 1000.
	TimeoutMS int `toml:"timeout_ms"`
	// Retries (retries) is how often a request that timed out or came
	// back garbled is repeated, 0…5; 0 takes the default 2, -1 none.
	Retries int `toml:"retries"`
}

// The Modbus driver.
const (
	DriverModbus = "modbus"

	FramingRTU = "rtu"
	FramingTCP = "tcp"
)

// ModbusLine is one line with its resolved settings and meters: what the
// gateway opens and polls as one bus.
type ModbusLine struct {
	Bus            // settings, defaults applied; Port or TCP set
	Meters []Meter // the enabled and disabled meters on it, in file order
}

// Name returns the port or the tcp address.
func (l ModbusLine) Name() string {
	if l.Port != "" {
		return l.Port
	}
	return l.TCP
}

var (
	modbusParities = []string{"none", "even", "odd"}
	modbusFramings = []string{FramingRTU, FramingTCP}
)

// lineKey names the line a meter or bus is on.
func lineKey(port, tcp string) string {
	if port != "" {
		return filepath.Clean(port)
	}
	return "tcp:" + tcp
}

// ModbusLines groups the modbus meters by line, with each line's
// settings resolved: the [[bus]] table's, else the meters', else the
// defaults (9600 baud, even parity, 1 stop bit, 1 s timeout, 2 retries).
// Call it on a validated configuration.
func (c *Config) ModbusLines() []ModbusLine {
	var lines []ModbusLine
	idx := map[string]int{}
	for _, m := range c.Meters {
		if m.Driver != DriverModbus {
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
			lines = append(lines, ModbusLine{Bus: b})
		}
		l := &lines[i]
		if l.Baud == 0 {
			l.Baud = m.Baud
		}
		if l.Parity == "" {
			l.Parity = m.Parity
		}
		l.Meters = append(l.Meters, m)
	}
	for i := range lines {
		l := &lines[i]
		if l.Framing == "" {
			l.Framing = FramingRTU
			if l.Port == "" {
				l.Framing = FramingTCP
			}
		}
		if l.Baud == 0 {
			l.Baud = 9600
		}
		if l.Parity == "" {
			l.Parity = "even"
		}
		if l.StopBits == 0 {
			l.StopBits = 1
		}
		if l.TimeoutMS == 0 {
			l.TimeoutMS = 1000
		}
		if l.Retries == 0 {
			l.Retries = 2
		}
	}
	return lines
}

// ModbusProfileIsPath reports whether a modbus meter's profile names a
// file (an absolute path) rather than a built-in profile.
func ModbusProfileIsPath(p string) bool { return strings.ContainsRune(p, '/') }

// modbusProfiles lists the built-in profile names.
func modbusProfiles() []string {
	ents, _ := modbusprofiles.FS.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			out = append(out, n)
		}
	}
	return out
}

func checkTCPAddr(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Sprintf("%q is not host:port (e.g. \"192.168.1.20:502\")", s)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Sprintf("%q: port %q is not a number 1…65535", s, port)
	}
	return ""
}

// modbusProblems returns the problems of the [[bus]] tables and of the
// modbus meters.
func (c *Config) modbusProblems() []problem {
	var ps []problem
	add := func(key string, deps []string, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}, deps: deps})
	}
	bauds := serial.Bauds()
	baudList := func() string {
		s := make([]string, len(bauds))
		for i, b := range bauds {
			s[i] = strconv.Itoa(b)
		}
		return strings.Join(s, ", ")
	}
	checkLine := func(key func(string) string, port, tcp string, baud int, parity string) {
		switch {
		case port == "" && tcp == "":
			add(key("port"), nil, "is required: the serial device (e.g. \"/dev/ttyUSB0\"), or set tcp = \"host:port\"")
		case port != "" && tcp != "":
			add(key("tcp"), nil, "set either port or tcp, not both")
		case port != "":
			if why := checkDir(port); why != "" {
				add(key("port"), nil, "%s", why)
			}
		default:
			if why := checkTCPAddr(tcp); why != "" {
				add(key("tcp"), nil, "%s", why)
			}
		}
		if baud != 0 && !slices.Contains(bauds, baud) {
			add(key("baud"), nil, "%d is not a standard baud rate (custom rates are not supported); known: %s", baud, baudList())
		}
		if parity != "" && !contains(modbusParities, parity) {
			add(key("parity"), nil, "unknown parity %q; known: %s", parity, strings.Join(modbusParities, ", "))
		}
	}

	buses := map[string]int{}
	for i, b := range c.Buses {
		key := func(k string) string { return fmt.Sprintf("bus[%d].%s", i, k) }
		checkLine(key, b.Port, b.TCP, b.Baud, b.Parity)
		if b.Port != "" || b.TCP != "" {
			k := lineKey(b.Port, b.TCP)
			if j, dup := buses[k]; dup {
				add(key("port"), nil, "a second [[bus]] for %s (also bus[%d])", strings.TrimPrefix(k, "tcp:"), j)
			} else {
				buses[k] = i
			}
		}
		if b.Framing != "" && !contains(modbusFramings, b.Framing) {
			add(key("framing"), nil, "unknown framing %q; known: %s", b.Framing, strings.Join(modbusFramings, ", "))
		}
		if b.Framing == FramingTCP && b.Port != "" {
			add(key("framing"), nil, "Modbus TCP framing needs tcp, not a serial port")
		}
		if b.StopBits != 0 && b.StopBits != 1 && b.StopBits != 2 {
			add(key("stop_bits"), nil, "%d stop bits: must be 1 or 2", b.StopBits)
		}
		if b.RS485 && b.Port == "" {
			add(key("rs485"), nil, "RS-485 mode is a serial port's setting; this bus has no port")
		}
		for _, d := range []struct {
			k string
			v int
		}{{"rts_delay_before_ms", b.RTSDelayBeforeMS}, {"rts_delay_after_ms", b.RTSDelayAfterMS}} {
			if d.v < 0 || d.v > 1000 {
				add(key(d.k), nil, "%d is out of range: must be 0…1000 (milliseconds)", d.v)
			}
		}
		if b.TimeoutMS != 0 && (b.TimeoutMS < 10 || b.TimeoutMS > 10000) {
			add(key("timeout_ms"), nil, "%d is out of range: must be 10…10000 (milliseconds)", b.TimeoutMS)
		}
		if b.Retries < -1 || b.Retries > 5 {
			add(key("retries"), nil, "%d is out of range: must be -1 (none) … 5", b.Retries)
		}
	}

	type lineInfo struct {
		first         int // the first meter on the line
		baud, parity  int // meter index that set them, -1 none
		units         map[int]int
		framingTCP    bool
		busBaud       int
		busParity     string
		baudV         int
		parityV       string
		baudSet, parS bool
	}
	lines := map[string]*lineInfo{}
	profiles := modbusProfiles()
	for i, m := range c.Meters {
		if m.Driver != DriverModbus {
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		checkLine(key, m.Port, m.TCP, m.Baud, m.Parity)
		switch {
		case m.Profile == "":
			add(key("profile"), []string{key("driver")}, "is required for a modbus meter: a built-in profile (%s) or the absolute path of a profile file", strings.Join(profiles, ", "))
		case ModbusProfileIsPath(m.Profile):
			if !filepath.IsAbs(m.Profile) {
				add(key("profile"), nil, "%q is not an absolute path", m.Profile)
			}
		case !contains(profiles, m.Profile):
			add(key("profile"), nil, "unknown built-in profile %q; known: %s (or the absolute path of a profile file)", m.Profile, strings.Join(profiles, ", "))
		}
		if m.Port == "" && m.TCP == "" {
			if m.Unit < 1 || m.Unit > 247 {
				add(key("unit"), nil, "%d is not a Modbus unit address: must be 1…247", m.Unit)
			}
			continue
		}
		k := lineKey(m.Port, m.TCP)
		l := lines[k]
		if l == nil {
			l = &lineInfo{first: i, units: map[int]int{}}
			if j, ok := buses[k]; ok {
				b := c.Buses[j]
				l.busBaud, l.busParity = b.Baud, b.Parity
				l.framingTCP = b.Framing == FramingTCP || b.Framing == "" && b.Port == ""
			} else {
				l.framingTCP = m.Port == ""
			}
			lines[k] = l
		}
		maxUnit := 247
		if l.framingTCP {
			maxUnit = 255
		}
		switch {
		case m.Unit < 0 || m.Unit > maxUnit || m.Unit == 0 && !l.framingTCP:
			add(key("unit"), nil, "%d is not a Modbus unit address: must be 1…%d", m.Unit, maxUnit)
		default:
			if j, dup := l.units[m.Unit]; dup && m.Enabled && c.Meters[j].Enabled {
				add(key("unit"), nil, "unit %d on %s is also meter[%d]", m.Unit, strings.TrimPrefix(k, "tcp:"), j)
			} else if !dup {
				l.units[m.Unit] = i
			}
		}
		if m.Baud != 0 {
			switch {
			case l.busBaud != 0 && m.Baud != l.busBaud:
				add(key("baud"), nil, "%d differs from the [[bus]] table's %d for %s (one line has one speed)", m.Baud, l.busBaud, strings.TrimPrefix(k, "tcp:"))
			case l.baudSet && m.Baud != l.baudV:
				add(key("baud"), nil, "%d differs from %d of meter[%d] on the same line (one line has one speed)", m.Baud, l.baudV, l.baud)
			case !l.baudSet:
				l.baudSet, l.baudV, l.baud = true, m.Baud, i
			}
		}
		if m.Parity != "" {
			switch {
			case l.busParity != "" && m.Parity != l.busParity:
				add(key("parity"), nil, "%q differs from the [[bus]] table's %q for %s", m.Parity, l.busParity, strings.TrimPrefix(k, "tcp:"))
			case l.parS && m.Parity != l.parityV:
				add(key("parity"), nil, "%q differs from %q of meter[%d] on the same line", m.Parity, l.parityV, l.parity)
			case !l.parS:
				l.parS, l.parityV, l.parity = true, m.Parity, i
			}
		}
	}
	for i, m := range c.Meters {
		if m.Driver == DriverModbus || m.Driver == DriverDLMS || m.Driver == DriverMBus { // dlms, mbus check their own (dlms.go, mbus.go)
			continue
		}
		key := func(k string) string { return fmt.Sprintf("meter[%d].%s", i, k) }
		for _, f := range []struct {
			k   string
			set bool
		}{{"port", m.Port != ""}, {"tcp", m.TCP != ""}, {"baud", m.Baud != 0}, {"parity", m.Parity != ""}, {"unit", m.Unit != 0}} {
			if f.set {
				add(key(f.k), []string{key("driver")}, "applies to driver \"modbus\" only")
			}
		}
	}
	return ps
}
