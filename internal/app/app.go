package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smgw/smgw/internal/clock"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/statusweb"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
	"github.com/smgw/smgw/internal/version"
	"github.com/smgw/smgw/internal/wan/link"
	"github.com/smgw/smgw/internal/wan/mqtt"
)

// DBFile is the database's file name in the data directory.
const DBFile = "smgw.db"

// DBPath returns the database's path in dataDir.
func DBPath(dataDir string) string { return filepath.Join(dataDir, DBFile) }

// Errors of this package.
var (
	// ErrRefused is returned (wrapped) by New when the gateway cannot start
	// as configured (an unknown key provider or driver). Like a
	// configuration error, a wrong key or a corrupt database, it is
	// permanent: see Permanent.
	ErrRefused = errors.New("app: refusing to start")
	// ErrShutdownTimeout is returned by Run when the services or the final
	// flush did not finish within Options.ShutdownTimeout.
	ErrShutdownTimeout = errors.New("app: shutdown did not finish in time")
)

// Permanent reports whether err (from New or Run) needs a person to fix
// the configuration, the key or the database, so restarting will not help:
// smgw run exits with EX_CONFIG (78) for it.
func Permanent(err error) bool {
	for _, p := range []error{ErrRefused, config.ErrInvalid, store.ErrWrongKey, store.ErrCorrupt,
		store.ErrSchema, keys.ErrKeyFile, keys.ErrOpen, keys.ErrEnvelope} {
		if errors.Is(err, p) {
			return true
		}
	}
	return permanentKeyError(err) // keys.go: no TPM, tampered blob, PCRs, lockout
}

// Options configure an App beyond its configuration. The zero value (or
// nil) is what the daemon uses.
type Options struct {
	// ConfigFile is the configuration's file, for the start event; "" for
	// a configuration built in code (the demo).
	ConfigFile string
	// Log receives the gateway's log lines; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Keys overrides the key provider the configuration names.
	Keys keys.Provider
	// InitialBackfill: a meter with no readings in the store is backfilled
	// this far into the past at start (the demo uses a day); 0 for none.
	// Meters with readings are always backfilled from their latest one.
	InitialBackfill time.Duration
	// ShutdownTimeout bounds the drain when Run's context ends: services
	// stopping, open windows and deferred readings flushed; 0 is 10 s.
	ShutdownTimeout time.Duration
	// Notify sends sd_notify states; nil sends them to systemd (a no-op
	// without NOTIFY_SOCKET).
	Notify func(state string) error
	// Watchdog is the watchdog interval; 0 takes systemd's (WATCHDOG_USEC),
	// negative disables the pings.
	Watchdog time.Duration
	// StatusEvery is how often STATUS= is sent; 0 is 10 s.
	StatusEvery time.Duration
	// SelfCheckEvery is how often the servers check that they answer
	// (their watchdog progress); 0 is the smaller of 30 s and a third of
	// the progress timeout.
	SelfCheckEvery time.Duration
	// StatusListener, if set, is where the status page is served instead
	// of binding cfg.Status.Listen (tests and the demo bind port 0 so).
	// The app closes it.
	StatusListener net.Listener
	// HANListener, if set, serves the HAN display page there in plain
	// HTTP without pairing: only the demo sets it (han.go). The app
	// closes it.
	HANListener net.Listener
	// NoSync skips fsync in the store (tests only).
	NoSync bool
	// LinkProbe replaces the kernel's view of the network interfaces for
	// the link monitor (tests); nil reads /sys and /proc.
	LinkProbe link.Probe
}

