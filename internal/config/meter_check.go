package config

import (
	"fmt"
	"slices"
	"strings"
)

// CheckMeter checks a [[meter]] table m as if the file had it after the
// tables others (the meters the gateway runs), with the rest of c as it
// is: the checks of Load and Validate, including those across meters
// (a unit address or wM-Bus address used twice, a line's settings that
// disagree). It returns the problems m adds, nil if none. The keys of m's
// own problems are relative ("unit", "address"); a problem reported on
// another meter's table names that meter ("meter elec-2: baud").
// It is what the HES add-meter command validates with.
func (c *Config) CheckMeter(others []Meter, m Meter) []Problem {
	probe := *c
	probe.Meters = slices.Clone(others)
	probe.WAN.Commands.Keys = nil // read from files; they were valid at start
	before := map[string]bool{}
	for _, p := range probe.problems() {
		before[p.Key+"\x00"+p.Msg] = true
	}
	probe.Meters = append(probe.Meters, m)
	self := fmt.Sprintf("meter[%d]", len(others))
	var out []Problem
	for _, p := range probe.problems() {
		if before[p.Key+"\x00"+p.Msg] {
			continue
		}
		q := p.Problem
		if k, ok := strings.CutPrefix(q.Key, self); ok {
			q.Key = strings.TrimPrefix(k, ".")
		}
		q.Msg = strings.ReplaceAll(q.Msg, self, "this meter")
		for i, o := range others { // "meter[3]" → "meter elec-2"
			name := fmt.Sprintf("meter[%d]", i)
			q.Key = strings.ReplaceAll(q.Key, name, "meter "+string(o.ID))
			q.Msg = strings.ReplaceAll(q.Msg, name, "meter "+string(o.ID))
		}
		out = append(out, q)
	}
	return out
}
