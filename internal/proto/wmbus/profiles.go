package wmbus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

// ErrProfile is returned (wrapped, with file:line) for a profile file that
// does not parse.
var ErrProfile = errors.New("wmbus: bad profile")

// Profiles is a set of manufacturer profiles, loaded by LoadProfiles or
// ParseProfiles. A nil *Profiles is an empty set. It is read-only once
// loaded and may be shared by decoders in several goroutines.
type Profiles struct {
	list    []*profile
	byMfct  map[mbus.Manufacturer][]*profile // list, indexed by manufacturer
	formats map[uint16][]byte                // compact frame formats by signature
}

// profile is one meter model's profile.
type profile struct {
	name    string
	where   string // file:line of its "meter" line
	mfcts   []mbus.Manufacturer
	vers    []byte
	types   []byte
	cis     []byte
	link    string
	vifs    []vifRule
	tail    bool // ignore a malformed tail of the records
	opaque  bool // a manufacturer APDU is kept as one manufacturer data record
	code    string
	decode  func(d *Decoder, p *profile, t *Telegram, pos int) error
	whole   bool // decode replaces the generic records
	formats [][]byte
	fields  []fieldRule
	sums    []sumRule
	expects []expectRule
	baseAt  int // ≥ 0: APDU offsets of fields and expects are shifted by APDU[baseAt] + baseAdd
	baseAdd int
	series  [][]byte // VIBs of records whose variable-length data is a series of values
}

// expectRule requires bytes at a place of the APDU before fields are read.
type expectRule struct {
	off  int
	want []byte
	in   []byte // as fieldRule.in
}

// fieldRule reads a value at a fixed place of a manufacturer APDU.
type fieldRule struct {
	off, n   int
	coding   string // uint, int, bcd
	quantity mbus.Quantity
	unit     meter.Unit
	exp      int8
	factor   meter.Value // zero: none
	obis     meter.OBIS
	storage  uint64
	in       []byte // offsets count in the data of the record with this VIB (empty: the manufacturer data, DIF 0F); nil: in the APDU
	invalid  uint64 // a raw value meaning "no value": the field is left out
	hasInv   bool
	line     string
}

// sumRule adds the values of other fields.
type sumRule struct {
	quantity mbus.Quantity
	unit     meter.Unit
	obis     meter.OBIS
	of       []mbus.Quantity
}

// vifRule names the records whose VIB is vib.
type vifRule struct {
	vib      []byte
	storage  int // -1: any
	subunit  int // -1: any
	tariff   int // -1: any
	quantity mbus.Quantity
	unit     meter.Unit
	exp      int8
	obis     meter.OBIS
	ignore   bool // the record is kept without a quantity (no OBIS)
}

// Names lists the profiles' names.
func (ps *Profiles) Names() []string {
	if ps == nil {
		return nil
	}
	var n []string
	for _, p := range ps.list {
		n = append(n, p.name)
	}
	return n
}

// lookup returns the profile of the meter h names, nil if none.
func (ps *Profiles) lookup(h *Header) *profile {
	if ps == nil {
		return nil
	}
	for _, p := range ps.byMfct[h.Meter.Manufacturer&0x7FFF] {
		if p.matches(h) {
			return p
		}
	}
	return nil
}

func (p *profile) matches(h *Header) bool {
	m := h.Meter
	// bit 15 of the code is not part of the letters (some meters set it)
	if !slices.Contains(p.mfcts, m.Manufacturer&0x7FFF) {
		return false
	}
	if len(p.vers) > 0 && !slices.Contains(p.vers, m.Version) {
		return false
	}
	if len(p.types) > 0 && !slices.Contains(p.types, byte(m.Device)) {
		return false
	}
	if len(p.cis) > 0 && !slices.Contains(p.cis, h.TPLCI) {
		return false
	}
	return true
}

// resolver returns p as an mbus.Resolver, or nil.
func (p *profile) resolver() mbus.Resolver {
	if p == nil || len(p.vifs) == 0 {
		return nil
	}
	return p
}