// App is the gateway: the store, the meters, the ingest pipeline between
// them, the control socket, the status page and the systemd notifier.
// New → Run → Close.
type App struct {
	cfg  *config.Config
	opts Options
	log  *slog.Logger
	now  func() time.Time

	keys     keys.Provider
	ks       keyState // keys.go
	st       *store.Store
	ingest   *Ingest
	clock    *clock.Monitor // appliance.go
	meters   []*meterService
	wmbus    *wmbusService // nil without wM-Bus meters and receiver
	modbus   []*modbusService
	dlms     []*dlmsService // dlms.go
	mbus     []*mbusService // mbus.go
	ctl      *ctl.Server
	sockLink string // the link in data_dir to the socket, "" if none was made
	httpLn   net.Listener
	httpSrv  *http.Server
	httpStop context.CancelFunc // ends the status page's requests
	ctlCheck *selfCheck
	webCheck *selfCheck
	notifier *Notifier

	mu      sync.Mutex
	svcErrs map[string]string // the last error of each service
	started time.Time         // when Run started

	closeOnce sync.Once
	closeErr  error

	// The WAN side and the command path (commands.go).
	cmds      *CommandPath
	tariff    *tariff.Model
	link      *link.Monitor
	modemPort closer
	uplink    *mqtt.Uplink // uplink.go; nil without a broker
	han       hanState     // han.go
	zigbee    zigbeeState  // zigbee.go
}

