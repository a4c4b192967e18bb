package update

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeInstaller records what it was handed.
type fakeInstaller struct {
	slot     string
	fail     error
	bundles  [][]byte // the contents of each bundle handed over
	installs int
}

func (f *fakeInstaller) Install(_ context.Context, bundle string) error {
	f.installs++
	b, err := os.ReadFile(bundle)
	if err != nil {
		return err
	}
	f.bundles = append(f.bundles, b)
	return f.fail
}

func (f *fakeInstaller) BootedSlot(context.Context) (string, error) { return f.slot, nil }

// events records logged events.
type events struct{ kinds, msgs []string }

func (e *events) LogEvent(_ context.Context, kind, msg string, _ map[string]string) error {
	e.kinds = append(e.kinds, kind)
	e.msgs = append(e.msgs, msg)
	return nil
}

func (e *events) String() string { return strings.Join(e.kinds, ",") }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pack writes an update file for bundle signed by key.
func pack(t testing.TB, dir, version string, bundle []byte, key *ecdsa.PrivateKey) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Pack(&buf, Manifest{Version: version, Compatible: "smgw-test"}, bytes.NewReader(bundle), key); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "update-"+version+".smgwu")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type rig struct {
	u   *Updater
	ins *fakeInstaller
	ev  *events
	dir string
	key *ecdsa.PrivateKey
}

func newRig(t *testing.T, running string) *rig {
	dir := t.TempDir()
	key := newKey(t)
	r := &rig{ins: &fakeInstaller{slot: "rootfs.0"}, ev: &events{}, dir: dir, key: key}
	r.u = New(Options{
		Keyring: []*ecdsa.PublicKey{&newKey(t).PublicKey, &key.PublicKey}, Installer: r.ins,
		StateDir: filepath.Join(dir, "state"), Running: running, Compatible: "smgw-test", Events: r.ev,
	})
	return r
}

var bundle = []byte("hsqs…a RAUC bundle's squashfs and its CMS signature…")

func TestInstallGoodBundle(t *testing.T) {
	r := newRig(t, "1.2.0")
	m, err := r.u.Install(context.Background(), pack(t, r.dir, "1.3.0", bundle, r.key))
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if m.Version != "1.3.0" || r.ins.installs != 1 || !bytes.Equal(r.ins.bundles[0], bundle) {
		t.Fatalf("manifest %+v; installer got %d bundles (%q), want the bundle once", m, r.ins.installs, r.ins.bundles)
	}
	if got, want := r.ev.String(), "update-verify,update-install,update-installed"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "state", bundleFile)); !os.IsNotExist(err) {
		t.Fatalf("the extracted bundle was left behind: %v", err)
	}
}

