// Package meter holds the gateway's domain types: meter identities, OBIS
// codes (IEC 62056-61), exact decimal values, DLMS unit codes
// (IEC 62056-62), readings and commands.
//
// Every quantity the gateway handles is named by an OBIS code and carried as
// a scaled integer (Value: an int64 mantissa and a decimal exponent), so no
// figure a bill is computed from ever passes through a float. Conversions
// to floating point happen only at the edge a person reads.
//
// The numeric constants of this package (units, quality flags, sources,
// command kinds) are persisted and sent on the wire: they are spelled out,
// never numbered with iota, and must not change.
package meter
