package config

import (
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Config is the whole gateway configuration: one TOML file. Each field's
// comment gives its TOML key and default.
type Config struct {
	Gateway  Gateway  `toml:"gateway"`
	Security Security `toml:"security"`
	Store    Store    `toml:"store"`
	Status   Status   `toml:"status"`
	Watchdog Watchdog `toml:"watchdog"`
	// Meters are the [[meter]] tables, in file order. Default: none.
	Meters []Meter `toml:"meter"`
}

// Gateway is the [gateway] table.
type Gateway struct {
	// ID (id) names the gateway in logs, uplink topics and the status
	// page: 1…64 bytes of letters, digits and . _ -. Default "smgw".
	ID string `toml:"id"`
	// DataDir (data_dir) holds the database and keys; an absolute path.
	// Default "/var/lib/smgw".
	DataDir string `toml:"data_dir"`
	// RuntimeDir (runtime_dir) holds the control socket smgw.sock; an
	// absolute path. Default "/run/smgw".
	RuntimeDir string `toml:"runtime_dir"`
	// LogLevel (log_level) is debug, info, warn or error. Default "info".
	LogLevel string `toml:"log_level"`
	// LogFormat (log_format) is auto (the journal under systemd, text on
	// stderr otherwise), text or json. Default "auto".
	LogFormat string `toml:"log_format"`
}

// SocketPath returns the control socket's path, RuntimeDir/smgw.sock.
func (g Gateway) SocketPath() string { return filepath.Join(g.RuntimeDir, SocketName) }

// SocketName is the control socket's file name in Gateway.RuntimeDir.
const SocketName = "smgw.sock"

// Security is the [security] table.
type Security struct {
	// KeyProvider (key_provider) says where the data key comes from: "dev"
	// (a plaintext key file, logged as insecure, for development and the
	// demo) or "tpm". Default "dev".
	KeyProvider string `toml:"key_provider"`
	// DevKeyFile (dev_key_file) is the dev provider's key file; an absolute
	// path. Default "" in the file, which Parse, Load, Default and Demo
	// replace by DataDir/dev-data-key.
	DevKeyFile string `toml:"dev_key_file"`
	// AllowInsecure (allow_insecure) must be true to run with the dev key
	// provider: a configuration with key_provider "dev" and allow_insecure
	// false does not validate. Default false.
	AllowInsecure bool `toml:"allow_insecure"`
}

// Key providers.
const (
	KeyProviderDev = "dev"
	KeyProviderTPM = "tpm"
)

// DevKeyFileName is the dev key file's name in DataDir when dev_key_file
// is not set.
const DevKeyFileName = "dev-data-key"

// Store is the [store] table.
type Store struct {
	// Retention (retention) is the maximum age of readings; 0 keeps them
	// until MaxSize forces them out. Default "0".
	Retention Duration `toml:"retention"`
	// MaxSize (max_size) bounds the database's live data; 0 is unbounded,
	// otherwise at least 1MiB. Default "0".
	MaxSize Size `toml:"max_size"`
	// DeferredFlush (deferred_flush) is the longest that reduced-resolution
	// live values wait before they are made durable; 1s…1h. Default "15m":
	// at a household's load they then ride along with the 15-minute
	// register commits instead of costing commits (flash wear) of their own.
	DeferredFlush Duration `toml:"deferred_flush"`
	// CompactEvery (compact_every) is the journal compaction period;
	// 1m…24h. Default "1h".
	CompactEvery Duration `toml:"compact_every"`
	// LiveResolution (live_resolution): instantaneous values (OBIS D=7)
	// are stored as means at this resolution, 1s…1h; 0 stores every
	// sample. Default "1m".
	LiveResolution Duration `toml:"live_resolution"`
	// OutboxChannels (outbox_channels) are the outbox channels every
	// reading is queued on; names of 1…64 letters, digits and . _ -, no
	// duplicates. Default none.
	OutboxChannels []string `toml:"outbox_channels"`
}

// Status is the [status] table.
type Status struct {
	// Listen (listen) is the local status page's host:port; "" disables
	// it. A host other than a loopback address (127.0.0.0/8, ::1,
	// localhost) needs AllowRemote. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// AllowRemote (allow_remote) lets Listen name a non-loopback host.
	// The page has no authentication. Default false.
	AllowRemote bool `toml:"allow_remote"`
}

// Watchdog is the [watchdog] table.
type Watchdog struct {
	// ProgressTimeout (progress_timeout): a service that shows no progress
	// for this long stops the systemd watchdog pings; 10s…1h. Default "2m".
	ProgressTimeout Duration `toml:"progress_timeout"`
}

// Meter is one [[meter]] table.
type Meter struct {
	// ID (id) names the meter (meter.MeterID rules); required, unique.
	ID meter.MeterID `toml:"id"`
	// Driver (driver) reads the meter; required. Known: "sim".
	Driver string `toml:"driver"`
	// Profile (profile) is driver-specific; for "sim" it is required and
	// one of electricity, water, heat. Default "".
	Profile string `toml:"profile"`
	// Interval (interval) is the register reading period; 1s…24h.
	// Default "15m".
	Interval Duration `toml:"interval"`
	// LiveInterval (live_interval) is the period of instantaneous values
	// for profiles that have them; 0 for none, otherwise 1s…Interval.
	// Default "0".
	LiveInterval Duration `toml:"live_interval"`
	// Enabled (enabled): a disabled meter is configured but not read.
	// Default true.
	Enabled bool `toml:"enabled"`
}

// Drivers and sim profiles.
const (
	DriverSim = "sim"

	ProfileElectricity = "electricity"
	ProfileWater       = "water"
	ProfileHeat        = "heat"
)

// Default returns the defaults of every key, as documented on the fields.
// It has no meters, and it does not validate on its own: the key provider
// defaults to "dev", which needs allow_insecure = true (or choose "tpm").
func Default() *Config {
	c := defaults()
	c.derive()
	return c
}

// defaults is Default without the values derived from other keys, the
// base a file is decoded over.
func defaults() *Config {
	return &Config{
		Gateway: Gateway{
			ID:         "smgw",
			DataDir:    "/var/lib/smgw",
			RuntimeDir: "/run/smgw",
			LogLevel:   "info",
			LogFormat:  "auto",
		},
		Security: Security{KeyProvider: KeyProviderDev},
		Store: Store{
			DeferredFlush:  Duration(15 * time.Minute),
			CompactEvery:   Duration(time.Hour),
			LiveResolution: Duration(time.Minute),
		},
		Status:   Status{Listen: "127.0.0.1:8080"},
		Watchdog: Watchdog{ProgressTimeout: Duration(2 * time.Minute)},
	}
}

// DefaultMeter returns a [[meter]] table's defaults: Interval 15m, no live
// values, enabled. ID and Driver have no default.
func DefaultMeter() Meter {
	return Meter{Interval: Duration(15 * time.Minute), Enabled: true}
}

// derive fills the defaults that depend on other keys.
func (c *Config) derive() {
	if c.Security.DevKeyFile == "" && c.Gateway.DataDir != "" {
		c.Security.DevKeyFile = filepath.Join(c.Gateway.DataDir, DevKeyFileName)
	}
}

// Demo returns the configuration `smgw demo` runs with: gateway "smgw-demo"
// keeping its data in dataDir (which must be absolute) and its socket in
// dataDir/run, the dev key provider with allow_insecure, the status page on
// 127.0.0.1:8080, and three simulated meters: elec-1 (electricity, 15m
// registers, live values every second), water-1 and heat-1 (15m).
func Demo(dataDir string) *Config {
	c := defaults()
	c.Gateway.ID = "smgw-demo"
	c.Gateway.DataDir = dataDir
	c.Gateway.RuntimeDir = filepath.Join(dataDir, "run")
	c.Security.KeyProvider = KeyProviderDev
	c.Security.AllowInsecure = true
	c.Status.Listen = "127.0.0.1:8080"
	sim := func(id meter.MeterID, profile string, live time.Duration) Meter {
		m := DefaultMeter()
		m.ID, m.Driver, m.Profile = id, DriverSim, profile
		m.Interval = Duration(15 * time.Minute)
		m.LiveInterval = Duration(live)
		return m
	}
	c.Meters = []Meter{
		sim("elec-1", ProfileElectricity, time.Second),
		sim("water-1", ProfileWater, 0),
		sim("heat-1", ProfileHeat, 0),
	}
	c.derive()
	return c
}
