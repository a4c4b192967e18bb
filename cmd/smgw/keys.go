package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// `smgw keys SUBCOMMAND`: the gateway's keys. While the daemon runs every
// subcommand goes through its control socket (it holds the store and the
// TPM); otherwise the command opens the key provider and the store itself.

const keysUsage = `usage: smgw keys SUBCOMMAND [--data DIR | -c FILE] [flags]

subcommands:
  list                                  the data keys, the signing key and the names of the secondary keys (never their values)
  rotate                                make a new data key current; older values are re-sealed (in the background while the daemon runs)
  csr --subject "CN=…,O=…" [--out FILE]  a PKCS #10 request signed by the gateway's key, for the utility's PKI
  cert install FILE                     install the issued certificate chain (PEM, leaf first) as <data_dir>/identity.crt
  import-meter-key METER [HEX] [--file F] [--kind wmbus|dlms-auth|dlms-enc|hes]
                                        store a secondary key sealed under the data key
  import-hes-key ID ROLE FILE           import a HES command key (PEM public key or X.509 certificate, ECDSA P-256);
                                        ROLE is reader, operator or admin; the running daemon uses it at once
  remove-hes-key ID                     remove an imported HES command key
`

func (c *cli) cmdKeys(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := c.stderr
		code := exitUsage
		if len(args) > 0 {
			w, code = c.stdout, exitOK
		}
		fmt.Fprint(w, keysUsage)
		return code
	}
	switch args[0] {
	case "list":
		return c.keysList(ctx, args[1:])
	case "rotate":
		return c.keysRotate(ctx, args[1:])
	case "csr":
		return c.keysCSR(ctx, args[1:])
	case "cert":
		if len(args) < 2 || args[1] != "install" {
			return c.usageErr("keys", "want \"keys cert install FILE\"")
		}
		return c.keysCertInstall(ctx, args[2:])
	case "import-meter-key":
		return c.keysImport(ctx, args[1:])
	case "import-hes-key":
		return c.keysImportHES(ctx, args[1:]) // keys_hes.go
	case "remove-hes-key":
		return c.keysRemoveHES(ctx, args[1:]) // keys_hes.go
	}
	return c.usageErr("keys", "unknown subcommand %q", args[0])
}

// keysTarget is where a keys subcommand acts: the daemon, or the provider
// (and the store when needed) opened here.
type keysTarget struct {
	loc    location
	daemon *ctl.Client
	prov   keys.Provider
}

func (t *keysTarget) close() {
	if t.daemon != nil {
		t.daemon.Close()
	}
	if c, ok := t.prov.(io.Closer); ok {
		c.Close()
	}
}

