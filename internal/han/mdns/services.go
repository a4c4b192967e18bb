package mdns

import "strconv"

// SmartEnergyType is IEEE 2030.5's DNS-SD service type.
const SmartEnergyType = "_smartenergy._tcp"

// SmartEnergySubtypes are the 2030.5 function set subtypes the gateway's
// subset serves (DeviceCapability, Time, Metering, Pricing, Messaging,
// DRLC, Response).
var SmartEnergySubtypes = []string{"dcap", "tm", "upt", "tp", "msg", "drlc", "rsps"}

// SmartEnergy is the IEEE 2030.5 server's service: TXT txtvers=1,
// dcap=<path of DeviceCapability>, https=<port> when served over TLS
// (a plain-HTTP server is reached through the SRV port), and
// level=<security level> when level is not "".
func SmartEnergy(instance string, port uint16, dcap string, tls bool, level string) Service {
	txt := []string{"txtvers=1", "dcap=" + dcap}
	if tls {
		txt = append(txt, "https="+strconv.Itoa(int(port)))
	}
	if level != "" {
		txt = append(txt, "level="+level)
	}
	return Service{Instance: instance, Type: SmartEnergyType, Subtypes: SmartEnergySubtypes, Port: port, TXT: txt}
}

// Page is the in-home display page's service: _https._tcp (or
// _http._tcp without TLS) with path=/.
func Page(instance string, port uint16, tls bool) Service {
	t := "_http._tcp"
	if tls {
		t = "_https._tcp"
	}
	return Service{Instance: instance, Type: t, Port: port, TXT: []string{"path=/"}}
}
