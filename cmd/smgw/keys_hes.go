package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/store"
)

// HES command keys in the key store (docs/commands.md, "Keys and roles"):
// `smgw keys import-hes-key ID ROLE FILE`, `smgw keys remove-hes-key ID`,
// and their part of `smgw keys list`. While the daemon runs they go
// through its control socket and its command path uses the change with
// the next command; otherwise they write the store directly.

func (c *cli) keysImportHES(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("import-hes-key")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 3 {
		return c.usageErr("keys", "import-hes-key: want ID ROLE FILE")
	}
	id, role, file := pos[0], pos[1], pos[2]
	b, err := os.ReadFile(file)
	if err != nil {
		return c.keysErr("import-hes-key", err)
	}
	// Checked here first, so that a bad file is named as such.
	if _, err := app.ImportHESKeyCheck(id, role, b, file); err != nil {
		fmt.Fprintf(c.stderr, "smgw keys import-hes-key: %v\n", err)
		return exitUsage
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("import-hes-key", err)
	}
	defer t.close()
	var k ctl.HESKey
	if t.daemon != nil {
		k, err = t.daemon.ImportHESKey(ctx, id, role, b)
	} else {
		var st *store.Store
		if st, err = t.openStore(false); err == nil {
			k, err = app.ImportHESKey(ctx, st, id, role, b, file)
			if cerr := st.Close(); err == nil {
				err = cerr
			}
		}
		k.Shadowed = configuredHES(t.loc.cfg, id)
	}
	if err != nil {
		return c.keysErr("import-hes-key", err)
	}
	fmt.Fprintf(c.stdout, "imported HES key %s (%s, fingerprint %s), sealed under the data key\n", k.ID, k.Role, k.Fingerprint)
	if k.Shadowed {
		fmt.Fprintf(c.stderr, "smgw keys import-hes-key: warning: [[wan.commands.key]] configures a key %s too; the configured one is used\n", id)
	}
	return exitOK
}

func configuredHES(cfg *config.Config, id string) bool {
	if cfg == nil {
		return false
	}
	for _, k := range cfg.WAN.Commands.Keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func (c *cli) keysRemoveHES(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("remove-hes-key")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("keys", "remove-hes-key: want ID")
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("remove-hes-key", err)
	}
	defer t.close()
	if t.daemon != nil {
		err = t.daemon.RemoveHESKey(ctx, pos[0])
	} else {
		var st *store.Store
		if st, err = t.openStore(false); err == nil {
			err = app.RemoveHESKey(ctx, st, pos[0])
			if cerr := st.Close(); err == nil {
				err = cerr
			}
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, ctl.ErrNotFound):
		fmt.Fprintf(c.stderr, "smgw keys remove-hes-key: no imported HES key %q\n", pos[0])
		return exitFail
	case errors.Is(err, app.ErrHESKey) || errors.Is(err, ctl.ErrBadRequest):
		return c.usageErr("keys", "remove-hes-key: %v", err)
	case err != nil:
		return c.keysErr("remove-hes-key", err)
	}
	fmt.Fprintf(c.stdout, "removed HES key %s\n", pos[0])
	return exitOK
}

// keysListHES prints the HES command keys for `smgw keys list`: from the
// daemon, or from st and the configuration (-c) when it does not run.
func (c *cli) keysListHES(ctx context.Context, t *keysTarget, st *store.Store) {
	var ks []ctl.HESKey
	var err error
	switch {
	case t.daemon != nil:
		ks, err = t.daemon.HESKeys(ctx)
	case st != nil:
		cfg := t.loc.cfg
		if cfg == nil {
			cfg = config.Default() // no -c: only the imported keys
		}
		ks, err = app.ListHESKeys(cfg, st)
	default:
		return
	}
	if err != nil {
		fmt.Fprintf(c.stdout, "HES command keys: cannot list them: %v\n", err)
		return
	}
	fmt.Fprintf(c.stdout, "HES command keys: %d\n", len(ks))
	for _, k := range ks {
		line := fmt.Sprintf("  %s  %s  %s", k.ID, k.Role, k.Source)
		if k.Fingerprint != "" {
			line += "  sha256:" + k.Fingerprint
		}
		if k.Shadowed {
			line += "  (not used: the configuration has this id)"
		}
		if k.Error != "" {
			line += "  UNUSABLE: " + k.Error
		}
		fmt.Fprintln(c.stdout, line)
	}
}
