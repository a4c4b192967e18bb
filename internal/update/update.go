package update

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Event kinds in the system event log.
const (
	EventVerify    = "update-verify"    // an update file is being checked
	EventRefused   = "update-refused"   // it was refused: unsigned, bad signature, older, corrupt
	EventInstall   = "update-install"   // verified; handed to RAUC
	EventFailed    = "update-failed"    // RAUC did not install it
	EventInstalled = "update-installed" // installed; active after the reboot
	EventSuccess   = "update-success"   // after the reboot: the new version runs
	EventRollback  = "update-rollback"  // after the reboot: the old version runs again
)

// Files in the state directory.
const (
	pendingFile = "pending.json"
	highestFile = "highest-version"
	bundleFile  = "bundle.raucb"
)

// EventLog records update steps; the gateway's system event log
// implements it (the daemon directly, the CLI through a spool file the
// daemon reads at its next start).
type EventLog interface {
	LogEvent(ctx context.Context, kind, message string, attrs map[string]string) error
}

// Options configure an Updater.
type Options struct {
	// Keyring holds the trusted keys (LoadKeyring).
	Keyring []*ecdsa.PublicKey
	// Installer takes the verified bundle.
	Installer Installer
	// StateDir keeps the pending record, the highest installed version and
	// the extracted bundle while it installs (data_dir/update).
	StateDir string
	// Running is the running version (internal/version.Version); a version
	// that is not semver ("dev") is taken as 0.0.0.
	Running string
	// Compatible, if not "", must equal the manifest's compatible string.
	Compatible string
	// Events receives every step; nil logs none.
	Events EventLog
	// Log receives the same as lines; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Updater installs update files and reports their outcome after reboot.
type Updater struct{ o Options }

// New returns an Updater.
func New(opts Options) *Updater {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Updater{o: opts}
}

// Pending is the record Install leaves for the report after the reboot.
type Pending struct {
	Version     string    `json:"version"`
	FromVersion string    `json:"from_version"`
	FromSlot    string    `json:"from_slot,omitempty"`
	Signer      string    `json:"signer"`
	Installed   time.Time `json:"installed"`
}

func (u *Updater) event(ctx context.Context, kind, msg string, attrs map[string]string) {
	lvl := slog.LevelInfo
	if kind == EventRefused || kind == EventFailed || kind == EventRollback {
		lvl = slog.LevelWarn
	}
	args := []any{"event", kind}
	for k, v := range attrs {
		args = append(args, k, v)
	}
	u.o.Log.Log(ctx, lvl, msg, args...)
	if u.o.Events != nil {
		if err := u.o.Events.LogEvent(context.WithoutCancel(ctx), kind, msg, attrs); err != nil {
			u.o.Log.Warn("update: cannot record the event", "event", kind, "err", err)
		}
	}
}

// running returns the running version, 0.0.0 for a development build.
func (u *Updater) running() Version {
	v, err := ParseVersion(u.o.Running)
	if err != nil {
		return Version{}
	}
	return v
}

// Highest is the highest version that booted successfully (or runs now).
func (u *Updater) Highest() Version {
	h := u.running()
	if b, err := os.ReadFile(filepath.Join(u.o.StateDir, highestFile)); err == nil {
		if v, err := ParseVersion(strings.TrimSpace(string(b))); err == nil && v.Compare(h) > 0 {
			h = v
		}
	}
	return h
}

// Install verifies the update file at path and hands its bundle to the
// installer: signature, compatibility, anti-rollback, the bundle's hash,
// then RAUC. Each step is logged. The error wraps ErrUnsigned,
// ErrBadSignature, ErrFormat, ErrIncompatible, ErrRollback, ErrCorrupt or
// ErrInstall.
func (u *Updater) Install(ctx context.Context, path string) (*Manifest, error) {
	file := filepath.Base(path)
	u.event(ctx, EventVerify, "checking update file "+file, map[string]string{"file": path})
	refuse := func(err error) (*Manifest, error) {
		u.event(ctx, EventRefused, "update "+file+" refused: "+err.Error(), map[string]string{"file": path, "reason": reason(err)})
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return refuse(fmt.Errorf("update: %w", err))
	}
	defer f.Close()
	h, err := ReadHeader(f, u.o.Keyring)
	if err != nil {
		return refuse(err)
	}
	m := &h.Manifest
	if u.o.Compatible != "" && m.Compatible != u.o.Compatible {
		return refuse(fmt.Errorf("%w: the update is for %q, this gateway is %q", ErrIncompatible, m.Compatible, u.o.Compatible))
	}
	if hi := u.Highest(); h.Version.Compare(hi) < 0 {
		return refuse(fmt.Errorf("%w: version %s is older than %s (running %s)", ErrRollback, h.Version, hi, u.o.Running))
	}
	if err := os.MkdirAll(u.o.StateDir, 0o700); err != nil {
		return refuse(fmt.Errorf("%w: %w", ErrInstall, err))
	}
	bundle := filepath.Join(u.o.StateDir, bundleFile)
	if err := extract(f, h, bundle); err != nil {
		return refuse(err)
	}
	defer os.Remove(bundle)

	slot, _ := u.o.Installer.BootedSlot(ctx)
	attrs := map[string]string{"file": path, "version": m.Version, "from_version": u.o.Running, "signer": h.Signer, "sha256": m.SHA256}
	if slot != "" {
		attrs["from_slot"] = slot
	}
	u.event(ctx, EventInstall, fmt.Sprintf("update %s verified (signed by %s); installing version %s", file, h.Signer, m.Version), attrs)
	if err := u.o.Installer.Install(ctx, bundle); err != nil {
		attrs["err"] = err.Error()
		u.event(ctx, EventFailed, "update to "+m.Version+" failed: "+err.Error(), attrs)
		return nil, fmt.Errorf("%w: %w", ErrInstall, err)
	}
	p := Pending{Version: m.Version, FromVersion: u.o.Running, FromSlot: slot, Signer: h.Signer, Installed: u.o.Now().UTC()}
	if err := writeJSON(filepath.Join(u.o.StateDir, pendingFile), p); err != nil {
		u.o.Log.Warn("update: cannot write the pending record; the outcome will not be reported after the reboot", "err", err)
	}
	u.event(ctx, EventInstalled, "version "+m.Version+" installed; it runs after the next reboot", attrs)
	return m, nil
}

// Report is called once at start: if an update was installed before, it
// logs whether the running version is the installed one (success: it
// becomes the highest installed version) or not (RAUC fell back to the
// old slot), and clears the record. It reports whether there was one.
func (u *Updater) Report(ctx context.Context) (bool, error) {
	path := filepath.Join(u.o.StateDir, pendingFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, u.remember(u.running())
	}
	if err != nil {
		return false, fmt.Errorf("update: pending record: %w", err)
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("update: pending record %s: %w", path, err)
	}
	slot := ""
	if u.o.Installer != nil {
		slot, _ = u.o.Installer.BootedSlot(ctx)
	}
	attrs := map[string]string{"version": p.Version, "running": u.o.Running, "from_version": p.FromVersion}
	if slot != "" {
		attrs["slot"] = slot
	}
	if p.FromSlot != "" {
		attrs["from_slot"] = p.FromSlot
	}
	if u.o.Running == p.Version {
		u.event(ctx, EventSuccess, "update to "+p.Version+" succeeded", attrs)
		if v, err := ParseVersion(p.Version); err == nil {
			if err := u.remember(v); err != nil {
				return true, err
			}
		}
	} else {
		u.event(ctx, EventRollback, fmt.Sprintf("update to %s did not come up: running %s again", p.Version, u.o.Running), attrs)
	}
	if err := os.Remove(path); err != nil {
		return true, fmt.Errorf("update: %w", err)
	}
	return true, nil
}

// remember raises the persisted highest installed version to v.
func (u *Updater) remember(v Version) error {
	if v.Compare(Version{}) == 0 {
		return nil
	}
	prev := Version{}
	if b, err := os.ReadFile(filepath.Join(u.o.StateDir, highestFile)); err == nil {
		prev, _ = ParseVersion(strings.TrimSpace(string(b)))
	}
	if v.Compare(prev) <= 0 {
		return nil
	}
	if err := os.MkdirAll(u.o.StateDir, 0o700); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return writeFile(filepath.Join(u.o.StateDir, highestFile), []byte(v.String()+"\n"))
}

// reason is a short word for why an update was refused.
func reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrUnsigned, "unsigned"}, {ErrBadSignature, "bad-signature"}, {ErrRollback, "older-version"},
		{ErrCorrupt, "corrupt"}, {ErrIncompatible, "incompatible"}, {ErrKeyring, "keyring"}, {ErrFormat, "malformed"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "error"
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

// writeFile replaces path atomically.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
