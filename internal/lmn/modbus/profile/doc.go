// Package profile reads Modbus meter profiles: declarative register maps,
// one TOML file per meter model, that say which registers hold which
// quantity, in which data type and word order, and how each maps onto an
// OBIS code, a DLMS unit and an exact decimal value.
//
// A profile is data checked when it is loaded: an unknown key, a bad OBIS
// code, unit or data type, overlapping registers or a request size beyond
// the Modbus limit is an error naming the file, the line and the key, never
// a panic while a meter is read. Decode then turns the bytes of a response
// into a meter.Value without passing billing data through a float:
// integers are scaled exactly, and float32 registers are rounded to the
// register's declared number of decimals (see Register.Decode).
//
// The profiles shipped with the gateway are embedded from
// profiles/meters/modbus and found by name with Builtin.
package profile
