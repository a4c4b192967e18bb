// Package command is the wire side of the head-end system's commands: the
// signed command envelope (COSE_Sign1, ES256, over a CBOR map), its
// verification against the configured HES keys (signature, key, gateway,
// validity window with bounded clock skew, role), the replay guard that
// remembers command ids for as long as they could be valid, and the
// gateway's signed response. docs/commands.md describes the format with a
// worked example.
//
// It decides whether a command may run, never runs one: internal/app's
// command path calls Verifier.Verify, records the outcome in the event log
// and dispatches the command to the service that carries it out.
// Apart from the replay guard's records the package does no I/O and reads
// no clock: the time is passed in.
package command
