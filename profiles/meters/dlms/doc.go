// Package dlms embeds the DLMS/COSEM object lists shipped with the
// gateway: one file per meter family, each line an object (OBIS code,
// interface class, role, name). internal/lmn/dlms parses and checks them
// (LoadObjects, with errors naming the file and line); see
// docs/dlms-driver.md for the format. This package only carries the
// files.
package dlms

import "embed"

// FS holds the *.objects lists.
//
//go:embed *.objects
var FS embed.FS
