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
	// WAN is the [wan] table and its subtables (wan.go).
	WAN WAN `toml:"wan"`
	// WMBus is the [wmbus] table: the wireless M-Bus receiver (wmbus.go).
	WMBus WMBus `toml:"wmbus"`
	// Clock is the [clock] table: when the clock is trusted (appliance.go).
	Clock Clock `toml:"clock"`
	// Update is the [update] table: signed software updates (appliance.go).
	Update Update `toml:"update"`
	// Meters are the [[meter]] tables, in file order. Default: none.
	Meters []Meter `toml:"meter"`
	// HAN is the [han] table: the in-home display service (han.go).
	HAN HAN `toml:"han"`
	// MDNS and HASS are the [mdns] and [hass] tables: DNS-SD on the HAN
	// and Home Assistant publication (hanextra.go).
	MDNS MDNS `toml:"mdns"`
	HASS HASS `toml:"hass"`
	// Buses are the [[bus]] tables: settings of the serial lines and TCP
	// links that driver "modbus" meters name by port or tcp (modbus.go).
	// Default: none (every line at its defaults).
	Buses []Bus `toml:"bus"`
	// Zigbee is the [zigbee] table: the Smart Energy ESI (zigbee.go).
	Zigbee Zigbee `toml:"zigbee"`
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
	// TPM (tpm) names the TPM of key_provider "tpm": a device path
	// ("/dev/tpmrm0", the kernel's resource manager), swtpm's TCP command
	// port ("swtpm://127.0.0.1:2321") or "simulator" (tests only). Default
	// "/dev/tpmrm0".
	TPM string `toml:"tpm"`
	// PCRs (pcrs) are the SHA-256 PCRs, 0…23, that new data keys are
	// sealed to, e.g. [0, 2, 4, 7]: a changed boot chain then cannot
	// unseal them. Default none (no PCR policy).
	PCRs []int `toml:"pcrs"`
}

// DefaultTPM is security.tpm's default: the kernel's TPM resource manager.
const DefaultTPM = "/dev/tpmrm0"

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
	// Manufacturer (manufacturer), for driver "wmbus", is the meter's
	// three-letter manufacturer code; required. Default "".
	Manufacturer string `toml:"manufacturer"`
	// Address (address), for driver "wmbus", is the meter's 8-digit
	// identification number; "" takes the id. Default "".
	Address string `toml:"address"`
	// Key (key), for driver "wmbus", is the meter's AES-128 key as 32 hex
	// digits. For development only: it sits in the file in plaintext (a
	// warning is logged); a key in the key store is used when this is "".
	// Default "".
	Key string `toml:"key"`
	// Medium (medium), for driver "wmbus", overrides the medium the meter
	// announces for its OBIS codes: electricity, gas, heat, cooling,
	// water, warm water, hot water, heat cost allocator. Default "".
	Medium string `toml:"medium"`
	// Port (port), for driver "modbus", is the serial device of the
	// meter's RS-485 line, an absolute path (e.g. /dev/ttyUSB0 or
	// /dev/serial/by-id/…); required unless tcp is set. Meters with the
	// same port share one line (modbus.go). Default "".
	Port string `toml:"port"`
	// TCP (tcp), for driver "modbus", is host:port of a Modbus TCP meter
	// or of a serial-to-Ethernet converter (instead of port). Default "".
	TCP string `toml:"tcp"`
	// Baud (baud), for driver "modbus", is the line's baud rate; 0 takes
	// the [[bus]] table's, else 9600. Default 0.
	Baud int `toml:"baud"`
	// Parity (parity), for driver "modbus": "none", "even" or "odd"; ""
	// takes the [[bus]] table's, else "even" (8E1, the Modbus default).
	// Default "".
	Parity string `toml:"parity"`
	// Unit (unit), for driver "modbus", is the meter's Modbus address,
	// 1…247; required. Default 0.
	Unit int `toml:"unit"`
	// The keys of driver "dlms" (dlms.go); port, tcp and baud above
	// apply to dlms meters too.
	//
	// ClientSAP (client_sap) is the client SAP, 1…127. Default 16 (the
	// public client); 1 is the management client.
	ClientSAP int `toml:"client_sap"`
	// ServerLogical (server_logical) is the logical device (upper HDLC
	// address, or the wrapper's wPort), 1…16383. Default 1.
	ServerLogical int `toml:"server_logical"`
	// ServerPhysical (server_physical) is the physical device address
	// (lower HDLC address), 1…16383, or -1 to send the 1-byte address
	// form without one. Default (0) 16.
	ServerPhysical int `toml:"server_physical"`
	// Wrapper (wrapper): a tcp meter speaks the IEC 62056-47 wrapper
	// rather than HDLC. Default false.
	Wrapper bool `toml:"wrapper"`
	// Auth (auth) is none, low (a password) or high (HLS-GMAC, security
	// suite 0). Default "none".
	Auth string `toml:"auth"`
	// Password (password) is the LLS password of auth "low"; for
	// development (plaintext in the file): "" takes the sealed record
	// secret "dlms/<id>/password". Default "".
	Password string `toml:"password"`
	// AK and EK (ak, ek) are the HLS authentication and encryption keys
	// of auth "high" as 32 hex digits; for development: "" takes the
	// sealed records secret "dlms/<id>/auth" and "dlms/<id>/enc".
	AK string `toml:"ak"`
	EK string `toml:"ek"`
	// SystemTitle (system_title) is the gateway's system title for auth
	// "high", 16 hex digits. Default "534D475700000001" ("SMGW" 1).
	SystemTitle string `toml:"system_title"`
	// Objects (objects) is the meter's object list in profiles/meters/dlms.
	// Default "generic-iec".
	Objects string `toml:"objects"`
	// Registers (registers) are the OBIS codes of the registers to read
	// every interval (classes from the object list, else 3). Default: the
	// object list's energy registers 1.8.0 and 2.8.0.
	Registers []string `toml:"registers"`
	// LoadProfile (load_profile) is the load profile's OBIS code, read
	// every 15 minutes with backfill, or "none". Default "1.0.99.1.0.255".
	LoadProfile string `toml:"load_profile"`
	// ClockLimit (clock_limit) is the clock drift tolerated; the meter's
	// clock is checked daily and corrected beyond it. Default "10s".
	ClockLimit Duration `toml:"clock_limit"`
	// ClockMode (clock_mode) is set, shift or off. Default "set".
	ClockMode string `toml:"clock_mode"`
	// MaxInfo (max_info) and Window (window) are what the HDLC SNRM
	// proposes (the meter grants at most these). Default 2030 and 7.
	MaxInfo int `toml:"max_info"`
	Window  int `toml:"window"`
	// TimeoutMS (timeout_ms) is how long the meter may stay silent before
	// the client polls again, 50…10000. Default 1000.
	TimeoutMS int `toml:"timeout_ms"`
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
		Security: Security{KeyProvider: KeyProviderDev, TPM: DefaultTPM},
		Store: Store{
			DeferredFlush:  Duration(15 * time.Minute),
			CompactEvery:   Duration(time.Hour),
			LiveResolution: Duration(time.Minute),
		},
		Status:   Status{Listen: "127.0.0.1:8080"},
		Watchdog: Watchdog{ProgressTimeout: Duration(2 * time.Minute)},
		WAN:      defaultWAN(),
		WMBus:    defaultWMBus(),
		Clock:    defaultClock(),
		Update:   defaultUpdate(),
		HAN:      defaultHAN(),
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
