// Package wmbusprofiles embeds the gateway's wireless M-Bus manufacturer
// profiles (the *.prof files of this directory; their format is in
// docs/wmbus.md) and loads them for package internal/proto/wmbus.
package wmbusprofiles

import (
	"embed"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

// FS holds the profile files.
//
//go:embed *.prof
var FS embed.FS

// Load parses the embedded profiles. It fails only if a profile file is
// broken, which the package's test rules out.
func Load() (*wmbus.Profiles, error) {
	return wmbus.LoadProfiles(FS, ".")
}
