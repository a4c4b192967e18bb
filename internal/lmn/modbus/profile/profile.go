package profile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/modbus"
	builtin "github.com/smgw/smgw/profiles/meters/modbus"
)

// Errors of this package. Both are permanent: the file must be fixed.
var (
	// ErrInvalid is returned (wrapped by *Error) for a profile with
	// problems.
	ErrInvalid = errors.New("profile: invalid Modbus profile")
	// ErrValue is returned (wrapped) by Decode for bytes that hold no
	// value: the register's "invalid" marker, a float NaN or infinity, or
	// a value too large for an exact decimal.
	ErrValue = errors.New("profile: register holds no valid value")
	// ErrNotFound is returned (wrapped) by Builtin for an unknown name.
	ErrNotFound = errors.New("profile: no such built-in profile")
)

// Problem is one thing wrong in a profile file.
type Problem struct {
	File string // the file name given to Parse
	Line int    // 1-based; 0 when the key is not in the file
	Key  string // e.g. "register[3].obis" (0-based index) or "word_order"
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem of one profile. errors.Is(err, ErrInvalid)
// reports true for it.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Table is the register table a register is read from.
type Table byte

// Tables.
const (
	Input   Table = Table(modbus.FuncReadInput)   // input registers, function 4
	Holding Table = Table(modbus.FuncReadHolding) // holding registers, function 3
)

func (t Table) String() string {
	if t == Input {
		return "input"
	}
	return "holding"
}

// Type is a register's data type.
type Type string

// Data types and the registers they occupy.
var typeRegs = map[Type]int{
	"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4, "int64": 4, "float32": 2,
}

// Register is one quantity of a profile.
type Register struct {
	OBIS     meter.OBIS
	Name     string
	Table    Table
	Address  uint16 // PDU address, 0-based
	Type     Type
	Unit     meter.Unit
	Scale    meter.Value // multiplies the (rounded) register value; normalised
	Decimals int         // float32: decimals kept of the register value
	Invalid  []byte      // raw bytes meaning "no value", nil for none
	Line     int         // the [[register]] table's line in the file
}

// Count is the number of 16-bit registers r occupies.
func (r Register) Count() int { return typeRegs[r.Type] }

// Profile is one meter model's register map.
type Profile struct {
	Name         string // the file's base name without .toml
	Model        string
	Datasheet    string
	LittleEndian bool // 32/64-bit values send their low word first
	MaxRegisters int  // most registers one request may read (1…125)
	MaxGap       int  // unmapped registers one request may span
	Registers    []Register
}

// Parse reads a profile; name is the file name used in problems and,
// without directory and extension, the profile's Name.
func Parse(name string, data []byte) (*Profile, error) {
	idx := indexLines(data)
	fail := func(ps []Problem) error {
		for i := range ps {
			ps[i].File = name
			if ps[i].Line == 0 {
				ps[i].Line = idx.find(ps[i].Key)
			}
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return &Error{Problems: ps}
	}
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		p := Problem{Msg: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Msg = pe.Position.Line, "syntax error: "+pe.Message
		}
		return nil, fail([]Problem{p})
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	p := &Profile{Name: base, MaxRegisters: modbus.MaxReadRegisters}
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	d := decoder{add: add}
	for _, k := range sortedKeys(doc) {
		v := doc[k]
		switch k {
		case "model":
			p.Model = d.str(k, v)
		case "datasheet":
			p.Datasheet = d.str(k, v)
		case "word_order":
			switch s := d.str(k, v); s {
			case "big":
			case "little":
				p.LittleEndian = true
			case "":
			default:
				add(k, "unknown word order %q; known: big (high word first), little (low word first)", s)
			}
		case "max_registers":
			if n, ok := d.int(k, v); ok {
				if n < 1 || n > modbus.MaxReadRegisters {
					add(k, "%d is beyond the 1…%d registers one Modbus read may ask for", n, modbus.MaxReadRegisters)
				} else {
					p.MaxRegisters = int(n)
				}
			}
		case "max_gap":
			if n, ok := d.int(k, v); ok {
				if n < 0 || n > modbus.MaxReadRegisters {
					add(k, "%d is out of range 0…%d", n, modbus.MaxReadRegisters)
				} else {
					p.MaxGap = int(n)
				}
			}
		case "register":
			list, ok := v.([]map[string]any)
			if !ok {
				add(k, "must be an array of tables ([[register]])")
				continue
			}
			for i, m := range list {
				if r, ok := d.register(fmt.Sprintf("register[%d]", i), m); ok {
					r.Line = idx.find(fmt.Sprintf("register[%d]", i))
					p.Registers = append(p.Registers, r)
				}
			}
		default:
			add(k, "unknown key; known keys: model, datasheet, word_order, max_registers, max_gap, [[register]]")
		}
	}
	if p.Model == "" && !slices.ContainsFunc(ps, func(q Problem) bool { return q.Key == "model" }) {
		add("model", "is required: the meter's make and model")
	}
	if len(p.Registers) == 0 && len(ps) == 0 {
		add("register", "no [[register]] tables: a profile maps at least one register")
	}
	ps = append(ps, overlaps(p)...)
	if len(ps) > 0 {
		return nil, fail(ps)
	}
	return p, nil
}

// overlaps finds registers of one table that share addresses, and OBIS
// codes mapped twice.
func overlaps(p *Profile) []Problem {
	var ps []Problem
	regs := p.Registers
	order := make([]int, len(regs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := regs[order[a]], regs[order[b]]
		if ra.Table != rb.Table {
			return ra.Table < rb.Table
		}
		return ra.Address < rb.Address
	})
	for k := 1; k < len(order); k++ {
		a, b := regs[order[k-1]], regs[order[k]]
		if a.Table == b.Table && int(a.Address)+a.Count() > int(b.Address) {
			ps = append(ps, Problem{Line: b.Line, Key: fmt.Sprintf("register[%d].address", order[k]),
				Msg: fmt.Sprintf("%s register %d (%s) overlaps %s at %d…%d (line %d)", b.Table, b.Address, b.OBIS,
					a.OBIS, a.Address, int(a.Address)+a.Count()-1, a.Line)})
		}
	}
	seen := map[meter.OBIS]int{}
	for i, r := range regs {
		if j, dup := seen[r.OBIS]; dup {
			ps = append(ps, Problem{Line: r.Line, Key: fmt.Sprintf("register[%d].obis", i),
				Msg: fmt.Sprintf("%s is mapped twice (also line %d)", r.OBIS, regs[j].Line)})
		} else {
			seen[r.OBIS] = i
		}
	}
	return ps
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type decoder struct {
	add func(key, format string, args ...any)
}

func (d decoder) str(key string, v any) string {
	s, ok := v.(string)
	if !ok {
		d.add(key, "must be a string, not %s", typeName(v))
	}
	return s
}

func (d decoder) int(key string, v any) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		d.add(key, "must be an integer, not %s", typeName(v))
	}
	return n, ok
}

func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the float %v", x)
	case bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", v)
}

