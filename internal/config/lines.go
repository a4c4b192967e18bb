package config

import (
	"strconv"
	"strings"
)

// lineIndex maps key paths ("gateway.id", "meter[1].interval",
// "meter[1]") to the 1-based line that defines them.
//
// BurntSushi/toml v1.6.0 keeps key positions private, and its map is
// keyed by the path without the [[array]] index, so every [[meter]] would
// share the last table's lines. The index is therefore built by a small
// scanner of its own. It understands comments, table and array-of-table
// headers, bare, quoted and dotted keys, and skips over multi-line strings
// and arrays; keys inside inline tables are found at their table's line.
// It never fails: on text it does not understand it records less, and
// lookups fall back to the nearest enclosing table.
type lineIndex struct {
	lines map[string]int
	keyAt map[int]string // line → the deepest key path defined on it
}

// find returns the line of key, or of its nearest enclosing table or
// array element that is in the file; 0 if none is.
func (x lineIndex) find(key string) int {
	for key != "" {
		if n, ok := x.lines[key]; ok {
			return n
		}
		key = parentPath(key)
	}
	return 0
}

// parentPath strips the last component: "meter[1].id" → "meter[1]" →
// "meter" → "".
func parentPath(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

func (x lineIndex) record(path string, line int) {
	if path == "" {
		return
	}
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = line
	}
	if old, ok := x.keyAt[line]; !ok || len(path) > len(old) {
		x.keyAt[line] = path
	}
}

// indexLines scans a TOML document.
func indexLines(data []byte) lineIndex {
	x := lineIndex{lines: map[string]int{}, keyAt: map[int]string{}}
	src := string(stripBOM(data))
	arrays := map[string]int{} // array-of-tables path (no indices) → tables so far
	table := ""                // the current table's indexed path
	inString := ""             // the open multi-line string's delimiter
	depth := 0                 // open [ and { of a multi-line value
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		if inString != "" || depth > 0 {
			inString, depth = scanValue(line, inString, depth)
			continue
		}
		t := strings.TrimLeft(line, " \t")
		switch {
		case t == "" || t[0] == '#':
		case strings.HasPrefix(t, "[["):
			keys, _, ok := parseKey(t[2:], "]]")
			if !ok {
				continue
			}
			arrays[strings.Join(keys, ".")]++
			table = renderTable(keys, arrays)
			x.recordPrefixes(table, n)
		case t[0] == '[':
			keys, _, ok := parseKey(t[1:], "]")
			if !ok {
				continue
			}
			table = renderTable(keys, arrays)
			x.recordPrefixes(table, n)
		default:
			keys, rest, ok := parseKey(t, "=")
			if !ok {
				continue
			}
			path := strings.Join(keys, ".")
			if table != "" {
				path = table + "." + path
			}
			x.recordPrefixes(path, n)
			inString, depth = scanValue(rest, "", 0)
		}
	}
	return x
}

// recordPrefixes records path and every enclosing path not yet seen.
func (x lineIndex) recordPrefixes(path string, line int) {
	for p := path; p != ""; p = parentPath(p) {
		x.record(p, line)
	}
}

// renderTable joins a header's keys, adding "[i]" after each prefix that
// is an array of tables (i being its latest element).
func renderTable(keys []string, arrays map[string]int) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(k)
		if n := arrays[strings.Join(keys[:i+1], ".")]; n > 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(n - 1))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// parseKey reads a (dotted, possibly quoted) key from s up to term and
// returns its parts and what follows term.
func parseKey(s, term string) (keys []string, rest string, ok bool) {
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return nil, "", false
		}
		var k string
		switch s[i] {
		case '"', '\'':
			q := s[i]
			j := i + 1
			for j < len(s) && s[j] != q {
				if q == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, "", false
			}
			k = s[i+1 : j]
			i = j + 1
		default:
			j := i
			for j < len(s) && isBareKeyByte(s[j]) {
				j++
			}
			if j == i {
				return nil, "", false
			}
			k = s[i:j]
			i = j
		}
		keys = append(keys, k)
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		switch {
		case strings.HasPrefix(s[i:], term):
			return keys, s[i+len(term):], true
		case i < len(s) && s[i] == '.':
			i++
		default:
			return nil, "", false
		}
	}
}

func isBareKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// scanValue follows a value over one line: it returns the multi-line
// string still open at the end of the line ("" if none) and the depth of
// the arrays and inline tables still open.
func scanValue(s, inString string, depth int) (string, int) {
	for i := 0; i < len(s); i++ {
		if inString != "" {
			j := strings.Index(s[i:], inString)
			if j < 0 {
				return inString, depth
			}
			i += j + len(inString) - 1
			inString = ""
			continue
		}
		switch c := s[i]; c {
		case '"', '\'':
			if strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`) {
				inString = s[i : i+3]
				i += 2
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		case '#':
			return "", depth
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return inString, depth
}
