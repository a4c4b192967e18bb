// Package hygiene holds no code, only tests that keep the repository to its
// own rules (STYLE 14 and the layering of DESIGN): every package has a
// package doc comment, only internal/store imports bbolt, the codecs under
// internal/proto import nothing of this module but internal/meter, and hal
// imports nothing of internal/. They run with every `go test ./...`.
package hygiene
