package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the configuration file at path over the defaults and
// validates it. A file that cannot be read gives the *os.PathError
// (wrapped); a file with problems gives an *Error listing all of them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Check loads the file at path and returns Load's error: what `smgw config
// check FILE` reports.
func Check(path string) error {
	_, err := Load(path)
	return err
}

// Parse reads a configuration from data over the defaults and validates
// it; name is the file name problems are reported against. It returns
// either the configuration or an *Error with every problem found: a TOML
// syntax error (the parser stops at the first), or else each unknown key,
// each value of the wrong type and each value that fails validation.
func Parse(name string, data []byte) (*Config, error) {
	var doc map[string]any
	_, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	if err != nil {
		p := Problem{File: name, Msg: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line = syntaxLine(data, pe.Position)
			p.Msg = "syntax error: " + pe.Message
			p.Key = indexLines(data).keyAt[p.Line]
		}
		return nil, &Error{Problems: []Problem{p}}
	}

	c := defaults()
	var d decoder
	d.table("", doc, reflect.ValueOf(c).Elem())
	ps := d.problems
	for _, p := range c.problems() {
		if d.failed(p.Key) || slices.ContainsFunc(p.deps, d.failed) {
			continue
		}
		ps = append(ps, p.Problem)
	}
	if len(ps) > 0 {
		idx := indexLines(data)
		for i := range ps {
			ps[i].File = name
			ps[i].Line = idx.find(ps[i].Key)
		}
		sortProblems(ps)
		return nil, &Error{Problems: ps}
	}
	c.derive()
	return c, nil
}

// syntaxLine returns the line of a syntax error. The parser's line is one
// too far when the error is at a newline, so the line is recounted from
// the error's byte offset, which it gives in the text after a BOM.
func syntaxLine(data []byte, pos toml.Position) int {
	data = stripBOM(data)
	if pos.Start < 0 || pos.Start > len(data) {
		return pos.Line
	}
	return 1 + bytes.Count(data[:pos.Start], []byte("\n"))
}

// stripBOM drops a byte order mark as the TOML parser does.
func stripBOM(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		return data[2:]
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:]
	}
	return data
}

// sortProblems orders problems by line, those without a line last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Line, ps[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}

// decoder assigns a decoded TOML document to a Config, collecting a
// problem for every unknown key and every value of the wrong type instead
// of stopping at the first (toml.Decode into the struct would).
type decoder struct {
	problems   []Problem
	failedKeys map[string]bool // the keys of problems, built by failed once decoding is done
}

func (d *decoder) add(key, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// failed reports whether key, or a table enclosing it, already has a
// problem, so validation does not report the default it kept.
func (d *decoder) failed(key string) bool {
	if d.failedKeys == nil {
		d.failedKeys = make(map[string]bool, len(d.problems))
		for _, p := range d.problems {
			d.failedKeys[p.Key] = true
		}
	}
	for ; key != ""; key = parentPath(key) {
		if d.failedKeys[key] {
			return true
		}
	}
	return false
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// tomlName returns a struct field's TOML key.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// table assigns a TOML table to the struct rv.
func (d *decoder) table(path string, m map[string]any, rv reflect.Value) {
	t := rv.Type()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := joinKey(path, k)
		field := -1
		var known []string
		suggest := ""
		for i := range t.NumField() {
			name := tomlName(t.Field(i))
			known = append(known, name)
			if name == k {
				field = i
			} else if strings.EqualFold(name, k) {
				suggest = name
			}
		}
		switch {
		case field >= 0:
			d.value(key, m[k], rv.Field(field))
		case suggest != "":
			d.add(key, "unknown key; keys are case-sensitive: did you mean %q?", suggest)
		case path == "":
			d.add(key, "unknown table or key; known: %s", strings.Join(known, ", "))
		default:
			d.add(key, "unknown key; known keys here: %s", strings.Join(known, ", "))
		}
	}
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
	meterType    = reflect.TypeFor[Meter]()
)

// value assigns one TOML value to the field fv.
func (d *decoder) value(key string, v any, fv reflect.Value) {
	switch fv.Type() {
	case durationType:
		s, ok := v.(string)
		if !ok {
			d.add(key, "must be a duration string like \"15m\" or \"1h30m\", not %s", tomlType(v))
			return
		}
		x, why := parseDuration(s)
		if why != "" {
			d.add(key, "invalid duration %q: %s", s, why)
			return
		}
		fv.Set(reflect.ValueOf(x))
		return
	case sizeType:
		s, ok := v.(string)
		if !ok {
			d.add(key, "must be a size string like \"512MiB\", not %s", tomlType(v))
			return
		}
		x, why := parseSize(s)
		if why != "" {
			d.add(key, "invalid size %q: %s", s, why)
			return
		}
		fv.Set(reflect.ValueOf(x))
		return
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.add(key, "must be a string, not %s", tomlType(v))
			return
		}
		fv.SetString(s)
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			d.add(key, "must be an integer, not %s", tomlType(v))
			return
		}
		if fv.OverflowInt(n) {
			d.add(key, "%d is out of range", n)
			return
		}
		fv.SetInt(n)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.add(key, "must be true or false, not %s", tomlType(v))
			return
		}
		fv.SetBool(b)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.add(key, "must be a table ([%s]), not %s", key, tomlType(v))
			return
		}
		d.table(key, m, fv)
	case reflect.Slice:
		switch fv.Type().Elem().Kind() {
		case reflect.String:
			d.strings(key, v, fv)
		case reflect.Int:
			d.ints(key, v, fv)
		case reflect.Struct:
			d.tables(key, v, fv)
		default:
			d.add(key, "cannot be decoded into %s", fv.Type()) // a bug in Config, not in the file
		}
	default:
		d.add(key, "cannot be decoded into %s", fv.Type())
	}
}

