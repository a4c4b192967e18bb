// Package proto is the root of the gateway's pure protocol codecs, one
// subpackage per protocol: mbus (EN 13757-3 wired M-Bus), wmbus
// (EN 13757-4 wireless M-Bus), hdlc and dlms (DLMS/COSEM, IEC 62056),
// modbus (Modbus RTU/TCP), zcl and znp (Zigbee cluster library and the
// network co-processor's serial protocol). Each takes and returns bytes and
// structs: no goroutines, no clocks, no ports, no globals. Framing is kept
// apart from meaning, every index is bounds-checked, and each codec has
// fuzz targets, golden files under testdata/ and a benchmark per hot
// decoder. These packages import nothing of this module but internal/meter.
package proto
