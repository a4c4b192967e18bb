package mqtt

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/wan/payload"
)

// Errors of this package.
var (
	// ErrConfig is returned by New for options that cannot work (no
	// gateway id, a URL of another scheme, no signer for a signed format).
	// It is permanent: restarting does not help.
	ErrConfig = errors.New("mqtt: invalid options")
)

// Outbox is what the uplink needs of the store (*store.Store has it).
type Outbox interface {
	Outbox(channel string, after uint64, max int) ([]store.OutboxItem, error)
	Ack(ctx context.Context, channel string, through uint64) error
	OutboxState(channel string) (next, acked uint64)
}

// Link is the data budget of the active uplink (internal/wan/link). Before
// a batch is published the uplink asks Allow (bulk: the batch holds
// readings older than a minute, a backlog); after its PUBACK it reports
// the bytes of the PUBLISH packet with Sent.
type Link interface {
	Allow(bulk bool, n int) bool
	Sent(n int)
}

// Defaults of Options.
const (
	DefaultChannel       = "mqtt"
	DefaultTopicPrefix   = "smgw"
	DefaultBatchSize     = 1000
	DefaultMaxDelay      = 5 * time.Second
	DefaultAhead         = 4
	DefaultKeepAlive     = 90 * time.Second
	DefaultSessionExpiry = time.Hour
	DefaultBackoffMin    = time.Second
	DefaultBackoffMax    = 2 * time.Minute
	DefaultStatusEvery   = 15 * time.Minute
)

