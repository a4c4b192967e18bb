package keys

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSubject: any string parses or is refused, never a panic; a
// subject that parses has a common name and survives a round trip
// through its attributes.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"CN=gw-1,O=Utility,C=DE", `CN=a\,b`, "cn = x , ou=y,SERIALNUMBER=1", "O=x", "CN=", ",", "X=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSubject(s)
		if err != nil {
			return
		}
		if n.CommonName == "" {
			t.Fatalf("%q parsed without a CN", s)
		}
		esc := func(v string) string { return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), ",", `\,`) }
		again := "CN=" + esc(n.CommonName)
		for _, o := range n.Organization {
			again += ",O=" + esc(o)
		}
		n2, err := ParseSubject(again)
		if err != nil || n2.CommonName != n.CommonName || len(n2.Organization) != len(n.Organization) {
			t.Fatalf("%q → %q: %v %v", s, again, n2, err)
		}
	})
}

// FuzzReadTPMKeyFile: any file is read or refused with ErrKeyFile, and
// its blobs decode or fail, never a panic.
func FuzzReadTPMKeyFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"current":1,"data":[{"id":1,"pcrs":[7],"public":"0008000b","private":"0000"}]}`))
	f.Add([]byte(`{"version":1,"signing":{"public":"zz","private":""},"current":0,"data":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "k.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		kf, err := readTPMKeyFile(path)
		if err != nil {
			return
		}
		for _, d := range kf.Data {
			d.decode()
		}
		if kf.Signing != nil {
			kf.Signing.decode()
		}
	})
}

// FuzzCheckSecret: names and values are accepted or refused, and a
// refusal never repeats the value.
func FuzzCheckSecret(f *testing.F) {
	f.Add("wmbus/12345678", []byte("0123456789abcdef"))
	f.Add("dlms/m/auth", []byte("0123456789abcdef0123456789abcdef"))
	f.Add("hes/cmd", []byte("x"))
	f.Add("x/y", []byte("secret-value-123"))
	f.Fuzz(func(t *testing.T, name string, key []byte) {
		err := CheckSecret(name, key)
		// The error quotes the name (%q), so a key that is part of the
		// name, or of its quoted form, may appear without being leaked.
		inName := strings.Contains(name, string(key)) || strings.Contains(strconv.Quote(name), string(key))
		if err != nil && len(key) >= 8 && !inName && strings.Contains(err.Error(), string(key)) {
			t.Fatalf("the error repeats the key: %v", err)
		}
	})
}
