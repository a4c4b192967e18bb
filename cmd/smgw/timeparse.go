package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/config"
)

// parseTime reads the time flags (--from, --to):
//
//	2026-11-21T10:00:00Z    RFC 3339 (also with an offset and fractions)
//	2026-11-21T10:00        a date and time without offset, in loc
//	2026-11-21              midnight at the start of the date, in loc
//	-24h, -7d, -1d12h, -90m relative to now: d, h, m, s (as in the
//	                        configuration) or a Go duration ("-1.5h")
//	now                     now
func parseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time")
	case s == "now":
		return now, nil
	case s[0] == '-' || s[0] == '+':
		rel := s[1:]
		d, err := config.ParseDuration(rel)
		if err != nil {
			gd, gerr := time.ParseDuration(rel)
			if gerr != nil || gd < 0 {
				return time.Time{}, fmt.Errorf("%q is not a relative time (try -24h, -7d or -1d12h)", s)
			}
			d = config.Duration(gd)
		}
		if s[0] == '-' {
			return now.Add(-d.Std()), nil
		}
		return now.Add(d.Std()), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use RFC 3339 \"2026-11-21T10:00:00Z\", a date \"2026-11-21\" or relative \"-24h\", \"-7d\")", s)
}
