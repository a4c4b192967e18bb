//go:build !unix

package serial

import "os"

// lockDevice only opens the device: there is no flock here.
func lockDevice(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDWR, 0) }
