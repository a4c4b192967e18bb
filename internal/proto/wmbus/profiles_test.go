package wmbus_test

import (
	"testing"

	wmbusprofiles "github.com/smgw/smgw/profiles/meters/wmbus"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

func testProfiles(t testing.TB) *wmbus.Profiles {
	t.Helper()
	ps, err := wmbusprofiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
