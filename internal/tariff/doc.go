// Package tariff keeps what the utility sent for the household: price
// schedules (tiers, consumption blocks, time-of-use periods and dynamic
// 15-minute prices), demand-response events with their opt-outs, and
// display messages with their confirmations. It is the one model: HES
// commands write it (through the command path in internal/app), and the
// IP HAN, Zigbee SE and IEEE 2030.5 views all read it, so a price set once
// shows the same everywhere.
//
// The model is kept in the store as sealed records of kind "tariff"
// (schedules, dynamic, events, messages), each a JSON document written
// whole on every change: changes are rare and small. Prices are exact
// decimals (meter.Value), never floats. Every input is validated with an
// error naming the field and what is wrong; nothing invalid is stored.
package tariff
