// Package clock tells the gateway whether its wall clock can be trusted
// and records when it jumps.
//
// A gateway may boot at 1970, or with a clock that drifted while the power
// was off; a reading timestamped then would be billed at the wrong time
// (STYLE: don't timestamp before the clock is trusted). A Monitor decides
// trust from the configured source — systemd-timesyncd's state (the file
// /run/systemd/timesync/synchronized exists once NTP has synchronised the
// clock), a real-time clock whose data the kernel reports valid
// (RTC_VL_READ without RTC_VL_DATA_INVALID, and the system time set from it
// at boot), either of those, or nothing (the clock is taken as it is: the
// demo and development machines). Once trusted, the clock stays trusted.
//
// Run also compares the wall clock with the monotonic clock every period
// and reports a difference larger than the threshold as a Jump: NTP's first
// correction, an operator's date -s, a resumed virtual machine. The gateway
// records both in its system event log.
//
// Every source and both clocks are injectable (Options), so tests run
// without sleeping and without a real RTC.
package clock