// Options configure an Uplink. Zero fields take the defaults above.
type Options struct {
	// URL is the broker: mqtt://host[:1883] or mqtts://host[:8883].
	URL string
	// GatewayID is the MQTT client id and the topics' second level.
	GatewayID string
	// TopicPrefix is the topics' first level (docs/mqtt.md); "smgw".
	TopicPrefix string
	// Channel is the store's outbox channel drained; "mqtt".
	Channel string
	// TLS configures mqtts:// (the CA to verify the broker by, the client
	// certificate). nil with mqtts:// verifies against the system roots
	// and sends no certificate.
	TLS *tls.Config
	// BatchSize is the most readings per message; 1000.
	BatchSize int
	// MaxDelay is the longest a reading waits for a batch to fill; 5 s.
	MaxDelay time.Duration
	// Ahead is how many messages are read from the outbox and encoded
	// ahead of the one waiting for its PUBACK; 4. Messages are published
	// one at a time, so that they reach the broker in sequence order.
	Ahead int
	// KeepAlive is the MQTT keep-alive; 90 s (see docs/mqtt.md on LTE).
	KeepAlive time.Duration
	// SessionExpiry is the MQTT v5 session expiry interval; 1 h.
	SessionExpiry time.Duration
	// ConnectTimeout bounds one connection attempt; 30 s.
	ConnectTimeout time.Duration
	// BackoffMin and BackoffMax bound the random wait before a reconnect;
	// it grows exponentially from BackoffMin to BackoffMax; 1 s and 2 min.
	BackoffMin, BackoffMax time.Duration
	// Format is the payload format; payload.CBOR.
	Format payload.Format
	// QoS is 1 (default) or 2.
	QoS byte
	// Signer signs the payloads (ECDSA P-256; keys.Provider.Signer).
	// Required for the signed formats (cbor, jws).
	Signer crypto.Signer
	// Commands handles a command received on the command topic and returns
	// the response published to its ResponseTopic; nil disables commands
	// (they are answered with an error).
	Commands func(ctx context.Context, payload []byte) []byte
	// Link is the uplink's data budget; nil is unlimited.
	Link Link
	// Version is reported in the retained "online" status message.
	Version string
	// StatusEvery is how often the retained "online" status message (with
	// the current uptime and backlog) is published again while connected;
	// it is also published at every connection; 15 min.
	StatusEvery time.Duration
	// LinkState, if set, names the active uplink for the status message
	// (internal/wan/link: "ethernet", "lte", "none"). It must be cheap.
	LinkState func() string
	// Poll is how often the outbox is looked at while nothing is to be
	// sent; 100 ms.
	Poll time.Duration
	// Log receives the uplink's log lines; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Status is what the uplink reports to `smgw status`.
type Status struct {
	Broker     string
	Connected  bool
	LastPuback time.Time // when the last batch was acknowledged
	Pending    uint64    // outbox items not yet acknowledged
	Published  uint64    // messages acknowledged since start
	Readings   uint64    // readings in them
	BytesToday uint64    // bytes of PUBLISH packets acknowledged today (local time)
	BytesTotal uint64    // since start
	LastError  string
}

// Uplink drains an outbox channel to an MQTT broker. New, then Run once;
// there is nothing to close: Run releases all it holds when it returns.
type Uplink struct {
	ob     Outbox
	o      Options
	broker *url.URL
	log    *slog.Logger
	now    func() time.Time
	start  time.Time

	topicReadings, topicStatus, topicCmd string

	connected atomic.Bool
	through   atomic.Uint64 // the last sequence number acknowledged by the broker

	mu         sync.Mutex
	lastPuback time.Time
	published  uint64
	readings   uint64
	bytesDay   string // the local date BytesToday counts
	bytesToday uint64
	bytesTotal uint64
	lastErr    string

	cmdSem  chan struct{}
	cmdWG   sync.WaitGroup
	pubMu   sync.Mutex // orders status publishes
	stopped bool       // Run is stopping: no more online status
}

// New checks opts and returns an uplink. It starts nothing.
func New(ob Outbox, opts *Options) (*Uplink, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.GatewayID == "" || strings.ContainsAny(o.GatewayID, "/+#") {
		return nil, fmt.Errorf("%w: gateway id %q", ErrConfig, o.GatewayID)
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: broker URL: %v", ErrConfig, err)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "mqtt"
		if u.Port() == "" {
			u.Host += ":1883"
		}
	case "mqtts", "ssl", "tls":
		u.Scheme = "mqtts"
		if u.Port() == "" {
			u.Host += ":8883"
		}
	default:
		return nil, fmt.Errorf("%w: broker URL %q: scheme must be mqtt or mqtts", ErrConfig, o.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: broker URL %q: no host", ErrConfig, o.URL)
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = DefaultTopicPrefix
	}
	if strings.ContainsAny(o.TopicPrefix, "+#") || strings.HasPrefix(o.TopicPrefix, "/") || strings.HasSuffix(o.TopicPrefix, "/") {
		return nil, fmt.Errorf("%w: topic prefix %q: no wildcards, no leading or trailing /", ErrConfig, o.TopicPrefix)
	}
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	o.BatchSize = min(o.BatchSize, payload.MaxReadings)
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.Ahead <= 0 {
		o.Ahead = DefaultAhead
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	o.KeepAlive = min(o.KeepAlive, 65535*time.Second)
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = DefaultSessionExpiry
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= o.BackoffMin {
		o.BackoffMax = max(DefaultBackoffMax, 2*o.BackoffMin)
	}
	if o.Format == "" {
		o.Format = payload.CBOR
	}
	switch o.Format {
	case payload.CBOR, payload.JWS:
		if o.Signer == nil {
			return nil, fmt.Errorf("%w: format %s needs a signing key", ErrConfig, o.Format)
		}
	case payload.JSON:
	default:
		return nil, fmt.Errorf("%w: unknown format %q", ErrConfig, o.Format)
	}
	if o.QoS == 0 {
		o.QoS = 1
	}
	if o.QoS > 2 {
		return nil, fmt.Errorf("%w: QoS %d: must be 1 or 2 (QoS 0 has no acknowledgement)", ErrConfig, o.QoS)
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.StatusEvery <= 0 {
		o.StatusEvery = DefaultStatusEvery
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	base := o.TopicPrefix + "/" + o.GatewayID + "/"
	return &Uplink{
		ob: ob, o: o, broker: u, log: o.Log, now: o.Now, start: o.Now(),
		topicReadings: base + "readings", topicStatus: base + "status", topicCmd: base + "cmd",
		cmdSem: make(chan struct{}, 4),
	}, nil
}

// Topics returns the topics the uplink publishes readings and its status
// on and receives commands on.
func (u *Uplink) Topics() (readings, status, commands string) {
	return u.topicReadings, u.topicStatus, u.topicCmd
}

// Status reports the connection and the outbox.
func (u *Uplink) Status() Status {
	next, acked := u.ob.OutboxState(u.o.Channel)
	u.mu.Lock()
	defer u.mu.Unlock()
	st := Status{
		Broker: u.broker.Redacted(), Connected: u.connected.Load(), LastPuback: u.lastPuback,
		Pending: next - 1 - acked, Published: u.published, Readings: u.readings,
		BytesTotal: u.bytesTotal, LastError: u.lastErr,
	}
	if u.bytesDay == u.now().Format(time.DateOnly) {
		st.BytesToday = u.bytesToday
	}
	return st
}

func (u *Uplink) setErr(err error) {
	u.mu.Lock()
	u.lastErr = err.Error()
	u.mu.Unlock()
}

// statusMessage is the payload on the status topic (docs/mqtt.md).
type statusMessage struct {
	State   string  `json:"state"`
	Gateway string  `json:"gateway"`
	Version string  `json:"version,omitempty"`
	Started string  `json:"started,omitempty"`
	Time    string  `json:"time,omitempty"` // when this status was published
	Uptime  *int64  `json:"uptime_s,omitempty"`
	Backlog *uint64 `json:"backlog,omitempty"` // outbox items not yet acknowledged
	Link    string  `json:"link,omitempty"`
}

// Run connects to the broker and publishes the outbox until ctx ends; it
// returns nil then. Connection failures are retried (with backoff) for
// ever; only a failing store ends it with an error.
func (u *Uplink) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	offline, _ := json.Marshal(statusMessage{State: "offline", Gateway: u.o.GatewayID})
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u.broker},
		TlsCfg:                        u.tlsConfig(),
		KeepAlive:                     uint16(u.o.KeepAlive / time.Second),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(u.o.SessionExpiry / time.Second),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(u.o.BackoffMin, u.o.BackoffMax, u.o.BackoffMin+u.o.BackoffMin/2+time.Millisecond, 2),
		ConnectTimeout:                u.o.ConnectTimeout,
		WillMessage:                   &paho.WillMessage{Retain: true, QoS: 1, Topic: u.topicStatus, Payload: offline},
		WillProperties:                &paho.WillProperties{ContentType: "application/json"},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			u.connected.Store(true)
			u.log.Info("mqtt: connected", "broker", u.broker.Redacted())
			go u.onUp(ctx, cm)
		},
		OnConnectionDown: func() bool {
			u.connected.Store(false)
			u.log.Warn("mqtt: connection lost", "broker", u.broker.Redacted())
			return true
		},
		OnConnectError: func(err error) {
			u.setErr(err)
			u.log.Warn("mqtt: cannot connect", "broker", u.broker.Redacted(), "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID:      u.o.GatewayID,
			PacketTimeout: 30 * time.Second,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) { return u.onPublish(ctx, pr), nil },
			},
			OnClientError: func(err error) { u.setErr(err); u.log.Warn("mqtt: client error", "err", err) },
			OnServerDisconnect: func(d *paho.Disconnect) {
				u.log.Warn("mqtt: the broker disconnected", "reason", d.ReasonCode)
			},
		},
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		u.refreshStatus(ctx, cm)
	}()
	runErr := u.pump(ctx, cm)
	cancel()
	<-statusDone
	u.pubMu.Lock()
	u.stopped = true // no online status after the offline one below
	u.pubMu.Unlock()
	u.cmdWG.Wait()
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer dcancel()
	if u.connected.Load() {
		// An orderly stop: the broker drops the will, so say offline.
		p := &paho.Publish{QoS: 1, Retain: true, Topic: u.topicStatus, Payload: offline}
		cm.Publish(dctx, p)
	}
	cm.Disconnect(dctx)
	<-cm.Done()
	u.connected.Store(false)
	if ctx.Err() != nil && runErr != nil && errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return runErr
}

