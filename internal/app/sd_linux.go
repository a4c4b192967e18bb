//go:build linux

package app

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/journal"
)

// sdNotify sends state to systemd; a no-op without NOTIFY_SOCKET.
func sdNotify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// sdWatchdog returns the watchdog interval systemd expects pings within
// (WatchdogSec=), or 0 when the watchdog is not enabled for this process.
func sdWatchdog() (time.Duration, error) { return daemon.SdWatchdogEnabled(false) }

// journalStderr reports whether stderr is connected to the journal
// (JOURNAL_STREAM names it) and the journal's socket is there, so log lines
// should go to the journal with fields rather than as text.
func journalStderr() bool {
	if !journal.Enabled() {
		return false
	}
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}

func journalSend(msg string, prio journal.Priority, vars map[string]string) error {
	return journal.Send(msg, prio, vars)
}