var registerKeys = []string{"obis", "name", "table", "address", "type", "unit", "scale", "decimals", "invalid"}

// register decodes one [[register]] table; ok is false when it has a
// problem (already added).
func (d decoder) register(key string, m map[string]any) (Register, bool) {
	r := Register{Scale: meter.V(1, 0), Decimals: -1}
	bad := false
	add := func(k, format string, args ...any) {
		d.add(key+"."+k, format, args...)
		bad = true
	}
	sub := decoder{add: func(k, format string, args ...any) { add(strings.TrimPrefix(k, key+"."), format, args...) }}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "obis":
			s := sub.str(k, v)
			o, err := meter.ParseOBIS(s)
			switch {
			case err != nil:
				add(k, "bad OBIS code %q (e.g. \"1-0:1.8.0\")", s)
			case o.Validate() != nil:
				add(k, "%v", o.Validate())
			default:
				r.OBIS = o
			}
		case "name":
			r.Name = sub.str(k, v)
		case "table":
			switch s := sub.str(k, v); s {
			case "input":
				r.Table = Input
			case "holding":
				r.Table = Holding
			default:
				add(k, "unknown table %q; known: input (function 4), holding (function 3)", s)
			}
		case "address":
			if n, ok := sub.int(k, v); ok {
				if n < 0 || n > 0xFFFF {
					add(k, "%d is not a register address 0…65535 (0-based PDU address, not 30001-style)", n)
				} else {
					r.Address = uint16(n)
				}
			}
		case "type":
			s := sub.str(k, v)
			if _, ok := typeRegs[Type(s)]; !ok {
				add(k, "unknown type %q; known: uint16, int16, uint32, int32, uint64, int64, float32", s)
			} else {
				r.Type = Type(s)
			}
		case "unit":
			s := sub.str(k, v)
			u, err := meter.ParseUnit(s)
			if err != nil || s == "" {
				add(k, "unknown unit %q (DLMS unit symbols: Wh, W, V, A, Hz, varh, VAh, var, VA, count …; energy in Wh with a scale)", s)
			} else {
				r.Unit = u
			}
		case "scale":
			s := sub.str(k, v)
			x, err := meter.ParseValue(s)
			if err != nil || x.IsZero() || x.M < 0 {
				add(k, "bad scale %q: a positive decimal such as \"0.1\" or \"1000\"", s)
			} else {
				r.Scale = x.Normalize()
			}
		case "decimals":
			if n, ok := sub.int(k, v); ok {
				if n < 0 || n > 9 {
					add(k, "%d is out of range 0…9", n)
				} else {
					r.Decimals = int(n)
				}
			}
		case "invalid":
			s := sub.str(k, v)
			b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
			if err != nil {
				add(k, "bad marker %q: the raw register bytes in hex, e.g. \"0xFFFFFFFF\"", s)
			} else {
				r.Invalid = b
			}
		default:
			add(k, "unknown key; known keys: %s", strings.Join(registerKeys, ", "))
		}
	}
	for _, k := range []string{"obis", "table", "address", "type", "unit"} {
		if _, ok := m[k]; !ok {
			add(k, "is required")
		}
	}
	if r.Type == "float32" && r.Decimals < 0 {
		if _, ok := m["decimals"]; !ok {
			add("decimals", "is required for float32: the decimals of the register's value kept (the rest is float noise)")
		}
	}
	if r.Type != "float32" && r.Type != "" && r.Decimals >= 0 {
		add("decimals", "applies to float32 registers only; integer registers are exact (use scale)")
	}
	if r.Type != "" && r.Invalid != nil && len(r.Invalid) != 2*r.Count() {
		add("invalid", "is %d bytes; a %s register has %d", len(r.Invalid), r.Type, 2*r.Count())
	}
	if r.Type != "" && int(r.Address)+r.Count() > 0x10000 {
		add("address", "%s at %d runs past register 65535", r.Type, r.Address)
	}
	return r, !bad
}