// keysOpen finds the daemon, or opens the key provider of the gateway.
func (c *cli) keysOpen(ctx context.Context, sf *storeFlags) (*keysTarget, error) {
	loc, err := sf.locate()
	if err != nil {
		return nil, err
	}
	t := &keysTarget{loc: loc}
	cl, err := loc.dial(ctx)
	if err == nil {
		t.daemon = cl
		return t, nil
	}
	if !errors.Is(err, ctl.ErrNoDaemon) {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, dbErr := os.Stat(app.DBPath(loc.dataDir))
	switch {
	case loc.tpm:
		t.prov = tpmProviderOf(loc.cfg, dbErr == nil)
	case sf.config == "" && fileExists(filepath.Join(loc.dataDir, keys.TPMKeyFileName)):
		return nil, &usageError{"this data directory's keys are in a TPM: give -c FILE (the configuration names the TPM)"}
	case loc.keyFile != "":
		if dbErr == nil {
			if _, err := os.Stat(loc.keyFile); err != nil {
				return nil, fmt.Errorf("the development key file: %w", err)
			}
		}
		t.prov = keys.NewDev(loc.keyFile, log)
	default:
		return nil, errors.New("the configuration names no key provider this build knows")
	}
	return t, nil
}

// tpmProviderOf is the TPM key provider cfg names. mustExist refuses to
// make new keys (there is a database to open).
func tpmProviderOf(cfg *config.Config, mustExist bool) keys.Provider {
	return keys.NewTPM(keys.TPMOptions{
		Device: cfg.Security.TPM, KeyFile: filepath.Join(cfg.Gateway.DataDir, keys.TPMKeyFileName),
		PCRs: cfg.Security.PCRs, MustExist: mustExist,
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openStore opens the gateway's store for writing with the target's
// provider (the daemon is not running).
func (t *keysTarget) openStore(create bool) (*store.Store, error) {
	db := app.DBPath(t.loc.dataDir)
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("no gateway data in %s (no %s)", t.loc.dataDir, filepath.Base(db))
	}
	return store.Open(db, &store.Options{Keys: t.prov})
}

// keysErr prints err for a keys subcommand with its exit code: 78 when a
// person must act on the configuration, the TPM or a key.
func (c *cli) keysErr(sub string, err error) int {
	name := "keys " + sub
	var ce *configError
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return c.usageErr(name, "%s", ue.msg)
	case errors.As(err, &ce):
		fmt.Fprintf(c.stderr, "smgw %s: %v\n", name, ce.err)
		return exitConfig
	case app.Permanent(err):
		fmt.Fprintf(c.stderr, "smgw %s: %v\n", name, err)
		return exitConfig
	}
	return c.fail(name, err)
}

func (c *cli) keysFlags(sub string) (*flag.FlagSet, *storeFlags) {
	fs := flag.NewFlagSet("smgw keys "+sub, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var sf storeFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keysUsage)
		fmt.Fprintf(fs.Output(), "\nflags of %s:\n", sub)
		fs.PrintDefaults()
	}
	return fs, &sf
}

func (c *cli) keysList(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("list")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("keys", "list: unexpected argument %q", pos[0])
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("list", err)
	}
	defer t.close()
	var info ctl.KeysInfo
	var st *store.Store
	if t.daemon != nil {
		if info, err = t.daemon.KeysInfo(ctx); err != nil {
			return c.keysErr("list", err)
		}
	} else {
		st, err = t.openStore(false)
		if err != nil {
			return c.keysErr("list", err)
		}
		defer st.Close()
		kr := st.Keyring()
		info = ctl.KeysInfo{Provider: t.prov.Name(), Secure: t.prov.Secure(), Current: kr.Current(), DataKeys: kr.IDs()}
		if info.Secrets, err = st.RecordNames(store.KindSecret, ""); err != nil {
			return c.keysErr("list", err)
		}
		if s, err := t.prov.Signer(ctx); err == nil {
			if pub, err := keys.MarshalPublicKey(s.Public()); err == nil {
				info.PublicKey = string(pub)
			}
		}
	}
	w := c.stdout
	fmt.Fprintf(w, "provider:   %s", info.Provider)
	if !info.Secure {
		fmt.Fprint(w, " (INSECURE: plaintext keys, development only)")
	}
	fmt.Fprintln(w)
	ids := make([]string, len(info.DataKeys))
	for i, id := range info.DataKeys {
		ids[i] = fmt.Sprint(id)
	}
	fmt.Fprintf(w, "data keys:  %s (current %d)\n", strings.Join(ids, ", "), info.Current)
	if info.Reseal != "" {
		fmt.Fprintf(w, "re-seal:    %s\n", info.Reseal)
	}
	if cert := filepath.Join(t.loc.dataDir, keys.IdentityCertFile); fileExists(cert) {
		fmt.Fprintf(w, "certificate: %s\n", cert)
	}
	fmt.Fprintf(w, "secondary keys: %d\n", len(info.Secrets))
	for _, n := range info.Secrets {
		fmt.Fprintf(w, "  %s\n", n)
	}
	c.keysListHES(ctx, t, st) // keys_hes.go
	if info.PublicKey != "" {
		fmt.Fprintf(w, "signing key (public):\n%s", info.PublicKey)
	}
	return exitOK
}

func (c *cli) keysRotate(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("rotate")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("keys", "rotate: unexpected argument %q", pos[0])
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("rotate", err)
	}
	defer t.close()
	if t.daemon != nil {
		id, err := t.daemon.RotateKey(ctx)
		if err != nil {
			return c.keysErr("rotate", err)
		}
		fmt.Fprintf(c.stdout, "data key %d is current; the daemon re-seals older values in the background (\"smgw keys list\" shows how far)\n", id)
		return exitOK
	}
	rot, ok := t.prov.(keys.Rotator)
	if !ok {
		return c.keysErr("rotate", fmt.Errorf("the key provider %s cannot rotate keys", t.prov.Name()))
	}
	st, err := t.openStore(false)
	if err != nil {
		return c.keysErr("rotate", err)
	}
	defer st.Close()
	old := st.Keyring().Current()
	id, err := rot.Rotate(ctx, st.Keyring())
	if err != nil {
		return c.keysErr("rotate", err)
	}
	fmt.Fprintf(c.stdout, "data key %d is current (was %d); re-sealing…\n", id, old)
	start := time.Now()
	retired, err := st.ResealAndRetire(ctx, rot, func(p store.ResealProgress) {
		fmt.Fprintf(c.stderr, "  %s: %d values looked at, %d re-sealed\n", p.Area, p.Scanned, p.Resealed)
	})
	if err != nil {
		return c.keysErr("rotate", fmt.Errorf("re-sealing (it continues at the daemon's next start): %w", err))
	}
	st.Log(ctx, store.LogMetrology, store.Event{Kind: "key-rotated", Message: fmt.Sprintf("data key %d replaces key %d (offline)", id, old),
		Attrs: map[string]string{"key": fmt.Sprint(id), "previous": fmt.Sprint(old)}})
	fmt.Fprintf(c.stdout, "re-sealed in %v; retired keys %v\n", time.Since(start).Round(time.Millisecond), retired)
	return exitOK
}

