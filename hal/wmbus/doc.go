// Package wmbus holds the wireless M-Bus receivers: the USB dongles and
// line sources that hand the gateway raw EN 13757-4 link-layer frames with
// their signal strength and time of receipt. It does not decode frames;
// that is internal/proto/wmbus's job, and deciding which meters to keep is
// internal/lmn/wmbus's.
//
// Every receiver implements Receiver: Run(ctx, fn) configures the device,
// then calls fn with each frame until ctx ends (it returns nil then) or the
// device fails (it returns the error; the caller may run it again).
//
//   - IM871A speaks the IMST iM871A (and iM170A) host controller
//     interface, HCI: frames start with 0xA5, then a control nibble and
//     endpoint id, a message id, a length, the payload and optional
//     timestamp, RSSI and CRC-16 fields (ParseHCI, AppendHCI).
//   - Amber speaks the command interface of the Amber (Würth Elektronik)
//     AMB8465 and AMB8665: 0xFF, a command, a length, the payload and an
//     XOR checksum; received telegrams arrive as CMD_DATA_IND with the RSSI
//     appended (ParseAMB, AppendAMB).
//   - Lines reads hex telegrams, one a line, from a file, a FIFO, a pipe or
//     stdin: plain hex (an optional key after it is ignored here) or the
//     output of rtl-wmbus ("T1;1;1;2019-04-03 19:00:42.000;97;148;…;0x…").
//
// Serial ports are opened through hal/serial, so a receiver's device has
// one owner in the process (a second Open, by any driver, fails with
// serial.ErrBusy) and is locked with flock against other processes; reads
// come back every 100 ms without data, so they loop until the context
// ends.
//
// The package imports nothing of internal/ (DESIGN: hal is the bottom
// layer).
package wmbus