// Resolve implements mbus.Resolver with the profile's vif rules.
func (p *profile) Resolve(r *mbus.Record, vib []byte) bool {
	for i := range p.vifs {
		v := &p.vifs[i]
		if !bytes.Equal(v.vib, vib) || v.storage >= 0 && uint64(v.storage) != r.Storage ||
			v.subunit >= 0 && v.subunit != int(r.Subunit) || v.tariff >= 0 && v.tariff != int(r.Tariff) {
			continue
		}
		r.SetResolved()
		if v.ignore {
			r.Quantity, r.Unit = mbus.QuantityMfct, meter.UnitNone
			r.OBIS = meter.OBIS{}
			r.Modifiers |= mbus.ModMfct
			return true
		}
		r.Quantity, r.Unit, r.Value.E = v.quantity, v.unit, v.exp
		r.Unitless = v.unit == meter.UnitCount
		r.OBIS = v.obis
		return true
	}
	return false
}

// LoadProfiles reads every *.prof file of fsys under dir (in name order).
func LoadProfiles(fsys fs.FS, dir string) (*Profiles, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.prof"))
	if err != nil {
		return nil, err
	}
	ps := &Profiles{}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		if err := ps.Parse(n, b); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// ParseProfiles parses one profile file's text; name is used in errors.
func ParseProfiles(name string, text []byte) (*Profiles, error) {
	ps := &Profiles{}
	if err := ps.Parse(name, text); err != nil {
		return nil, err
	}
	return ps, nil
}

// Parse adds the profiles of one file to ps. The format is described in
// docs/wmbus.md: a "meter NAME" line starts a profile, the lines after it
// (match, link, format, vif, tail, decoder) describe it, # starts a
// comment. Errors name file:line.
func (ps *Profiles) Parse(name string, text []byte) error {
	var cur *profile
	lines := strings.Split(string(text), "\n")
	fail := func(n int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrProfile, name, n, fmt.Sprintf(format, args...))
	}
	finish := func() error {
		if cur == nil {
			return nil
		}
		if len(cur.mfcts) == 0 {
			return fmt.Errorf("%w: %s: meter %s has no match line", ErrProfile, cur.where, cur.name)
		}
		ps.list = append(ps.list, cur)
		if ps.byMfct == nil {
			ps.byMfct = map[mbus.Manufacturer][]*profile{}
		}
		for _, m := range cur.mfcts {
			ps.byMfct[m] = append(ps.byMfct[m], cur)
		}
		return nil
	}
	for i, line := range lines {
		n := i + 1
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "meter" {
			if err := finish(); err != nil {
				return err
			}
			if len(f) != 2 {
				return fail(n, "want \"meter NAME\"")
			}
			for _, p := range ps.list {
				if p.name == f[1] {
					return fail(n, "meter %s already defined at %s", f[1], p.where)
				}
			}
			cur = &profile{name: f[1], where: fmt.Sprintf("%s:%d", name, n), baseAt: -1}
			continue
		}
		if cur == nil {
			return fail(n, "%q before the first \"meter\" line", f[0])
		}
		switch f[0] {
		case "match":
			if len(f) < 2 {
				return fail(n, "match needs a manufacturer")
			}
			for _, a := range f[1:] {
				k, v, opt := strings.Cut(a, "=")
				if !opt {
					m, err := mbus.ParseManufacturer(a)
					if err != nil {
						return fail(n, "%v", err)
					}
					cur.mfcts = append(cur.mfcts, m)
					continue
				}
				bs, err := hexList(v)
				if err != nil {
					return fail(n, "%s: %v", k, err)
				}
				switch k {
				case "version":
					cur.vers = append(cur.vers, bs...)
				case "type":
					cur.types = append(cur.types, bs...)
				case "ci":
					cur.cis = append(cur.cis, bs...)
				default:
					return fail(n, "unknown match option %q (version, type, ci)", k)
				}
			}
		case "link":
			if len(f) != 2 {
				return fail(n, "want \"link URL\"")
			}
			cur.link = f[1]
		case "tail":
			if len(f) != 2 || f[1] != "ignore" {
				return fail(n, "want \"tail ignore\"")
			}
			cur.tail = true
		case "expect":
			if len(f) != 3 && len(f) != 4 {
				return fail(n, "want \"expect OFFSET HEX [in=VIB]\"")
			}
			off, err := strconv.Atoi(f[1])
			b, err2 := hex.DecodeString(f[2])
			if err != nil || err2 != nil || off < 0 || off > 250 || len(b) == 0 {
				return fail(n, "expect %s %s: want an offset 0…250 and hex bytes", f[1], f[2])
			}
			e := expectRule{off: off, want: b}
			if len(f) == 4 {
				v, ok := strings.CutPrefix(f[3], "in=")
				if e.in, err = parseIn(v); !ok || err != nil {
					return fail(n, "expect: %q: want in=VIB or in=mfct", f[3])
				}
			}
			cur.expects = append(cur.expects, e)
		case "base":
			// base OFFSET PLUS: the APDU offsets of fields and expects
			// count from APDU[OFFSET] + PLUS (a header of variable length)
			if len(f) != 3 {
				return fail(n, "want \"base OFFSET PLUS\"")
			}
			at, err1 := strconv.Atoi(f[1])
			add, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil || at < 0 || at > 250 || add < 0 || add > 250 {
				return fail(n, "base %s %s: want two numbers 0…250", f[1], f[2])
			}
			cur.baseAt, cur.baseAdd = at, add
		case "series":
			// series VIBHEX: the record's LVAR data is a profile: a
			// coding byte (low nibble: the DIF data coding of each value),
			// a spacing byte, then the values, most recent first
			if len(f) != 2 {
				return fail(n, "want \"series VIBHEX\"")
			}
			b, err := hex.DecodeString(f[1])
			if err != nil || len(b) == 0 {
				return fail(n, "series %q: want the VIB in hex", f[1])
			}
			cur.series = append(cur.series, b)
		case "opaque":
			if len(f) != 1 {
				return fail(n, "want \"opaque\"")
			}
			cur.opaque = true
		case "decoder":
			if len(f) != 2 {
				return fail(n, "want \"decoder NAME\"")
			}
			dec, ok := codeDecoders[f[1]]
			if !ok {
				return fail(n, "no decoder %q in code (have %s)", f[1], strings.Join(codeDecoderNames(), ", "))
			}
			cur.code, cur.decode, cur.whole = f[1], dec.fn, dec.whole
		case "format":
			if len(f) != 2 {
				return fail(n, "want \"format HEX\"")
			}
			b, err := hex.DecodeString(f[1])
			if err != nil || len(b) == 0 {
				return fail(n, "format %q is not hex", f[1])
			}
			if err := checkFormat(b); err != nil {
				return fail(n, "format %s: %v", f[1], err)
			}
			sig := CRC(b)
			if ps.formats == nil {
				ps.formats = map[uint16][]byte{}
			}
			if old, ok := ps.formats[sig]; ok && !bytes.Equal(old, b) {
				return fail(n, "format %s has the signature %04X of another format", f[1], sig)
			}
			ps.formats[sig] = b
			cur.formats = append(cur.formats, b)
		case "vif":
			rule, err := parseVIFRule(f[1:])
			if err != nil {
				return fail(n, "%v", err)
			}
			cur.vifs = append(cur.vifs, rule)
		case "field":
			rule, err := parseFieldRule(f[1:])
			if err != nil {
				return fail(n, "%v", err)
			}
			rule.line = fmt.Sprintf("%s:%d", name, n)
			cur.fields = append(cur.fields, rule)
		case "sum":
			rule, err := parseSumRule(f[1:], cur.fields, cur.vifs)
			if err != nil {
				return fail(n, "%v", err)
			}
			cur.sums = append(cur.sums, rule)
		default:
			return fail(n, "unknown keyword %q (meter, match, link, format, vif, field, sum, expect, base, series, tail, opaque, decoder)", f[0])
		}
	}
	return finish()
}

