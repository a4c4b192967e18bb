// Package zcl is a pure codec for the Zigbee Cluster Library (ZCL,
// Zigbee Alliance document 07-5123) and the Smart Energy clusters of the
// Zigbee Smart Energy profile 0x0109 (document 07-5356).
//
// It covers what an Energy Service Interface (ESI) serving in-home
// displays needs:
//
//   - the ZCL frame header (frame control with frame type,
//     manufacturer-specific, direction and disable-default-response bits;
//     manufacturer code; transaction sequence number; command id):
//     ParseFrame and AppendFrame;
//   - the global commands: Read Attributes and its response, Write
//     Attributes (plain, undivided and no-response) and its response,
//     Configure Reporting and its response, Read Reporting Configuration
//     and its response, Report Attributes, Default Response, Discover
//     Attributes and its response;
//   - the ZCL data types with their little-endian encodings and
//     invalid-value markers (Value, ParseValue, AppendValue);
//   - the status codes with the specification's names (Status);
//   - the cluster, attribute and command ids of Basic, Identify, Time,
//     Price, Demand Response and Load Control, Metering and Messaging, and
//     the cluster-specific payloads an ESI sends and receives
//     (PublishPrice, GetCurrentPrice, GetScheduledPrices, DisplayMessage,
//     CancelMessage, MessageConfirmation, LoadControlEvent,
//     CancelLoadControlEvent, ReportEventStatus, GetProfile,
//     GetProfileResponse);
//   - the Zigbee time base (UTCTime: seconds since 2000-01-01 00:00 UTC).
//
// Every parser takes a byte slice and returns values or an error wrapping
// one of the sentinels of this package (ErrShort, ErrMalformed,
// ErrUnsupportedType, ErrRange); encoders are append-style. Nothing here
// does I/O, starts goroutines or reads a clock.
//
// The encodings were cross-checked byte for byte against zigbee-herdsman
// (herdsman_test.go, testdata/herdsman/).
package zcl
