package mqtt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/testutil"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
	"github.com/smgw/smgw/internal/wan/payload"
)

// openStore opens a store in a temporary directory queuing every reading
// on the "mqtt" channel.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{
		Keys: keys.NewDev(filepath.Join(dir, "key"), nil), OutboxChannels: []string{"mqtt"}, NoSync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// appendReadings stores n register readings of meters meters, continuing
// each meter's series from index from.
func appendReadings(t testing.TB, st *store.Store, meters, from, n int) {
	t.Helper()
	rs := make([]meter.Reading, 0, n)
	for i := from; i < from+n; i++ {
		m := i % meters
		step := i / meters
		rs = append(rs, meter.Reading{
			Meter: meter.MeterID(fmt.Sprintf("m-%d", m)), OBIS: meter.MustOBIS("1-0:1.8.0*255"),
			Time: t0.Add(time.Duration(step) * time.Minute), Value: meter.V(int64(1000+step), 0),
			Unit: meter.UnitWattHour, Source: meter.SourceSim,
		})
	}
	if err := st.Append(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
}

func testKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startUplink runs an uplink until the test ends.
func startUplink(t testing.TB, st Outbox, o *Options) *Uplink {
	t.Helper()
	u, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return u
}

// received decodes and verifies the batches among msgs and returns the
// readings by sequence number, counting duplicates.
func received(t testing.TB, msgs []mqtttest.Message, pub *ecdsa.PublicKey) (map[uint64]meter.Reading, int) {
	t.Helper()
	got := map[uint64]meter.Reading{}
	dups := 0
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/readings") {
			continue
		}
		b, _, err := payload.Verify(m.Payload, pub)
		if err != nil {
			t.Fatalf("a message on %s does not verify: %v", m.Topic, err)
		}
		for i, r := range b.Readings {
			seq := b.First + uint64(i)
			if old, ok := got[seq]; ok {
				dups++
				if old != r {
					t.Fatalf("seq %d arrived twice with different readings: %v, %v", seq, old, r)
				}
			}
			got[seq] = r
		}
	}
	return got, dups
}

func TestUplinkPublishesTLS(t *testing.T) {
	testutil.CheckGoroutines(t)
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-1", "smgw/+/readings", "smgw/+/status")
	st := openStore(t)
	key := testKey(t)
	appendReadings(t, st, 3, 0, 250)
	u := startUplink(t, st, &Options{
		URL: br.TLSURL(), GatewayID: "gw-1", TLS: br.ClientTLS(key, "gw-1"), Signer: key,
		BatchSize: 100, MaxDelay: 200 * time.Millisecond, Version: "test",
	})
	appendReadings(t, st, 3, 250, 50)
	if !hes.Wait(20*time.Second, func(ms []mqtttest.Message) bool {
		got, _ := received(t, ms, &key.PublicKey)
		return len(got) == 300
	}) {
		t.Fatalf("the HES did not get 300 readings; broker log:\n%s", br.Log())
	}
	got, _ := received(t, hes.Messages(), &key.PublicKey)
	for seq := uint64(1); seq <= 300; seq++ {
		r, ok := got[seq]
		i := int(seq - 1)
		want := meter.MeterID(fmt.Sprintf("m-%d", i%3))
		if !ok || r.Meter != want || r.Value.M != int64(1000+i/3) {
			t.Fatalf("seq %d: got %v (%v), want meter %s value %d", seq, r, ok, want, 1000+i/3)
		}
	}
	// Acknowledged in the store.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := u.Status()
		if s.Pending == 0 && s.Connected && s.BytesToday > 0 && !s.LastPuback.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after the drain: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var online bool
	for _, m := range hes.Messages() {
		if m.Topic == "smgw/gw-1/status" && strings.Contains(string(m.Payload), `"state":"online"`) {
			online = true
		}
	}
	if !online {
		t.Error("no online status message")
	}
}

