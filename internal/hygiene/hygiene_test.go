package hygiene

import (
	"bufio"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// goFile is one parsed .go file of the module.
type goFile struct {
	rel     string // slash-separated path from the module root
	dir     string // slash-separated directory from the module root ("." for the root)
	test    bool   // a _test.go file
	pkg     string // package clause
	doc     string // package doc comment text ("" if none)
	imports []string
}

// moduleRoot finds the directory holding go.mod and the module path.
func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// skipDir reports whether the go tool ignores a directory (and so do we).
func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// moduleFiles parses the package clause, doc comment and imports of every
// .go file of the module (not of nested modules, testdata or hidden dirs).
func moduleFiles(t *testing.T) (files []goFile, module string) {
	t.Helper()
	root, module := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == root {
				return nil
			}
			if skipDir(d.Name()) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module is not ours to judge
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".go") || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		gf := goFile{
			rel:  rel,
			dir:  path.Dir(rel),
			test: strings.HasSuffix(d.Name(), "_test.go"),
			pkg:  f.Name.Name,
		}
		if f.Doc != nil {
			gf.doc = f.Doc.Text()
		}
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			gf.imports = append(gf.imports, ip)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("found no .go files under %s", root)
	}
	return files, module
}

// goodDoc reports whether doc is a proper package doc comment for a package
// named pkg in directory dir: "Package pkg ..." (for a command, "Command
// name ..." or the command's name, as go doc expects).
func goodDoc(doc, pkg, dir string) bool {
	if strings.HasPrefix(doc, "Package "+pkg+" ") || strings.HasPrefix(doc, "Package "+pkg+"\n") {
		return true
	}
	if pkg == "main" {
		name := path.Base(dir)
		first, _, _ := strings.Cut(doc, " ")
		return first == "Command" || strings.EqualFold(first, name)
	}
	return false
}

// TestPackageDoc checks that every package (every directory with non-test
// .go files) has a package doc comment in one of its files.
func TestPackageDoc(t *testing.T) {
	files, _ := moduleFiles(t)
	type pkgState struct {
		name string
		ok   bool
	}
	pkgs := map[string]*pkgState{}
	for _, f := range files {
		if f.test {
			continue
		}
		st := pkgs[f.dir]
		if st == nil {
			st = &pkgState{name: f.pkg}
			pkgs[f.dir] = st
		}
		if goodDoc(f.doc, f.pkg, f.dir) {
			st.ok = true
		}
	}
	var bad []string
	for dir, st := range pkgs {
		if !st.ok {
			bad = append(bad, dir+" (package "+st.name+")")
		}
	}
	slices.Sort(bad)
	if len(bad) > 0 {
		t.Errorf("%d package(s) lack a package doc comment (\"// Package x ...\", conventionally in doc.go):\n\t%s",
			len(bad), strings.Join(bad, "\n\t"))
	}
	t.Logf("%d packages checked", len(pkgs))
}

// under reports whether the slash path p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// TestBboltOnlyInStore checks that bbolt is imported only by internal/store
// and its tests and subpackages: every other package goes through the store.
func TestBboltOnlyInStore(t *testing.T) {
	files, _ := moduleFiles(t)
	var bad []string
	for _, f := range files {
		if under(f.dir, "internal/store") {
			continue
		}
		for _, ip := range f.imports {
			if under(ip, "go.etcd.io/bbolt") || under(ip, "github.com/boltdb/bolt") {
				bad = append(bad, f.rel+" imports "+ip)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("only internal/store may import bbolt (STYLE 6):\n\t%s", strings.Join(bad, "\n\t"))
	}
}

// TestLayering checks the layering of DESIGN: the codecs in internal/proto
// import nothing of this module but internal/meter (and each other), and
// hal imports nothing of internal/. Test files may reach further (golden
// helpers, simulators) and are not checked.
func TestLayering(t *testing.T) {
	files, module := moduleFiles(t)
	var bad []string
	for _, f := range files {
		if f.test {
			continue
		}
		for _, ip := range f.imports {
			ours, ok := strings.CutPrefix(ip, module+"/")
			if !ok {
				continue
			}
			switch {
			case under(f.dir, "internal/proto"):
				if !under(ours, "internal/meter") && !under(ours, "internal/proto") {
					bad = append(bad, f.rel+" imports "+ip+" (internal/proto may import only internal/meter)")
				}
			case under(f.dir, "hal"):
				if under(ours, "internal") {
					bad = append(bad, f.rel+" imports "+ip+" (hal may import nothing of internal/)")
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("layering violated (DESIGN, Layout):\n\t%s", strings.Join(bad, "\n\t"))
	}
}

// TestGoodDoc pins what counts as a package doc comment.
func TestGoodDoc(t *testing.T) {
	for _, tc := range []struct {
		doc, pkg, dir string
		want          bool
	}{
		{"Package store is the store.\n", "store", "internal/store", true},
		{"Package store\n", "store", "internal/store", true},
		{"Package storex is not it.\n", "store", "internal/store", false},
		{"store is the store.\n", "store", "internal/store", false},
		{"", "store", "internal/store", false},
		{"Command smgw is the gateway.\n", "main", "cmd/smgw", true},
		{"Smgw is the gateway.\n", "main", "cmd/smgw", true},
		{"Package main runs it.\n", "main", "cmd/smgw", true},
		{"This is it.\n", "main", "cmd/smgw", false},
	} {
		if got := goodDoc(tc.doc, tc.pkg, tc.dir); got != tc.want {
			t.Errorf("goodDoc(%q, %q, %q) = %v, want %v", tc.doc, tc.pkg, tc.dir, got, tc.want)
		}
	}
}
