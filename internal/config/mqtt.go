package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MQTT is the [wan.mqtt] table: the uplink to the HES over an MQTT v5
// broker (docs/mqtt.md).
type MQTT struct {
	// URL (url) is the broker: mqtt://host[:port] or mqtts://host[:port]
	// (TLS). "" disables the uplink; readings then stay queued in the
	// outbox channel. Default "".
	URL string `toml:"url"`
	// TopicPrefix (topic_prefix) is the first level of the gateway's
	// topics, <prefix>/<gateway id>/readings and so on; no wildcards, no
	// leading or trailing "/". Default "smgw".
	TopicPrefix string `toml:"topic_prefix"`
	// Channel (channel) is the outbox channel the uplink drains; every
	// reading is queued on it (it need not be listed in
	// store.outbox_channels). Default "mqtt".
	Channel string `toml:"channel"`
	// CAFile (ca_file) is a PEM file with the CA certificates the broker's
	// certificate is verified against; "" uses the system's roots. An
	// absolute path. Default "".
	CAFile string `toml:"ca_file"`
	// ClientCert (client_cert) is the PEM certificate chain presented to
	// the broker for the gateway's signing key (smgw keys cert install);
	// "" is <data_dir>/identity.crt. Only used with mqtts://; a missing
	// file means no client certificate. Default "".
	ClientCert string `toml:"client_cert"`
	// BatchSize (batch_size) is the most readings in one message;
	// 1…100000. Default 1000.
	BatchSize int `toml:"batch_size"`
	// MaxDelay (max_delay) is the longest a reading waits for its batch
	// to fill; 1s…1h. Default "5s".
	MaxDelay Duration `toml:"max_delay"`
	// KeepAlive (keep_alive) is the MQTT keep-alive; 10s…18h. Default
	// "90s": LTE operators drop idle NAT mappings after a few minutes,
	// and a ping every 90 s keeps the mapping alive at about 2 bytes a
	// second while still noticing a dead link within about two minutes.
	KeepAlive Duration `toml:"keep_alive"`
	// SessionExpiry (session_expiry) is the MQTT v5 session expiry
	// interval: how long the broker keeps the gateway's session
	// (subscriptions, unacknowledged commands) across a disconnection;
	// 0…7d. Default "1h".
	SessionExpiry Duration `toml:"session_expiry"`
	// Format (format) is the readings' payload format: cbor (compact,
	// COSE-signed), json (plain) or jws (JSON, JWS-signed). Default "cbor".
	Format string `toml:"format"`
	// QoS (qos) of the readings: 1 or 2. Default 1.
	QoS int `toml:"qos"`
	// BackoffMin and BackoffMax (backoff_min, backoff_max) bound the
	// random wait before a reconnection, which grows exponentially;
	// 1s…1h, backoff_max > backoff_min. Default "1s" and "2m".
	BackoffMin Duration `toml:"backoff_min"`
	BackoffMax Duration `toml:"backoff_max"`
	// StatusEvery (status_every) is how often the retained "online"
	// status message (version, uptime, backlog, link) is published again
	// while connected; it is also published at every connection; 1m…24h.
	// Default "15m".
	StatusEvery Duration `toml:"status_every"`
}

// MQTT payload formats.
const (
	MQTTFormatCBOR = "cbor"
	MQTTFormatJSON = "json"
	MQTTFormatJWS  = "jws"
)

var (
	mqttFormats        = []string{MQTTFormatCBOR, MQTTFormatJSON, MQTTFormatJWS}
	rangeMQTTMaxDelay  = durRange{time.Second, time.Hour}
	rangeMQTTKeepAlive = durRange{10 * time.Second, 65535 * time.Second}
	rangeMQTTSession   = durRange{0, 7 * 24 * time.Hour}
	rangeMQTTBackoff   = durRange{time.Second, time.Hour}
	rangeMQTTStatus    = durRange{time.Minute, 24 * time.Hour}
)

