package mdns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
)

// The multicast test runs in a network namespace of its own with two
// veth pairs: hanA (the gateway's HAN interface) – hanB (a display) and
// wanA (the gateway's WAN interface) – wanB (the internet side). The
// outer test creates it (root and iproute2 needed, else it skips) and
// re-runs this test binary inside it.
const netnsEnv = "SMGW_MDNS_NETNS"

func TestMulticastOnlyOnHAN(t *testing.T) {
	if os.Getenv(netnsEnv) != "" {
		multicastInNetns(t)
		return
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and iproute2 to make a network namespace")
	}
	ns := "smgw-mdns-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	run := func(args ...string) error {
		out, err := exec.Command(ipBin, args...).CombinedOutput()
		if err != nil {
			t.Logf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return err
	}
	if run("netns", "add", ns) != nil {
		t.Skip("cannot create a network namespace here")
	}
	t.Cleanup(func() { run("netns", "del", ns) })
	in := func(args ...string) {
		t.Helper()
		if run(append([]string{"netns", "exec", ns, ipBin}, args...)...) != nil {
			t.Fatal("setting up the namespace failed")
		}
	}
	in("link", "set", "lo", "up")
	for _, p := range []struct{ a, b, na, nb string }{{"hanA", "hanB", "10.77.0.1/24", "10.77.0.2/24"}, {"wanA", "wanB", "10.88.0.1/24", "10.88.0.2/24"}} {
		in("link", "add", p.a, "type", "veth", "peer", "name", p.b)
		in("addr", "add", p.na, "dev", p.a)
		in("addr", "add", p.nb, "dev", p.b)
		in("link", "set", p.a, "up")
		in("link", "set", p.b, "up")
	}
	// Both ends of each pair are in this one namespace: let packets from
	// a local source address in (the kernel drops them otherwise).
	for _, k := range []string{"all", "default", "hanA", "wanA"} {
		if run("netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.conf."+k+".accept_local=1", "net.ipv4.conf."+k+".rp_filter=0") != nil {
			t.Fatal("sysctl in the namespace failed")
		}
	}
	cmd := exec.Command(ipBin, "netns", "exec", ns, os.Args[0], "-test.run=^TestMulticastOnlyOnHAN$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the test in the namespace failed: %v", err)
	}
}

func multicastInNetns(t *testing.T) {
	r, err := New(&Options{Interface: "hanA", WANInterfaces: []string{"wanA"}, Zone: Zone{
		Host:     "smgw-test",
		Services: []Service{SmartEnergy("smgw test", 8443, "/sep2/dcap", true, "")},
	}, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(&Options{Interface: "wanA", WANInterfaces: []string{"wanA"}}); err == nil {
		t.Error("a responder on the WAN interface was made")
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
	// Something on the WAN side joins the group there, so the kernel
	// delivers the WAN's mDNS traffic to every group socket, ours too.
	wanIf, _ := net.InterfaceByName("wanA")
	wanListener, err := net.ListenMulticastUDP("udp4", wanIf, group)
	if err != nil {
		t.Fatal(err)
	}
	defer wanListener.Close()

	ask := func(ifname, src string, port int) (dnsmessage.Message, bool) {
		t.Helper()
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src), Port: port})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pc := ipv4.NewPacketConn(c)
		pc.SetMulticastInterface(ifi)
		pc.SetMulticastLoopback(false)
		msg := query(t, 7, q("_smartenergy._tcp.local.", dnsmessage.TypePTR))
		buf := make([]byte, 9000)
		for range 3 { // multicast may be dropped while the links settle
			if _, err := c.WriteTo(msg, group); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					break
				}
				var m dnsmessage.Message
				if m.Unpack(buf[:n]) == nil && m.Response {
					return m, true
				}
			}
		}
		return dnsmessage.Message{}, false
	}
	m, ok := ask("hanB", "10.77.0.2", 0)
	if !ok {
		t.Fatal("no answer on the HAN")
	}
	var types []string
	for _, rr := range append(m.Answers, m.Additionals...) {
		types = append(types, rr.Header.Type.String())
	}
	if got := strings.Join(types, " "); got != "TypePTR TypeSRV TypeTXT TypeA" {
		t.Errorf("HAN answer records %s", got)
	}
	for _, rr := range m.Additionals {
		if a, ok := rr.Body.(*dnsmessage.AResource); ok && netip.AddrFrom4(a.A) != netip.MustParseAddr("10.77.0.1") {
			t.Errorf("A record %v, want the HAN address 10.77.0.1 only", netip.AddrFrom4(a.A))
		}
	}
	if _, ok := ask("wanB", "10.88.0.2", 0); ok {
		t.Error("a query from the WAN was answered")
	}
}
