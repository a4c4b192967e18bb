// Package config reads and checks the gateway's configuration: one TOML
// file, by default /etc/smgw/smgw.toml.
//
// Load reads a file over the defaults (Default), Parse does the same for
// bytes, and Validate checks a Config built in code (Demo builds the one
// `smgw demo` runs). Every key is optional except the ids and drivers of
// meters; a key the schema does not know is an error, so a misspelt key
// never silently falls back to its default.
//
// # Problems
//
// Loading does not stop at the first mistake. It returns an *Error listing
// every problem found, each with the file, line and key it concerns, one
// per line:
//
//	/etc/smgw/smgw.toml:3: gateway.log_level: unknown log level "verbose"; known: debug, info, warn, error
//	/etc/smgw/smgw.toml:17: meter[1].id: duplicate meter id "elec-1" (also meter[0])
//
// Keys of [[meter]] tables carry the table's 0-based index. A problem with
// a key the file does not set is reported at the line of its table, or
// without a line when the table is absent too. A TOML syntax error stops
// the parser, so it is the only problem reported. errors.Is(err,
// ErrInvalid) is true for every *Error.
//
// # Durations and sizes
//
// Durations are strings of whole numbers with the units d, h, m and s,
// largest first: "90d", "15m", "1h30m"; "0" means none. Sizes are whole
// numbers with B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB
// (powers of 1000): "512MiB"; "0" means unbounded. See Duration and Size.
//
// # The file
//
// Every key with its default:
//
//	[gateway]
//	id = "smgw"                  # name in logs, uplink topics, status; 1…64 of [A-Za-z0-9._-]
//	data_dir = "/var/lib/smgw"   # database and keys; absolute
//	runtime_dir = "/run/smgw"    # control socket smgw.sock; absolute
//	log_level = "info"           # debug | info | warn | error
//	log_format = "auto"          # auto (journal under systemd, else text) | text | json
//
//	[security]
//	key_provider = "dev"         # dev (plaintext key file) | tpm
//	dev_key_file = ""            # "" is <data_dir>/dev-data-key
//	allow_insecure = false       # must be true with key_provider = "dev"
//	tpm = "/dev/tpmrm0"          # the TPM: a device, swtpm://HOST:PORT or "simulator" (tests)
//	pcrs = []                    # SHA-256 PCRs new data keys are sealed to, e.g. [0, 2, 4, 7]
//
//	[store]
//	retention = "0"              # maximum age of readings; 0 keeps them until max_size
//	max_size = "0"               # bound on live data; 0 is unbounded, else at least 1MiB
//	deferred_flush = "15m"       # most delay before reduced live values are durable; 1s…1h
//	compact_every = "1h"         # journal compaction period; 1m…24h
//	live_resolution = "1m"       # instantaneous values (OBIS D=7) kept as means; 0 or 1s…1h
//	outbox_channels = []         # outbox channels every reading is queued on
//
//	[status]
//	listen = "127.0.0.1:8080"    # status page host:port; "" disables
//	allow_remote = false         # must be true for a host that is not loopback
//
//	[watchdog]
//	progress_timeout = "2m"      # no progress this long stops the watchdog pings; 10s…1h
//
//	[wan.mqtt]                   # the MQTT uplink to the HES (docs/mqtt.md)
//	url = ""                     # mqtt://host:port or mqtts://host:port; "" = no uplink
//	topic_prefix = "smgw"        # topics <prefix>/<gateway id>/readings, /status, /cmd
//	channel = "mqtt"             # outbox channel drained (readings are queued on it)
//	ca_file = ""                 # CAs to verify the broker by; "" = system roots
//	client_cert = ""             # "" = <data_dir>/identity.crt
//	batch_size = 1000            # readings per message; 1…100000
//	max_delay = "5s"             # longest wait for a batch to fill; 1s…1h
//	keep_alive = "90s"           # MQTT keep-alive (LTE NAT); 10s…18h
//	session_expiry = "1h"        # MQTT v5 session expiry; 0…7d
//	format = "cbor"              # cbor (COSE-signed) | json | jws
//	qos = 1                      # 1 | 2
//	backoff_min = "1s"           # reconnection backoff, random, growing to backoff_max
//	backoff_max = "2m"
//	status_every = "15m"         # re-publish the retained online status; 1m…24h
//
//	[[meter]]                    # zero or more
//	id = "elec-1"                # required, unique; meter.MeterID rules
//	driver = "sim"               # required; known: sim
//	profile = "electricity"      # sim: electricity | water | heat
//	interval = "15m"             # register reading period; 1s…24h
//	live_interval = "0"          # instantaneous value period; 0 (none) or 1s…interval
//	enabled = true
//
// Note that the defaults alone do not validate: the dev key provider must
// be acknowledged with allow_insecure = true, or key_provider set to
// "tpm". testdata/good holds complete examples.
package config
