// Package mbus decodes the M-Bus application layer of EN 13757-3, shared by
// wired M-Bus (EN 13757-2) and wireless M-Bus (EN 13757-4, package wmbus):
// the data records (DIF, DIFEs, VIF, VIFEs and data) of the variable data
// structure, the manufacturer code and the device type (medium), and the
// wired M-Bus long frame (68 L L 68 … CS 16).
//
// A record is decoded into a Record: the data information (function,
// storage number, tariff, subunit), the value information (the quantity,
// its unit and scale, and the orthogonal VIFEs that modify it) and the
// value itself as an exact decimal (meter.Value) in a DLMS unit
// (meter.Unit), mapped onto an OBIS code by the meter's medium:
//
//	electricity 1-b:c.d.e*f, heat 6-…, gas 7-…, cold water 8-…, hot water 9-…,
//	heat cost allocator 4-…; abstract quantities (date-time, fabrication
//	number, error flags, operating time) 0-…
//
// Integers and BCD never pass through a float: the value of a record is the
// integer (or BCD number) of its data field scaled by the power of ten its
// VIF names. A 32-bit real (data field 5) becomes the shortest decimal
// that reads back as the same float32 (what the meter's display shows),
// not the float's full binary expansion.
//
// Records are appended to a caller-owned slice (AppendRecords), so decoding
// a telegram allocates nothing once the slice has grown; the byte slices a
// Record holds (Header, Data, UnitText) alias the input.
//
// Errors wrap the sentinels below and carry the byte position in the
// application data ("mbus: truncated at byte 23: …"); they never panic on any input.
package mbus
