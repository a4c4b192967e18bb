package config

import (
	"errors"
	"testing"
	"time"
)

func TestMQTTTable(t *testing.T) {
	c, err := Parse("test.toml", []byte(ok+`[wan.mqtt]
url = "mqtts://broker.example:8883"
topic_prefix = "utility/gw"
ca_file = "/etc/smgw/ca.pem"
batch_size = 200
max_delay = "10s"
keep_alive = "2m"
session_expiry = "1d"
format = "jws"
qos = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.WAN.MQTT
	if m.URL != "mqtts://broker.example:8883" || m.TopicPrefix != "utility/gw" || m.BatchSize != 200 ||
		m.MaxDelay.Std() != 10*time.Second || m.KeepAlive.Std() != 2*time.Minute || m.Format != "jws" || m.QoS != 2 ||
		m.Channel != "mqtt" || m.BackoffMax.Std() != 2*time.Minute {
		t.Errorf("got %+v", m)
	}
	d := Default().WAN.MQTT
	if d.URL != "" || d.Format != MQTTFormatCBOR || d.QoS != 1 || d.KeepAlive.Std() != 90*time.Second {
		t.Errorf("defaults %+v", d)
	}
}

func TestMQTTProblems(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []at
	}{
		{"scheme", "url = \"http://h\"\n", []at{{4, "wan.mqtt.url"}}},
		{"no host", "url = \"mqtt://\"\n", []at{{4, "wan.mqtt.url"}}},
		{"user in url", "url = \"mqtt://u:p@h\"\n", []at{{4, "wan.mqtt.url"}}},
		{"path", "url = \"mqtt://h/x\"\n", []at{{4, "wan.mqtt.url"}}},
		{"prefix wildcard", "topic_prefix = \"a/#\"\n", []at{{4, "wan.mqtt.topic_prefix"}}},
		{"prefix slash", "topic_prefix = \"/a\"\n", []at{{4, "wan.mqtt.topic_prefix"}}},
		{"channel", "channel = \"a b\"\n", []at{{4, "wan.mqtt.channel"}}},
		{"ca relative", "ca_file = \"ca.pem\"\n", []at{{4, "wan.mqtt.ca_file"}}},
		{"cert relative", "client_cert = \"c.pem\"\n", []at{{4, "wan.mqtt.client_cert"}}},
		{"batch", "batch_size = 0\n", []at{{4, "wan.mqtt.batch_size"}}},
		{"max delay", "\nmax_delay = \"2h\"\n", []at{{5, "wan.mqtt.max_delay"}}},
		{"keep alive", "keep_alive = \"1s\"\n", []at{{4, "wan.mqtt.keep_alive"}}},
		{"session", "session_expiry = \"8d\"\n", []at{{4, "wan.mqtt.session_expiry"}}},
		{"format", "format = \"xml\"\n", []at{{4, "wan.mqtt.format"}}},
		{"qos", "qos = 0\n", []at{{4, "wan.mqtt.qos"}}},
		{"backoff order", "backoff_min = \"1m\"\nbackoff_max = \"30s\"\n", []at{{5, "wan.mqtt.backoff_max"}}},
		{"status every short", "status_every = \"30s\"\n", []at{{4, "wan.mqtt.status_every"}}},
		{"status every long", "status_every = \"25h\"\n", []at{{4, "wan.mqtt.status_every"}}},
		{"unknown", "colour = 1\n", []at{{4, "wan.mqtt.colour"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(ok+"[wan.mqtt]\n"+tc.toml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			var got []at
			for _, p := range ce.Problems {
				got = append(got, at{p.Line, p.Key})
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] {
				t.Errorf("problems at %v, want %v\n%v", got, tc.want, err)
			}
		})
	}
}
