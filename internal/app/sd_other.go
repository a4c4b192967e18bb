//go:build !linux

package app

import (
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

func sdNotify(string) error { return nil }

func sdWatchdog() (time.Duration, error) { return 0, nil }

func journalStderr() bool { return false }

func journalSend(string, journal.Priority, map[string]string) error { return nil }
