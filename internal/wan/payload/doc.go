// Package payload encodes and verifies the messages the MQTT uplink
// publishes: batches of readings of consecutive outbox sequence numbers,
// either compact CBOR in a COSE_Sign1 signed with the gateway's key
// (ES256), plain JSON, or JSON in a JWS. docs/mqtt.md describes the
// formats with examples. The codecs are pure: no I/O, clocks or goroutines
// (signing draws from crypto/rand).
package payload