// New does the fallible setup: it opens the key provider and the store,
// creates the meters, and binds the control socket and the status page's
// listener. It starts no goroutines. On error nothing stays open.
func New(cfg *config.Config, opts *Options) (_ *App, err error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no configuration", ErrRefused)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	progressTimeout := cfg.Watchdog.ProgressTimeout.Std()
	if progressTimeout <= 0 {
		progressTimeout = 2 * time.Minute
	}
	if o.SelfCheckEvery <= 0 {
		o.SelfCheckEvery = min(30*time.Second, progressTimeout/3)
	}
	a := &App{cfg: cfg, opts: o, log: o.Log, now: o.Now, svcErrs: map[string]string{}, httpLn: o.StatusListener}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	// Keys and store.
	a.keys = o.Keys
	if a.keys == nil {
		switch cfg.Security.KeyProvider {
		case config.KeyProviderDev:
			a.keys = keys.NewDev(cfg.Security.DevKeyFile, a.log)
		case config.KeyProviderTPM:
			a.keys = a.tpmProvider() // keys.go
		default:
			return nil, fmt.Errorf("%w: key provider %q is not available in this build (use \"dev\" for development)",
				ErrRefused, cfg.Security.KeyProvider)
		}
	}
	if !a.keys.Secure() {
		a.log.Warn("INSECURE: the data key is kept in plaintext by the development key provider; "+
			"readings at rest are not protected. Use key_provider = \"tpm\" in production",
			"provider", a.keys.Name())
	}
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data directory: %w", err)
	}
	if err := a.initSigner(context.Background()); err != nil { // keys.go: before the store, which a failure leaves untouched
		return nil, err
	}
	a.st, err = store.Open(DBPath(cfg.Gateway.DataDir), &store.Options{
		Keys:           a.keys,
		Log:            a.log.With("service", "store"),
		Now:            o.Now,
		OutboxChannels: outboxChannels(cfg), // uplink.go
		MaxAge:         cfg.Store.Retention.Std(),
		MaxBytes:       int64(cfg.Store.MaxSize),
		DeferredFlush:  cfg.Store.DeferredFlush.Std(),
		CompactEvery:   cfg.Store.CompactEvery.Std(),
		NoSync:         o.NoSync,
	})
	if err != nil {
		return nil, fmt.Errorf("app: open the store: %w", err)
	}
	if err := a.initKeys(context.Background()); err != nil { // keys.go
		return nil, err
	}

	if err := a.initWAN(context.Background()); err != nil {
		return nil, err
	}
	if err := a.initUplink(context.Background()); err != nil { // uplink.go
		return nil, err
	}

	// Ingest and meters.
	stored := a.st.Meters()
	seen := make([]meter.MeterID, len(stored))
	latest := make(map[meter.MeterID]time.Time, len(stored))
	for i, m := range stored {
		seen[i] = m.ID
		for _, s := range m.Series {
			if !s.OBIS.Instantaneous() && s.Latest.Time.After(latest[m.ID]) {
				latest[m.ID] = s.Latest.Time
			}
		}
	}
	if err := a.initClock(); err != nil { // appliance.go
		return nil, err
	}
	a.ingest = NewIngest(a.st, &IngestOptions{
		Clock:      a.clockGate(),
		Resolution: cfg.Store.LiveResolution.Std(),
		Latest:     a.st.Latest,
		Seen:       seen,
		OnSeen:     a.meterSeen,
		Now:        o.Now,
		Log:        a.log.With("service", "ingest"),
	})
	var wmbusMeters []config.Meter
	var modbusMeters []config.Meter // modbus.go
	var dlmsMeters []config.Meter   // dlms.go
	var mbusMeters []config.Meter   // mbus.go
	cfgMeters, err := a.withOverrides(cfg.Meters)
	if err != nil {
		return nil, err
	}
	for _, mc := range cfgMeters {
		if !mc.Enabled {
			a.log.Info("meter disabled in the configuration", "meter", mc.ID)
			continue
		}
		if mc.Driver == config.DriverWMBus {
			wmbusMeters = append(wmbusMeters, mc)
			continue
		}
		if mc.Driver == config.DriverModbus {
			modbusMeters = append(modbusMeters, mc)
			continue
		}
		if mc.Driver == config.DriverDLMS {
			dlmsMeters = append(dlmsMeters, mc)
			continue
		}
		if mc.Driver == config.DriverMBus {
			mbusMeters = append(mbusMeters, mc)
			continue
		}
		ms, err := newMeterService(mc, a.ingest, latest[mc.ID], o.InitialBackfill, o.Now, a.log)
		if err != nil {
			return nil, err
		}
		if err := a.restoreOutages(ms); err != nil {
			return nil, err
		}
		a.meters = append(a.meters, ms)
		a.cmds.register(ms)
	}
	if a.wmbus, err = newWMBus(cfg, wmbusMeters, a.ingest, a.st, o.Now, a.log); err != nil {
		return nil, err
	}
	if a.modbus, err = newModbus(cfg, modbusMeters, a.ingest, o.Now, a.log); err != nil {
		return nil, err
	}
	if a.dlms, err = newDLMS(cfg, dlmsMeters, a.ingest, a.st, o.Now, a.log); err != nil {
		return nil, err
	}
	if a.mbus, err = newMBus(cfg, mbusMeters, a.ingest, o.Now, a.log); err != nil {
		return nil, err
	}

	// Control socket, and a link to it in the data directory.
	var gid uint32
	if g, err := user.LookupGroup("smgw"); err == nil {
		if n, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
			gid = uint32(n)
		}
	}
	sock := cfg.Gateway.SocketPath()
	a.ctl, err = ctl.Listen(sock, a, &ctl.ServerOptions{Log: a.log.With("service", "ctl"), AllowGID: gid})
	if err != nil {
		return nil, fmt.Errorf("app: control socket: %w", err)
	}
	a.linkSocket(sock)
	a.ctlCheck = &selfCheck{name: "control socket", every: o.SelfCheckEvery, now: o.Now, log: a.log,
		check: func(ctx context.Context) error {
			c, err := ctl.Dial(ctx, sock)
			if err != nil {
				return err
			}
			return c.Close()
		}}

	// Status page.
	if addr := cfg.Status.Listen; addr != "" && a.httpLn == nil {
		a.httpLn, err = net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("app: status page: %w", err)
		}
	}
	if a.httpLn != nil {
		base, stop := context.WithCancel(context.Background())
		a.httpStop = stop
		a.httpSrv = &http.Server{
			Handler: statusweb.New(a, &statusweb.Options{
				Log: a.log.With("service", "status page"), Now: o.Now, Hosts: hostNames(),
			}),
			BaseContext:       func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
		url := "http://" + a.httpLn.Addr().String() + "/api/status"
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		a.webCheck = &selfCheck{name: "status page", every: o.SelfCheckEvery, now: o.Now, log: a.log,
			check: func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return err
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status page answers %s", resp.Status)
				}
				return nil
			}}
	}

	if err := a.initHAN(context.Background()); err != nil { // han.go
		return nil, err
	}
	if err := a.initZigbee(context.Background()); err != nil { // zigbee.go
		return nil, err
	}

	// systemd.
	wd := o.Watchdog
	if wd == 0 {
		if wd, err = sdWatchdog(); err != nil {
			a.log.Warn("systemd watchdog settings unreadable; not pinging", "err", err)
			wd = 0
		}
	}
	probes := []Probe{
		{Name: "store", Last: a.st.Progress},
		{Name: "ingest", Last: a.ingest.Progress},
		{Name: "control socket", Last: a.ctlCheck.Progress},
	}
	if a.webCheck != nil {
		probes = append(probes, Probe{Name: "status page", Last: a.webCheck.Progress})
	}
	if a.wmbus != nil {
		probes = append(probes, Probe{Name: "wmbus", Last: a.wmbus.svc.Progress})
	}
	for _, mb := range a.modbus {
		probes = append(probes, Probe{Name: "modbus " + mb.line.Name(), Last: mb.Progress, Timeout: progressTimeout + mb.period})
	}
	for _, d := range a.dlms {
		probes = append(probes, Probe{Name: "dlms " + d.line.Name(), Last: d.Progress, Timeout: progressTimeout + d.period})
	}
	probes = append(probes, a.mbusProbes(progressTimeout)...) // mbus.go
	for _, ms := range a.meters {
		probes = append(probes, Probe{Name: "meter " + string(ms.id), Last: ms.Progress, Timeout: progressTimeout + ms.period})
	}
	a.notifier = NewNotifier(&NotifierOptions{
		Notify:          o.Notify,
		Now:             o.Now,
		Watchdog:        max(wd, 0),
		ProgressTimeout: progressTimeout,
		StatusEvery:     o.StatusEvery,
		Status:          a.statusLine,
		Probes:          probes,
		Log:             a.log.With("service", "watchdog"),
	})
	return a, nil
}