func (u *Uplink) tlsConfig() *tls.Config {
	if u.broker.Scheme != "mqtts" {
		return nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if u.o.TLS != nil {
		c = u.o.TLS.Clone()
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
	}
	if c.ServerName == "" {
		c.ServerName = u.broker.Hostname()
	}
	return c
}

// onUp subscribes to the command topic and publishes the retained online
// status after each connection.
func (u *Uplink) onUp(ctx context.Context, cm *autopaho.ConnectionManager) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: u.topicCmd, QoS: 1},
	}}); err != nil {
		u.log.Warn("mqtt: cannot subscribe to the command topic", "topic", u.topicCmd, "err", err)
	}
	u.publishStatus(ctx, cm)
}

// onlineStatus is the retained "online" message as of now.
func (u *Uplink) onlineStatus() []byte {
	now := u.now()
	up := int64(now.Sub(u.start) / time.Second)
	next, acked := u.ob.OutboxState(u.o.Channel)
	var backlog uint64
	if next-1 > acked {
		backlog = next - 1 - acked
	}
	m := statusMessage{
		State: "online", Gateway: u.o.GatewayID, Version: u.o.Version,
		Started: u.start.UTC().Format(time.RFC3339), Time: now.UTC().Format(time.RFC3339),
		Uptime: &up, Backlog: &backlog,
	}
	if u.o.LinkState != nil {
		m.Link = u.o.LinkState()
	}
	b, _ := json.Marshal(m)
	return b
}

