package version

// Version is the program's version, set by -ldflags at release builds
// (see the package doc); "dev" otherwise. It is a variable only so the
// linker can set it: nothing in the program assigns it.
var Version = "dev"
