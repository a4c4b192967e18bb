package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
)

// closeTimeout bounds App.Close (the store's final flush and close) after
// Run has drained within its own ShutdownTimeout.
const closeTimeout = 10 * time.Second

func (c *cli) cmdRun(ctx context.Context, args []string) int {
	fs := c.flagSet("run")
	var file string
	fs.StringVar(&file, "c", "", "the configuration `file` (required)")
	fs.StringVar(&file, "config", "", "the configuration `file`, as -c")
	check := fs.Bool("check", false, "only load and validate the configuration, print \"ok\" and exit")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("run", "unexpected argument %q", pos[0])
	}
	if file == "" {
		return c.usageErr("run", "-c FILE is required")
	}
	cfg, err := config.Load(file)
	if err != nil {
		c.printConfigErr(err)
		return exitConfig
	}
	if *check {
		fmt.Fprintln(c.stdout, "ok")
		return exitOK
	}
	log, err := app.NewLogger(c.stderr, cfg.Gateway.LogFormat, cfg.Gateway.LogLevel)
	if err != nil {
		fmt.Fprintf(c.stderr, "smgw run: %v\n", err)
		return exitConfig
	}
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	return c.daemon(ctx, "run", cfg, &app.Options{ConfigFile: file, Log: log}, nil)
}

func (c *cli) cmdDemo(ctx context.Context, args []string) int {
	fs := c.flagSet("demo")
	data := fs.String("data", "", "the demo's data `directory` (default: the user cache directory's smgw/demo)")
	listen := fs.String("listen", "127.0.0.1:8081", "the status page's `address`; \"\" turns it off")
	hanAddr := fs.String("han", defaultDemoHAN, "the in-home display page's `address` (no pairing in the demo); \"\" turns it off") // han.go
	mqttURL := fs.String("mqtt", "", "publish readings to the MQTT broker at `URL` (mqtt://host:port or mqtts://host:port); without it they queue in the outbox")
	mqttCA := fs.String("mqtt-ca", "", "PEM `file` with the CA that signed the broker's certificate, for mqtts://")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("demo", "unexpected argument %q", pos[0])
	}
	dir := *data
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return c.usageErr("demo", "no user cache directory (%v); give --data DIR", err)
		}
		dir = filepath.Join(cache, "smgw", "demo")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return c.fail("demo", err)
	}
	cfg := config.Demo(dir)
	cfg.AddDemoWMBus() // two simulated wM-Bus meters through the line reader
	opts := &app.Options{InitialBackfill: 24 * time.Hour}
	if err := c.demoMQTT(ctx, cfg, *mqttURL, *mqttCA); err != nil { // demomqtt.go
		return c.fail("demo", err)
	}
	cfg.Status.Listen = ""
	if *listen != "" {
		// Bound here so that port 0 picks a free port; asking for an
		// address is consent to serve it, even off loopback.
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return c.fail("demo", fmt.Errorf("status page: %w (choose another with --listen)", err))
		}
		cfg.Status.Listen = ln.Addr().String()
		cfg.Status.AllowRemote = true
		opts.StatusListener = ln
	}
	if err := c.demoHAN(opts, *hanAddr, flagGiven(fs, "han")); err != nil { // han.go
		if opts.StatusListener != nil {
			opts.StatusListener.Close()
		}
		return c.fail("demo", err)
	}
	if err := cfg.Validate(); err != nil {
		if opts.StatusListener != nil {
			opts.StatusListener.Close()
		}
		c.printConfigErr(err)
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log.Warn("INSECURE DEMO: simulated meters, and a data key in a plaintext file; never use this for real data",
		"data", dir, "key_file", cfg.Security.DevKeyFile)
	opts.Log = log
	defer c.demoDLMS(ctx, cfg, log)() // demodlms.go
	return c.daemon(ctx, "demo", cfg, opts, func(a *app.App) {
		page := "off"
		if addr := a.StatusAddr(); addr != "" {
			page = "http://" + addr
		}
		fmt.Fprintf(c.stderr, "smgw demo: status page %s, data in %s; try: smgw readings --data %s\n", page, dir, dir)
		c.demoHANStarted(a) // han.go
	})
}

// daemon runs the gateway until ctx ends (SIGTERM, SIGINT) and returns the
// exit code. started is called once the listeners are bound.
func (c *cli) daemon(ctx context.Context, name string, cfg *config.Config, opts *app.Options, started func(*app.App)) int {
	log := opts.Log
	a, err := app.New(cfg, opts)
	if err != nil {
		fmt.Fprintf(c.stderr, "smgw %s: cannot start: %v\n", name, err)
		if app.Permanent(err) {
			return exitConfig
		}
		return exitFail
	}
	if started != nil {
		started(a)
	}
	runErr := a.Run(ctx)
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	var closeErr error
	select {
	case closeErr = <-closed:
	case <-timer.C:
		log.Error("the store did not close in time; exiting without it", "timeout", closeTimeout)
		return exitFail
	}
	switch {
	case runErr != nil:
		log.Error("gateway stopped on an error", "err", runErr)
		if app.Permanent(runErr) {
			return exitConfig
		}
		return exitFail
	case closeErr != nil:
		log.Error("closing the gateway failed", "err", closeErr)
		return exitFail
	}
	log.Info("gateway stopped")
	return exitOK
}
