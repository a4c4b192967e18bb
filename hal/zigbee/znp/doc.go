// Package znp is the codec of TI Z-Stack's Monitor and Test (MT) serial
// protocol, which a host speaks to a Z-Stack ZNP ("Zigbee network
// processor") co-processor such as a CC2652 or a CC2531: frames, the
// command identifiers, typed payloads of the commands the gateway uses, and
// the Z-Stack status codes with their names. Facts are from TI's public
// "Z-Stack Monitor and Test API" document (SWRA198) and the Z-Stack 3.x
// headers it describes.
//
// A frame on the UART is
//
//	SOF 0xFE | Len | Cmd0 | Cmd1 | Data (Len bytes) | FCS
//
// where Len is the length of Data (at most 250 bytes), Cmd0 holds the
// frame type in bits 7…5 (POLL 0, SREQ 1, AREQ 2, SRSP 3) and the
// subsystem in bits 4…0 (SYS 1, AF 4, ZDO 5, UTIL 7, APP_CNF 15, …), Cmd1
// is the command id within the subsystem, and FCS is the XOR of Len,
// Cmd0, Cmd1 and Data. Multi-byte fields are little-endian.
//
// AppendFrame and ParseFrame handle one frame; Decoder takes a byte stream
// in arbitrary pieces and yields frames, skipping garbage, frames with a
// bad FCS and frames whose length is wrong, and reporting each with a
// *FrameError naming the stream offset and what was wrong. The typed
// messages (SysVersionRsp, AfIncomingMsg, …) are built with their Frame
// method and read with the matching Parse function, in both directions, so
// that a host driver and a co-processor simulator share one codec.
//
// The package is pure: no goroutines, clocks or I/O. It sits under hal/
// rather than internal/proto/ because the hal/zigbee driver needs it and
// hal imports nothing of internal/ (the same choice as hal/wmbus, which
// keeps its receivers' HCI framing beside the driver).
//
// The Zigbee install code helpers (InstallCodeKey, CheckInstallCode) live
// here too: Z-Stack takes the derived link key in
// APP_CNF_BDB_ADD_INSTALLCODE, and every user of this package needs them.
package znp