// hostNames are the names the status page may be asked for by, besides
// IP addresses and localhost: the machine's host name, bare and in .local.
func hostNames() []string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return nil
	}
	h = strings.ToLower(h)
	if short, _, ok := strings.Cut(h, "."); ok {
		return []string{h, short, short + ".local"}
	}
	return []string{h, h + ".local"}
}

// linkSocket makes data_dir/smgw.sock a link to the socket, so the CLI's
// --data DIR finds the daemon whatever its runtime_dir.
func (a *App) linkSocket(sock string) {
	link := filepath.Join(a.cfg.Gateway.DataDir, config.SocketName)
	if filepath.Clean(link) == filepath.Clean(sock) {
		return
	}
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode().Type() != fs.ModeSymlink {
			a.log.Warn("not linking the control socket: the file exists and is not a link", "path", link)
			return
		}
		os.Remove(link)
	}
	if err := os.Symlink(sock, link); err != nil {
		a.log.Warn("cannot link the control socket into the data directory", "err", err)
		return
	}
	a.sockLink = link
}

// StatusAddr is the status page's listening address, "" when it is off.
func (a *App) StatusAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// SocketPath is the control socket's path.
func (a *App) SocketPath() string { return a.ctl.Path() }

// Run runs the gateway until ctx ends or a service fails, then drains:
// the services stop, open averaging windows and deferred readings are
// flushed and a stop event is logged, all within Options.ShutdownTimeout.
// It returns nil after a clean stop on cancellation, the failing service's
// error, or ErrShutdownTimeout. Call Close afterwards.
func (a *App) Run(ctx context.Context) error {
	started := a.now()
	a.mu.Lock()
	a.started = started
	a.mu.Unlock()
	attrs := map[string]string{"version": version.Version, "gateway": a.cfg.Gateway.ID}
	if a.opts.ConfigFile != "" {
		attrs["config"] = a.opts.ConfigFile
	}
	// Logged even if ctx has ended already: Run then stops at once, cleanly.
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.ShutdownTimeout)
	defer lcancel()
	if _, err := a.st.Log(lctx, store.LogSystem, store.Event{
		Time: started, Kind: "start", Attrs: attrs,
		Message: fmt.Sprintf("gateway %s started (version %s, %d meters)", a.cfg.Gateway.ID, version.Version, len(a.meters)),
	}); err != nil {
		return fmt.Errorf("app: log the start: %w", err)
	}
	a.reportUpdate(lctx) // appliance.go: spooled update steps, the outcome of the last update

	g, gctx := errgroup.WithContext(ctx)
	a.service(g, gctx, "ingest", a.ingest.Run)
	a.service(g, gctx, "clock", a.runClock) // appliance.go
	for _, ms := range a.meters {
		a.service(g, gctx, "meter "+string(ms.id), ms.Run)
	}
	if a.wmbus != nil {
		a.service(g, gctx, "wmbus", a.wmbus.Run)
	}
	for _, mb := range a.modbus {
		a.service(g, gctx, "modbus "+mb.line.Name(), mb.Run)
	}
	for _, d := range a.dlms {
		a.service(g, gctx, "dlms "+d.line.Name(), d.Run)
	}
	a.startMBus(g, gctx) // mbus.go
	a.service(g, gctx, "control socket", a.ctl.Run)
	a.service(g, gctx, "keys", a.runKeys) // keys.go
	a.service(g, gctx, "control socket check", a.ctlCheck.Run)
	if a.httpSrv != nil {
		a.service(g, gctx, "status page", a.serveHTTP)
		a.service(g, gctx, "status page check", a.webCheck.Run)
	}
	a.service(g, gctx, "systemd notifier", a.notifier.Run)
	a.service(g, gctx, "link", a.link.Run)
	a.service(g, gctx, "mqtt", a.runUplink) // uplink.go
	a.service(g, gctx, "han", a.runHAN)     // han.go
	a.service(g, gctx, "han-extra", a.runHANExtra)
	a.service(g, gctx, "zigbee", a.runZigbee)
	a.service(g, gctx, "runtime meters", a.cmds.runRuntimeMeters)
	a.notifier.Ready()
	a.log.Info("gateway running", "gateway", a.cfg.Gateway.ID, "version", version.Version,
		"meters", a.configuredMeters(), "socket", a.ctl.Path(), "status_page", a.StatusAddr())

	<-gctx.Done()
	a.notifier.Stopping()
	deadline := time.NewTimer(a.opts.ShutdownTimeout)
	defer deadline.Stop()
	dctx, cancel := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()
	var runErr error
	select {
	case runErr = <-waited:
	case <-deadline.C:
		a.log.Error("services did not stop in time", "timeout", a.opts.ShutdownTimeout)
		return ErrShutdownTimeout
	}
	reason := "stopped"
	if runErr != nil {
		reason = "stopped on error: " + runErr.Error()
		a.log.Error("gateway stopping on a service failure", "err", runErr)
	} else {
		a.log.Info("gateway stopping")
	}
	a.ingest.FlushWindows()
	flushErr := a.st.Flush(dctx)
	if _, err := a.st.Log(dctx, store.LogSystem, store.Event{
		Time: a.now(), Kind: "stop", Message: "gateway " + reason,
		Attrs: map[string]string{"version": version.Version, "uptime": a.now().Sub(started).Round(time.Second).String()},
	}); err != nil && flushErr == nil {
		flushErr = err
	}
	a.signHeads(dctx) // keys.go: the last signed heads cover the stop event
	switch {
	case runErr != nil:
		return runErr
	case dctx.Err() != nil:
		a.log.Error("flushing the store did not finish in time", "err", flushErr)
		return ErrShutdownTimeout
	case flushErr != nil:
		return fmt.Errorf("app: flush at shutdown: %w", flushErr)
	}
	return nil
}

