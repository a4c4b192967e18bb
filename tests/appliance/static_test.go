package appliance

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// units returns the unit files rootfs/ installs.
func units(t *testing.T) []string {
	t.Helper()
	us, err := filepath.Glob(filepath.Join(moduleRoot(t), "rootfs", "usr", "lib", "systemd", "system", "*.service"))
	if err != nil || len(us) == 0 {
		t.Fatalf("no units in rootfs/usr/lib/systemd/system: %v", err)
	}
	return us
}

// stageUnits copies the units into a directory with the commands of this
// repository (smgw, health-check) pointed at files that exist here, so
// systemd-analyze checks them as on the appliance.
func stageUnits(t *testing.T) (dir string, paths []string) {
	t.Helper()
	dir = t.TempDir()
	stub := filepath.Join(dir, "smgw")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	health := filepath.Join(moduleRoot(t), "rootfs", "usr", "libexec", "smgw", "health-check")
	for _, u := range units(t) {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/bin/smgw "), []byte(stub+" "))
		b = bytes.ReplaceAll(b, []byte("/usr/libexec/smgw/health-check"), []byte(health))
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

// TestUnitsVerify runs systemd-analyze verify on every unit. It exits 0
// even when it finds problems, so any output on stderr fails the test.
func TestUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft is not installed (Debian package nftables): smgw-firewall.service's command would not be found")
	}
	_, paths := stageUnits(t)
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for smgw\.service: ([0-9.]+)`)

// TestUnitSecurity holds smgw.service's systemd-analyze security exposure
// at 2.0 or lower.
func TestUnitSecurity(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd)")
	}
	dir, _ := stageUnits(t)
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", filepath.Join(dir, "smgw.service")).CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v: no exposure level in\n%s", err, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("smgw.service exposure %.1f", v)
	if v > 2.0 {
		t.Fatalf("smgw.service exposure %.1f, want ≤ 2.0:\n%s", v, out)
	}
}

// TestFirewallRuleset checks the ruleset with nft -c (no change to the
// running firewall); it needs CAP_NET_ADMIN.
func TestFirewallRuleset(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft is not installed (Debian package nftables)")
	}
	if os.Geteuid() != 0 {
		t.Skip("nft -c needs root (CAP_NET_ADMIN)")
	}
	rules := filepath.Join(moduleRoot(t), "rootfs", "etc", "smgw", "nftables.conf")
	if out, err := exec.Command("nft", "-c", "-f", rules).CombinedOutput(); err != nil {
		t.Fatalf("nft -c -f %s: %v\n%s", rules, err, out)
	}
	// Without /etc/protocols, as in a minimal image: names of protocols
	// must not be needed.
	if _, err := os.Stat("/etc/protocols"); err == nil {
		if _, err := exec.LookPath("unshare"); err == nil {
			cmd := exec.Command("unshare", "-m", "sh", "-c", `mount --bind /dev/null /etc/protocols && exec nft -c -f "$1"`, "sh", rules)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft -c -f %s without /etc/protocols: %v\n%s", rules, err, out)
			}
		}
	}
	// With a site file adding HES addresses, as an installer would.
	b, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(t.TempDir(), "site.nft")
	os.WriteFile(site, []byte("add element inet smgw hes_v4 { 198.51.100.7, 203.0.113.0/28 }\nadd element inet smgw hes_v6 { 2001:db8::7 }\n"), 0o644)
	withSite := strings.Replace(string(b), `include "/etc/smgw/firewall.d/*.nft"`, `include "`+site+`"`, 1)
	p := filepath.Join(t.TempDir(), "nftables.conf")
	os.WriteFile(p, []byte(withSite), 0o644)
	if out, err := exec.Command("nft", "-c", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("nft -c with a site file: %v\n%s", err, out)
	}
}

// TestShippedConfig: the configuration the image installs validates.
func TestShippedConfig(t *testing.T) {
	for _, p := range []string{
		filepath.Join(moduleRoot(t), "rootfs", "etc", "smgw", "smgw.toml"),
		filepath.Join("testdata", "guest", "smgw.toml"),
	} {
		if err := checkConfig(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
