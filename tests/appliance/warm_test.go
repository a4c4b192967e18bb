package appliance

import (
	"os"
	"testing"
)

// TestWarmRootfs builds (or finds) the cached root filesystem only; run it
// with SMGW_APPLIANCE_WARM=1 to prepare a machine.
func TestWarmRootfs(t *testing.T) {
	if os.Getenv("SMGW_APPLIANCE_WARM") == "" {
		t.Skip("set SMGW_APPLIANCE_WARM=1 to only build the cached root filesystem")
	}
	debianRootfs(t)
}
