//go:build !linux

package serial

import (
	"fmt"
	"os"
)

// setRS485 is not available: TIOCSRS485 is Linux's.
func setRS485(*os.File, *RS485) error {
	return fmt.Errorf("%w: TIOCSRS485 exists only on Linux", ErrRS485Unsupported)
}
