// Package link knows which WAN uplink the gateway is on and what it may
// spend there. Ethernet is preferred when its interface is up with carrier
// and holds the default route; otherwise the LTE modem's interface is the
// fallback. The modem's registration, signal and operator come from its
// AT command port (hal/modem).
//
// Monitor implements the uplink's Link interface: Allow(bulk, n) refuses
// bulk uploads on LTE once the day's data budget is spent (non-bulk
// traffic — command responses, status, last will — always goes), and
// Sent(n) counts what went out, per local day, kept in the store so a
// restart does not reset the day's count. docs/link.md has the details.
package link