// strings assigns an array of strings.
func (d *decoder) strings(key string, v any, fv reflect.Value) {
	arr, ok := v.([]any)
	if !ok {
		d.add(key, "must be an array of strings, not %s", tomlType(v))
		return
	}
	out := reflect.MakeSlice(fv.Type(), 0, len(arr))
	bad := false
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			d.add(fmt.Sprintf("%s[%d]", key, i), "must be a string, not %s", tomlType(e))
			bad = true
			continue
		}
		out = reflect.Append(out, reflect.ValueOf(s).Convert(fv.Type().Elem()))
	}
	if !bad {
		fv.Set(out)
	}
}

// ints assigns an array of integers (security.pcrs).
func (d *decoder) ints(key string, v any, fv reflect.Value) {
	arr, ok := v.([]any)
	if !ok {
		d.add(key, "must be an array of integers, not %s", tomlType(v))
		return
	}
	out := reflect.MakeSlice(fv.Type(), 0, len(arr))
	bad := false
	for i, e := range arr {
		n, ok := e.(int64)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			d.add(fmt.Sprintf("%s[%d]", key, i), "must be an integer, not %s", tomlType(e))
			bad = true
			continue
		}
		out = reflect.Append(out, reflect.ValueOf(int(n)))
	}
	if !bad {
		fv.Set(out)
	}
}

// tables assigns an array of tables ([[meter]] or meter = [{…}, …]).
func (d *decoder) tables(key string, v any, fv reflect.Value) {
	var list []any
	switch x := v.(type) {
	case []map[string]any:
		for _, m := range x {
			list = append(list, m)
		}
	case []any:
		list = x
	default:
		d.add(key, "must be an array of tables ([[%s]]), not %s", key, tomlType(v))
		return
	}
	et := fv.Type().Elem()
	out := reflect.MakeSlice(fv.Type(), 0, len(list))
	bad := false
	for i, item := range list {
		ekey := fmt.Sprintf("%s[%d]", key, i)
		m, ok := item.(map[string]any)
		if !ok {
			d.add(ekey, "must be a table, not %s", tomlType(item))
			bad = true
			continue
		}
		e := reflect.New(et).Elem()
		if et == meterType {
			e.Set(reflect.ValueOf(DefaultMeter()))
		}
		d.table(ekey, m, e)
		out = reflect.Append(out, e)
	}
	if !bad {
		fv.Set(out)
	}
}

// tomlType names a decoded TOML value's type for messages.
func tomlType(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the float %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return fmt.Sprintf("a %T", v)
}
