// Package modbus embeds the Modbus meter profiles shipped with the
// gateway: one TOML register map per meter model (see docs/modbus.md for
// the format). internal/lmn/modbus/profile parses and checks them; this
// package only carries the files.
package modbus

import "embed"

// FS holds the *.toml profiles.
//
//go:embed *.toml
var FS embed.FS