func TestUplinkRefusedWithoutClientCertificate(t *testing.T) {
	testutil.CheckGoroutines(t)
	br := mqtttest.Start(t)
	st := openStore(t)
	key := testKey(t)
	appendReadings(t, st, 1, 0, 10)
	tlsc := br.ClientTLS(key, "gw-1")
	tlsc.Certificates = nil
	u := startUplink(t, st, &Options{URL: br.TLSURL(), GatewayID: "gw-1", TLS: tlsc, Signer: key,
		BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	time.Sleep(time.Second)
	if s := u.Status(); s.Connected || s.Pending != 10 || s.LastError == "" {
		t.Errorf("connected without a client certificate, or lost the queue: %+v", s)
	}
}

// TestUplinkBrokerOutage stops the broker for outage while readings keep
// arriving, then starts it again: every reading arrives, in order per
// meter, none lost.
func TestUplinkBrokerOutage(t *testing.T) {
	testOutage(t, *outage)
}

var outage = flag.Duration("outage", 3*time.Second, "how long TestUplinkBrokerOutage stops the broker")

func testOutage(t *testing.T, outage time.Duration) {
	testutil.CheckGoroutines(t)
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-outage", "smgw/+/readings")
	st := openStore(t)
	key := testKey(t)
	u := startUplink(t, st, &Options{
		URL: br.PlainURL(), GatewayID: "gw-o", Signer: key, BatchSize: 50, MaxDelay: 50 * time.Millisecond,
		BackoffMin: 100 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
	})
	const meters = 4
	n := 0
	produce := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			appendReadings(t, st, meters, n, 20)
			n += 20
			time.Sleep(20 * time.Millisecond)
		}
	}
	produce(time.Second)
	br.Stop()
	produce(outage)
	if s := u.Status(); s.Connected || s.Pending == 0 {
		t.Errorf("during the outage: %+v", s)
	}
	br.Start()
	produce(time.Second)
	if !hes.Wait(30*time.Second, func(ms []mqtttest.Message) bool {
		got, _ := received(t, ms, &key.PublicKey)
		return len(got) == n
	}) {
		got, _ := received(t, hes.Messages(), &key.PublicKey)
		t.Fatalf("%d of %d readings arrived; status %+v\nbroker log:\n%s", len(got), n, u.Status(), br.Log())
	}
	checkOrder(t, hes.Messages(), &key.PublicKey, n, meters)
}

