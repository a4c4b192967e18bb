package wmbusprofiles

import (
	"errors"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

// Every embedded profile loads.
func TestLoad(t *testing.T) {
	ps, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(ps.Names(), " ")
	for _, want := range []string{"kamstrup-heat", "kamstrup-water", "apator162", "schneider-iem3000", "techem-mkradio3", "qundis-qwater"} {
		if !strings.Contains(names, want) {
			t.Errorf("profile %s missing from %s", want, names)
		}
	}
}

// A broken profile is an error naming the file and the line.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ text, where string }{
		{"meter a\n  match KAM\n  vif FF07 quantity=x unit=furlong\n", "x.prof:3"},
		{"meter a\n  match KAM\n  format 0D13\n", "x.prof:3"},
		{"match KAM\n", "x.prof:1"},
		{"meter a\n  link x\n", "x.prof:1"},
		{"meter a\n  match KAM\n  decoder nosuch\n", "x.prof:3"},
		{"meter a\n  match KAM\n  field 3 2 uint quantity=v unit=m3\n  sum quantity=t unit=Wh of=v\n", "x.prof:4"},
		{"meter a\n  match KAM\nmeter a\n  match KAM\n", "x.prof:3"},
	} {
		_, err := wmbus.ParseProfiles("x.prof", []byte(tc.text))
		if !errors.Is(err, wmbus.ErrProfile) || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%q: %v, want ErrProfile at %s", tc.text, err, tc.where)
		}
	}
}
