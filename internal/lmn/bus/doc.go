// Package bus is the scheduler of one request/response line (an RS-485
// line, or a TCP link to a serial converter) shared by several meters.
// It knows no protocol: drivers give it jobs (functions that talk to one
// meter) and it decides which runs next.
//
// Each meter has a poll plan: jobs that recur with a period (registers
// every N seconds, the load profile every 15 minutes, the clock check
// daily), optionally aligned to the wall clock (a quarter-hour job runs
// just after each quarter). The Scheduler is pure bookkeeping over times
// it is given, so it is tested with a fake clock; the Runner executes it
// on a line with real time: one job on the line at a time, each with a
// deadline, commands (a disconnect) before the next poll, due polls
// shared fairly between meters (the meter served longest ago goes
// first), and failures retried with exponential backoff up to a limit,
// after which the job waits for its next regular slot.
//
// Per-meter health is counted from the errors jobs return, classified by
// the sentinels of this package that drivers wrap (ErrTimeout, ErrFrame,
// ErrProtocol with a kind) and from line errors drivers report while a
// job recovers from them (Runner.Note), with the retries (Runner.Retried)
// and a state in a word (Health.State: ok, failing, unreachable,
// waiting). With Options.HoldOnTimeout a meter that does not answer holds
// its other jobs until the failed one's retry. A job error wrapped with
// Stop (the port failed, the store refused readings) is the line's, not
// the meter's: Run returns it so that its owner reopens the port. The
// Runner also keeps the line's occupancy (busy share of the last 15
// minutes) and runs one cycle of every job on demand (Cycle, for probes
// and benchmarks).
package bus
