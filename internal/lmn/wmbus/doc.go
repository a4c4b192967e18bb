// Package wmbus is the gateway's wireless M-Bus meter service: it takes
// the frames of a receiver (hal/wmbus), keeps those of the configured
// meters, decrypts and decodes them (internal/proto/wmbus) with each
// meter's key, and hands the readings to the same sink the other meter
// drivers use.
//
// On the way it
//
//   - looks meters up by manufacturer and identification number in a map,
//     so the cost of a telegram does not grow with the number of
//     configured meters;
//   - drops repeats of a telegram (a repeater's copy, a re-send): the same
//     meter, access number and payload within DupWindow;
//   - rejects replays: an AFL message counter that does not increase, an
//     access number that went back while the meter's recent rate says it
//     cannot have wrapped, and a meter clock far from the gateway's
//     (CVE-2021-34572);
//   - flags mode-5 meters whose 8-bit access number comes round again,
//     which reuses the AES-CBC IV (CVE-2021-34576), in their health;
//   - records unknown meters heard nearby, bounded, and every configured
//     meter's health: last seen, RSSI, telegrams, duplicates, replays and
//     decode errors by reason;
//   - counts and logs bad telegrams with their reason, keeping the last
//     few in hex for diagnosis. A telegram whose decryption check fails is
//     never stored. Nothing panics; other meters go on.
//
// The rules are in docs/wmbus-receivers.md. Subpackage sim builds
// encrypted telegrams of simulated meters for the demo.
package wmbus
