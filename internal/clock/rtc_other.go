//go:build !linux

package clock

// rtcValid is false: reading an RTC's validity is Linux only.
func rtcValid(dev, hctosys string) bool { return false }