// service runs one service in g. An error while g's context is live stops
// the gateway; a service that returns nil then stopped unexpectedly, which
// is an error too. What a service returns after the stop is only logged.
func (a *App) service(g *errgroup.Group, ctx context.Context, name string, run func(context.Context) error) {
	g.Go(func() error {
		err := run(ctx)
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("service ended with an error while stopping", "service", name, "err", err)
			}
			return nil
		}
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		a.mu.Lock()
		a.svcErrs[name] = err.Error()
		a.mu.Unlock()
		a.log.Error("service failed", "service", name, "err", err)
		return fmt.Errorf("%s: %w", name, err)
	})
}

func (a *App) serveHTTP(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.httpSrv.Serve(a.httpLn) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.httpStop() // ends live streams
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.httpSrv.Shutdown(sctx); err != nil {
		a.httpSrv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// meterSeen logs the first stored reading of a meter in the metrology log.
// The reading is stored, so the event is logged even when ctx ends now:
// the next start would not see the meter as new.
func (a *App) meterSeen(ctx context.Context, id meter.MeterID) {
	a.log.Info("first reading of a meter stored", "meter", id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.ShutdownTimeout)
	defer cancel()
	if _, err := a.st.Log(ctx, store.LogMetrology, store.Event{
		Time: a.now(), Kind: "meter-seen", Message: "first reading of meter " + string(id) + " stored",
		Attrs: map[string]string{"meter": string(id)},
	}); err != nil {
		a.log.Warn("cannot log a meter seen", "meter", id, "err", err)
	}
}

// statusLine is the STATUS= line: "3 meters, 412 readings/min, store ok, WAN: none".
// configuredMeters counts the enabled meters of every driver.
func (a *App) configuredMeters() int {
	n := 0
	for _, m := range a.cfg.Meters {
		if m.Enabled {
			n++
		}
	}
	return n
}

func (a *App) statusLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d meters, %d readings/min, store ", a.configuredMeters(), a.ingest.ReadingsLastMinute())
	var stalled []string
	storeOK := true
	for _, h := range a.notifier.Health() {
		if !h.Healthy {
			if h.Name == "store" {
				storeOK = false
			} else {
				stalled = append(stalled, h.Name)
			}
		}
	}
	if storeOK {
		b.WriteString("ok")
	} else {
		b.WriteString("STALLED")
	}
	b.WriteString(", WAN: " + a.wanLine())
	if len(stalled) > 0 {
		b.WriteString(", stalled: " + strings.Join(stalled, ", "))
	}
	return b.String()
}

// Close releases everything New opened: the listeners and the store
// (which flushes what is deferred). Call it after Run has returned. It is
// idempotent.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		if a.ctl != nil {
			errs = append(errs, a.ctl.Close())
		}
		if a.sockLink != "" {
			if target, err := os.Readlink(a.sockLink); err == nil && target == a.ctl.Path() {
				os.Remove(a.sockLink)
			}
		}
		if a.httpSrv != nil {
			a.httpStop()
			errs = append(errs, a.httpSrv.Close())
		}
		if a.httpLn != nil {
			a.httpLn.Close() // when Serve never ran; closed twice otherwise
		}
		errs = append(errs, a.closeHAN()) // han.go
		errs = append(errs, a.closeZigbee())
		errs = append(errs, a.closeWAN())
		if a.st != nil {
			errs = append(errs, a.st.Close())
		}
		errs = append(errs, a.closeKeys()) // keys.go
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// Query implements ctl.Reader over the store.
func (a *App) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	return a.st.Query(ctx, q, fn)
}

