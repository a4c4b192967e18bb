package dlms

import (
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/meter"
)

func TestBuiltinObjects(t *testing.T) {
	names := BuiltinObjectNames()
	if len(names) == 0 {
		t.Fatal("no built-in object lists")
	}
	for _, n := range names {
		l, err := BuiltinObjects(n)
		if err != nil {
			t.Fatal(err)
		}
		if n == "generic-iec" {
			for _, o := range []string{"1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.99.1.0.255", "1.0.99.2.0.255", "0.0.1.0.0.255", "0.0.96.3.10.255"} {
				found := false
				for _, x := range l.Objects {
					found = found || x.OBIS == meter.MustOBIS(o)
				}
				if !found {
					t.Errorf("generic-iec lacks %s", o)
				}
			}
			if len(l.Registers(RoleEnergy)) != 12 {
				t.Errorf("%d energy registers", len(l.Registers(RoleEnergy)))
			}
		}
	}
	if _, err := BuiltinObjects("nope"); err == nil || !strings.Contains(err.Error(), "generic-iec") {
		t.Fatalf("unknown list: %v", err)
	}
}

func TestLoadObjectsErrors(t *testing.T) {
	src := "# c\n1.0.1.8.0.255 3 energy A\n\n1.0.1.8.0.255 3 energy again\n1.0.99.1.0.255 3 profile P\nx 3 energy X\n1.0.2.8.0.255 3 bogus B\n1.0.2.8.0.255 3\n"
	_, err := LoadObjects("t.objects", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"t.objects:4: 1-0:1.8.0*255 listed twice (also line 2)", "t.objects:5: role profile needs class [7], not 3",
		"t.objects:6:", "t.objects:7: unknown role \"bogus\"", "t.objects:8: want OBIS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func FuzzLoadObjects(f *testing.F) {
	f.Add([]byte("1.0.1.8.0.255 3 energy A\n"))
	f.Add([]byte("# x\n0.0.96.3.10.255 70 disconnect D\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := LoadObjects("f", b)
		if err == nil && len(l.Objects) == 0 {
			t.Fatal("empty list accepted")
		}
	})
}
