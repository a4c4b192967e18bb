package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// defaultConfigFile is read by the store commands given neither --data nor -c.
const defaultConfigFile = "/etc/smgw/smgw.toml"

// storeFlags are the flags of every command that reads the store.
type storeFlags struct {
	data   string
	config string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "the gateway's data `directory` (its data_dir)")
	fs.StringVar(&f.config, "c", "", "the gateway's configuration `file` (default "+defaultConfigFile+" when --data is not given)")
	fs.StringVar(&f.config, "config", "", "the configuration `file`, as -c")
}

// location is where a gateway's daemon and store are.
type location struct {
	dataDir string
	sockets []string       // tried in order
	keyFile string         // the development key file; "" when the provider is not "dev"
	tpm     bool           // the configuration names the TPM provider
	cfg     *config.Config // the configuration, when -c named one
}

// usageError is an error that is the command line's fault.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// configError marks errors that are the configuration's fault.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func (f *storeFlags) locate() (location, error) {
	if f.data != "" && f.config != "" {
		return location{}, &usageError{"give --data or -c, not both"}
	}
	if f.data != "" {
		dir, err := filepath.Abs(f.data)
		if err != nil {
			return location{}, err
		}
		return location{
			dataDir: dir,
			sockets: []string{filepath.Join(dir, config.SocketName)},
			keyFile: filepath.Join(dir, config.DevKeyFileName),
		}, nil
	}
	path := f.config
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err != nil {
			return location{}, &usageError{"give --data DIR or -c FILE (there is no " + defaultConfigFile + ")"}
		}
		path = defaultConfigFile
	}
	cfg, err := config.Load(path)
	if err != nil {
		return location{}, &configError{err}
	}
	return locationOf(cfg), nil
}

func locationOf(cfg *config.Config) location {
	loc := location{
		dataDir: cfg.Gateway.DataDir,
		sockets: []string{cfg.Gateway.SocketPath()},
	}
	if link := filepath.Join(cfg.Gateway.DataDir, config.SocketName); link != loc.sockets[0] {
		loc.sockets = append(loc.sockets, link)
	}
	switch cfg.Security.KeyProvider {
	case config.KeyProviderDev:
		loc.keyFile = cfg.Security.DevKeyFile
	case config.KeyProviderTPM:
		loc.tpm = true
		loc.cfg = cfg
	}
	return loc
}

// dial connects to the daemon on the first socket that answers. It returns
// ctl.ErrNoDaemon when none does.
func (l location) dial(ctx context.Context) (*ctl.Client, error) {
	for _, s := range l.sockets {
		c, err := ctl.Dial(ctx, s)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ctl.ErrNoDaemon) {
			if errors.Is(err, ctl.ErrRefused) {
				return nil, fmt.Errorf("%w: run as root or as a member of the gateway's group", err)
			}
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (no answer on %s)", ctl.ErrNoDaemon, l.sockets[0])
}

// open returns a reader of the gateway's store: through the daemon when it
// runs, else the store opened read-only. close releases it.
func (l location) open(ctx context.Context) (r ctl.Reader, close func() error, err error) {
	c, err := l.dial(ctx)
	if err == nil {
		return c, c.Close, nil
	}
	if !errors.Is(err, ctl.ErrNoDaemon) {
		return nil, nil, err
	}
	db := app.DBPath(l.dataDir)
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no gateway data in %s (no %s); is that the gateway's data_dir?", l.dataDir, filepath.Base(db))
	}
	var prov keys.Provider
	switch {
	case l.tpm:
		prov = tpmProviderOf(l.cfg, true) // keys.go
	case l.keyFile == "":
		return nil, nil, errors.New("the configuration names no key provider this build knows")
	default:
		if _, err := os.Stat(l.keyFile); err != nil {
			if fileExists(filepath.Join(l.dataDir, keys.TPMKeyFileName)) { // keys.go
				return nil, nil, errors.New("the daemon is not running and this data directory's keys are in a TPM: give -c FILE (the configuration names the TPM)")
			}
			return nil, nil, fmt.Errorf("the development key file: %w", err)
		}
		prov = keys.NewDev(l.keyFile, nil)
	}
	st, err := store.Open(db, &store.Options{ReadOnly: true, Keys: prov})
	if c, ok := prov.(io.Closer); ok { // the TPM connection: the keyring is unsealed now
		c.Close()
	}
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("a daemon holds the store %s, but its control socket is unreachable (tried %s): "+
			"is it still starting, or does it use another runtime_dir? Give -c with its configuration", db, joinList(l.sockets))
	}
	if err != nil {
		return nil, nil, err
	}
	return ctl.Local{S: st}, st.Close, nil
}

func joinList(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

// storeErr prints err for command name and returns its exit code.
func (c *cli) storeErr(name string, err error) int {
	var ce *configError
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return c.usageErr(name, "%s", ue.msg)
	case errors.As(err, &ce):
		fmt.Fprintf(c.stderr, "smgw %s: %v\n", name, ce.err)
		return exitConfig
	}
	return c.fail(name, err)
}
