package update

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Installer hands a verified bundle to the system's updater. Install
// blocks until the bundle is written to the other slot (which is then
// marked for the next boot) or fails. BootedSlot names the slot running
// now ("" if it cannot tell).
type Installer interface {
	Install(ctx context.Context, bundle string) error
	BootedSlot(ctx context.Context) (string, error)
}

// Installers, as the configuration names them ([update] installer).
const (
	InstallerDBus    = "dbus"
	InstallerCommand = "command"
)

// RAUC's D-Bus names.
const (
	raucService   = "de.pengutronix.rauc"
	raucPath      = "/"
	raucInstaller = "de.pengutronix.rauc.Installer"
)

// RaucDBus installs through RAUC's D-Bus API on the system bus:
// de.pengutronix.rauc.Installer.InstallBundle, then the Completed signal
// and the LastError property. The daemon's user needs the D-Bus policy
// meta-smgw installs (dbus-1/system.d/smgw-rauc.conf).
type RaucDBus struct {
	// Conn is the bus; nil connects to the system bus for each call.
	Conn *dbus.Conn
}

func (r *RaucDBus) conn() (*dbus.Conn, func(), error) {
	if r.Conn != nil {
		return r.Conn, func() {}, nil
	}
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, nil, fmt.Errorf("update: D-Bus system bus: %w", err)
	}
	return c, func() { c.Close() }, nil
}

// Install implements Installer.
func (r *RaucDBus) Install(ctx context.Context, bundle string) error {
	c, done, err := r.conn()
	if err != nil {
		return err
	}
	defer done()
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(raucPath), dbus.WithMatchInterface(raucInstaller), dbus.WithMatchMember("Completed")}
	if err := c.AddMatchSignalContext(ctx, match...); err != nil {
		return fmt.Errorf("update: D-Bus: subscribe to RAUC's Completed: %w", err)
	}
	defer c.RemoveMatchSignal(match...)
	signals := make(chan *dbus.Signal, 16)
	c.Signal(signals)
	defer c.RemoveSignal(signals)

	obj := c.Object(raucService, raucPath)
	if call := obj.CallWithContext(ctx, raucInstaller+".InstallBundle", 0, bundle, map[string]dbus.Variant{}); call.Err != nil {
		return fmt.Errorf("update: RAUC InstallBundle: %w", call.Err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s := <-signals:
			if s == nil || s.Name != raucInstaller+".Completed" || len(s.Body) != 1 {
				continue
			}
			if code, _ := s.Body[0].(int32); code != 0 {
				msg := "unknown error"
				if v, err := obj.GetProperty(raucInstaller + ".LastError"); err == nil {
					if str, ok := v.Value().(string); ok && str != "" {
						msg = str
					}
				}
				return fmt.Errorf("update: RAUC: installation failed (%d): %s", code, msg)
			}
			return nil
		}
	}
}

// BootedSlot implements Installer: RAUC's BootSlot property.
func (r *RaucDBus) BootedSlot(ctx context.Context) (string, error) {
	c, done, err := r.conn()
	if err != nil {
		return "", err
	}
	defer done()
	v, err := c.Object(raucService, raucPath).GetProperty(raucInstaller + ".BootSlot")
	if err != nil {
		return "", fmt.Errorf("update: RAUC BootSlot: %w", err)
	}
	s, _ := v.Value().(string)
	return s, nil
}

// RaucCommand installs with the rauc command-line tool: `rauc install
// BUNDLE`, and `rauc status --output-format=json` for the booted slot. It
// needs root (the CLI), not the daemon's user.
type RaucCommand struct {
	// Path is the rauc binary; "" is "rauc" on PATH.
	Path string
}

func (r *RaucCommand) path() string {
	if r.Path == "" {
		return "rauc"
	}
	return r.Path
}

// Install implements Installer.
func (r *RaucCommand) Install(ctx context.Context, bundle string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, r.path(), "install", bundle)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("update: rauc install: %w: %s", err, lastLine(out.String()))
	}
	return nil
}

// BootedSlot implements Installer.
func (r *RaucCommand) BootedSlot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, r.path(), "status", "--output-format=json").Output()
	if err != nil {
		return "", fmt.Errorf("update: rauc status: %w", err)
	}
	var st struct {
		Booted string `json:"booted"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "", fmt.Errorf("update: rauc status: %w", err)
	}
	return st.Booted, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// NewInstaller returns the installer the configuration names: "dbus"
// (RaucDBus) or "command" (RaucCommand with the rauc binary at path).
func NewInstaller(name, path string) (Installer, error) {
	switch name {
	case InstallerDBus, "":
		return &RaucDBus{}, nil
	case InstallerCommand:
		return &RaucCommand{Path: path}, nil
	}
	return nil, fmt.Errorf("update: unknown installer %q (known: dbus, command)", name)
}
