// Package version holds the program's version string. Release builds set it
// with the linker:
//
//	go build -ldflags "-X github.com/smgw/smgw/internal/version.Version=1.2.3" ./cmd/smgw
//
// Without that it is "dev".
package version
