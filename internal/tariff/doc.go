// Package tariff keeps what the utility sent for the household: price
// schedules (tiers, blocks, time-of-use periods, dynamic 15-minute prices),
// demand-response events with their opt-outs, display messages and their
// confirmations, and the time-of-use registers computed from readings. Its
// model lives in the store's tariff/ buckets; commands write it, and the IP
// HAN, Zigbee SE and IEEE 2030.5 views all read this one model.
package tariff
