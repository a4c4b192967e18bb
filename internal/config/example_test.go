package config_test

import (
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/config"
)

func ExampleParse() {
	file := `[security]
allow_insecure = true

[store]
retention = "90d"

[[meter]]
id = "elec-1"
driver = "sim"
profile = "electricity"
`
	c, err := config.Parse("smgw.toml", []byte(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Store.Retention.Std(), c.Meters[0].ID, c.Meters[0].Interval)
	// Output: 2160h0m0s elec-1 15m
}

func ExampleParse_problems() {
	file := `[gateway]
log_level = "verbose"

[security]
allow_insecure = true

[[meter]]
id = "elec-1"
driver = "sim"
profile = "electricity"
interval = "15 minutes"
`
	_, err := config.Parse("smgw.toml", []byte(file))
	var e *config.Error
	if errors.As(err, &e) {
		for _, p := range e.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// smgw.toml:2: gateway.log_level: unknown log level "verbose"; known: debug, info, warn, error
	// smgw.toml:11: meter[0].interval: invalid duration "15 minutes": unknown unit " minutes" (use d, h, m or s)
}

func ExampleParseDuration() {
	d, _ := config.ParseDuration("1h30m")
	fmt.Println(d.Std(), d)
	_, err := config.ParseDuration("90 days")
	fmt.Println(errors.Is(err, config.ErrDuration))
	// Output:
	// 1h30m0s 1h30m
	// true
}

func ExampleParseSize() {
	s, _ := config.ParseSize("512MiB")
	fmt.Println(int64(s), s)
	// Output: 536870912 512MiB
}
