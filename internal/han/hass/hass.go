package hass

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// Store is what the publisher reads: the meters with their latest
// readings, and the live readings (store.Store implements it).
type Store interface {
	Meters() []store.MeterInfo
	Subscribe(buf int) *store.Subscription
}

// Options configure New. Broker and Node are required.
type Options struct {
	// Broker is the broker's URL on the HAN: mqtt://host:port or
	// mqtts://host:port.
	Broker string
	// Username and Password log in to the broker; "" for none.
	Username, Password string
	// TLS configures mqtts (the broker's CA); nil uses the system roots.
	TLS *tls.Config
	// ClientID is the MQTT client id; "" is "smgw-hass-<Node>".
	ClientID string
	// Node is the gateway's id in topics and unique ids (e.g. the
	// gateway id); it is reduced to [a-zA-Z0-9_-].
	Node string
	// DiscoveryPrefix is Home Assistant's discovery prefix; "" is
	// "homeassistant".
	DiscoveryPrefix string
	// BaseTopic prefixes the state and availability topics; "" is "smgw".
	BaseTopic string
	// Meters restricts publication to these meters; none is every meter.
	Meters []meter.MeterID
	// Version is the gateway's software version (discovery origin).
	Version string
	// KeepAlive is the MQTT keep-alive; 0 is 30 s.
	KeepAlive time.Duration
	// Retry is the least wait between connection attempts; 0 is 2 s
	// (backing off to a minute).
	Retry time.Duration
	// Log receives the publisher's log lines; nil discards them.
	Log *slog.Logger
}

// ErrConfig is returned (wrapped) by New for unusable options.
var ErrConfig = errors.New("hass: bad options")

// Publisher publishes readings with Home Assistant discovery.
// New → Run → (Run returns when its context ends).
type Publisher struct {
	st     Store
	o      Options
	broker *url.URL
	node   string
	log    *slog.Logger

	mu        sync.Mutex
	announced map[string]bool // discovery topics published on this connection
}

