// Package mqtttest starts Debian's mosquitto for tests: a plain listener
// and a TLS listener that requires client certificates from a test CA
// made here, both on 127.0.0.1 with free ports, with persistence so a
// restarted broker keeps the sessions and queued messages of its clients.
// It also issues certificates from the test CA.
package mqtttest