// hexList reads comma-separated hex bytes: "30,34,1C".
func hexList(s string) ([]byte, error) {
	var out []byte
	for _, x := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(x, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a hex byte", x)
		}
		out = append(out, byte(v))
	}
	return out, nil
}

// parseVIFRule reads "VIBHEX key=value…".
func parseVIFRule(f []string) (vifRule, error) {
	r := vifRule{storage: -1, subunit: -1, tariff: -1, unit: meter.UnitNone}
	if len(f) < 2 {
		return r, errors.New("want \"vif VIBHEX quantity=NAME unit=UNIT [exp=N] [obis=CODE] [storage=N] [subunit=N] [tariff=N]\" or \"vif VIBHEX ignore\"")
	}
	b, err := hex.DecodeString(f[0])
	if err != nil || len(b) == 0 {
		return r, fmt.Errorf("VIB %q is not hex", f[0])
	}
	r.vib = b
	hasQ := false
	for _, a := range f[1:] {
		if a == "ignore" {
			r.ignore = true
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return r, fmt.Errorf("%q: want key=value", a)
		}
		switch k {
		case "quantity":
			if v == "" {
				return r, errors.New("empty quantity")
			}
			r.quantity, hasQ = mbus.Quantity(v), true
		case "unit":
			u, err := parseUnit(v)
			if err != nil {
				return r, err
			}
			r.unit = u
		case "exp":
			e, err := strconv.ParseInt(v, 10, 8)
			if err != nil || e < -30 || e > 30 {
				return r, fmt.Errorf("exp %q: want an integer -30…30", v)
			}
			r.exp = int8(e)
		case "obis":
			o, err := meter.ParseOBIS(v)
			if err != nil {
				return r, err
			}
			r.obis = o
		case "storage", "subunit", "tariff":
			s, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return r, fmt.Errorf("%s %q: want a number", k, v)
			}
			switch k {
			case "storage":
				r.storage = int(s)
			case "subunit":
				r.subunit = int(s)
			default:
				r.tariff = int(s)
			}
		default:
			return r, fmt.Errorf("unknown vif option %q (quantity, unit, exp, obis, storage, subunit, tariff, ignore)", k)
		}
	}
	if !r.ignore && !hasQ {
		return r, errors.New("a vif rule needs quantity= (or ignore)")
	}
	return r, nil
}