// checkOrder checks that every one of n readings arrived and that each
// meter's readings arrived in order (after dropping duplicates by
// sequence, as the HES does).
func checkOrder(t *testing.T, msgs []mqtttest.Message, pub *ecdsa.PublicKey, n, meters int) {
	t.Helper()
	seen := map[uint64]bool{}
	last := map[meter.MeterID]time.Time{}
	dups := 0
	for _, m := range msgs {
		b, _, err := payload.Verify(m.Payload, pub)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range b.Readings {
			seq := b.First + uint64(i)
			if seen[seq] {
				dups++
				continue
			}
			seen[seq] = true
			if r.Time.Before(last[r.Meter]) {
				t.Errorf("meter %s: reading of %s after one of %s", r.Meter, r.Time, last[r.Meter])
			}
			last[r.Meter] = r.Time
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct readings, want %d", len(seen), n)
	}
	t.Logf("%d readings, %d messages, %d duplicates", n, len(msgs), dups)
}

// memOutbox is an outbox in memory that can be made to fail.
type memOutbox struct {
	mu    sync.Mutex
	items []store.OutboxItem
	acked uint64
	acks  int
}

func (m *memOutbox) Outbox(_ string, after uint64, max int) ([]store.OutboxItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.OutboxItem
	for _, it := range m.items {
		if it.Seq > after && it.Seq > m.acked && len(out) < max {
			out = append(out, it)
		}
	}
	return out, nil
}

func (m *memOutbox) Ack(_ context.Context, _ string, through uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if through > uint64(len(m.items)) {
		return errors.New("ack beyond the queue")
	}
	m.acked = max(m.acked, through)
	m.acks++
	return nil
}

func (m *memOutbox) OutboxState(string) (uint64, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return uint64(len(m.items)) + 1, m.acked
}

func (m *memOutbox) add(items ...[]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range items {
		m.items = append(m.items, store.OutboxItem{Seq: uint64(len(m.items)) + 1, Payload: p})
	}
}

// TestUplinkSkipsForeignItems: an outbox item that is not a reading is
// logged and skipped; the readings around it are sent.
func TestUplinkSkipsForeignItems(t *testing.T) {
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-foreign", "smgw/+/readings")
	ob := &memOutbox{}
	r := meter.Reading{Meter: "m", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: t0, Value: meter.V(1, 0), Unit: meter.UnitWattHour}
	ob.add(store.EncodeReading(nil, r), []byte("not a reading"), store.EncodeReading(nil, r))
	key := testKey(t)
	startUplink(t, ob, &Options{URL: br.PlainURL(), GatewayID: "gw-f", Signer: key, MaxDelay: 10 * time.Millisecond})
	if !hes.Wait(10*time.Second, func(ms []mqtttest.Message) bool { return len(ms) >= 2 }) {
		t.Fatalf("got %d messages", len(hes.Messages()))
	}
	got, _ := received(t, hes.Messages(), &key.PublicKey)
	if len(got) != 2 || got[1] != r || got[3] != r {
		t.Errorf("got %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, acked := ob.OutboxState(""); acked == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not acknowledged through 3")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRefuses(t *testing.T) {
	key := testKey(t)
	for _, o := range []Options{
		{URL: "mqtt://h", Signer: key},
		{URL: "http://h", GatewayID: "g", Signer: key},
		{URL: "mqtt://", GatewayID: "g", Signer: key},
		{URL: "mqtt://h", GatewayID: "g/x", Signer: key},
		{URL: "mqtt://h", GatewayID: "g"},
		{URL: "mqtt://h", GatewayID: "g", Signer: key, Format: "xml"},
		{URL: "mqtt://h", GatewayID: "g", Signer: key, QoS: 3},
		{URL: "mqtt://h", GatewayID: "g", Signer: key, TopicPrefix: "a/#"},
	} {
		if _, err := New(&memOutbox{}, &o); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", o, err)
		}
	}
	if _, err := New(&memOutbox{}, &Options{URL: "mqtt://h", GatewayID: "g", Format: payload.JSON}); err != nil {
		t.Errorf("json without a signer: %v", err)
	}
}

// TestUplinkCommands: a request on the command topic (MQTT v5
// ResponseTopic and CorrelationData, sent with mosquitto_pub) goes to the
// handler; its answer comes back on the response topic with the request's
// correlation data. Without a handler the answer is an error.
func TestUplinkCommands(t *testing.T) {
	testutil.CheckGoroutines(t)
	br := mqtttest.Start(t)
	st := openStore(t)
	key := testKey(t)
	got := make(chan string, 1)
	u := startUplink(t, st, &Options{URL: br.PlainURL(), GatewayID: "gw-c", Signer: key,
		Commands: func(_ context.Context, p []byte) []byte {
			got <- string(p)
			return []byte(`{"ok":true,"echo":"` + string(p) + `"}`)
		}})
	u2 := startUplink(t, openStore(t), &Options{URL: br.PlainURL(), GatewayID: "gw-nocmd", Signer: key})
	_, _, cmdTopic := u.Topics()
	_, _, cmdTopic2 := u2.Topics()
	deadline := time.Now().Add(10 * time.Second)
	for !u.Status().Connected || !u2.Status().Connected {
		if time.Now().After(deadline) {
			t.Fatal("not connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the subscriptions follow the connection
	hes := br.NewHES("hes-cmd", "hes/responses/#")
	host, port, _ := strings.Cut(br.PlainAddr, ":")
	pub := func(topic, resp, corr, msg string) {
		out, err := exec.Command("mosquitto_pub", "-V", "mqttv5", "-h", host, "-p", port, "-q", "1", "-t", topic,
			"-D", "publish", "response-topic", resp, "-D", "publish", "correlation-data", corr, "-m", msg).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	pub(cmdTopic, "hes/responses/1", "corr-1", "status please")
	select {
	case p := <-got:
		if p != "status please" {
			t.Errorf("the handler got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not called")
	}
	pub(cmdTopic2, "hes/responses/2", "corr-2", "anything")
	if !hes.Wait(10*time.Second, func(ms []mqtttest.Message) bool { return len(ms) >= 2 }) {
		t.Fatalf("responses: %+v", hes.Messages())
	}
	for _, m := range hes.Messages() {
		switch m.Topic {
		case "hes/responses/1":
			if string(m.Payload) != `{"ok":true,"echo":"status please"}` || m.Correlation != "corr-1" {
				t.Errorf("response 1: %q, correlation %q", m.Payload, m.Correlation)
			}
		case "hes/responses/2":
			if !strings.Contains(string(m.Payload), "commands are disabled") || m.Correlation != "corr-2" {
				t.Errorf("response 2: %q, correlation %q", m.Payload, m.Correlation)
			}
		default:
			t.Errorf("unexpected message on %s", m.Topic)
		}
	}
}

// fakeLink is a data budget that can be closed.
type fakeLink struct {
	allow atomic.Bool
	bulk  atomic.Bool
	sent  atomic.Int64
}

func (l *fakeLink) Allow(bulk bool, n int) bool {
	l.bulk.Store(bulk)
	return l.allow.Load()
}

func (l *fakeLink) Sent(n int) { l.sent.Add(int64(n)) }

// TestUplinkLinkBudget: while the link refuses a batch nothing is
// published; once it allows, the batch goes and its bytes are reported.
func TestUplinkLinkBudget(t *testing.T) {
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-budget", "smgw/+/readings")
	st := openStore(t)
	appendReadings(t, st, 2, 0, 10) // readings of 2026-11-22: a backlog
	link := &fakeLink{}
	key := testKey(t)
	skew := time.Until(t0.Add(time.Hour)) // the clock: an hour after the readings
	u := startUplink(t, st, &Options{URL: br.PlainURL(), GatewayID: "gw-b", Signer: key, MaxDelay: 10 * time.Millisecond,
		Link: link, Now: func() time.Time { return time.Now().Add(skew) }})
	time.Sleep(500 * time.Millisecond)
	if n := len(hes.Messages()); n != 0 || !link.bulk.Load() {
		t.Fatalf("%d messages published against the budget (bulk %v)", n, link.bulk.Load())
	}
	link.allow.Store(true)
	if !hes.Wait(10*time.Second, func(ms []mqtttest.Message) bool { return len(ms) == 1 }) {
		t.Fatal("not published once allowed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for link.sent.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := u.Status(); link.sent.Load() != int64(s.BytesTotal) || s.BytesToday != s.BytesTotal || s.BytesTotal < uint64(len(hes.Messages()[0].Payload)) {
		t.Errorf("sent %d, status %+v, payload %d bytes", link.sent.Load(), s, len(hes.Messages()[0].Payload))
	}
}
