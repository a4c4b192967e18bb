// Package app is the gateway's composition root: it wires the store, the
// meters, the ingest pipeline between them, the control socket, the status
// page and the systemd integration, and runs them as one lifecycle.
//
// New does the fallible setup (keys, store, meters, listeners) and starts
// nothing; Run starts every service (each a Run(ctx) error), tells systemd
// READY=1, sends STATUS= lines and pings the watchdog only while every
// service shows progress (Notifier), and on cancellation drains: services
// stop, averaged live values and deferred readings are flushed, and start
// and stop are recorded in the system event log. Close releases what New
// opened.
//
// The ingest pipeline (Ingest) is the meters' sink: register readings are
// stored durably before the meter's Append returns; live samples are kept
// in memory for the status page and stored as exact means over the
// configured resolution.
package app
