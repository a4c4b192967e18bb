package appliance

import "github.com/smgw/smgw/internal/config"

func checkConfig(path string) error { return config.Check(path) }
