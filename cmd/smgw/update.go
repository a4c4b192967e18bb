package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/update"
	"github.com/smgw/smgw/internal/version"
)

// cmdUpdate is `smgw update install|pack|status` (docs/updates.md).
func (c *cli) cmdUpdate(ctx context.Context, args []string) int {
	if len(args) == 0 {
		return c.usageErr("update", "want a subcommand: install, pack or status")
	}
	switch args[0] {
	case "install":
		return c.updateInstall(ctx, args[1:])
	case "pack":
		return c.updatePack(args[1:])
	case "status":
		return c.updateStatus(args[1:])
	case "-h", "-help", "--help":
		c.flagSet("update").Usage()
		return exitOK
	}
	return c.usageErr("update", "unknown subcommand %q: want install, pack or status", args[0])
}

// updateConfig loads the configuration for the update commands.
func (c *cli) updateConfig(file string) (*config.Config, int) {
	cfg, err := config.Load(file)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(c.stderr, p)
			}
		} else {
			fmt.Fprintf(c.stderr, "smgw update: %v\n", err)
		}
		return nil, exitConfig
	}
	return cfg, -1
}

func (c *cli) updateInstall(ctx context.Context, args []string) int {
	fs := c.flagSet("update")
	file := fs.String("c", defaultConfigFile, "the gateway's configuration `FILE` ([update] keyring, installer)")
	fs.StringVar(file, "config", defaultConfigFile, "same as -c")
	keyring := fs.String("keyring", "", "the trusted keys (PEM); overrides [update] keyring")
	installer := fs.String("installer", "", "dbus or command; overrides [update] installer")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("update", "install wants one update file, got %d arguments", len(pos))
	}
	cfg, code := c.updateConfig(*file)
	if cfg == nil {
		return code
	}
	if *keyring == "" {
		*keyring = cfg.Update.Keyring
	}
	if *installer == "" {
		*installer = cfg.Update.Installer
	}
	keys, err := update.LoadKeyring(*keyring)
	if err != nil {
		fmt.Fprintf(c.stderr, "smgw update install: %v\n", err)
		return exitConfig
	}
	inst, err := update.NewInstaller(*installer, cfg.Update.Rauc)
	if err != nil {
		return c.usageErr("update", "%v", err)
	}
	dir := cfg.Gateway.UpdateStateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c.fail("update install", err)
	}
	u := update.New(update.Options{
		Keyring: keys, Installer: inst, StateDir: dir, Running: version.Version, Compatible: cfg.Update.Compatible,
		Events: &printingSpool{c: c, Spool: update.Spool{Path: filepath.Join(dir, update.SpoolFile), Now: c.now}},
		Now:    c.now,
	})
	m, err := u.Install(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "smgw update install: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "installed %s; it runs after the next reboot\n", m.Version)
	return exitOK
}

// printingSpool spools the update events for the daemon's system log and
// prints them as they happen.
type printingSpool struct {
	c *cli
	update.Spool
}

func (p *printingSpool) LogEvent(ctx context.Context, kind, msg string, attrs map[string]string) error {
	fmt.Fprintf(p.c.stderr, "%s: %s\n", kind, msg)
	return p.Spool.LogEvent(ctx, kind, msg, attrs)
}

func (c *cli) updatePack(args []string) int {
	fs := c.flagSet("update")
	keyFile := fs.String("key", "", "the signing key `FILE` (PEM, ECDSA)")
	ver := fs.String("version", "", "the version the bundle installs (semver)")
	compatible := fs.String("compatible", "", "RAUC's compatible string of the devices it is for")
	out := fs.String("o", "", "the update `FILE` to write")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 || *keyFile == "" || *ver == "" || *out == "" {
		return c.usageErr("update", "pack wants --key, --version, -o and one RAUC bundle")
	}
	kb, err := os.ReadFile(*keyFile)
	if err != nil {
		return c.fail("update pack", err)
	}
	key, err := update.ParseSigningKey(kb)
	if err != nil {
		return c.fail("update pack", err)
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return c.fail("update pack", err)
	}
	defer in.Close()
	f, err := os.Create(*out)
	if err != nil {
		return c.fail("update pack", err)
	}
	m := update.Manifest{Version: *ver, Compatible: *compatible, Created: c.now().UTC().Format(time.RFC3339)}
	if err := update.Pack(f, m, in, key); err != nil {
		f.Close()
		os.Remove(*out)
		return c.fail("update pack", err)
	}
	if err := f.Close(); err != nil {
		return c.fail("update pack", err)
	}
	fmt.Fprintf(c.stdout, "%s: version %s signed by %s\n", *out, *ver, update.Fingerprint(&key.PublicKey))
	return exitOK
}

func (c *cli) updateStatus(args []string) int {
	fs := c.flagSet("update")
	file := fs.String("c", defaultConfigFile, "the gateway's configuration `FILE`")
	fs.StringVar(file, "config", defaultConfigFile, "same as -c")
	if _, code := parseFlags(fs, args); code >= 0 {
		return code
	}
	cfg, code := c.updateConfig(*file)
	if cfg == nil {
		return code
	}
	dir := cfg.Gateway.UpdateStateDir()
	u := update.New(update.Options{StateDir: dir, Running: version.Version})
	fmt.Fprintf(c.stdout, "running:  %s\nhighest:  %s\n", version.Version, u.Highest())
	if b, err := os.ReadFile(filepath.Join(dir, "pending.json")); err == nil {
		fmt.Fprintf(c.stdout, "pending (reported at the next start):\n%s", b)
	} else {
		fmt.Fprintln(c.stdout, "pending:  none")
	}
	return exitOK
}
