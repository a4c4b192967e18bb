package tests

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/smgw/smgw/hal/tpm"
)

// swtpm is one swtpm process serving the TPM 2.0 command port on
// 127.0.0.1 (control port one above), its state in a directory.
type swtpm struct {
	addr     string // host:port of the command port
	stateDir string
	cmd      *exec.Cmd
	done     chan error
	out      *lockedBuffer
}

// name is the TPM's name for security.tpm.
func (s *swtpm) name() string { return tpm.SwtpmScheme + s.addr }

// needSwtpm skips the test when the swtpm binary is missing.
func needSwtpm(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Skip("swtpm is not installed (Debian package swtpm): skipping the TPM integration test")
	}
}

// freePortPair returns a port P with P and P+1 free on 127.0.0.1 a moment ago.
func freePortPair(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no pair of free ports")
	return 0
}

// startSwtpm starts swtpm with its state in stateDir (a fresh TPM if the
// directory is empty) and stops it at the test's cleanup.
func startSwtpm(t testing.TB, stateDir string) *swtpm {
	t.Helper()
	needSwtpm(t)
	port := freePortPair(t)
	s := &swtpm{addr: "127.0.0.1:" + strconv.Itoa(port), stateDir: stateDir, done: make(chan error, 1), out: &lockedBuffer{}}
	s.cmd = exec.Command("swtpm", "socket", "--tpm2",
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
		"--tpmstate", "dir="+stateDir,
		"--flags", "not-need-init,startup-clear")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start swtpm: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("swtpm exited: %v\n%s", err, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm does not listen on %s: %v\n%s", s.addr, err, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// swtpm serves one client at a time and notices a closed probe a
	// moment later.
	time.Sleep(100 * time.Millisecond)
	return s
}

func (s *swtpm) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// open connects to swtpm (no daemon may be using it).
func (s *swtpm) open(t testing.TB) *tpm.TPM {
	t.Helper()
	var last error
	for range 50 {
		tt, err := tpm.Open(s.name())
		if err == nil {
			return tt
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("open %s: %v", s.name(), last)
	return nil
}

// unsealDataKeys unseals every data key in the TPM key file of dataDir,
// as the gateway does, so that the test knows the keys' bytes to look for.
// Only for keys without a PCR policy.
func unsealDataKeys(t testing.TB, s *swtpm, dataDir string) map[uint32][]byte {
	t.Helper()
	var kf struct {
		Data []struct {
			ID      uint32 `json:"id"`
			Public  string `json:"public"`
			Private string `json:"private"`
		} `json:"data"`
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "tpm-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	tt := s.open(t)
	defer tt.Close()
	srk, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: srk.ObjectHandle}.Execute(tt)
	out := map[uint32][]byte{}
	for _, d := range kf.Data {
		pb, _ := hex.DecodeString(d.Public)
		vb, _ := hex.DecodeString(d.Private)
		pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pb)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](vb)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := tpm2.Load{
			ParentHandle: tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
			InPublic:     *pub, InPrivate: *priv,
		}.Execute(tt)
		if err != nil {
			t.Fatal(err)
		}
		rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name, Auth: tpm2.PasswordAuth(nil)}}.Execute(tt)
		tpm2.FlushContext{FlushHandle: obj.ObjectHandle}.Execute(tt)
		if err != nil {
			t.Fatal(err)
		}
		out[d.ID] = rsp.OutData.Buffer
	}
	return out
}

// daemon is a running `smgw run`.
type daemon struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

func startDaemon(t testing.TB, cfg string) *daemon {
	t.Helper()
	d := &daemon{out: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(binary(t), "run", "-c", cfg)
	d.cmd.Env = testEnv()
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// alive fails the test if the daemon has exited.
func (d *daemon) alive(t testing.TB) {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		t.Fatalf("smgw run exited: %v\noutput:\n%s", err, clip(d.out.String()))
	default:
	}
}

// stop sends SIGTERM and requires exit 0.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("smgw run after SIGTERM: %v\noutput:\n%s", err, clip(d.out.String()))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("smgw run did not stop within 30 s of SIGTERM\n%s", clip(d.out.String()))
	}
}

// waitFor polls cond (at most limit) while the daemon runs.
func (d *daemon) waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !cond() {
		d.alive(t)
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v\noutput:\n%s", what, limit, clip(d.out.String()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