// publishStatus publishes the retained online status.
func (u *Uplink) publishStatus(ctx context.Context, cm *autopaho.ConnectionManager) {
	u.pubMu.Lock()
	defer u.pubMu.Unlock()
	if ctx.Err() != nil || u.stopped {
		return
	}
	if _, err := cm.Publish(ctx, &paho.Publish{QoS: 1, Retain: true, Topic: u.topicStatus, Payload: u.onlineStatus(),
		Properties: &paho.PublishProperties{ContentType: "application/json"}}); err != nil && ctx.Err() == nil {
		u.log.Warn("mqtt: cannot publish the online status", "err", err)
	}
}

// refreshStatus publishes the online status again every StatusEvery while
// connected, until ctx ends (each connection publishes it too: onUp).
func (u *Uplink) refreshStatus(ctx context.Context, cm *autopaho.ConnectionManager) {
	t := time.NewTicker(u.o.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !u.connected.Load() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		u.publishStatus(pctx, cm)
		cancel()
	}
}

// onPublish handles a message received: a command. It returns whether the
// message was handled.
func (u *Uplink) onPublish(ctx context.Context, pr paho.PublishReceived) bool {
	p := pr.Packet
	if p.Topic != u.topicCmd {
		return false
	}
	var respTopic string
	var corr []byte
	if p.Properties != nil {
		respTopic, corr = p.Properties.ResponseTopic, p.Properties.CorrelationData
	}
	body := append([]byte(nil), p.Payload...)
	cli := pr.Client
	select {
	case u.cmdSem <- struct{}{}:
	case <-ctx.Done():
		return true
	}
	u.cmdWG.Add(1)
	go func() {
		defer u.cmdWG.Done()
		defer func() { <-u.cmdSem }()
		var resp []byte
		if u.o.Commands == nil {
			resp, _ = json.Marshal(map[string]any{"ok": false, "error": "commands are disabled on this gateway"})
		} else {
			resp = u.o.Commands(ctx, body)
		}
		if respTopic == "" {
			u.log.Warn("mqtt: a command without a response topic; its response is dropped")
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := cli.Publish(pctx, &paho.Publish{QoS: 1, Topic: respTopic, Payload: resp,
			Properties: &paho.PublishProperties{CorrelationData: corr}}); err != nil {
			u.log.Warn("mqtt: cannot publish a command response", "topic", respTopic, "err", err)
		}
	}()
	return true
}

// flight is one message to publish.
type flight struct {
	first, last uint64
	readings    int
	wire        int // bytes of the PUBLISH packet
	pub         *paho.Publish
}

// pump publishes the outbox while connected, until ctx ends.
func (u *Uplink) pump(ctx context.Context, cm *autopaho.ConnectionManager) error {
	acks := newAcker(u)
	defer acks.stop()
	for {
		if err := cm.AwaitConnection(ctx); err != nil {
			return nil // ctx ended (or the manager stopped with it)
		}
		if err := u.session(ctx, cm, acks); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		// A publish failed. If the connection was lost, AwaitConnection
		// waits for the next one; if the broker refused the message, wait
		// a little before sending again from the last PUBACK.
		if !u.connected.Load() {
			continue
		}
		t := time.NewTimer(max(u.o.Poll, 500*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session publishes from the last acknowledged item on until a publish
// fails (the connection is lost) or ctx ends. A non-nil error is the
// store's.
//
// One goroutine reads and encodes batches ahead; the publisher sends them
// one at a time, each after the PUBACK of the one before. paho's Publish
// blocks until the PUBACK, and concurrent calls may reach the wire in any
// order, so publishing one at a time is what keeps the messages in
// sequence order at the broker (and the readings of every meter in time
// order at the HES). With batches of hundreds of readings, one round trip
// per batch is far from a bound (docs/mqtt.md has the figures).
func (u *Uplink) session(ctx context.Context, cm *autopaho.ConnectionManager, acks *acker) error {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan *flight, u.o.Ahead)
	published := make(chan struct{})
	go func() {
		defer close(published)
		defer stop() // a failure stops the reader
		for f := range ready {
			if sctx.Err() != nil {
				continue
			}
			if _, err := cm.Publish(sctx, f.pub); err != nil {
				if ctx.Err() == nil {
					u.setErr(err)
					u.log.Warn("mqtt: publish failed; sending again from the last PUBACK", "first", f.first, "err", err)
				}
				stop()
				continue
			}
			u.acked(f)
			u.through.Store(max(u.through.Load(), f.last))
			acks.ack(f.last)
		}
	}()
	err := u.read(sctx, ready)
	close(ready)
	<-published
	return err
}

// read reads batches from the outbox into ready until ctx ends. A
// non-nil error is the store's.
func (u *Uplink) read(ctx context.Context, ready chan<- *flight) error {
	_, acked := u.ob.OutboxState(u.o.Channel)
	cursor := max(acked, u.through.Load())
	var enc payload.Encoder
	var waitSince time.Time
	poll := time.NewTicker(u.o.Poll)
	defer poll.Stop()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-poll.C:
			return true
		}
	}
	for ctx.Err() == nil {
		next, _ := u.ob.OutboxState(u.o.Channel)
		var avail uint64
		if next-1 > cursor {
			avail = next - 1 - cursor
		}
		if avail == 0 {
			waitSince = time.Time{}
			if !wait() {
				return nil
			}
			continue
		}
		if avail < uint64(u.o.BatchSize) {
			now := u.now()
			if waitSince.IsZero() {
				waitSince = now
			}
			if now.Sub(waitSince) < u.o.MaxDelay {
				if !wait() {
					return nil
				}
				continue
			}
		}
		waitSince = time.Time{}
		items, err := u.ob.Outbox(u.o.Channel, cursor, u.o.BatchSize)
		if err != nil {
			return fmt.Errorf("mqtt: read the outbox: %w", err)
		}
		if len(items) == 0 {
			if !wait() {
				return nil
			}
			continue
		}
		b, skipTo := u.batch(items)
		if b == nil {
			cursor = skipTo
			continue
		}
		msg, err := u.encode(&enc, b)
		if err != nil {
			return err
		}
		pub := &paho.Publish{QoS: u.o.QoS, Topic: u.topicReadings, Payload: msg,
			Properties: &paho.PublishProperties{ContentType: u.o.Format.ContentType()}}
		wire := wireSize(pub)
		if u.o.Link != nil {
			bulk := u.now().Sub(b.Readings[0].Time) > time.Minute
			for !u.o.Link.Allow(bulk, wire) {
				if !wait() {
					return nil
				}
			}
		}
		select {
		case ready <- &flight{first: b.First, last: b.Last, readings: len(b.Readings), wire: wire, pub: pub}:
		case <-ctx.Done():
			return nil
		}
		cursor = skipTo
	}
	return nil
}

// batch decodes items into a batch of consecutive readings. An item that
// is not a reading ends the batch before it (it is logged and skipped);
// skipTo is the last sequence number consumed.
func (u *Uplink) batch(items []store.OutboxItem) (*payload.Batch, uint64) {
	b := &payload.Batch{Gateway: u.o.GatewayID, First: items[0].Seq, Readings: make([]meter.Reading, 0, len(items))}
	for i, it := range items {
		if i > 0 && it.Seq != items[i-1].Seq+1 {
			break
		}
		r, err := store.DecodeReading(it.Payload)
		if err != nil {
			if len(b.Readings) == 0 {
				u.log.Error("mqtt: outbox item is not a reading; skipped", "channel", u.o.Channel, "seq", it.Seq, "err", err)
				return nil, it.Seq
			}
			break
		}
		b.Readings = append(b.Readings, r)
		b.Last = it.Seq
	}
	return b, b.Last
}

func (u *Uplink) encode(enc *payload.Encoder, b *payload.Batch) ([]byte, error) {
	var msg []byte
	var err error
	switch u.o.Format {
	case payload.CBOR:
		msg, err = enc.AppendCOSE(nil, b, u.o.Signer)
	case payload.JWS:
		msg, err = enc.AppendJWS(nil, b, u.o.Signer)
	default:
		msg, err = enc.AppendJSON(nil, b)
	}
	if err != nil {
		return nil, fmt.Errorf("mqtt: encode readings %d…%d: %w", b.First, b.Last, err)
	}
	return msg, nil
}

// acked accounts for an acknowledged flight.
func (u *Uplink) acked(f *flight) {
	now := u.now()
	day := now.Format(time.DateOnly)
	u.mu.Lock()
	u.lastPuback = now
	u.published++
	u.readings += uint64(f.readings)
	if u.bytesDay != day {
		u.bytesDay, u.bytesToday = day, 0
	}
	u.bytesToday += uint64(f.wire)
	u.bytesTotal += uint64(f.wire)
	u.mu.Unlock()
	if u.o.Link != nil {
		u.o.Link.Sent(f.wire)
	}
}

// wireSize is the size of p's PUBLISH packet (MQTT v5 §3.3).
func wireSize(p *paho.Publish) int {
	props := 0
	if p.Properties != nil && p.Properties.ContentType != "" {
		props += 1 + 2 + len(p.Properties.ContentType)
	}
	rem := 2 + len(p.Topic) + varintLen(props) + props + len(p.Payload)
	if p.QoS > 0 {
		rem += 2
	}
	return 1 + varintLen(rem) + rem
}

func varintLen(n int) int {
	l := 1
	for n >= 128 {
		n >>= 7
		l++
	}
	return l
}

// acker acknowledges in the store, coalescing: while one Ack commits,
// later acknowledgements wait and are written as one.
type acker struct {
	u      *Uplink
	mu     sync.Mutex
	target uint64
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
}

func newAcker(u *Uplink) *acker {
	a := &acker{u: u, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *acker) ack(through uint64) {
	a.mu.Lock()
	a.target = max(a.target, through)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *acker) run() {
	defer close(a.done)
	var written uint64
	flush := func() {
		a.mu.Lock()
		t := a.target
		a.mu.Unlock()
		if t <= written {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.u.ob.Ack(ctx, a.u.o.Channel, t); err != nil {
			a.u.setErr(err)
			a.u.log.Error("mqtt: cannot acknowledge in the outbox; the items will be sent again", "through", t, "err", err)
			return
		}
		written = t
	}
	for {
		select {
		case <-a.wake:
			flush()
		case <-a.quit:
			flush()
			return
		}
	}
}

// stop writes the last acknowledgement and stops the acker.
func (a *acker) stop() {
	close(a.quit)
	<-a.done
}
