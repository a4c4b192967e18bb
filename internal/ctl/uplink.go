package ctl

import "time"

// UplinkStatus is the MQTT uplink's part of Status (docs/mqtt.md).
type UplinkStatus struct {
	Broker     string    `json:"broker,omitempty"` // "" when no broker is configured: readings queue
	Channel    string    `json:"channel"`          // the outbox channel drained
	Connected  bool      `json:"connected"`
	LastPuback time.Time `json:"last_puback,omitzero"` // when the broker last acknowledged a batch
	Pending    uint64    `json:"pending"`              // readings queued and not yet acknowledged
	Published  uint64    `json:"published"`            // messages acknowledged since start
	Readings   uint64    `json:"readings"`             // readings in them
	BytesToday uint64    `json:"bytes_today"`          // bytes of PUBLISH packets acknowledged today
	LastError  string    `json:"last_error,omitempty"`
}
