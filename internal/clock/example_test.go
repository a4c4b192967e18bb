package clock_test

import (
	"context"
	"fmt"

	"github.com/smgw/smgw/internal/clock"
)

// A monitor trusting NTP: readings are flagged until timesyncd has
// synchronised the clock.
func Example() {
	synced := false
	m, err := clock.New(&clock.Options{Source: clock.SourceNTP, NTPSynced: func() bool { return synced }})
	if err != nil {
		panic(err)
	}
	fmt.Println("trusted at boot:", m.Trusted())
	synced = true
	m.Check(context.Background())
	fmt.Println("trusted after sync:", m.Trusted(), "by", m.TrustedBy())
	// Output:
	// trusted at boot: false
	// trusted after sync: true by ntp
}
