// Package mqtt is the gateway's MQTT v5 uplink to the head-end system
// (HES): it drains an outbox channel of the store in sequence order,
// several readings per message (internal/wan/payload), publishes with
// QoS 1 and acknowledges in the store only on the broker's PUBACK, so
// readings are delivered at least once across outages and crashes; every
// message names the gateway and its sequence range so the HES can drop
// duplicates. It also keeps a retained online/offline status and receives
// commands (MQTT v5 request/response) for the command path. Topics and
// formats: docs/mqtt.md.
package mqtt
