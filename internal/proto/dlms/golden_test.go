package dlms_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/proto/dlms"
)

var update = flag.Bool("update", false, "rewrite testdata/gurux-sessions.golden.txt")

const goldenFile = "testdata/gurux-sessions.golden.txt"

// TestSessionsGolden decodes every APDU of the recorded sessions (and the
// plaintext of the ciphered ones, and the value joined from each block
// transfer) into one line each and compares with
// testdata/gurux-sessions.golden.txt (go test -run Golden -update
// rewrites it; read the diff before committing it).
func TestSessionsGolden(t *testing.T) {
	var out bytes.Buffer
	for _, s := range loadSessions(t) {
		fmt.Fprintf(&out, "# %s\n", s.Name)
		k := sessionKeys(t, s)
		var joined []byte
		for _, ra := range sessionAPDUs(t, s) {
			a, err := dlms.ParseAPDU(ra.apdu)
			note := ""
			if err != nil {
				note = " (" + err.Error() + ")"
			}
			fmt.Fprintf(&out, "%3d %s %v%s\n", ra.frame, ra.dir, a, note)
			var plain []byte
			switch v := a.(type) {
			case dlms.Ciphered:
				sender := k.client
				if ra.dir == "s2c" {
					sender = k.server
				}
				if plain, err = k.suite.Decrypt(v, sender); err != nil {
					t.Fatal(err)
				}
			case dlms.AARQ:
				plain = v.UserInfo
			case dlms.AARE:
				plain = v.UserInfo
			}
			if plain != nil {
				p, err := dlms.ParseAPDU(plain)
				if err != nil && p == nil {
					t.Fatal(err)
				}
				if c, ok := p.(dlms.Ciphered); ok {
					fmt.Fprintf(&out, "      %v\n", c)
					sender := k.client
					if ra.dir == "s2c" {
						sender = k.server
					}
					if plain, err = k.suite.Decrypt(c, sender); err != nil {
						t.Fatal(err)
					}
					if p, err = dlms.ParseAPDU(plain); err != nil && p == nil {
						t.Fatal(err)
					}
				}
				fmt.Fprintf(&out, "      %v\n", p)
				a = p
			}
			if g, ok := a.(dlms.GetResponse); ok && g.Kind == dlms.GetResponseWithDatablock {
				joined = append(joined, g.Block.Raw...)
				if g.Block.Last {
					d, err := dlms.ParseData(joined)
					if err != nil {
						t.Fatal(err)
					}
					str := d.String()
					if len(str) > 600 {
						str = str[:600] + fmt.Sprintf("… (%d elements)", d.Len())
					}
					fmt.Fprintf(&out, "      joined %d bytes: %s\n", len(joined), str)
					joined = nil
				}
			}
		}
	}
	if *update {
		if err := os.WriteFile(goldenFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(gl), len(wl))
	}
}
