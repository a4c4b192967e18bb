package web

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIRoutes reads "METHOD /path" of every operation in the OpenAPI
// file (paths at two spaces of indentation, operations at four).
func openAPIRoutes(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pathRe := regexp.MustCompile(`^  (/\S*):\s*$`)
	opRe := regexp.MustCompile(`^    (get|put|post|delete|patch|head|options):`)
	var out []string
	inPaths, cur := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && line != "" {
			inPaths = line == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			cur = m[1]
		} else if m := opRe.FindStringSubmatch(line); m != nil && cur != "" {
			out = append(out, strings.ToUpper(m[1])+" "+cur)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Every route the service serves is in docs/han-openapi.yaml, and every
// operation there is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openAPIRoutes(t, "../../../docs/han-openapi.yaml")
	var served []string
	for _, r := range Routes {
		served = append(served, strings.Replace(r, "/{$}", "/", 1))
	}
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(doc, r) {
			t.Errorf("route %s is not in docs/han-openapi.yaml", r)
		}
	}
	for _, r := range doc {
		if !slices.Contains(served, r) {
			t.Errorf("docs/han-openapi.yaml has %s, which the service does not serve", r)
		}
	}
	if len(doc) == 0 {
		t.Error("no operations found in docs/han-openapi.yaml")
	}
}
