package mdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/smgw/smgw/internal/testutil"
)

func testZone() Zone {
	return Zone{
		Host:  "smgw-gw-0001",
		Addrs: []netip.Addr{netip.MustParseAddr("192.168.7.1"), netip.MustParseAddr("fd00::1")},
		Services: []Service{
			SmartEnergy("smgw gw-0001", 8443, "/sep2/dcap", true, "-S1"),
			Page("smgw gw-0001 display", 8443, true),
		},
	}
}

func query(t testing.TB, id uint16, qs ...dnsmessage.Question) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id})
	b.StartQuestions()
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func q(name string, typ dnsmessage.Type) dnsmessage.Question {
	return dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}
}

func parse(t *testing.T, b []byte) dnsmessage.Message {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestQueryOverUDP queries a responder on 127.0.0.1 (unicast: multicast on
// lo is not generally available) as a DNS-SD browser does.
func TestQueryOverUDP(t *testing.T) {
	testutil.CheckGoroutines(t)
	r, err := New(&Options{Listen: "127.0.0.1:0", Zone: testZone()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	c, err := net.DialUDP("udp4", nil, r.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(query(t, 0x4242, q("_smartenergy._tcp.local.", dnsmessage.TypePTR))); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 9000)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, buf[:n])
	if !m.Response || !m.Authoritative || m.ID != 0x4242 || len(m.Questions) != 1 {
		t.Errorf("header %+v, %d questions (legacy unicast echoes id and question)", m.Header, len(m.Questions))
	}
	got := map[dnsmessage.Type][]dnsmessage.Resource{}
	for _, rr := range append(m.Answers, m.Additionals...) {
		got[rr.Header.Type] = append(got[rr.Header.Type], rr)
		if rr.Header.TTL > 10 || rr.Header.Class != dnsmessage.ClassINET {
			t.Errorf("%v: TTL %d class %v; legacy unicast wants ≤ 10 s, no cache flush", rr.Header.Name, rr.Header.TTL, rr.Header.Class)
		}
	}
	inst := `smgw gw-0001._smartenergy._tcp.local.`
	if len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.PTRResource).PTR.String() != inst {
		t.Fatalf("answers %v", m.Answers)
	}
	if srv := got[dnsmessage.TypeSRV]; len(srv) != 1 || srv[0].Body.(*dnsmessage.SRVResource).Port != 8443 || srv[0].Body.(*dnsmessage.SRVResource).Target.String() != "smgw-gw-0001.local." {
		t.Errorf("SRV %v", srv)
	}
	if txt := got[dnsmessage.TypeTXT]; len(txt) != 1 || !slices.Equal(txt[0].Body.(*dnsmessage.TXTResource).TXT, []string{"txtvers=1", "dcap=/sep2/dcap", "https=8443", "level=-S1"}) {
		t.Errorf("TXT %v", txt)
	}
	if a := got[dnsmessage.TypeA]; len(a) != 1 || a[0].Body.(*dnsmessage.AResource).A != [4]byte{192, 168, 7, 1} {
		t.Errorf("A %v", a)
	}
	if a := got[dnsmessage.TypeAAAA]; len(a) != 1 {
		t.Errorf("AAAA %v", a)
	}
}

func TestAnswer(t *testing.T) {
	z := testZone()
	for _, c := range []struct {
		q     dnsmessage.Question
		types []dnsmessage.Type
	}{
		{q("_upt._sub._smartenergy._tcp.local.", dnsmessage.TypePTR), []dnsmessage.Type{dnsmessage.TypePTR}},
		{q("_https._tcp.local.", dnsmessage.TypePTR), []dnsmessage.Type{dnsmessage.TypePTR}},
		{q("_services._dns-sd._udp.local.", dnsmessage.TypePTR), []dnsmessage.Type{dnsmessage.TypePTR, dnsmessage.TypePTR}},
		{q("SMGW-GW-0001.local.", dnsmessage.TypeA), []dnsmessage.Type{dnsmessage.TypeA}},
		{q("smgw-gw-0001.local.", dnsmessage.TypeALL), []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}},
		{q(`smgw gw-0001._smartenergy._tcp.local.`, dnsmessage.TypeSRV), []dnsmessage.Type{dnsmessage.TypeSRV}},
	} {
		resp, _, ok := z.Answer(query(t, 0, c.q), false)
		if !ok {
			t.Errorf("%v: no answer", c.q)
			continue
		}
		m := parse(t, resp)
		var types []dnsmessage.Type
		for _, a := range m.Answers {
			types = append(types, a.Header.Type)
			if a.Header.TTL != 120 {
				t.Errorf("%v: TTL %d", c.q.Name, a.Header.TTL)
			}
		}
		if !slices.Equal(types, c.types) || m.ID != 0 || len(m.Questions) != 0 {
			t.Errorf("%v: answers %v id %d questions %d", c.q.Name, types, m.ID, len(m.Questions))
		}
	}
	for _, qq := range []dnsmessage.Question{q("_other._tcp.local.", dnsmessage.TypePTR), q("smgw-gw-0001.local.", dnsmessage.TypeMX)} {
		if _, _, ok := z.Answer(query(t, 0, qq), false); ok {
			t.Errorf("%v answered", qq)
		}
	}
	if _, _, ok := z.Answer([]byte{1, 2, 3}, false); ok {
		t.Error("garbage answered")
	}
	qu := q("_smartenergy._tcp.local.", dnsmessage.TypePTR)
	qu.Class |= 1 << 15
	if _, unicast, ok := z.Answer(query(t, 0, qu), false); !ok || !unicast {
		t.Error("QU question: unicast not reported")
	}
	for _, goodbye := range []bool{false, true} {
		b, err := z.Announcement(goodbye)
		if err != nil {
			t.Fatal(err)
		}
		m := parse(t, b)
		if len(m.Answers) != 3+7+3+2 { // PTR SRV TXT + 7 subtypes, PTR SRV TXT, A AAAA
			t.Errorf("announcement: %d records", len(m.Answers))
		}
		for _, a := range m.Answers {
			if (a.Header.TTL == 0) != goodbye {
				t.Errorf("goodbye=%v: %v TTL %d", goodbye, a.Header.Name, a.Header.TTL)
			}
		}
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(&Options{Interface: "eth0", WANInterfaces: []string{"wwan0", "eth0"}, Zone: testZone()}); !errors.Is(err, ErrWAN) {
		t.Errorf("WAN interface: %v", err)
	}
	if _, err := New(&Options{Interface: "no-such-if0", Zone: testZone()}); !errors.Is(err, ErrInterface) {
		t.Errorf("missing interface: %v", err)
	}
	if _, err := New(&Options{}); !errors.Is(err, ErrInterface) {
		t.Errorf("no interface: %v", err)
	}
	bad := testZone()
	bad.Host = "a.b"
	if _, err := New(&Options{Listen: "127.0.0.1:0", Zone: bad}); !errors.Is(err, ErrZone) {
		t.Errorf("bad host: %v", err)
	}
	bad = testZone()
	bad.Services[0].TXT = []string{strings.Repeat("x", 256)}
	if err := bad.Check(); !errors.Is(err, ErrZone) {
		t.Errorf("long TXT: %v", err)
	}
}

func FuzzAnswer(f *testing.F) {
	z := testZone()
	f.Add(query(f, 1, q("_smartenergy._tcp.local.", dnsmessage.TypePTR)), true)
	f.Add(query(f, 2, q("smgw-gw-0001.local.", dnsmessage.TypeALL), q("_https._tcp.local.", dnsmessage.TypePTR)), false)
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1}, false)
	f.Fuzz(func(t *testing.T, b []byte, legacy bool) {
		resp, _, ok := z.Answer(b, legacy)
		if !ok {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil || !m.Response || len(m.Answers) == 0 {
			t.Fatalf("answer does not parse: %v", err)
		}
	})
}

func BenchmarkAnswer(b *testing.B) {
	z := testZone()
	msg := query(b, 0, q("_smartenergy._tcp.local.", dnsmessage.TypePTR))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := z.Answer(msg, false); !ok {
			b.Fatal("no answer")
		}
	}
}
