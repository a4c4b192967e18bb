package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smgw/smgw/internal/update"
)

// updateRig is a gateway configuration whose installer is a fake rauc
// (a script recording what it was asked to install) and a signing key
// whose public half is the keyring.
type updateRig struct {
	dir, conf, key, rauced string
}

func newUpdateRig(t *testing.T) *updateRig {
	t.Helper()
	dir := t.TempDir()
	r := &updateRig{dir: dir, conf: filepath.Join(dir, "smgw.toml"), key: filepath.Join(dir, "signing.pem"),
		rauced: filepath.Join(dir, "rauc-called")}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(k)
	os.WriteFile(r.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(filepath.Join(dir, "keyring.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
	rauc := filepath.Join(dir, "rauc")
	script := "#!/bin/sh\ncase $1 in\ninstall) cp \"$2\" " + r.rauced + " ;;\nstatus) echo '{\"booted\":\"A\"}' ;;\nesac\n"
	os.WriteFile(rauc, []byte(script), 0o755)
	conf := "[gateway]\ndata_dir = \"" + dir + "/data\"\nruntime_dir = \"" + dir + "/run\"\n" +
		"[security]\nallow_insecure = true\n" +
		"[update]\nkeyring = \"" + dir + "/keyring.pem\"\ninstaller = \"command\"\nrauc = \"" + rauc + "\"\ncompatible = \"smgw\"\n"
	os.WriteFile(r.conf, []byte(conf), 0o644)
	return r
}

// pack signs bundle as version with the rig's key via `smgw update pack`.
func (r *updateRig) pack(t *testing.T, version, bundle string) string {
	t.Helper()
	b := filepath.Join(r.dir, "bundle-"+version+".raucb")
	os.WriteFile(b, []byte(bundle), 0o644)
	out := filepath.Join(r.dir, "smgw-"+version+".smgwu")
	if code, _, stderr := runCLI(t, "update", "pack", "--key", r.key, "--version", version, "--compatible", "smgw", "-o", out, b); code != exitOK {
		t.Fatalf("update pack: exit %d: %s", code, stderr)
	}
	return out
}

// spooled returns the kinds of the events the CLI spooled for the daemon.
func (r *updateRig) spooled(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "data", "update", update.SpoolFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e update.SpooledEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestUpdateInstall(t *testing.T) {
	r := newUpdateRig(t)
	file := r.pack(t, "1.3.0", "the RAUC bundle")
	code, stdout, stderr := runCLI(t, "update", "install", "-c", r.conf, file)
	if code != exitOK || !strings.Contains(stdout, "installed 1.3.0") {
		t.Fatalf("update install: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(r.rauced); err != nil || string(b) != "the RAUC bundle" {
		t.Fatalf("rauc install got %q (%v), want the bundle", b, err)
	}
	if got := strings.Join(r.spooled(t), ","); got != "update-verify,update-install,update-installed" {
		t.Fatalf("spooled events %s", got)
	}
	code, stdout, _ = runCLI(t, "update", "status", "-c", r.conf)
	if code != exitOK || !strings.Contains(stdout, `"version": "1.3.0"`) {
		t.Fatalf("update status: exit %d: %s", code, stdout)
	}
}

func TestUpdateInstallRefuses(t *testing.T) {
	r := newUpdateRig(t)
	bare := filepath.Join(r.dir, "bare.raucb")
	os.WriteFile(bare, []byte("hsqs not signed"), 0o644)
	good := r.pack(t, "1.3.0", "bundle")
	tampered := filepath.Join(r.dir, "tampered.smgwu")
	b, _ := os.ReadFile(good)
	os.WriteFile(tampered, []byte(strings.Replace(string(b), `"1.3.0"`, `"1.4.0"`, 1)), 0o644)
	for _, tc := range []struct{ name, file, want string }{
		{"unsigned", bare, "not signed"},
		{"bad signature", tampered, "signature does not verify"},
	} {
		code, _, stderr := runCLI(t, "update", "install", "-c", r.conf, tc.file)
		if code != exitFail || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.name, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(r.rauced); !os.IsNotExist(err) {
		t.Fatal("a refused update reached rauc")
	}
	if got := strings.Join(r.spooled(t), ","); got != "update-verify,update-refused,update-verify,update-refused" {
		t.Fatalf("spooled events %s", got)
	}
	// Older than the highest installed (a previous update booted).
	os.WriteFile(filepath.Join(r.dir, "data", "update", "highest-version"), []byte("2.0.0\n"), 0o600)
	code, _, stderr := runCLI(t, "update", "install", "-c", r.conf, good)
	if code != exitFail || !strings.Contains(stderr, "older than") {
		t.Fatalf("older: exit %d, stderr %q", code, stderr)
	}
	// No keyring: a configuration problem.
	os.Remove(filepath.Join(r.dir, "keyring.pem"))
	if code, _, _ := runCLI(t, "update", "install", "-c", r.conf, good); code != exitConfig {
		t.Fatalf("without a keyring: exit %d, want %d", code, exitConfig)
	}
	if code, _, _ := runCLI(t, "update", "frobnicate"); code != exitUsage {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}
