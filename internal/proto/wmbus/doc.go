// Package wmbus decodes wireless M-Bus telegrams (EN 13757-4 link layer,
// EN 13757-7 transport and security layers, OMS profiles) down to the
// M-Bus records of package mbus, with their OBIS codes, exact values and
// DLMS units.
//
// # What it reads
//
//   - Frames of format A (CRC after the 10-byte first block and every
//     16-byte block) and format B (CRC after the second and third block,
//     L counting the CRCs), and frames whose CRCs the receiver already
//     removed; FormatAuto tells them apart by length and CRC. Wired M-Bus
//     long frames (68 L L 68 C A CI … CS 16) are read too, their records
//     with the same mbus package.
//   - The link layer: L, C, manufacturer, identification number, version,
//     device type.
//   - CI fields: ELL 0x8C (short) and 0x8D (long, AES-128-CTR encrypted
//     with payload CRC), AFL 0x90 (fragmentation, message counter, AES-CMAC
//     MAC), TPL without header (0x78, 0x69/0x70 style application data),
//     short header (0x7A, 0x5B…) and long header (0x72, 0x5A, 0x53…),
//     compact frames (0x79) whose format is known, and the manufacturer-
//     specific CIs (0xA0–0xB7) of the meters with a profile.
//   - Security: mode 0 (none), mode 5 (AES-128-CBC, IV from manufacturer,
//     address and access number) and mode 7 (AES-128-CBC with zero IV, keys
//     derived by the OMS key derivation function from the AFL message
//     counter with AES-CMAC, the AFL MAC verified), partial encryption
//     (the configuration word's count of encrypted blocks), and the 0x2F2F
//     decryption check. A telegram whose check fails yields no records.
//
// # How to use it
//
// A receiver filters by meter before it decrypts: ParseHeader (or
// Decoder.Header) reads the addresses, CI chain, access number, AFL message
// counter and security mode without a key. Decode then takes the meter's
// key (nil for none) and fills a Telegram. A Decoder caches AES key
// schedules per key and reuses its scratch buffers, and Decode appends
// into the Telegram's own slices, so decoding a stream of telegrams into
// one reused Telegram allocates almost nothing. A Decoder is not safe for
// concurrent use; use one per goroutine.
//
// Manufacturer-specific data (compact frame formats, proprietary CIs,
// manufacturer VIFs) is described by Profiles: declarative profile files
// (see LoadProfiles and docs/wmbus.md; the gateway's own are embedded by
// package profiles/meters/wmbus) and a few decoders in code for what a
// profile cannot say.
//
// # Errors
//
// Errors wrap the sentinels ErrCRC, ErrTruncated, ErrUnknownCI,
// ErrUnknownVIF (mbus.ErrUnknownVIF), ErrDecrypt, ErrMAC, ErrNoKey,
// ErrLength, ErrUnsupported and ErrFormat, and name the byte position in
// the frame ("wmbus: bad CRC at byte 26: format A block 2 CRC"); see
// Offset. Nothing panics on any input.
//
// MarshalJSON/AppendJSON encode a Telegram as the decode JSON of
// docs/wmbus.md, the contract `smgw decode --format json` and other tools
// share.
package wmbus
