package appliance

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Debian root filesystem the appliance test boots.
const (
	debianSuite  = "bookworm"
	debianMirror = "http://deb.debian.org/debian"
)

// debianPackages are installed on top of debootstrap's minbase variant.
var debianPackages = []string{
	"systemd", "systemd-sysv", "udev", "kmod", "dbus", // the init system and device manager
	"nftables",                   // the firewall the appliance ships
	"tpm-udev",                   // /dev/tpmrm0 owned by the group tss
	"linux-image-amd64",          // the kernel and initrd QEMU boots directly
	"iproute2", "netcat-openbsd", // network namespaces, veth pairs and probes for the firewall check
	"procps", // ps, for diagnostics on the console
}

// cacheDir is where built root filesystems are kept between runs.
func cacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "smgw-appliance"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "smgw-appliance"), nil
}

// rootfsKey names a root filesystem by what went into it.
func rootfsKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "debootstrap minbase %s %s\n%s\n", debianSuite, debianMirror, strings.Join(debianPackages, ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// debianRootfs returns the directory of the cached Debian root filesystem,
// building it first if needed. The tree is shared between runs: callers
// must copy it, never write into it.
func debianRootfs(t testing.TB) string {
	t.Helper()
	base, err := cacheDir()
	if err != nil {
		t.Fatalf("appliance: cache directory: %v", err)
	}
	dir := filepath.Join(base, "rootfs-"+rootfsKey())
	if _, err := os.Stat(filepath.Join(dir, ".smgw-complete")); err == nil {
		t.Logf("using the cached root filesystem %s", dir)
		return dir
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	t.Logf("building the Debian %s root filesystem in %s (debootstrap, about 80 s)", debianSuite, tmp)
	cmd := exec.Command("nice", "-n", "10", "debootstrap", "--variant=minbase",
		"--include="+strings.Join(debianPackages, ","), debianSuite, tmp, debianMirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(string(out), 4000))
	}
	// What the image never needs: the package cache and the lists.
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		removeContents(filepath.Join(tmp, p))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".smgw-complete"), []byte(rootfsKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	// Root filesystems of other package lists are stale now.
	old, _ := filepath.Glob(filepath.Join(base, "rootfs-*"))
	for _, o := range old {
		if o != dir && !strings.HasSuffix(o, ".tmp") {
			t.Logf("removing the stale root filesystem %s", o)
			os.RemoveAll(o)
		}
	}
	return dir
}

// removeContents removes the files below dir, keeping its directories.
func removeContents(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Remove(p)
		}
		return nil
	})
}

// kernelFiles returns the kernel and initrd of a root filesystem.
func kernelFiles(root string) (kernel, initrd string, err error) {
	ks, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	is, _ := filepath.Glob(filepath.Join(root, "boot", "initrd.img-*"))
	if len(ks) != 1 || len(is) != 1 {
		return "", "", errors.New("appliance: want one kernel and one initrd in the root filesystem's /boot")
	}
	return ks[0], is[0], nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