// Load reads and checks the profile file at path.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(path, data)
}

// Builtin returns the shipped profile name (e.g. "sdm630").
func Builtin(name string) (*Profile, error) {
	data, err := builtin.FS.ReadFile(name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("%w: %q; built-in profiles: %s", ErrNotFound, name, strings.Join(Names(), ", "))
	}
	return Parse(name+".toml", data)
}

// Names lists the shipped profiles.
func Names() []string {
	ents, _ := builtin.FS.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			out = append(out, n)
		}
	}
	return out
}

// Open returns the built-in profile nameOrPath names, or else loads the
// file it names (a path: it contains a slash or ends in .toml).
func Open(nameOrPath string) (*Profile, error) {
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".toml") {
		return Load(nameOrPath)
	}
	return Builtin(nameOrPath)
}

// Decode turns the 2×Count bytes of r (as received, big-endian within
// each register; words in the profile's order) into an exact value:
//
//   - integers: the raw value times Scale, exactly;
//   - float32: the float's exact binary value rounded to Decimals decimal
//     places, half to even (strconv.FormatFloat), then times Scale. A
//     float32 carries 24 significant bits (about 7 decimal digits), so
//     Decimals is set per quantity to the meter's own resolution and no
//     float noise is stored.
//
// NaN, infinities, the register's Invalid marker and values beyond an
// int64 mantissa give ErrValue.
func (r Register) Decode(b []byte, littleEndian bool) (meter.Value, error) {
	n := 2 * r.Count()
	if len(b) != n || n == 0 {
		return meter.Value{}, fmt.Errorf("%w: %s: %d bytes for a %s register", ErrValue, r.OBIS, len(b), r.Type)
	}
	if r.Invalid != nil && bytes.Equal(b, r.Invalid) {
		return meter.Value{}, fmt.Errorf("%w: %s: the meter marks it unavailable", ErrValue, r.OBIS)
	}
	var w [8]byte
	copy(w[:n], b)
	if littleEndian && n > 2 {
		for i := 0; i < n/2; i += 2 { // reverse the order of the 16-bit words
			j := n - 2 - i
			w[i], w[i+1], w[j], w[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
	}
	var v meter.Value
	switch r.Type {
	case "uint16":
		v = meter.V(int64(binary.BigEndian.Uint16(w[:])), 0)
	case "int16":
		v = meter.V(int64(int16(binary.BigEndian.Uint16(w[:]))), 0)
	case "uint32":
		v = meter.V(int64(binary.BigEndian.Uint32(w[:])), 0)
	case "int32":
		v = meter.V(int64(int32(binary.BigEndian.Uint32(w[:]))), 0)
	case "uint64":
		u := binary.BigEndian.Uint64(w[:])
		if u > math.MaxInt64 {
			return meter.Value{}, fmt.Errorf("%w: %s: %d does not fit", ErrValue, r.OBIS, u)
		}
		v = meter.V(int64(u), 0)
	case "int64":
		v = meter.V(int64(binary.BigEndian.Uint64(w[:])), 0)
	case "float32":
		f := math.Float32frombits(binary.BigEndian.Uint32(w[:]))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return meter.Value{}, fmt.Errorf("%w: %s: float %v", ErrValue, r.OBIS, f)
		}
		var buf [64]byte
		digits := strconv.AppendFloat(buf[:0], float64(f), 'f', r.Decimals, 32)
		x, ok := decimalDigits(digits, r.Decimals)
		if !ok {
			return meter.Value{}, fmt.Errorf("%w: %s: %s does not fit an exact decimal", ErrValue, r.OBIS, string(digits))
		}
		v = x
	default:
		return meter.Value{}, fmt.Errorf("%w: %s: type %q", ErrValue, r.OBIS, r.Type)
	}
	m, err := v.MulInt(r.Scale.M)
	if err != nil {
		return meter.Value{}, fmt.Errorf("%w: %s: %v", ErrValue, r.OBIS, err)
	}
	e := int(m.E) + int(r.Scale.E)
	if e < math.MinInt8 || e > math.MaxInt8 {
		return meter.Value{}, fmt.Errorf("%w: %s: exponent out of range", ErrValue, r.OBIS)
	}
	return meter.V(m.M, int8(e)), nil
}

// decimalDigits reads the output of strconv.AppendFloat(…, 'f', decimals,
// …) ("-123.45") as mantissa × 10^-decimals; false if it overflows.
func decimalDigits(b []byte, decimals int) (meter.Value, bool) {
	var m int64
	neg := false
	for _, c := range b {
		switch {
		case c == '-':
			neg = true
		case c == '.':
		case '0' <= c && c <= '9':
			if m > (math.MaxInt64-int64(c-'0'))/10 {
				return meter.Value{}, false
			}
			m = m*10 + int64(c-'0')
		default:
			return meter.Value{}, false
		}
	}
	if neg {
		m = -m
	}
	return meter.V(m, int8(-decimals)), true
}

// Encode is Decode's inverse for tests and simulators: the register bytes
// that decode to v (for float32, the nearest float32 of v divided by
// Scale).
func (r Register) Encode(v meter.Value, littleEndian bool) ([]byte, error) {
	n := 2 * r.Count()
	var w [8]byte
	if r.Type == "float32" {
		f := v.Float64() / r.Scale.Float64()
		binary.BigEndian.PutUint32(w[:], math.Float32bits(float32(f)))
	} else {
		raw, err := v.Rescale(r.Scale.E)
		if err != nil || r.Scale.M == 0 || raw.M%r.Scale.M != 0 {
			return nil, fmt.Errorf("profile: %s: %s is not a multiple of the scale %s", r.OBIS, v, r.Scale)
		}
		x := raw.M / r.Scale.M
		switch r.Type {
		case "uint16", "int16":
			binary.BigEndian.PutUint16(w[:], uint16(x))
		case "uint32", "int32":
			binary.BigEndian.PutUint32(w[:], uint32(x))
		case "uint64", "int64":
			binary.BigEndian.PutUint64(w[:], uint64(x))
		}
	}
	out := make([]byte, n)
	copy(out, w[:n])
	if littleEndian && n > 2 {
		for i := 0; i < n/2; i += 2 {
			j := n - 2 - i
			out[i], out[i+1], out[j], out[j+1] = w[j], w[j+1], w[i], w[i+1]
		}
	}
	return out, nil
}
