// Package store is the gateway's durable store over bbolt: readings, the
// outbox owed to the head-end system, and the hash-chained event logs.
// It is the single source of truth: a reading is acknowledged only after
// the transaction holding it is on disk.
package store
