// Package mdns advertises the gateway's HAN services by multicast DNS
// service discovery (RFC 6762, RFC 6763) on the HAN interface only: the
// IEEE 2030.5 server as _smartenergy._tcp (with the standard's function
// set subtypes and TXT keys txtvers, dcap, https and level), and the
// in-home display page as _https._tcp or _http._tcp.
//
// The responder answers queries that arrive on the HAN interface (the
// interface index of every packet is checked, so a query reaching the
// socket from the WAN is dropped), multicast to 224.0.0.251:5353 or, for
// legacy unicast queries (from a port other than 5353) and questions
// with the unicast-response bit, to the sender. It announces the records
// on start and says goodbye (TTL 0) on Close. Answer is the pure part:
// a query message in, the response message out.
package mdns