// maxMQTTBatch is the largest batch_size.
const maxMQTTBatch = 100000

// defaultMQTT returns the [wan.mqtt] defaults documented on the fields.
func defaultMQTT() MQTT {
	return MQTT{
		TopicPrefix:   "smgw",
		Channel:       "mqtt",
		BatchSize:     1000,
		MaxDelay:      Duration(5 * time.Second),
		KeepAlive:     Duration(90 * time.Second),
		SessionExpiry: Duration(time.Hour),
		Format:        MQTTFormatCBOR,
		QoS:           1,
		BackoffMin:    Duration(time.Second),
		BackoffMax:    Duration(2 * time.Minute),
		StatusEvery:   Duration(15 * time.Minute),
	}
}

// mqttProblems returns the problems of the [wan.mqtt] table.
func (c *Config) mqttProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{Problem: Problem{Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	check := func(key, why string) {
		if why != "" {
			add(key, "%s", why)
		}
	}
	m := c.WAN.MQTT
	if m.URL != "" {
		check("wan.mqtt.url", checkBrokerURL(m.URL))
	}
	switch p := m.TopicPrefix; {
	case p == "":
		add("wan.mqtt.topic_prefix", "must not be empty")
	case strings.ContainsAny(p, "+#\x00") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		add("wan.mqtt.topic_prefix", "%q: a topic prefix has no wildcards (+ #), no empty levels and no leading or trailing /", p)
	case len(p) > 200:
		add("wan.mqtt.topic_prefix", "is longer than 200 bytes")
	}
	if why := checkName(m.Channel); why != "" {
		add("wan.mqtt.channel", "channel %s", why)
	}
	if m.CAFile != "" {
		check("wan.mqtt.ca_file", checkDir(m.CAFile))
	}
	if m.ClientCert != "" {
		check("wan.mqtt.client_cert", checkDir(m.ClientCert))
	}
	if m.BatchSize < 1 || m.BatchSize > maxMQTTBatch {
		add("wan.mqtt.batch_size", "%d is out of range: must be 1…%d", m.BatchSize, maxMQTTBatch)
	}
	check("wan.mqtt.max_delay", rangeMQTTMaxDelay.check(m.MaxDelay))
	check("wan.mqtt.keep_alive", rangeMQTTKeepAlive.check(m.KeepAlive))
	check("wan.mqtt.session_expiry", rangeMQTTSession.check(m.SessionExpiry))
	check("wan.mqtt.format", oneOf("format", m.Format, mqttFormats))
	if m.QoS != 1 && m.QoS != 2 {
		add("wan.mqtt.qos", "%d: must be 1 or 2 (QoS 0 is never acknowledged, so the outbox could not be emptied safely)", m.QoS)
	}
	check("wan.mqtt.status_every", rangeMQTTStatus.check(m.StatusEvery))
	check("wan.mqtt.backoff_min", rangeMQTTBackoff.check(m.BackoffMin))
	if why := rangeMQTTBackoff.check(m.BackoffMax); why != "" {
		add("wan.mqtt.backoff_max", "%s", why)
	} else if m.BackoffMax <= m.BackoffMin {
		add("wan.mqtt.backoff_max", "%s must be longer than backoff_min %s", m.BackoffMax, m.BackoffMin)
		ps[len(ps)-1].deps = []string{"wan.mqtt.backoff_min"}
	}
	return ps
}

// checkBrokerURL returns "" or why s is not an mqtt:// or mqtts:// URL.
func checkBrokerURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return fmt.Sprintf("%q: the scheme must be mqtt:// or mqtts://", s)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("%q has no host", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%q: a broker URL has no path, query or fragment", s)
	}
	if u.User != nil {
		return fmt.Sprintf("%q: the gateway authenticates with its client certificate, not a user name in the URL", u.Redacted())
	}
	return ""
}
