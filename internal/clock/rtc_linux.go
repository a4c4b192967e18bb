//go:build linux

package clock

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// rtcVLDataInvalid is RTC_VL_DATA_INVALID of linux/rtc.h: the RTC lost
// its time (its backup supply failed).
const rtcVLDataInvalid = 0x1

// rtcValid reports whether the RTC at dev says its time is valid and the
// kernel set the system time from it at boot (hctosys). An RTC that cannot
// report validity (no RTC_VL_READ) does not vouch.
func rtcValid(dev, hctosys string) bool {
	b, err := os.ReadFile(hctosys)
	if err != nil || strings.TrimSpace(string(b)) != "1" {
		return false
	}
	f, err := os.Open(dev)
	if err != nil {
		return false
	}
	defer f.Close()
	v, err := unix.IoctlGetUint32(int(f.Fd()), unix.RTC_VL_READ)
	return err == nil && v&rtcVLDataInvalid == 0
}