func (c *cli) keysCSR(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("csr")
	subject := fsw.String("subject", "", "the certificate's subject, e.g. \"CN=gw-0042,O=Utility,C=DE\" (required)")
	out := fsw.String("out", "", "write the request to `FILE` instead of standard output")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("keys", "csr: unexpected argument %q", pos[0])
	}
	if *subject == "" {
		return c.usageErr("keys", "csr: --subject is required")
	}
	subj, err := keys.ParseSubject(*subject)
	if err != nil {
		return c.usageErr("keys", "csr: %v", err)
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("csr", err)
	}
	defer t.close()
	var csr []byte
	if t.daemon != nil {
		csr, err = t.daemon.CSR(ctx, *subject)
	} else {
		csr, err = keys.CreateCSR(ctx, t.prov, subj)
	}
	if err != nil {
		return c.keysErr("csr", err)
	}
	if *out == "" {
		c.stdout.Write(csr)
		return exitOK
	}
	if err := os.WriteFile(*out, csr, 0o644); err != nil {
		return c.keysErr("csr", err)
	}
	fmt.Fprintf(c.stderr, "smgw keys csr: wrote %s\n", *out)
	return exitOK
}

func (c *cli) keysCertInstall(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("cert")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("keys", "cert install: want one FILE")
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return c.keysErr("cert", err)
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("cert", err)
	}
	defer t.close()
	var subj string
	var notAfter time.Time
	if t.daemon != nil {
		subj, notAfter, err = t.daemon.InstallCert(ctx, b)
	} else {
		x, ierr := keys.InstallCertificate(ctx, t.prov, b, filepath.Join(t.loc.dataDir, keys.IdentityCertFile))
		err = ierr
		if x != nil {
			subj, notAfter = x.Subject.String(), x.NotAfter
		}
	}
	if err != nil {
		if errors.Is(err, keys.ErrCertificate) {
			fmt.Fprintf(c.stderr, "smgw keys cert install: %v\n", err)
			return exitFail
		}
		return c.keysErr("cert", err)
	}
	fmt.Fprintf(c.stdout, "installed %s (valid until %s) as %s\n", subj, notAfter.UTC().Format(time.RFC3339),
		filepath.Join(t.loc.dataDir, keys.IdentityCertFile))
	return exitOK
}