func TestInstallRefused(t *testing.T) {
	other := newKey(t)
	for _, tc := range []struct {
		name    string
		running string
		file    func(r *rig) string
		want    error
	}{
		{"unsigned RAUC bundle", "1.2.0", func(r *rig) string {
			p := filepath.Join(r.dir, "bare.raucb")
			os.WriteFile(p, bundle, 0o600)
			return p
		}, ErrUnsigned},
		{"empty signature", "1.2.0", func(r *rig) string {
			b, _ := os.ReadFile(pack(t, r.dir, "1.3.0", bundle, r.key))
			h, _ := ReadHeader(bytes.NewReader(b), []*ecdsa.PublicKey{&r.key.PublicKey})
			sigAt := len(Magic) + 4 + int(binary.BigEndian.Uint32(b[len(Magic):])) // the signature's length
			nb := append(append(append([]byte{}, b[:sigAt]...), 0, 0), b[h.Offset:]...)
			p := filepath.Join(r.dir, "nosig.smgwu")
			os.WriteFile(p, nb, 0o600)
			return p
		}, ErrUnsigned},
		{"signed by an unknown key", "1.2.0", func(r *rig) string { return pack(t, r.dir, "1.3.0", bundle, other) }, ErrBadSignature},
		{"manifest altered after signing", "1.2.0", func(r *rig) string {
			p := pack(t, r.dir, "1.3.0", bundle, r.key)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"1.3.0"`), []byte(`"9.3.0"`), 1)
			os.WriteFile(p, b, 0o600)
			return p
		}, ErrBadSignature},
		{"older than the running version", "1.2.0", func(r *rig) string { return pack(t, r.dir, "1.1.9", bundle, r.key) }, ErrRollback},
		{"pre-release of the running version", "1.2.0", func(r *rig) string { return pack(t, r.dir, "1.2.0-rc.1", bundle, r.key) }, ErrRollback},
		{"bundle altered after signing", "1.2.0", func(r *rig) string {
			p := pack(t, r.dir, "1.3.0", bundle, r.key)
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o600)
			return p
		}, ErrCorrupt},
		{"bundle truncated", "1.2.0", func(r *rig) string {
			p := pack(t, r.dir, "1.3.0", bundle, r.key)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-3], 0o600)
			return p
		}, ErrCorrupt},
		{"for another device", "1.2.0", func(r *rig) string {
			var buf bytes.Buffer
			Pack(&buf, Manifest{Version: "1.3.0", Compatible: "other-board"}, bytes.NewReader(bundle), r.key)
			p := filepath.Join(r.dir, "other.smgwu")
			os.WriteFile(p, buf.Bytes(), 0o600)
			return p
		}, ErrIncompatible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.running)
			_, err := r.u.Install(context.Background(), tc.file(r))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Install: %v, want %v", err, tc.want)
			}
			if r.ins.installs != 0 {
				t.Fatal("a refused update was handed to the installer")
			}
			if got, want := r.ev.String(), "update-verify,update-refused"; got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			if !strings.Contains(r.ev.msgs[1], "refused") {
				t.Fatalf("refusal message %q", r.ev.msgs[1])
			}
		})
	}
}

func TestInstallerFailureLogged(t *testing.T) {
	r := newRig(t, "1.2.0")
	r.ins.fail = errors.New("rauc: no space")
	_, err := r.u.Install(context.Background(), pack(t, r.dir, "1.3.0", bundle, r.key))
	if !errors.Is(err, ErrInstall) {
		t.Fatalf("Install: %v, want ErrInstall", err)
	}
	if got, want := r.ev.String(), "update-verify,update-install,update-failed"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "state", pendingFile)); !os.IsNotExist(err) {
		t.Fatal("a failed install left a pending record")
	}
}

// TestReportAfterReboot: the pending record becomes success (and the
// version the highest: older updates are then refused even if the old
// version runs) or rollback.
func TestReportAfterReboot(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, "1.2.0")
	if _, err := r.u.Install(ctx, pack(t, r.dir, "1.3.0", bundle, r.key)); err != nil {
		t.Fatal(err)
	}
	// The reboot: the new version runs from the other slot.
	booted := New(Options{Keyring: []*ecdsa.PublicKey{&r.key.PublicKey}, Installer: &fakeInstaller{slot: "rootfs.1"},
		StateDir: r.u.o.StateDir, Running: "1.3.0", Events: r.ev})
	if had, err := booted.Report(ctx); !had || err != nil {
		t.Fatalf("Report: %v %v", had, err)
	}
	if k := r.ev.kinds[len(r.ev.kinds)-1]; k != EventSuccess {
		t.Fatalf("last event %s, want %s", k, EventSuccess)
	}
	if had, _ := booted.Report(ctx); had {
		t.Fatal("the pending record was reported twice")
	}
	// Even running 1.2.0 again (a manual slot switch), 1.2.5 < 1.3.0 is refused.
	old := New(Options{Keyring: []*ecdsa.PublicKey{&r.key.PublicKey}, Installer: r.ins, StateDir: r.u.o.StateDir, Running: "1.2.0", Events: r.ev})
	if _, err := old.Install(ctx, pack(t, r.dir, "1.2.5", bundle, r.key)); !errors.Is(err, ErrRollback) {
		t.Fatalf("Install 1.2.5 after 1.3.0 booted: %v, want ErrRollback", err)
	}

	// A second update that does not come up: RAUC boots the old slot.
	if _, err := booted.Install(ctx, pack(t, r.dir, "1.4.0", bundle, r.key)); err != nil {
		t.Fatal(err)
	}
	fellBack := New(Options{Installer: &fakeInstaller{slot: "rootfs.1"}, StateDir: r.u.o.StateDir, Running: "1.3.0", Events: r.ev})
	if had, err := fellBack.Report(ctx); !had || err != nil {
		t.Fatalf("Report: %v %v", had, err)
	}
	if k := r.ev.kinds[len(r.ev.kinds)-1]; k != EventRollback {
		t.Fatalf("last event %s, want %s", k, EventRollback)
	}
	if h := fellBack.Highest(); h.String() != "1.3.0" {
		t.Fatalf("highest %s after a rollback, want 1.3.0", h)
	}
}

func TestDevBuildAcceptsAnyVersion(t *testing.T) {
	r := newRig(t, "dev")
	if _, err := r.u.Install(context.Background(), pack(t, r.dir, "0.0.1", bundle, r.key)); err != nil {
		t.Fatalf("Install on a dev build: %v", err)
	}
}

func TestKeyring(t *testing.T) {
	k := newKey(t)
	pemKey := publicPEM(t, &k.PublicKey)
	keys, err := ParseKeyring(append(pemKey, publicPEM(t, &newKey(t).PublicKey)...))
	if err != nil || len(keys) != 2 || !keys[0].Equal(&k.PublicKey) {
		t.Fatalf("ParseKeyring: %d keys, %v", len(keys), err)
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"} {
		if _, err := ParseKeyring([]byte(bad)); !errors.Is(err, ErrKeyring) {
			t.Errorf("ParseKeyring(%q): %v, want ErrKeyring", bad, err)
		}
	}
	if _, err := LoadKeyring(filepath.Join(t.TempDir(), "none.pem")); !errors.Is(err, ErrKeyring) {
		t.Errorf("LoadKeyring of a missing file: %v", err)
	}
}

func TestSpool(t *testing.T) {
	path := filepath.Join(t.TempDir(), SpoolFile)
	s := &Spool{Path: path, Now: func() time.Time { return time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC) }}
	ctx := context.Background()
	s.LogEvent(ctx, EventVerify, "checking", map[string]string{"file": "x"})
	s.LogEvent(ctx, EventRefused, "refused", nil)
	var got []string
	n, err := Drain(path, func(e SpooledEvent) error { got = append(got, e.Kind+" "+e.Message); return nil })
	if err != nil || n != 2 || strings.Join(got, "|") != "update-verify checking|update-refused refused" {
		t.Fatalf("Drain: %d %v %q", n, err, got)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the spool was not removed")
	}
	if n, err := Drain(path, nil); n != 0 || err != nil {
		t.Fatalf("Drain of no spool: %d %v", n, err)
	}
}