// parseUnit reads a unit symbol or name of meter.ParseUnit, plus "other".
func parseUnit(s string) (meter.Unit, error) {
	switch s {
	case "other":
		return meter.UnitOther, nil
	case "%", "percent":
		return meter.UnitPercent, nil
	}
	u, err := meter.ParseUnit(s)
	if err != nil {
		return 0, err
	}
	return u, nil
}

// checkFormat checks that b is a sequence of DIBs and VIBs without data.
func checkFormat(b []byte) error {
	_, err := formatFields(b, nil)
	return err
}

// formatFields splits a compact frame format into its record headers and
// their data lengths; it appends to dst (pairs of header end, data length).
func formatFields(b []byte, dst []int) ([]int, error) {
	i := 0
	for i < len(b) {
		dif := b[i]
		i++
		if dif&0x0F == 0x0F || dif&0x0F == 0x0D {
			return dst, fmt.Errorf("byte %d: DIF %02X has no fixed length", i-1, dif)
		}
		for ext := dif&0x80 != 0; ext; {
			if i >= len(b) {
				return dst, fmt.Errorf("byte %d: DIFE expected", i)
			}
			ext = b[i]&0x80 != 0
			i++
		}
		if i >= len(b) {
			return dst, fmt.Errorf("byte %d: VIF expected", i)
		}
		vif := b[i]
		i++
		for ext := vif&0x80 != 0; ext; {
			if i >= len(b) {
				return dst, fmt.Errorf("byte %d: VIFE expected", i)
			}
			ext = b[i]&0x80 != 0
			i++
		}
		if vif&0x7F == 0x7C {
			return dst, fmt.Errorf("byte %d: plain-text VIF in a format", i-1)
		}
		dst = append(dst, i, dataLen[dif&0x0F])
	}
	return dst, nil
}

var dataLen = [16]int{0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -1}