// Meters implements ctl.Reader.
func (a *App) Meters(ctx context.Context) ([]store.MeterInfo, error) {
	return ctl.Local{S: a.st}.Meters(ctx)
}

// Events implements ctl.Reader.
func (a *App) Events(ctx context.Context, name store.LogName, after uint64, fn func(store.Event) error) error {
	return a.st.Events(ctx, name, after, fn)
}

// VerifyLog implements ctl.Reader.
func (a *App) VerifyLog(ctx context.Context, name store.LogName) (store.LogReport, error) {
	return a.st.VerifyLog(ctx, name)
}

// Status implements ctl.Backend.
func (a *App) Status(ctx context.Context) (ctl.Status, error) {
	if err := ctx.Err(); err != nil {
		return ctl.Status{}, err
	}
	now := a.now()
	a.mu.Lock()
	started := a.started
	a.mu.Unlock()
	st := ctl.Status{
		GatewayID:          a.cfg.Gateway.ID,
		Version:            version.Version,
		Started:            started,
		Uptime:             now.Sub(started),
		KeyProvider:        a.keys.Name(),
		Insecure:           !a.keys.Secure(),
		MetersSeen:         a.ingest.MetersSeen(),
		ReadingsLastMinute: a.ingest.ReadingsLastMinute(),
		WAN:                a.wanLine(),
		Store:              a.st.Stats(),
		Live:               a.ingest.LiveValues(),
		Uplink:             a.uplinkStatus(), // uplink.go
		Link:               a.linkStatus(),   // commands.go
		LMN:                a.lmnStatus(),    // lmnstatus.go
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, h := range a.notifier.Health() {
		st.Services = append(st.Services, ctl.ServiceStatus{
			Name: h.Name, LastProgress: h.LastProgress, Healthy: h.Healthy, Err: a.svcErrs[h.Name],
		})
	}
	return st, nil
}

var _ ctl.Backend = (*App)(nil)
