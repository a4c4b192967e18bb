package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

type journalEntry struct {
	msg  string
	prio journal.Priority
	vars map[string]string
}

func TestJournalHandler(t *testing.T) {
	var got []journalEntry
	h := NewJournalHandler(slog.LevelInfo, func(msg string, prio journal.Priority, vars map[string]string) error {
		got = append(got, journalEntry{msg, prio, vars})
		return nil
	})
	log := slog.New(h).With("service", "store", "message", "clash")
	log.Debug("not shown")
	log.Info("opened", "path", "/var/lib/smgw/smgw.db", "took", 3*time.Millisecond)
	log.WithGroup("db").Warn("slow commit", slog.Group("tx", "pages", 12), "2fast", true)
	log.Error("failed", "err", "disk full")
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3: %+v", len(got), got)
	}
	want := []journalEntry{
		{"opened", journal.PriInfo, map[string]string{"SERVICE": "store", "SMGW_MESSAGE": "clash",
			"PATH": "/var/lib/smgw/smgw.db", "TOOK": "3ms"}},
		{"slow commit", journal.PriWarning, map[string]string{"SERVICE": "store", "SMGW_MESSAGE": "clash",
			"DB_TX_PAGES": "12", "DB_F_2FAST": "true"}},
		{"failed", journal.PriErr, map[string]string{"SERVICE": "store", "SMGW_MESSAGE": "clash", "ERR": "disk full"}},
	}
	for i, w := range want {
		g := got[i]
		if g.msg != w.msg || g.prio != w.prio {
			t.Errorf("entry %d: %q priority %d, want %q %d", i, g.msg, g.prio, w.msg, w.prio)
		}
		for k, v := range w.vars {
			if g.vars[k] != v {
				t.Errorf("entry %d: %s = %q, want %q (all: %v)", i, k, g.vars[k], v, g.vars)
			}
		}
		if g.vars["SYSLOG_IDENTIFIER"] != "smgw" {
			t.Errorf("entry %d: no SYSLOG_IDENTIFIER", i)
		}
		for k := range g.vars {
			if k != strings.ToUpper(k) || strings.HasPrefix(k, "_") || k[0] >= '0' && k[0] <= '9' {
				t.Errorf("entry %d: field name %q is not valid for the journal", i, k)
			}
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogJSON, "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("json log: %s", s)
	}
	buf.Reset()
	t.Setenv("JOURNAL_STREAM", "") // auto is text when stderr is not the journal
	log, err = NewLogger(&buf, LogAuto, "")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	if !strings.Contains(buf.String(), "msg=hello") {
		t.Errorf("auto log: %s", buf.String())
	}
	if _, err := NewLogger(&buf, "xml", ""); err == nil {
		t.Error("no error for format xml")
	}
	if _, err := NewLogger(&buf, LogText, "loud"); err == nil {
		t.Error("no error for level loud")
	}
}
