// Package tests holds the end-to-end tests of smgw: they build the real
// binary once (TestMain) and run it as the appliance would, against real
// files and, as the product grows, real peers (DESIGN, "Peers used in
// tests"). The crash test kills the binary with SIGKILL mid-write and
// checks that every acknowledged reading survived; others start the demo
// and feed the binary bad configuration, truncated databases and wrong
// keys. Run them with `go test ./tests/` (or scripts/test.sh).
package tests