func (c *cli) keysImport(ctx context.Context, args []string) int {
	fsw, sf := c.keysFlags("import-meter-key")
	kind := fsw.String("kind", keys.SecretWMBus, "the key's `kind`: wmbus, dlms-auth, dlms-enc or hes")
	file := fsw.String("file", "", "read the key from `FILE` (hex, or raw bytes of the right length) instead of the command line")
	pos, code := parseFlags(fsw, args)
	if code >= 0 {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 || (len(pos) == 2) == (*file != "") {
		return c.usageErr("keys", "import-meter-key: want METER HEX, or METER --file F")
	}
	name, err := keys.SecretName(*kind, pos[0])
	if err != nil {
		return c.usageErr("keys", "import-meter-key: %v", err)
	}
	var key []byte
	if *file != "" {
		raw, err := os.ReadFile(*file)
		if err != nil {
			return c.keysErr("import-meter-key", err)
		}
		key = parseKeyBytes(raw)
		clear(raw)
	} else {
		key, err = hex.DecodeString(strings.TrimSpace(pos[1]))
		if err != nil {
			return c.usageErr("keys", "import-meter-key: the key is not hex")
		}
	}
	defer clear(key)
	if err := keys.CheckSecret(name, key); err != nil {
		return c.usageErr("keys", "import-meter-key: %v", err)
	}
	t, err := c.keysOpen(ctx, sf)
	if err != nil {
		return c.keysErr("import-meter-key", err)
	}
	defer t.close()
	if t.daemon != nil {
		err = t.daemon.PutSecret(ctx, name, key)
	} else {
		var st *store.Store
		st, err = t.openStore(false)
		if err == nil {
			err = st.PutRecord(ctx, store.KindSecret, name, key)
			if err == nil {
				_, err = st.Log(ctx, store.LogMetrology, store.Event{Kind: "secret-imported", Message: "secondary key " + name + " imported",
					Attrs: map[string]string{"name": name}})
			}
			if cerr := st.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return c.keysErr("import-meter-key", err)
	}
	fmt.Fprintf(c.stdout, "stored %s (%d bytes, sealed under the data key)\n", name, len(key))
	return exitOK
}

// parseKeyBytes reads a key file: hex (whitespace ignored) if it is that,
// else the raw bytes.
func parseKeyBytes(b []byte) []byte {
	s := strings.Join(strings.Fields(string(b)), "")
	if k, err := hex.DecodeString(s); err == nil && len(s) > 0 {
		return k
	}
	return append([]byte(nil), b...)
}

// verifyCheckpoints checks each log's last signed head (`smgw log
// --verify`): the signature against the gateway's public key (the
// installed certificate, else identity.pub), and that the chain holds the
// signed entry. It prints a line per log and returns exitFail on a
// mismatch.
func (c *cli) verifyCheckpoints(ctx context.Context, r ctl.Reader, dataDir string, names []store.LogName) int {
	code := exitOK
	var pub *ecdsa.PublicKey
	var pubErr error
	pubFrom := ""
	for _, f := range []string{keys.IdentityCertFile, keys.IdentityPubFile} {
		path := filepath.Join(dataDir, f)
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pub, pubErr, pubFrom = nil, nil, path
		pub, pubErr = keys.ParsePublicKey(path, b)
		break
	}
	for _, name := range names {
		var cp store.Checkpoint
		var ok bool
		var err error
		switch rr := r.(type) {
		case *ctl.Client:
			cp, ok, err = rr.Checkpoint(ctx, name)
		case ctl.Local:
			cp, ok, err = rr.S.LastCheckpoint(name)
		default:
			continue
		}
		if err != nil {
			fmt.Fprintf(c.stdout, "%s: cannot read the signed head: %v\n", name, err)
			code = exitFail
			continue
		}
		if !ok {
			fmt.Fprintf(c.stdout, "%s: head not signed yet\n", name)
			continue
		}
		switch {
		case pubFrom == "":
			fmt.Fprintf(c.stdout, "%s: signed head at entry %d, but there is no %s or %s in %s to check it against\n",
				name, cp.Seq, keys.IdentityCertFile, keys.IdentityPubFile, dataDir)
			code = exitFail
			continue
		case pubErr != nil:
			fmt.Fprintf(c.stdout, "%s: cannot check the signed head: %v\n", name, pubErr)
			code = exitFail
			continue
		}
		if err := cp.Verify(pub); err != nil {
			fmt.Fprintf(c.stdout, "%s: BAD SIGNATURE: %v (key from %s)\n", name, err, pubFrom)
			code = exitFail
			continue
		}
		rep, err := r.VerifyLog(ctx, name)
		if err != nil {
			continue // reported by verifyLogs
		}
		var hash [32]byte
		found := false
		if cp.Seq == rep.Last {
			hash, found = rep.Head, true
		} else if cp.Seq < rep.Last && cp.Seq >= rep.First {
			stop := errors.New("stop")
			r.Events(ctx, name, cp.Seq-1, func(ev store.Event) error {
				if ev.Seq == cp.Seq {
					hash, found = ev.Hash, true
				}
				return stop
			})
		}
		switch {
		case cp.Seq > rep.Last:
			fmt.Fprintf(c.stdout, "%s: BROKEN: the signed head is entry %d but the log ends at %d: entries were removed\n", name, cp.Seq, rep.Last)
			code = exitFail
		case !found:
			fmt.Fprintf(c.stdout, "%s: signed head at entry %d, which is no longer in the log (retired)\n", name, cp.Seq)
		case hash != cp.Hash:
			fmt.Fprintf(c.stdout, "%s: BROKEN: entry %d is not the entry that was signed (%s… signed, %s… now): the log was rewritten\n",
				name, cp.Seq, hex.EncodeToString(cp.Hash[:4]), hex.EncodeToString(hash[:4]))
			code = exitFail
		default:
			fmt.Fprintf(c.stdout, "%s: signed head at entry %d (%s) verifies with the gateway's key; %d entries since\n",
				name, cp.Seq, cp.Time.UTC().Format(time.RFC3339), rep.Last-cp.Seq)
		}
	}
	return code
}
