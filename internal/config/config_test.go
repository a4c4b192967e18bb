package config

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/smgw/smgw/internal/meter"
)

func TestDefault(t *testing.T) {
	c := Default()
	want := &Config{
		Gateway: Gateway{
			ID:         "smgw",
			DataDir:    "/var/lib/smgw",
			RuntimeDir: "/run/smgw",
			LogLevel:   "info",
			LogFormat:  "auto",
		},
		Security: Security{
			KeyProvider:   "dev",
			DevKeyFile:    "/var/lib/smgw/dev-data-key",
			AllowInsecure: false,
			TPM:           "/dev/tpmrm0",
		},
		Store: Store{
			Retention:      0,
			MaxSize:        0,
			DeferredFlush:  Duration(15 * time.Minute),
			CompactEvery:   Duration(time.Hour),
			LiveResolution: Duration(time.Minute),
		},
		Status:   Status{Listen: "127.0.0.1:8080"},
		Watchdog: Watchdog{ProgressTimeout: Duration(2 * time.Minute)},
		WMBus:    WMBus{LinkMode: "C1/T1", MaxClockSkew: Duration(time.Hour), DupWindow: Duration(2 * time.Minute)},
		Clock:    Clock{Source: "none", Untrusted: "flag", JumpThreshold: Duration(2 * time.Second)},
		Update:   Update{Keyring: "/etc/smgw/update-keyring.pem", Installer: "dbus", Rauc: "/usr/bin/rauc", MaxSize: 256 << 20},
		HAN:      defaultHAN(),
		// [wan.link], [wan.modem], [wan.commands] (wan.go) and [wan.mqtt] (mqtt.go, checked in mqtt_test.go).
		WAN: WAN{
			Link:     Link{Ethernet: "eth0", LTE: "wwan0", ProbeEvery: Duration(10 * time.Second)},
			Commands: Commands{MaxSkew: Duration(5 * time.Minute), MaxValidity: Duration(24 * time.Hour)},
			MQTT:     defaultMQTT(),
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	if got, want := c.Gateway.SocketPath(), "/run/smgw/smgw.sock"; got != want {
		t.Errorf("SocketPath() = %q, want %q", got, want)
	}
	m := DefaultMeter()
	if m.Interval != Duration(15*time.Minute) || m.LiveInterval != 0 || !m.Enabled || m.ID != "" || m.Driver != "" {
		t.Errorf("DefaultMeter() = %+v", m)
	}
}

// The defaults alone leave the dev key provider unacknowledged, and that
// is the only problem they have.
func TestDefaultValidate(t *testing.T) {
	err := Default().Validate()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate() = %v, want *Error", err)
	}
	if len(e.Problems) != 1 || e.Problems[0].Key != "security.key_provider" || e.Problems[0].Line != 0 || e.Problems[0].File != "" {
		t.Errorf("problems = %+v, want one at security.key_provider without file or line", e.Problems)
	}
	c := Default()
	c.Security.AllowInsecure = true
	if err := c.Validate(); err != nil {
		t.Errorf("defaults with allow_insecure: %v", err)
	}
	c = Default()
	c.Security.KeyProvider = KeyProviderTPM
	if err := c.Validate(); err != nil {
		t.Errorf("defaults with the tpm provider: %v", err)
	}
}

func TestParseEmptyKeepsDefaults(t *testing.T) {
	c, err := Parse("empty.toml", []byte("[security]\nallow_insecure = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Security.AllowInsecure = true
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse = %+v, want %+v", c, want)
	}
}

func TestParseFull(t *testing.T) {
	c, err := Load("testdata/good/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Gateway:  Gateway{ID: "gw-0042.site_A", DataDir: "/srv/smgw", RuntimeDir: "/run/smgw-0042", LogLevel: "debug", LogFormat: "json"},
		Security: Security{KeyProvider: "tpm", DevKeyFile: "/srv/smgw/keys/dev.key", TPM: "swtpm://127.0.0.1:2321", PCRs: []int{0, 2, 4, 7}},
		Store: Store{
			Retention:      Duration(90 * 24 * time.Hour),
			MaxSize:        512 * MiB,
			DeferredFlush:  Duration(30 * time.Second),
			CompactEvery:   Duration(time.Hour),
			LiveResolution: 0,
			OutboxChannels: []string{"hes", "han.local"},
		},
		Status:   Status{Listen: "[::]:8443", AllowRemote: true},
		Watchdog: Watchdog{ProgressTimeout: Duration(90 * time.Second)},
		Clock:    Clock{Source: "any", Untrusted: "hold", JumpThreshold: Duration(5 * time.Second)},
		Update:   Update{Keyring: "/srv/smgw/keyring.pem", Installer: "command", Rauc: "/opt/rauc/bin/rauc", Compatible: "smgw-board-1", MaxSize: 256 << 20},
		WMBus:    defaultWMBus(),
		HAN:      defaultHAN(),
		WAN: WAN{
			Link:  Link{Ethernet: "end0", LTE: "wwan1", ProbeEvery: Duration(30 * time.Second)},
			Modem: Modem{Device: "/dev/ttyUSB2", APN: "iot.example", DailyBudget: 50 * MiB},
			Commands: Commands{MaxSkew: Duration(2 * time.Minute), MaxValidity: Duration(12 * time.Hour),
				Keys: []HESKey{{ID: "hes-ops", Role: "operator", PublicKeyFile: "/etc/smgw/hes-ops.pem"}}},
			MQTT: defaultMQTT(),
		},
		Meters: []Meter{
			{ID: "elec-1", Driver: "sim", Profile: "electricity", Interval: Duration(time.Hour), LiveInterval: Duration(10 * time.Second), Enabled: false},
			{ID: "KAM:12345678", Driver: "sim", Profile: "heat", Interval: Duration(24 * time.Hour), Enabled: true},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(full.toml) =\n%+v\nwant\n%+v", c, want)
	}
}

// The dev key file defaults to one in the data directory, wherever that is.
func TestDevKeyFileFollowsDataDir(t *testing.T) {
	c, err := Parse("x.toml", []byte("[gateway]\ndata_dir = \"/data\"\n[security]\nallow_insecure = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Security.DevKeyFile, "/data/dev-data-key"; got != want {
		t.Errorf("DevKeyFile = %q, want %q", got, want)
	}
}

func TestParseTricky(t *testing.T) {
	c, err := Load("testdata/good/tricky.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.ID != "tricky" || c.Gateway.LogLevel != "warn" || c.Status.Listen != "localhost:9000" ||
		c.Store.Retention != Duration(24*time.Hour) || c.Watchdog.ProgressTimeout != Duration(5*time.Minute) ||
		!reflect.DeepEqual(c.Store.OutboxChannels, []string{"a", "b", "c"}) || len(c.Meters) != 2 {
		t.Errorf("tricky.toml decoded as %+v", c)
	}
	c, err = Load("testdata/good/inline.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Meters) != 2 || c.Meters[0].LiveInterval != Duration(time.Second) || c.Meters[1].Enabled || c.Meters[1].Interval != Duration(15*time.Minute) {
		t.Errorf("inline.toml meters = %+v", c.Meters)
	}
}

func TestDemo(t *testing.T) {
	c := Demo("/var/lib/smgw-demo")
	if err := c.Validate(); err != nil {
		t.Fatalf("Demo().Validate() = %v", err)
	}
	if c.Gateway.ID != "smgw-demo" || c.Gateway.DataDir != "/var/lib/smgw-demo" || c.Gateway.RuntimeDir != "/var/lib/smgw-demo/run" ||
		c.Security.KeyProvider != KeyProviderDev || !c.Security.AllowInsecure || c.Security.DevKeyFile != "/var/lib/smgw-demo/dev-data-key" ||
		c.Status.Listen != "127.0.0.1:8080" {
		t.Errorf("Demo() = %+v", c)
	}
	type m struct {
		id             meter.MeterID
		profile        string
		interval, live time.Duration
	}
	var got []m
	for _, x := range c.Meters {
		if x.Driver != DriverSim || !x.Enabled {
			t.Errorf("meter %s: driver %q enabled %v", x.ID, x.Driver, x.Enabled)
		}
		got = append(got, m{x.ID, x.Profile, x.Interval.Std(), x.LiveInterval.Std()})
	}
	want := []m{
		{"elec-1", "electricity", 15 * time.Minute, time.Second},
		{"water-1", "water", 15 * time.Minute, 0},
		{"heat-1", "heat", 15 * time.Minute, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Demo() meters = %+v, want %+v", got, want)
	}

	// The demo file in testdata is the same configuration.
	f, err := Load("testdata/good/demo.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, c) {
		t.Errorf("testdata/good/demo.toml =\n%+v\nDemo() =\n%+v", f, c)
	}
}

// A Config written out with the toml encoder reads back the same.
func TestEncodeRoundTrip(t *testing.T) {
	for _, c := range []*Config{Demo("/d"), mustLoad(t, "testdata/good/full.toml")} {
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(c); err != nil {
			t.Fatal(err)
		}
		back, err := Parse("encoded.toml", buf.Bytes())
		if err != nil {
			t.Fatalf("Parse(encoded) = %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("round trip:\n%s\ngot %+v\nwant %+v", buf.String(), back, c)
		}
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ok is a configuration without problems, for cases to append to.
const ok = "[security]\nallow_insecure = true\n" // lines 1-2

type at struct {
	Line int
	Key  string
}

// TestProblems checks the line and key of each kind of problem.
func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []at
	}{
		{"unknown top-level key", "colour = 1\n" + ok, []at{{1, "colour"}}},
		{"unknown table", ok + "[extra]\nx = 1\n", []at{{3, "extra"}}},
		{"unknown key", ok + "[store]\nretention = \"1d\"\nretension = \"1d\"\n", []at{{5, "store.retension"}}},
		{"unknown key, wrong case", ok + "[gateway]\nID = \"x\"\n", []at{{4, "gateway.ID"}}},
		{"unknown key in second meter", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\n[[meter]]\nid = \"b\"\ndriver = \"sim\"\nprofile = \"heat\"\nfoo = 1\n",
			[]at{{11, "meter[1].foo"}}},
		{"unknown nested table", ok + "[gateway.sub]\nx = 1\n", []at{{3, "gateway.sub"}}},
		{"bad gateway id", ok + "[gateway]\nid = \"a/b\"\n", []at{{4, "gateway.id"}}},
		{"empty gateway id", ok + "[gateway]\nid = \"\"\n", []at{{4, "gateway.id"}}},
		{"long gateway id", ok + "[gateway]\nid = \"" + strings.Repeat("x", 65) + "\"\n", []at{{4, "gateway.id"}}},
		{"relative data_dir", ok + "[gateway]\ndata_dir = \"data\"\n", []at{{4, "gateway.data_dir"}}},
		{"empty runtime_dir", ok + "[gateway]\nruntime_dir = \"\"\n", []at{{4, "gateway.runtime_dir"}}},
		{"socket path too long", ok + "[gateway]\nruntime_dir = \"/" + strings.Repeat("r", 100) + "\"\n", []at{{4, "gateway.runtime_dir"}}},
		{"log level", ok + "[gateway]\nlog_level = \"verbose\"\n", []at{{4, "gateway.log_level"}}},
		{"log format", ok + "[gateway]\n\nlog_format = \"xml\"\n", []at{{5, "gateway.log_format"}}},
		{"key provider", "[security]\nallow_insecure = true\nkey_provider = \"hsm\"\n", []at{{3, "security.key_provider"}}},
		{"dev without allow_insecure", "[security]\nkey_provider = \"dev\"\n", []at{{2, "security.key_provider"}}},
		{"dev by default, table present", "[security]\n\n", []at{{1, "security.key_provider"}}},
		{"dev by default, no table", "", []at{{0, "security.key_provider"}}},
		{"dev key file relative", ok + "dev_key_file = \"key\"\n", []at{{3, "security.dev_key_file"}}},
		{"tpm name", ok + "tpm = \"tpm0\"\n", []at{{3, "security.tpm"}}},
		{"tpm swtpm without port", ok + "tpm = \"swtpm://127.0.0.1\"\n", []at{{3, "security.tpm"}}},
		{"pcr out of range", ok + "pcrs = [0, 24]\n", []at{{3, "security.pcrs[1]"}}},
		{"pcr twice", ok + "pcrs = [7, 7]\n", []at{{3, "security.pcrs[1]"}}},
		{"retention syntax", ok + "[store]\nretention = \"1y\"\n", []at{{4, "store.retention"}}},
		{"retention type", ok + "[store]\nretention = 1\n", []at{{4, "store.retention"}}},
		{"max_size too small", ok + "[store]\nmax_size = \"1000kB\"\n", []at{{4, "store.max_size"}}},
		{"max_size syntax", ok + "[store]\nmax_size = \"1.5GiB\"\n", []at{{4, "store.max_size"}}},
		{"deferred_flush range", ok + "[store]\ndeferred_flush = \"0\"\n", []at{{4, "store.deferred_flush"}}},
		{"compact_every range", ok + "[store]\ncompact_every = \"2d\"\n", []at{{4, "store.compact_every"}}},
		{"live_resolution range", ok + "[store]\nlive_resolution = \"2h\"\n", []at{{4, "store.live_resolution"}}},
		{"outbox channel duplicate", ok + "[store]\noutbox_channels = [\n \"a\",\n \"a\",\n]\n", []at{{4, "store.outbox_channels[1]"}}},
		{"outbox channel type", ok + "[store]\noutbox_channels = [\"a\", 1]\n", []at{{4, "store.outbox_channels[1]"}}},
		{"listen malformed", ok + "[status]\nlisten = \"8080\"\n", []at{{4, "status.listen"}}},
		{"listen bad port", ok + "[status]\nlisten = \"127.0.0.1:http\"\n", []at{{4, "status.listen"}}},
		{"listen port 0", ok + "[status]\nlisten = \"127.0.0.1:0\"\n", []at{{4, "status.listen"}}},
		{"listen remote", ok + "[status]\nlisten = \"192.0.2.1:8080\"\n", []at{{4, "status.listen"}}},
		{"listen all interfaces", ok + "[status]\nlisten = \":8080\"\n", []at{{4, "status.listen"}}},
		{"progress_timeout range", ok + "[watchdog]\nprogress_timeout = \"2h\"\n", []at{{4, "watchdog.progress_timeout"}}},
		{"meter without id", ok + "[[meter]]\ndriver = \"sim\"\nprofile = \"heat\"\n", []at{{3, "meter[0].id"}}},
		{"meter bad id", ok + "[[meter]]\nid = \"a b\"\ndriver = \"sim\"\nprofile = \"heat\"\n", []at{{4, "meter[0].id"}}},
		{"meter duplicate id", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\n\n[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\n",
			[]at{{9, "meter[1].id"}}},
		{"meter without driver", ok + "[[meter]]\nid = \"a\"\n", []at{{3, "meter[0].driver"}}},
		{"meter unknown driver", ok + "[[meter]]\nid = \"a\"\ndriver = \"nosuch\"\n", []at{{5, "meter[0].driver"}}},
		{"sim without profile", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\n", []at{{3, "meter[0].profile"}}},
		{"sim bad profile", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"gas\"\n", []at{{6, "meter[0].profile"}}},
		{"meter interval", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\ninterval = \"2d\"\n", []at{{7, "meter[0].interval"}}},
		{"meter live_interval", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\nlive_interval = \"1h\"\n", []at{{7, "meter[0].live_interval"}}},
		{"meter enabled type", ok + "[[meter]]\nid = \"a\"\ndriver = \"sim\"\nprofile = \"heat\"\nenabled = 1\n", []at{{7, "meter[0].enabled"}}},
		{"meter not a table", "meter = [1]\n" + ok, []at{{1, "meter[0]"}}},
		{"meter not an array", "meter = \"a\"\n" + ok, []at{{1, "meter"}}},
		{"section not a table", "store = 1\n" + ok, []at{{1, "store"}}},
		{"syntax error", ok + "[store]\nretention = 90d\n", []at{{4, "store.retention"}}},
		{"syntax error in header", ok + "[store\n", []at{{3, ""}}},
		{"duplicate key", ok + "[gateway]\nid = \"a\"\nid = \"b\"\n", []at{{5, "gateway.id"}}},
		{"invalid UTF-8", ok + "[gateway]\nid = \"\xff\"\n", []at{{4, "gateway.id"}}},
		{"dotted key", "store.retention = \"x\"\n" + ok, []at{{1, "store.retention"}}},
		{"inline table", "status = { listen = \"x\" }\n" + ok, []at{{1, "status.listen"}}},
		{"syntax error at a newline", "a = \"x\n" + ok, []at{{1, "a"}}},
		{"BOM", "\ufeff" + ok + "[gateway]\nid = \"\"\n", []at{{4, "gateway.id"}}},
		{"BOM, syntax error", "\ufeff" + ok + "[gateway\n", []at{{3, ""}}},
		{"CRLF line ends", "[security]\r\nallow_insecure = true\r\n[gateway]\r\nlog_level = \"x\"\r\n", []at{{4, "gateway.log_level"}}},
		{"after a multi-line string", ok + "[gateway]\nid = \"\"\"\nlog_level = \"x\"\n\"\"\"\n", []at{{4, "gateway.id"}}},
		{"follow-on problem suppressed", "[security]\nkey_provider = \"dev\"\nallow_insecure = \"yes\"\n", []at{{3, "security.allow_insecure"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("test.toml", []byte(tt.toml))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want an *Error", c, err)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			var got []at
			for _, p := range e.Problems {
				got = append(got, at{p.Line, p.Key})
				if p.File != "test.toml" {
					t.Errorf("problem %q: File = %q", p, p.File)
				}
				if p.Msg == "" {
					t.Errorf("problem %q: no message", p)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems at %v, want %v\n%v", got, tt.want, err)
			}
		})
	}
}

// A file with several problems reports all of them, in line order.
func TestSeveralProblems(t *testing.T) {
	_, err := Load("testdata/bad/several.toml")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load = %v", err)
	}
	want := []at{
		{3, "gateway.id"}, {4, "gateway.data_dir"}, {5, "gateway.log_level"}, {6, "gateway.log_fromat"},
		{9, "security.key_provider"},
		{12, "store.retention"}, {13, "store.max_size"}, {14, "store.deferred_flush"}, {15, "store.compact_every"},
		{16, "store.live_resolution"}, {17, "store.outbox_channels[1]"}, {17, "store.outbox_channels[2]"},
		{20, "status.listen"}, {23, "watchdog.progress_timeout"},
		{28, "meter[0].profile"}, {29, "meter[0].interval"},
		{32, "meter[1].id"}, {33, "meter[1].driver"}, {34, "meter[1].live_interval"},
		{36, "meter[2].id"}, {39, "meter[2].Interval"}, {40, "meter[2].enabled"},
		{42, "extra"},
	}
	var got []at
	for _, p := range e.Problems {
		got = append(got, at{p.Line, p.Key})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems at\n%v\nwant\n%v", got, want)
	}
}

// Validate reports problems of a Config built in code without file or line.
func TestValidateInCode(t *testing.T) {
	c := Demo("/d")
	c.Gateway.LogLevel = "loud"
	c.Meters = append(c.Meters, Meter{ID: "elec-1", Driver: "sim", Profile: "water", Interval: Duration(time.Minute), Enabled: true})
	c.Status.Listen = "example.com:80"
	err := c.Validate()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate() = %v", err)
	}
	var keys []string
	for _, p := range e.Problems {
		if p.File != "" || p.Line != 0 {
			t.Errorf("problem %q has a file or line", p)
		}
		keys = append(keys, p.Key)
	}
	want := []string{"gateway.log_level", "status.listen", "meter[3].id"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("problem keys %v, want %v", keys, want)
	}
	c.Status.AllowRemote = true
	c.Gateway.LogLevel = "error"
	c.Meters[3].ID = "elec-2"
	if err := c.Validate(); err != nil {
		t.Errorf("fixed config: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if err := Check(filepath.Join(t.TempDir(), "nope.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Check(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"a.toml", 3, "gateway.id", "bad"}, "a.toml:3: gateway.id: bad"},
		{Problem{"a.toml", 0, "gateway.id", "bad"}, "a.toml: gateway.id: bad"},
		{Problem{"a.toml", 7, "", "syntax error: x"}, "a.toml:7: syntax error: x"},
		{Problem{"", 0, "gateway.id", "bad"}, "gateway.id: bad"},
		{Problem{"", 2, "k", "bad"}, "line 2: k: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	e := &Error{Problems: []Problem{tests[0].p, tests[1].p}}
	if got, want := e.Error(), "a.toml:3: gateway.id: bad\na.toml: gateway.id: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrInvalid) || (&Error{}).Error() == "" {
		t.Error("*Error does not wrap ErrInvalid or is empty")
	}
}

func TestLineIndex(t *testing.T) {
	data := "# c\n" + // 1
		"top = 1\n" + // 2
		"a.b.c = 2 # x\n" + // 3
		"[ t ]\n" + // 4
		"s = \"\"\"\n" + // 5
		"x = 1\n" + // 6 (inside the string)
		"\"\"\"\n" + // 7
		"arr = [\n" + // 8
		" \"]\", # ]\n" + // 9
		"]\n" + // 10
		"'q.k' = 3\n" + // 11
		"[[m]]\n" + // 12
		"id = 1\n" + // 13
		"[m.sub]\n" + // 14
		"z = 1\n" + // 15
		"[[m]]\n" + // 16
		"id = 2\n" + // 17
		"y = '''a\n" + // 18
		"'''\n" + // 19
		"w = 1\n" // 20
	x := indexLines([]byte(data))
	for key, want := range map[string]int{
		"top": 2, "a": 3, "a.b": 3, "a.b.c": 3, "t": 4, "t.s": 5, "t.x": 0, "t.arr": 8, "t.q.k": 11,
		"m": 12, "m[0]": 12, "m[0].id": 13, "m[0].sub": 14, "m[0].sub.z": 15, "m[1]": 16, "m[1].id": 17,
		"m[1].y": 18, "m[1].w": 20, "m[1].nope": 16, "nope": 0,
	} {
		if _, in := x.lines[key]; want == 0 && in {
			t.Errorf("%s indexed at %d, want not indexed", key, x.lines[key])
		}
		if got := x.find(key); got != want && want != 0 {
			t.Errorf("find(%q) = %d, want %d", key, got, want)
		}
	}
}
