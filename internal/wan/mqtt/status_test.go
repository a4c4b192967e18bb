package mqtt

import (
	"encoding/json"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

// proxy forwards TCP connections to a target until killed: killing it
// drops every connection without a word, as a lost LTE link or a crashed
// gateway would.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
}

// kill closes the listener and drops every connection (with a reset).
func (p *proxy) kill() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// statusOf decodes a status message.
func statusOf(t *testing.T, m mqtttest.Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.Payload, &v); err != nil {
		t.Fatalf("status message %q: %v", m.Payload, err)
	}
	return v
}

func lastState(t *testing.T, ms []mqtttest.Message, topic string) map[string]any {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Topic == topic {
			return statusOf(t, ms[i])
		}
	}
	return nil
}

// TestMQTTStatusRefreshAndWill: the retained online status is refreshed
// (a subscriber that comes later gets a current uptime and the backlog),
// a connection that dies without a DISCONNECT yields the offline will,
// and a reconnection publishes online again.
func TestMQTTStatusRefreshAndWill(t *testing.T) {
	testutil.CheckGoroutines(t)
	br := mqtttest.Start(t)
	px := newProxy(t, br.PlainAddr)
	st := openStore(t)
	appendReadings(t, st, 2, 0, 10)
	topic := "smgw/gw-st/status"
	u := startUplink(t, st, &Options{
		URL: "mqtt://" + px.addr, GatewayID: "gw-st", Signer: testKey(t), Version: "1.2.3",
		BatchSize: 5000, MaxDelay: time.Hour, // nothing is sent: the backlog stays
		StatusEvery: 300 * time.Millisecond, BackoffMin: 200 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
		LinkState: func() string { return "ethernet" },
	})
	deadline := time.Now().Add(10 * time.Second)
	for !u.Status().Connected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2300 * time.Millisecond) // uptime ≥ 2 s, several refreshes

	late := br.NewHES("hes-late", topic)
	if !late.Wait(10*time.Second, func(ms []mqtttest.Message) bool { return len(ms) > 0 }) {
		t.Fatal("the late subscriber got no status")
	}
	first := late.Messages()[0]
	s := statusOf(t, first)
	if !first.Retained || s["state"] != "online" || s["version"] != "1.2.3" || s["gateway"] != "gw-st" ||
		s["backlog"] != float64(10) || s["link"] != "ethernet" {
		t.Fatalf("retained status %s (retained %v)", first.Payload, first.Retained)
	}
	if up, _ := s["uptime_s"].(float64); up < 2 {
		t.Errorf("retained status has uptime %v s, want a current one (≥ 2 s): %s", s["uptime_s"], first.Payload)
	}
	// The refresh goes on.
	n := len(late.Messages())
	if !late.Wait(5*time.Second, func(ms []mqtttest.Message) bool { return len(ms) >= n+2 }) {
		t.Error("no refreshed status messages")
	}

	// The connection dies: the broker publishes the will.
	px.kill()
	if !late.Wait(15*time.Second, func(ms []mqtttest.Message) bool {
		s := lastState(t, ms, topic)
		return s != nil && s["state"] == "offline"
	}) {
		t.Fatalf("no offline will after the connection was killed; got %d messages\nbroker log:\n%s", len(late.Messages()), br.Log())
	}
	// Back: online again, at once.
	px.listen(px.addr)
	if !late.Wait(15*time.Second, func(ms []mqtttest.Message) bool {
		s := lastState(t, ms, topic)
		return s != nil && s["state"] == "online"
	}) {
		t.Fatalf("no online status after the reconnection\nbroker log:\n%s", br.Log())
	}
}