// parseOpts reads key=value options into a map, refusing unknown keys.
func parseOpts(f []string, known ...string) (map[string]string, error) {
	m := map[string]string{}
	for _, a := range f {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("%q: want key=value", a)
		}
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("unknown option %q (%s)", k, strings.Join(known, ", "))
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("option %q twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// parseFieldRule reads "OFFSET LEN CODING quantity=Q unit=U [exp=N]
// [factor=DEC] [obis=O] [storage=N]".
func parseFieldRule(f []string) (fieldRule, error) {
	var r fieldRule
	if len(f) < 4 {
		return r, errors.New("want \"field OFFSET LEN uint|int|bcd quantity=NAME unit=UNIT [exp=N] [factor=DEC] [obis=CODE] [storage=N]\"")
	}
	off, err1 := strconv.Atoi(f[0])
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || off < 0 || off > 250 || n < 1 || n > 8 {
		return r, fmt.Errorf("offset %q and length %q: want 0…250 and 1…8", f[0], f[1])
	}
	r.off, r.n, r.coding = off, n, f[2]
	switch r.coding {
	case "uint", "int":
	case "bcd":
		if n > 9 {
			return r, errors.New("bcd of more than 9 bytes")
		}
	default:
		return r, fmt.Errorf("coding %q: want uint, int or bcd", r.coding)
	}
	m, err := parseOpts(f[3:], "quantity", "unit", "exp", "factor", "obis", "storage", "in", "invalid")
	if err != nil {
		return r, err
	}
	if m["quantity"] == "" || m["unit"] == "" {
		return r, errors.New("a field needs quantity= and unit=")
	}
	r.quantity = mbus.Quantity(m["quantity"])
	if r.unit, err = parseUnit(m["unit"]); err != nil {
		return r, err
	}
	if v, ok := m["exp"]; ok {
		e, err := strconv.ParseInt(v, 10, 8)
		if err != nil || e < -30 || e > 30 {
			return r, fmt.Errorf("exp %q: want an integer -30…30", v)
		}
		r.exp = int8(e)
	}
	if v, ok := m["factor"]; ok {
		if r.factor, err = meter.ParseValue(v); err != nil || r.factor.M == 0 {
			return r, fmt.Errorf("factor %q: want a non-zero decimal", v)
		}
	}
	if v, ok := m["obis"]; ok {
		if r.obis, err = meter.ParseOBIS(v); err != nil {
			return r, err
		}
	}
	if v, ok := m["storage"]; ok {
		if r.storage, err = strconv.ParseUint(v, 10, 16); err != nil {
			return r, fmt.Errorf("storage %q: want a number", v)
		}
	}
	if v, ok := m["in"]; ok {
		if r.in, err = parseIn(v); err != nil {
			return r, err
		}
	}
	if v, ok := m["invalid"]; ok {
		if r.invalid, err = strconv.ParseUint(v, 16, 64); err != nil {
			return r, fmt.Errorf("invalid %q: want the raw value in hex", v)
		}
		r.hasInv = true
	}
	return r, nil
}

// parseIn reads the in= option: a VIB in hex, or "mfct" for the
// manufacturer data after DIF 0F/1F.
func parseIn(v string) ([]byte, error) {
	if v == "mfct" {
		return []byte{}, nil
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("in %q: want the VIB in hex, or mfct", v)
	}
	return b, nil
}

// vibOf returns the VIB of a record: its header after the DIF and DIFEs.
func vibOf(r *mbus.Record) []byte {
	h := r.Header
	i := 1
	for i <= len(h) && i > 0 && h[i-1]&0x80 != 0 {
		i++
	}
	if i > len(h) {
		return nil
	}
	return h[i:]
}

// parseSumRule reads "quantity=Q unit=U of=Q1,Q2 [obis=O]"; the summed
// quantities must be fields or vif rules defined before it, in the same
// unit.
func parseSumRule(f []string, fields []fieldRule, vifs []vifRule) (sumRule, error) {
	var r sumRule
	m, err := parseOpts(f, "quantity", "unit", "of", "obis")
	if err != nil {
		return r, err
	}
	if m["quantity"] == "" || m["unit"] == "" || m["of"] == "" {
		return r, errors.New("want \"sum quantity=NAME unit=UNIT of=Q1,Q2 [obis=CODE]\"")
	}
	r.quantity = mbus.Quantity(m["quantity"])
	if r.unit, err = parseUnit(m["unit"]); err != nil {
		return r, err
	}
	for _, q := range strings.Split(m["of"], ",") {
		ok := false
		for _, fr := range fields {
			if string(fr.quantity) == q {
				if fr.unit != r.unit {
					return r, fmt.Errorf("sum of %s: its unit %v is not %v", q, fr.unit, r.unit)
				}
				ok = true
			}
		}
		for _, vr := range vifs {
			if string(vr.quantity) == q {
				if vr.unit != r.unit {
					return r, fmt.Errorf("sum of %s: its unit %v is not %v", q, vr.unit, r.unit)
				}
				ok = true
			}
		}
		if !ok {
			return r, fmt.Errorf("sum of %q: no field or vif rule of that quantity before it", q)
		}
		r.of = append(r.of, mbus.Quantity(q))
	}
	if v, ok := m["obis"]; ok {
		if r.obis, err = meter.ParseOBIS(v); err != nil {
			return r, err
		}
	}
	return r, nil
}

// decodeFields reads a profile's fields from t.Payload (pos is its
// position in the frame) and appends their records, then the sums.
func (p *profile) decodeFields(t *Telegram, pos int) error {
	data := t.Payload
	if p.baseAt >= 0 {
		if p.baseAt >= len(data) {
			return errAt(pos+len(data), ErrTruncated, "%s: base byte %d beyond the %d-byte data", p.name, p.baseAt, len(data))
		}
		b := int(data[p.baseAt]) + p.baseAdd
		if b > len(data) {
			return errAt(pos+p.baseAt, ErrTruncated, "%s: header of %d bytes beyond the %d-byte data", p.name, b, len(data))
		}
		data = data[b:]
		pos += b
	}
	nrec := len(t.Records)
	// inData returns the data of the record with VIB vib, or the APDU.
	inData := func(vib []byte) []byte {
		if vib == nil {
			return data
		}
		for k := 0; k < nrec; k++ {
			r := &t.Records[k]
			if len(vib) == 0 && r.Quantity == mbus.QuantityMfctData || len(vib) > 0 && r.Table != mbus.TableNone && bytes.Equal(vibOf(r), vib) {
				return r.Data
			}
		}
		return nil
	}
	for _, e := range p.expects {
		d := inData(e.in)
		if e.off+len(e.want) > len(d) || !bytes.Equal(d[e.off:e.off+len(e.want)], e.want) {
			return nil // not the layout the fields describe: leave the records as they are
		}
	}
	for i := range p.fields {
		f := &p.fields[i]
		data := inData(f.in)
		if data == nil {
			continue // this telegram has no such record (meters send several kinds)
		}
		if f.off+f.n > len(data) {
			return errAt(pos+len(data), ErrTruncated, "%s: field %s at %d+%d beyond the %d-byte data (%s)", p.name, f.quantity, f.off, f.n, len(data), f.line)
		}
		d := data[f.off : f.off+f.n]
		if f.hasInv {
			var u uint64
			for k := len(d) - 1; k >= 0; k-- {
				u = u<<8 | uint64(d[k])
			}
			if u == f.invalid {
				continue
			}
		}
		var m int64
		switch f.coding {
		case "bcd":
			for k := len(d) - 1; k >= 0; k-- {
				hi, lo := d[k]>>4, d[k]&15
				if hi > 9 || lo > 9 {
					return errAt(pos+f.off, ErrFormat, "%s: field %s is not BCD: %X", p.name, f.quantity, d)
				}
				m = m*100 + int64(hi)*10 + int64(lo)
			}
		default:
			var u uint64
			for k := len(d) - 1; k >= 0; k-- {
				u = u<<8 | uint64(d[k])
			}
			if f.coding == "int" {
				sh := 64 - 8*uint(len(d))
				m = int64(u<<sh) >> sh
			} else {
				if u > 1<<63-1 {
					return errAt(pos+f.off, ErrFormat, "%s: field %s too large", p.name, f.quantity)
				}
				m = int64(u)
			}
		}
		v := meter.V(m, f.exp)
		if f.factor.M != 0 {
			x, err := f.factor.MulInt(m)
			if err != nil {
				return errAt(pos+f.off, ErrFormat, "%s: field %s: %v", p.name, f.quantity, err)
			}
			x.E += f.exp
			v = x
		}
		t.Records = append(t.Records, mbus.Record{
			OBIS: f.obis, Quantity: f.quantity, Kind: mbus.KindNumber, Value: v, Unit: f.unit,
			Storage: f.storage, Table: mbus.TableMfct, Offset: f.off, Data: d,
			Unitless: f.unit == meter.UnitCount,
		})
	}
	for i := range p.sums {
		sr := &p.sums[i]
		var sum meter.Value
		n := 0
		for _, q := range sr.of {
			for k := range t.Records {
				if r := &t.Records[k]; r.Quantity == q && r.Kind == mbus.KindNumber {
					x, err := sum.Add(t.Records[k].Value)
					if err != nil {
						return errAt(pos, ErrFormat, "%s: sum %s: %v", p.name, sr.quantity, err)
					}
					sum = x
					n++
					break
				}
			}
		}
		if n < len(sr.of) {
			continue // a term is missing: no sum
		}
		t.Records = append(t.Records, mbus.Record{
			OBIS: sr.obis, Quantity: sr.quantity, Kind: mbus.KindNumber, Value: sum, Unit: sr.unit, Table: mbus.TableMfct,
		})
	}
	return nil
}

// decodeSeries expands the records named by the profile's series rules
// (a compact profile: a coding byte, a spacing byte, the values, most
// recent first): each value becomes a record of the same quantity and
// unit, storage numbers counting up from the record's own. A value of
// only the top bit set (0x80…00) marks "no value" and is left out.
func (p *profile) decodeSeries(t *Telegram, pos int) error {
	n := len(t.Records)
	for k := 0; k < n; k++ {
		r := t.Records[k]
		match := false
		for _, v := range p.series {
			if bytes.Equal(vibOf(&r), v) {
				match = true
			}
		}
		if !match || r.Coding != mbus.Variable {
			continue
		}
		t.Records[k].Kind = mbus.KindBytes // the series itself: its values follow as records
		d := r.Data
		if len(d) < 2 {
			return errAt(pos+r.Offset, ErrFormat, "%s: series of %d bytes", p.name, len(d))
		}
		coding := mbus.Coding(d[0] & 0x0F)
		size := dataLen[coding]
		if size <= 0 {
			return errAt(pos+r.Offset, ErrFormat, "%s: series values of coding %X", p.name, uint8(coding))
		}
		bcd := coding >= mbus.BCD2 && coding != mbus.Variable
		vals := d[2:]
		for i := 0; i+size <= len(vals); i += size {
			e := vals[i : i+size]
			var m int64
			if bcd {
				ok := true
				for b := len(e) - 1; b >= 0; b-- {
					hi, lo := e[b]>>4, e[b]&15
					if hi > 9 || lo > 9 {
						ok = false
						break
					}
					m = m*100 + int64(hi)*10 + int64(lo)
				}
				if !ok {
					continue
				}
			} else {
				var u uint64
				for b := len(e) - 1; b >= 0; b-- {
					u = u<<8 | uint64(e[b])
				}
				if u == 1<<(8*uint(size)-1) {
					continue // 0x80…00: no value
				}
				sh := 64 - 8*uint(size)
				m = int64(u<<sh) >> sh
			}
			v, err := meter.V(m, r.Value.E).MulInt(1)
			if err != nil {
				continue
			}
			nr := mbus.Record{
				Quantity: r.Quantity, Kind: mbus.KindNumber, Value: v, Unit: r.Unit, Unitless: r.Unitless,
				Storage: r.Storage + uint64(i/size), Function: r.Function, Tariff: r.Tariff, Subunit: r.Subunit,
				Table: r.Table, VIFCode: r.VIFCode, Coding: coding, Offset: r.Offset, Header: r.Header, Data: e,
			}
			nr.OBIS = mbus.MapOBIS(&nr, t.Meter.Device)
			t.Records = append(t.Records, nr)
		}
	}
	return nil
}
