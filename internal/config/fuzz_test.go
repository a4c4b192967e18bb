package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse: Parse never panics; it returns a valid configuration or an
// *Error whose problems name the file and a line within it; a
// configuration it accepts survives a round trip through the encoder.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.toml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("[[meter]]\n[[meter]]\nid='x'\n[meter.sub]\n"))
	f.Add([]byte("a = '''\n[gateway]\n'''\n[store\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || c != nil {
				t.Fatalf("Parse = %v, %v; want nil and an *Error", c, err)
			}
			if len(e.Problems) == 0 {
				t.Fatal("*Error without problems")
			}
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, p := range e.Problems {
				if p.File != "fuzz.toml" || p.Line < 0 || p.Line > lines || p.Msg == "" {
					t.Errorf("bad problem %+v (file has %d lines)", p, lines)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(c); err != nil {
			t.Fatalf("Encode: %v", err)
		}
		back, err := Parse("encoded.toml", buf.Bytes())
		if err != nil {
			t.Fatalf("Parse(Encode(c)) = %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, back)
		}
	})
}
