package mdns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// Service is one advertised DNS-SD service instance.
type Service struct {
	// Instance is the instance name (a UTF-8 label, at most 63 bytes),
	// e.g. "smgw gw-0001".
	Instance string
	// Type is the service type, e.g. "_smartenergy._tcp".
	Type string
	// Subtypes are advertised as _<sub>._sub.<Type> (e.g. "upt", "tp").
	Subtypes []string
	// Port is the TCP port.
	Port uint16
	// TXT are the key=value strings of the TXT record (each at most 255 bytes).
	TXT []string
}

// Zone is what the responder answers for.
type Zone struct {
	// Host is the host name without ".local", e.g. "smgw-gw-0001".
	Host string
	// Addrs are the host's addresses (A and AAAA records).
	Addrs []netip.Addr
	// Services are the advertised instances.
	Services []Service
	// TTL is the records' time to live in seconds; 0 is 120 (RFC 6762
	// §10 recommends 120 s for records with a host name, 75 min for
	// others; one value keeps it simple).
	TTL uint32
}

// ErrZone is returned (wrapped) by Check for names that cannot be encoded.
var ErrZone = errors.New("mdns: bad zone")

// Check validates the zone's names and TXT strings.
func (z *Zone) Check() error {
	if _, err := dnsmessage.NewName(z.host()); err != nil || z.Host == "" || strings.Contains(z.Host, ".") || len(z.Host) > 63 {
		return fmt.Errorf("%w: host %q: want one label of 1…63 bytes", ErrZone, z.Host)
	}
	for _, s := range z.Services {
		if s.Instance == "" || len(s.Instance) > 63 || strings.ContainsAny(s.Instance, `.\`) {
			return fmt.Errorf("%w: instance %q: want 1…63 bytes without . or \\", ErrZone, s.Instance)
		}
		if !strings.HasPrefix(s.Type, "_") || !(strings.HasSuffix(s.Type, "._tcp") || strings.HasSuffix(s.Type, "._udp")) {
			return fmt.Errorf("%w: service type %q: want _name._tcp or _name._udp", ErrZone, s.Type)
		}
		if _, err := dnsmessage.NewName(instanceName(s)); err != nil {
			return fmt.Errorf("%w: instance %q: %v", ErrZone, s.Instance, err)
		}
		for _, t := range s.TXT {
			if len(t) == 0 || len(t) > 255 {
				return fmt.Errorf("%w: TXT string %q: want 1…255 bytes", ErrZone, t)
			}
		}
		for _, sub := range s.Subtypes {
			if sub == "" || len(sub) > 62 || strings.Contains(sub, ".") {
				return fmt.Errorf("%w: subtype %q", ErrZone, sub)
			}
		}
	}
	return nil
}

func (z *Zone) host() string { return z.Host + ".local." }

func (z *Zone) ttl() uint32 {
	if z.TTL == 0 {
		return 120
	}
	return z.TTL
}

// instanceName is the instance's full name. The instance label may hold
// spaces and any UTF-8 but no dot (the encoder has no escapes).
func instanceName(s Service) string {
	return s.Instance + "." + s.Type + ".local."
}

func mustName(s string) dnsmessage.Name {
	n, err := dnsmessage.NewName(s)
	if err != nil {
		return dnsmessage.Name{} // Check refused it before
	}
	return n
}

func eqName(a dnsmessage.Name, b string) bool { return strings.EqualFold(a.String(), b) }

// records returns the zone's records that answer question q (name and
// type; class IN or ANY).
func (z *Zone) records(q dnsmessage.Question, ttl uint32) []dnsmessage.Resource {
	var out []dnsmessage.Resource
	hdr := func(name string, t dnsmessage.Type, flush bool) dnsmessage.ResourceHeader {
		class := dnsmessage.ClassINET
		if flush {
			class |= 1 << 15 // cache-flush: unique records (RFC 6762 §10.2)
		}
		return dnsmessage.ResourceHeader{Name: mustName(name), Type: t, Class: class, TTL: ttl}
	}
	want := func(t dnsmessage.Type) bool { return q.Type == t || q.Type == dnsmessage.TypeALL }
	if eqName(q.Name, z.host()) {
		for _, a := range z.Addrs {
			if a.Is4() && want(dnsmessage.TypeA) {
				out = append(out, dnsmessage.Resource{Header: hdr(z.host(), dnsmessage.TypeA, true), Body: &dnsmessage.AResource{A: a.As4()}})
			}
			if a.Is6() && !a.Is4In6() && want(dnsmessage.TypeAAAA) {
				out = append(out, dnsmessage.Resource{Header: hdr(z.host(), dnsmessage.TypeAAAA, true), Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
			}
		}
	}
	if eqName(q.Name, "_services._dns-sd._udp.local.") && want(dnsmessage.TypePTR) {
		seen := map[string]bool{}
		for _, s := range z.Services {
			if !seen[s.Type] {
				seen[s.Type] = true
				out = append(out, dnsmessage.Resource{Header: hdr("_services._dns-sd._udp.local.", dnsmessage.TypePTR, false), Body: &dnsmessage.PTRResource{PTR: mustName(s.Type + ".local.")}})
			}
		}
	}
	for _, s := range z.Services {
		inst := instanceName(s)
		ptr := func(name string) {
			if eqName(q.Name, name) && want(dnsmessage.TypePTR) {
				out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypePTR, false), Body: &dnsmessage.PTRResource{PTR: mustName(inst)}})
			}
		}
		ptr(s.Type + ".local.")
		for _, sub := range s.Subtypes {
			ptr("_" + sub + "._sub." + s.Type + ".local.")
		}
		if eqName(q.Name, inst) {
			if want(dnsmessage.TypeSRV) {
				out = append(out, dnsmessage.Resource{Header: hdr(inst, dnsmessage.TypeSRV, true), Body: &dnsmessage.SRVResource{Port: s.Port, Target: mustName(z.host())}})
			}
			if want(dnsmessage.TypeTXT) {
				txt := s.TXT
				if len(txt) == 0 {
					txt = []string{""} // RFC 6763 §6.1: an empty TXT record holds one empty string
				}
				out = append(out, dnsmessage.Resource{Header: hdr(inst, dnsmessage.TypeTXT, true), Body: &dnsmessage.TXTResource{TXT: txt}})
			}
		}
	}
	return out
}

// additional returns the records RFC 6763 §12 recommends alongside answers.
func (z *Zone) additional(answers []dnsmessage.Resource, ttl uint32) []dnsmessage.Resource {
	var out []dnsmessage.Resource
	has := func(name dnsmessage.Name, t dnsmessage.Type) bool {
		for _, r := range append(answers, out...) {
			if r.Header.Type == t && strings.EqualFold(r.Header.Name.String(), name.String()) {
				return true
			}
		}
		return false
	}
	add := func(name dnsmessage.Name, t dnsmessage.Type) {
		for _, r := range z.records(dnsmessage.Question{Name: name, Type: t, Class: dnsmessage.ClassINET}, ttl) {
			if !has(r.Header.Name, r.Header.Type) || t == dnsmessage.TypeA || t == dnsmessage.TypeAAAA {
				out = append(out, r)
			}
		}
	}
	for _, a := range answers {
		switch b := a.Body.(type) {
		case *dnsmessage.PTRResource:
			if !has(b.PTR, dnsmessage.TypeSRV) {
				add(b.PTR, dnsmessage.TypeSRV)
			}
			if !has(b.PTR, dnsmessage.TypeTXT) {
				add(b.PTR, dnsmessage.TypeTXT)
			}
		}
	}
	host := mustName(z.host())
	for _, r := range append(answers, out...) {
		if r.Header.Type == dnsmessage.TypeSRV && !has(host, dnsmessage.TypeA) && !has(host, dnsmessage.TypeAAAA) {
			add(host, dnsmessage.TypeA)
			add(host, dnsmessage.TypeAAAA)
			break
		}
	}
	return out
}

// Answer parses a query and returns the response, or ok false when the
// message is not a query or nothing in it is ours. unicast reports that
// a question asked for a unicast response (the QU bit). legacy (a query
// from a port other than 5353) makes a response as RFC 6762 §6.7 asks:
// the query's id and questions echoed, TTLs at most 10 s, no cache-flush bits.
func (z *Zone) Answer(query []byte, legacy bool) (resp []byte, unicast, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response || h.OpCode != 0 {
		return nil, false, false
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) == 0 || len(qs) > 32 {
		return nil, false, false
	}
	ttl := z.ttl()
	if legacy {
		ttl = min(ttl, 10)
	}
	var answers []dnsmessage.Resource
	for _, q := range qs {
		if q.Class&(1<<15) != 0 {
			unicast = true
		}
		cls := q.Class &^ (1 << 15)
		if cls != dnsmessage.ClassINET && cls != dnsmessage.ClassANY {
			continue
		}
		answers = append(answers, z.records(q, ttl)...)
	}
	if len(answers) == 0 {
		return nil, false, false
	}
	extra := z.additional(answers, ttl)
	rh := dnsmessage.Header{Response: true, Authoritative: true}
	if legacy {
		rh.ID = h.ID
		clearFlush(answers)
		clearFlush(extra)
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if legacy {
		b.StartQuestions()
		for _, q := range qs {
			q.Class &^= 1 << 15
			if b.Question(q) != nil {
				return nil, false, false
			}
		}
	}
	if err := buildRRs(&b, answers, extra); err != nil {
		return nil, false, false
	}
	out, err := b.Finish()
	if err != nil {
		return nil, false, false
	}
	return out, unicast, true
}

func clearFlush(rs []dnsmessage.Resource) {
	for i := range rs {
		rs[i].Header.Class &^= 1 << 15
	}
}

// Announcement is an unsolicited response with every record (RFC 6762
// §8.3); goodbye sets TTL 0 (§10.1).
func (z *Zone) Announcement(goodbye bool) ([]byte, error) {
	ttl := z.ttl()
	if goodbye {
		ttl = 0
	}
	var answers []dnsmessage.Resource
	for _, s := range z.Services {
		for _, q := range []dnsmessage.Question{
			{Name: mustName(s.Type + ".local."), Type: dnsmessage.TypePTR},
			{Name: mustName(instanceName(s)), Type: dnsmessage.TypeSRV},
			{Name: mustName(instanceName(s)), Type: dnsmessage.TypeTXT},
		} {
			answers = append(answers, z.records(q, ttl)...)
		}
		for _, sub := range s.Subtypes {
			answers = append(answers, z.records(dnsmessage.Question{Name: mustName("_" + sub + "._sub." + s.Type + ".local."), Type: dnsmessage.TypePTR}, ttl)...)
		}
	}
	answers = append(answers, z.records(dnsmessage.Question{Name: mustName(z.host()), Type: dnsmessage.TypeALL}, ttl)...)
	b := dnsmessage.NewBuilder(make([]byte, 0, 1024), dnsmessage.Header{Response: true, Authoritative: true})
	b.EnableCompression()
	if err := buildRRs(&b, answers, nil); err != nil {
		return nil, fmt.Errorf("mdns: announcement: %w", err)
	}
	return b.Finish()
}

func buildRRs(b *dnsmessage.Builder, answers, extra []dnsmessage.Resource) error {
	if err := b.StartAnswers(); err != nil {
		return err
	}
	for _, r := range answers {
		if err := addRR(b, r); err != nil {
			return err
		}
	}
	if err := b.StartAdditionals(); err != nil {
		return err
	}
	for _, r := range extra {
		if err := addRR(b, r); err != nil {
			return err
		}
	}
	return nil
}

func addRR(b *dnsmessage.Builder, r dnsmessage.Resource) error {
	switch body := r.Body.(type) {
	case *dnsmessage.AResource:
		return b.AResource(r.Header, *body)
	case *dnsmessage.AAAAResource:
		return b.AAAAResource(r.Header, *body)
	case *dnsmessage.PTRResource:
		return b.PTRResource(r.Header, *body)
	case *dnsmessage.SRVResource:
		return b.SRVResource(r.Header, *body)
	case *dnsmessage.TXTResource:
		return b.TXTResource(r.Header, *body)
	}
	return fmt.Errorf("mdns: unexpected record type %v", r.Header.Type)
}
