package profile

import (
	"fmt"
	"strings"
)

// lineIndex maps key paths ("model", "register[2]", "register[2].obis")
// to their 1-based lines. BurntSushi/toml keeps key positions private, so
// a small scanner of the profile format (top-level keys, [[register]]
// tables of key = value lines, comments) finds them; on anything else it
// records less and lookups fall back to the enclosing table.
type lineIndex map[string]int

func indexLines(data []byte) lineIndex {
	x := lineIndex{}
	table := ""
	regs := 0
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#':
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(t[2:], "#", 2)[0]), "]]"))
			if name == "register" {
				table = fmt.Sprintf("register[%d]", regs)
				regs++
			} else {
				table = name
			}
			x.set(table, i+1)
		case strings.HasPrefix(t, "["):
			table = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(t[1:], "#", 2)[0]), "]"))
			x.set(table, i+1)
		default:
			k, _, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			k = strings.Trim(strings.TrimSpace(k), `"'`)
			if table != "" {
				k = table + "." + k
			}
			x.set(k, i+1)
		}
	}
	return x
}

func (x lineIndex) set(k string, n int) {
	if _, ok := x[k]; !ok {
		x[k] = n
	}
}

// find returns the line of key or of its nearest enclosing table.
func (x lineIndex) find(key string) int {
	for key != "" {
		if n, ok := x[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}
