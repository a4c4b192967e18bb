package appliance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bootTimeout bounds one boot with every check; the whole test (rootfs
// from the cache, image, boot) stays under 10 minutes.
const bootTimeout = 8 * time.Minute

// checks are the in-guest checks (testdata/guest/smgw-checks), each of which
// must report PASS (or WAIT, for a part this build does not have yet).
var checks = []string{
	"ready", "hardened", "shipped-config", "tpm-device", "tpm-smgw", "usb-serial",
	"serial-meter", "readings", "health-check", "clock-jump", "firewall", "watchdog", "fatal-config",
}

// missingTools names what TestBoot needs and this machine lacks.
func missingTools() []string {
	var missing []string
	for _, tool := range []string{"debootstrap", "qemu-system-x86_64", "swtpm", "mkfs.ext4", "systemd-sysusers", "nice", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

func TestBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("appliance boot test: skipped in -short mode")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("appliance boot test: needs linux/amd64")
	}
	if os.Geteuid() != 0 {
		t.Skip("appliance boot test: needs root (debootstrap, image files owned by root)")
	}
	if !haveMeterSim() {
		t.Skip("appliance boot test: needs socat and /usr/bin/python3 with pymodbus (scripts/install-deps.sh installs them)")
	}
	if m := missingTools(); len(m) > 0 {
		t.Skipf("appliance boot test: missing %s (scripts/install-deps.sh installs them)", strings.Join(m, ", "))
	}
	start := time.Now()
	root := debianRootfs(t)
	t.Logf("root filesystem ready after %v", time.Since(start).Round(time.Second))

	work := t.TempDir()
	stage := filepath.Join(work, "root")
	bin := buildSmgw(t, work)
	if out, err := exec.Command("cp", "-a", "--reflink=auto", root, stage).CombinedOutput(); err != nil {
		t.Fatalf("copying the root filesystem: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(stage, ".smgw-complete"))
	installAppliance(t, stage, bin)
	kernel, initrd, err := kernelFiles(root) // the cache: stage goes once imaged
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(work, "root.img")
	mkImage(t, stage, img)
	os.RemoveAll(stage) // the image holds it now; spare the disk
	t.Logf("image built after %v", time.Since(start).Round(time.Second))

	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	tpmSock := startSwtpm(t, work)
	console := filepath.Join(work, "console.log")
	echoSock := filepath.Join(work, "rs485-1.sock")
	meterSock := filepath.Join(work, "rs485-0.sock")
	qemu := startQEMU(t, work, kernel, initrd, img, tpmSock, console, meterSock, echoSock)
	go serveEcho(ctx, t, echoSock)
	startMeterSim(t, work, meterSock)

	results, done, err := waitChecks(ctx, console, qemu)
	stopByPID(t, qemu, "qemu")
	log, _ := os.ReadFile(console)
	if err != nil || !done {
		t.Errorf("the guest did not finish its checks (%v) after %v", err, time.Since(start).Round(time.Second))
	}
	passed, failed, waiting := 0, 0, 0
	for _, name := range checks {
		r, ok := results[name]
		switch {
		case !ok:
			failed++
			t.Errorf("check %s: not reported", name)
		case r.status == "PASS":
			passed++
			t.Logf("PASS %s: %s", name, r.detail)
		case r.status == "WAIT":
			waiting++
			t.Logf("WAIT %s: %s", name, r.detail)
		default:
			failed++
			t.Errorf("FAIL %s: %s", name, r.detail)
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if waiting > 0 {
		summary += fmt.Sprintf(" (%d waiting on parts not in this build)", waiting)
	}
	fmt.Printf("appliance: %s in %v\n", summary, time.Since(start).Round(time.Second))
	t.Log(summary)
	if failed > 0 || !done {
		t.Logf("console:\n%s", tail(string(log), 12000))
	}
}

// buildSmgw builds the smgw binary of this module for the guest.
func buildSmgw(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(dir, "smgw")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/smgw")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/smgw: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot is the repository's root directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// installAppliance puts what the image installs into stage: rootfs/, the
// binary, and the test's own files (testdata/guest): its configuration,
// the checks and their unit, the short-watchdog drop-in, the HES address
// for the firewall. Existing files are replaced, never written through:
// stage may share files with the cache.
func installAppliance(t *testing.T, stage, bin string) {
	t.Helper()
	src := filepath.Join(moduleRoot(t), "rootfs")
	if err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(stage, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		return copyFile(p, dst, fi.Mode().Perm())
	}); err != nil {
		t.Fatalf("installing rootfs/: %v", err)
	}
	guest := func(name string) string { return filepath.Join("testdata", "guest", name) }
	files := []struct {
		src, dst string
		mode     os.FileMode
	}{
		{bin, "usr/bin/smgw", 0o755},
		{filepath.Join(src, "etc/smgw/smgw.toml"), "etc/smgw/smgw.toml.shipped", 0o644},
		{guestConfig(t), "etc/smgw/smgw.toml", 0o644},
		{guest("bad.toml"), "etc/smgw/bad.toml", 0o644},
		{guest("hes.nft"), "etc/smgw/firewall.d/test-hes.nft", 0o644},
		{guest("smgw-checks"), "usr/local/bin/smgw-checks", 0o755},
		{guest("smgw-checks.service"), "etc/systemd/system/smgw-checks.service", 0o644},
		{guest("50-test.conf"), "etc/systemd/system/smgw.service.d/50-test.conf", 0o644},
	}
	for _, f := range files {
		if err := copyFile(f.src, filepath.Join(stage, f.dst), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct{ target, link string }{
		{"/usr/lib/systemd/system/smgw.service", "etc/systemd/system/multi-user.target.wants/smgw.service"},
		{"/usr/lib/systemd/system/smgw-firewall.service", "etc/systemd/system/sysinit.target.wants/smgw-firewall.service"},
		{"/etc/systemd/system/smgw-checks.service", "etc/systemd/system/multi-user.target.wants/smgw-checks.service"},
		// Debian's nftables.service would flush our table with its own ruleset.
		{"/dev/null", "etc/systemd/system/nftables.service"},
	} {
		l := filepath.Join(stage, s.link)
		os.MkdirAll(filepath.Dir(l), 0o755)
		os.Remove(l)
		if err := os.Symlink(s.target, l); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"etc/hostname": "smgw-test\n",
		"etc/fstab":    "/dev/vda / ext4 rw,noatime 0 1\n",
	} {
		p := filepath.Join(stage, name)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The users, as the Yocto build creates them at image time.
	if out, err := exec.Command("systemd-sysusers", "--root="+stage).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
}

// guestConfig returns the test configuration's path.
func guestConfig(t *testing.T) string {
	return filepath.Join("testdata", "guest", "smgw.toml")
}

// copyFile replaces dst by a copy of src.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// mkImage makes an ext4 image of dir, with room to spare, without mounting.
func mkImage(t *testing.T, dir, img string) {
	t.Helper()
	out, err := exec.Command("du", "-sm", dir).Output()
	if err != nil {
		t.Fatalf("du: %v", err)
	}
	mb, _ := strconv.Atoi(strings.Fields(string(out))[0])
	size := fmt.Sprintf("%dM", mb+mb/2+256)
	cmd := exec.Command("nice", "-n", "10", "mkfs.ext4", "-q", "-F", "-L", "smgwroot", "-d", dir, img, size)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 -d: %v\n%s", err, out)
	}
}

// startSwtpm starts a TPM 2.0 emulator for QEMU's tpm-crb and returns its
// control socket.
func startSwtpm(t *testing.T, work string) string {
	t.Helper()
	dir := filepath.Join(work, "tpm")
	os.MkdirAll(dir, 0o700)
	sock := filepath.Join(dir, "swtpm.sock")
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--ctrl", "type=unixio,path="+sock, "--flags", "startup-clear", "--log", "file="+filepath.Join(dir, "swtpm.log"))
	p, err := start(cmd)
	if err != nil {
		t.Fatalf("swtpm: %v", err)
	}
	t.Cleanup(func() { stopByPID(t, p, "swtpm") })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("swtpm did not create %s", sock)
	return ""
}

// startQEMU boots the image: TCG, 2 CPUs, the kernel and initrd given
// directly, the disk on virtio, swtpm behind tpm-crb, two USB-serial
// adapters (FTDI, serial numbers SMGW-RS485-0 and -1) on an xHCI bus whose
// host sides are unix sockets, no network card, the console on ttyS0
// written to a file.
func startQEMU(t *testing.T, work, kernel, initrd, img, tpmSock, console, meterSock, echoSock string) *proc {
	t.Helper()
	args := []string{"-n", "10", "qemu-system-x86_64",
		"-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "2", "-m", "1024",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 root=/dev/vda rw panic=-1 systemd.show_status=1 net.ifnames=0",
		"-drive", "file=" + img + ",if=virtio,format=raw,cache=unsafe",
		"-chardev", "socket,id=chrtpm,path=" + tpmSock,
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0",
		"-device", "qemu-xhci,id=xhci",
		"-chardev", "socket,id=rs4850,path=" + meterSock + ",server=on,wait=off",
		"-device", "usb-serial,bus=xhci.0,chardev=rs4850,serial=SMGW-RS485-0",
		"-chardev", "socket,id=rs4851,path=" + echoSock + ",server=on,wait=off",
		"-device", "usb-serial,bus=xhci.0,chardev=rs4851,serial=SMGW-RS485-1",
		"-nic", "none", "-display", "none", "-monitor", "none", "-no-reboot",
		"-serial", "file:" + console,
	}
	cmd := exec.Command("nice", args...)
	cmd.Stderr = os.Stderr
	p, err := start(cmd)
	if err != nil {
		t.Fatalf("qemu: %v", err)
	}
	t.Cleanup(func() { stopByPID(t, p, "qemu") })
	return p
}

// proc is a process this test started; done is closed once it exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start starts cmd and waits for it in the background.
func start(cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// stopByPID ends a process this test started, by its PID: SIGTERM, then
// SIGKILL after 10 s. It is idempotent.
func stopByPID(t testing.TB, p *proc, name string) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Logf("%s (pid %d) did not stop on SIGTERM; killing it", name, p.cmd.Process.Pid)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// serveEcho is the far end of the adapter SMGW-RS485-1: it answers each
// line "PING n" with "PONG n".
func serveEcho(ctx context.Context, t *testing.T, sock string) {
	var c net.Conn
	for ctx.Err() == nil {
		var err error
		if c, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c == nil {
		return
	}
	go func() { <-ctx.Done(); c.Close() }()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if n, ok := strings.CutPrefix(line, "PING "); ok {
			fmt.Fprintf(c, "PONG %s\n", n)
		}
	}
}

type checkResult struct{ status, detail string }

var checkLine = regexp.MustCompile(`SMGW-CHECK (PASS|FAIL|WAIT) (\S+) ?(.*)`)

// waitChecks follows the console log until the checks are done, QEMU
// exits, or ctx ends.
func waitChecks(ctx context.Context, console string, qemu *proc) (map[string]checkResult, bool, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		data, _ := os.ReadFile(console)
		results := map[string]checkResult{}
		for _, m := range checkLine.FindAllStringSubmatch(string(data), -1) {
			results[m[2]] = checkResult{m[1], strings.TrimRight(m[3], "\r")}
		}
		if bytes.Contains(data, []byte("SMGW-CHECKS-DONE")) {
			return results, true, nil
		}
		select {
		case <-ctx.Done():
			return results, false, ctx.Err()
		case <-qemu.done:
			return results, false, errors.New("qemu exited")
		case <-tick.C:
		}
	}
}
