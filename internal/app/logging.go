package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// Log formats (the [gateway] log_format setting).
const (
	LogAuto    = "auto"    // the journal under systemd, else text
	LogText    = "text"    // slog text lines
	LogJSON    = "json"    // slog JSON lines
	LogJournal = "journal" // journal fields (native protocol)
)

// NewLogger returns the daemon's logger. format is one of the Log*
// constants ("" is auto); level is a slog level name ("debug", "info",
// "warn", "error", "" is info). Text and JSON go to w.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("app: log level %q: want debug, info, warn or error", level)
		}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "", LogAuto:
		if journalStderr() {
			return slog.New(NewJournalHandler(lvl, nil)), nil
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case LogJournal:
		return slog.New(NewJournalHandler(lvl, nil)), nil
	}
	return nil, fmt.Errorf("app: log format %q: want auto, text or json", format)
}

// JournalSender sends one journal entry (journal.Send).
type JournalSender func(msg string, prio journal.Priority, vars map[string]string) error

// JournalHandler is a slog.Handler writing native journal entries:
// MESSAGE, PRIORITY from the level, SYSLOG_IDENTIFIER=smgw, and every
// attribute as an upper-case field (groups joined with '_': "store.path"
// becomes STORE_PATH).
type JournalHandler struct {
	level  slog.Leveler
	send   JournalSender
	prefix string            // upper-case group prefix, with a trailing '_'
	fields map[string]string // from WithAttrs
}

// NewJournalHandler returns a handler logging at level and above; send nil
// is journal.Send.
func NewJournalHandler(level slog.Leveler, send JournalSender) *JournalHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	if send == nil {
		send = journalSend
	}
	return &JournalHandler{level: level, send: send}
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := make(map[string]string, len(h.fields)+r.NumAttrs()+2)
	for k, v := range h.fields {
		vars[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		addJournalAttr(vars, h.prefix, a)
		return true
	})
	vars["SYSLOG_IDENTIFIER"] = "smgw"
	return h.send(r.Message, journalPriority(r.Level), vars)
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.fields = make(map[string]string, len(h.fields)+len(as))
	for k, v := range h.fields {
		h2.fields[k] = v
	}
	for _, a := range as {
		addJournalAttr(h2.fields, h.prefix, a)
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + journalName(name) + "_"
	return &h2
}

func addJournalAttr(vars map[string]string, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += journalName(a.Key) + "_"
		}
		for _, g := range a.Value.Group() {
			addJournalAttr(vars, p, g)
		}
		return
	}
	var v string
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().UTC().Format(time.RFC3339Nano)
	} else {
		v = a.Value.String()
	}
	name := prefix + journalName(a.Key)
	switch name {
	case "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER":
		name = "SMGW_" + name // never override the entry's own fields
	}
	vars[name] = v
}

// journalName maps an attribute key to a valid journal field name:
// upper-case letters, digits and '_', not starting with '_' or a digit.
func journalName(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, c := range []byte(key) {
		switch {
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "F_" + s
	}
	return s
}

func journalPriority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
