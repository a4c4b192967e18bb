package dlms

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/smgw/smgw/internal/meter"
	dlmsprofiles "github.com/smgw/smgw/profiles/meters/dlms"
)

// Roles of an object in an object list.
const (
	RoleClock         = "clock"
	RoleEnergy        = "energy"
	RoleInstantaneous = "instantaneous"
	RoleProfile       = "profile"
	RoleDisconnect    = "disconnect"
	RoleData          = "data"
)

// Object is one line of an object list.
type Object struct {
	OBIS  meter.OBIS
	Class uint16
	Role  string
	Name  string
	Line  int
}

// ObjectList is a meter family's objects (profiles/meters/dlms).
type ObjectList struct {
	Name    string
	Objects []Object
}

// roleClass is the interface classes a role allows.
var roleClass = map[string][]uint16{
	RoleClock:         {8},
	RoleEnergy:        {3, 4},
	RoleInstantaneous: {3, 4},
	RoleProfile:       {7},
	RoleDisconnect:    {70},
	RoleData:          {1},
}

// LoadObjects parses an object list; errors name the file and line.
func LoadObjects(name string, data []byte) (*ObjectList, error) {
	l := &ObjectList{Name: name}
	seen := map[meter.OBIS]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	n := 0
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d: %s", name, n, fmt.Sprintf(format, args...)))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			fail("want OBIS, class, role and name, got %q", line)
			continue
		}
		o, err := meter.ParseOBIS(f[0])
		if err != nil {
			fail("%v", err)
			continue
		}
		c, err := strconv.ParseUint(f[1], 10, 16)
		if err != nil {
			fail("class %q is not a number", f[1])
			continue
		}
		classes, ok := roleClass[f[2]]
		if !ok {
			fail("unknown role %q (clock, energy, instantaneous, profile, disconnect, data)", f[2])
			continue
		}
		okc := false
		for _, x := range classes {
			okc = okc || x == uint16(c)
		}
		if !okc {
			fail("role %s needs class %v, not %d", f[2], classes, c)
			continue
		}
		if j, dup := seen[o]; dup {
			fail("%v listed twice (also line %d)", o, j)
			continue
		}
		seen[o] = n
		l.Objects = append(l.Objects, Object{OBIS: o, Class: uint16(c), Role: f[2], Name: strings.Join(f[3:], " "), Line: n})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Sprintf("%s:%d: %v", name, n+1, err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dlms: object list %s", strings.Join(errs, "; "))
	}
	if len(l.Objects) == 0 {
		return nil, fmt.Errorf("dlms: object list %s: no objects", name)
	}
	return l, nil
}

// BuiltinObjects returns the object lists shipped in profiles/meters/dlms
// by name (the file name without .objects).
func BuiltinObjects(name string) (*ObjectList, error) {
	b, err := fs.ReadFile(dlmsprofiles.FS, name+".objects")
	if err != nil {
		return nil, fmt.Errorf("dlms: no built-in object list %q (known: %s)", name, strings.Join(BuiltinObjectNames(), ", "))
	}
	return LoadObjects(name+".objects", b)
}

// BuiltinObjectNames lists the built-in object lists.
func BuiltinObjectNames() []string {
	ents, _ := fs.ReadDir(dlmsprofiles.FS, ".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".objects"); ok {
			out = append(out, n)
		}
	}
	return out
}

// Find returns the object with an OBIS code.
func (l *ObjectList) Find(o meter.OBIS) (Object, bool) {
	for _, x := range l.Objects {
		if x.OBIS == o {
			return x, true
		}
	}
	return Object{}, false
}

// Registers returns the registers of the given roles, in list order.
func (l *ObjectList) Registers(roles ...string) []Register {
	var out []Register
	for _, x := range l.Objects {
		for _, r := range roles {
			if x.Role == r {
				out = append(out, Register{OBIS: x.OBIS, Class: x.Class})
			}
		}
	}
	return out
}