// New checks the options. It connects to nothing and starts no goroutines.
func New(st Store, opts *Options) (*Publisher, error) {
	if opts == nil {
		return nil, fmt.Errorf("%w: options are required (broker, node)", ErrConfig)
	}
	o := *opts
	u, err := url.Parse(o.Broker)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "" {
		return nil, fmt.Errorf("%w: broker %q: want mqtt://host:port or mqtts://host:port", ErrConfig, o.Broker)
	}
	if o.Node == "" {
		return nil, fmt.Errorf("%w: node id is empty", ErrConfig)
	}
	if o.DiscoveryPrefix == "" {
		o.DiscoveryPrefix = "homeassistant"
	}
	if o.BaseTopic == "" {
		o.BaseTopic = "smgw"
	}
	node := topicPart(o.Node)
	if o.ClientID == "" {
		o.ClientID = "smgw-hass-" + node
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	p := &Publisher{st: st, o: o, broker: u, node: node, log: o.Log, announced: map[string]bool{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// AvailabilityTopic is where "online" / "offline" are published.
func (p *Publisher) AvailabilityTopic() string { return p.o.BaseTopic + "/" + p.node + "/availability" }

// StateTopic is the state topic of one quantity of one meter.
func (p *Publisher) StateTopic(id meter.MeterID, o meter.OBIS) string {
	return p.o.BaseTopic + "/" + p.node + "/" + topicPart(string(id)) + "/" + obisPart(o) + "/state"
}

// ConfigTopic is the discovery topic of one quantity of one meter.
func (p *Publisher) ConfigTopic(id meter.MeterID, o meter.OBIS) string {
	return p.o.DiscoveryPrefix + "/sensor/" + p.node + "/" + topicPart(string(id)) + "_" + obisPart(o) + "/config"
}

// Discovery returns the discovery payload of one quantity; ok is false
// for quantities not published.
func (p *Publisher) Discovery(id meter.MeterID, o meter.OBIS, u meter.Unit, e int8) (Config, bool) {
	s, ok := SensorFor(o, u)
	if !ok {
		return Config{}, false
	}
	obj := topicPart(string(id)) + "_" + obisPart(o)
	return Config{
		Name:                      s.Name,
		UniqueID:                  "smgw_" + p.node + "_" + obj,
		StateTopic:                p.StateTopic(id, o),
		DeviceClass:               s.DeviceClass,
		StateClass:                s.StateClass,
		UnitOfMeasurement:         s.Unit,
		AvailabilityTopic:         p.AvailabilityTopic(),
		PayloadAvailable:          "online",
		PayloadNotAvailable:       "offline",
		SuggestedDisplayPrecision: precision(s, e),
		Device: Device{
			Identifiers:  []string{"smgw_" + p.node + "_" + topicPart(string(id))},
			Name:         "Meter " + string(id),
			Manufacturer: "smgw",
			Model:        "meter read by the smart meter gateway " + p.o.Node,
		},
		Origin: Origin{Name: "smgw", SWVersion: p.o.Version},
	}, true
}

func (p *Publisher) wanted(id meter.MeterID) bool {
	return len(p.o.Meters) == 0 || slices.Contains(p.o.Meters, id)
}

// Run connects and publishes until ctx ends; it returns nil then.
// Connection failures are retried for ever.
func (p *Publisher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := p.st.Subscribe(1024)
	defer sub.Close()
	up := make(chan *autopaho.ConnectionManager, 1)
	var tlsCfg *tls.Config
	if p.broker.Scheme == "mqtts" {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if p.o.TLS != nil {
			tlsCfg = p.o.TLS.Clone()
		}
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = p.broker.Hostname()
		}
	}
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{p.broker},
		TlsCfg:                        tlsCfg,
		KeepAlive:                     uint16(p.o.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(p.o.Retry, time.Minute, p.o.Retry+p.o.Retry/2, 2),
		ConnectUsername:               p.o.Username,
		ConnectPassword:               []byte(p.o.Password),
		WillMessage:                   &paho.WillMessage{Retain: true, QoS: 1, Topic: p.AvailabilityTopic(), Payload: []byte("offline")},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			p.log.Info("hass: connected", "broker", p.broker.Redacted())
			select {
			case up <- cm:
			default:
			}
		},
		OnConnectionDown: func() bool {
			p.log.Warn("hass: connection lost", "broker", p.broker.Redacted())
			return true
		},
		OnConnectError: func(err error) {
			p.log.Warn("hass: cannot connect", "broker", p.broker.Redacted(), "err", err)
		},
		ClientConfig: paho.ClientConfig{ClientID: p.o.ClientID, PacketTimeout: 10 * time.Second},
	}
	if p.o.Username == "" {
		cfg.ConnectPassword = nil
	}
	// The connection outlives ctx by the orderly goodbye below.
	cctx, ccancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ccancel()
	cm, err := autopaho.NewConnection(cctx, cfg)
	if err != nil {
		return fmt.Errorf("hass: %w", err)
	}
	var conn *autopaho.ConnectionManager
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case c := <-up:
			conn = c
			p.mu.Lock()
			clear(p.announced)
			p.mu.Unlock()
			p.publish(ctx, conn, p.AvailabilityTopic(), []byte("online"))
			p.publishAll(ctx, conn)
		case rd, ok := <-sub.C():
			if !ok {
				done = true
				break
			}
			if conn != nil {
				p.publishReading(ctx, conn, rd)
			}
		}
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer dcancel()
	if conn != nil {
		// An orderly stop: the broker drops the will, so say offline.
		p.publish(dctx, conn, p.AvailabilityTopic(), []byte("offline"))
	}
	cm.Disconnect(dctx)
	ccancel()
	<-cm.Done()
	return nil
}

// publishAll announces every quantity and publishes its latest state.
func (p *Publisher) publishAll(ctx context.Context, cm *autopaho.ConnectionManager) {
	for _, m := range p.st.Meters() {
		for _, s := range m.Series {
			if s.Latest.Meter == "" {
				s.Latest.Meter, s.Latest.OBIS = m.ID, s.OBIS
			}
			if s.Latest.Unit == 0 {
				s.Latest.Unit = s.Unit
			}
			p.publishReading(ctx, cm, s.Latest)
		}
	}
}

// publishReading announces the reading's quantity (once per connection)
// and publishes its state.
func (p *Publisher) publishReading(ctx context.Context, cm *autopaho.ConnectionManager, rd meter.Reading) {
	if !p.wanted(rd.Meter) || rd.Quality&(meter.QualityInvalid|meter.QualityMeterError) != 0 {
		return
	}
	s, ok := SensorFor(rd.OBIS, rd.Unit)
	if !ok {
		return
	}
	topic := p.ConfigTopic(rd.Meter, rd.OBIS)
	p.mu.Lock()
	seen := p.announced[topic]
	p.announced[topic] = true
	p.mu.Unlock()
	if !seen {
		c, _ := p.Discovery(rd.Meter, rd.OBIS, rd.Unit, rd.Value.E)
		if !p.publish(ctx, cm, topic, marshal(c)) {
			p.mu.Lock()
			delete(p.announced, topic)
			p.mu.Unlock()
			return
		}
	}
	if st := s.State(rd.Value); st != "" {
		p.publish(ctx, cm, p.StateTopic(rd.Meter, rd.OBIS), []byte(st))
	}
}

func (p *Publisher) publish(ctx context.Context, cm *autopaho.ConnectionManager, topic string, payload []byte) bool {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cm.Publish(pctx, &paho.Publish{QoS: 1, Retain: true, Topic: topic, Payload: payload}); err != nil {
		if ctx.Err() == nil {
			p.log.Warn("hass: publish failed", "topic", topic, "err", err)
		}
		return false
	}
	return true
}
