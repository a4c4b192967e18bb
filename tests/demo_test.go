package tests

import (
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemo starts `smgw demo` as a developer would, uses its status page
// and the CLI against it while it runs (through the control socket), stops
// it with SIGTERM as systemd would, and reads what it stored afterwards.
func TestDemo(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "demo", "--data", dir, "--listen", addr)
	cmd.Env = testEnv()
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	exitedEarly := func() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("smgw demo exited while the test used it: %v\noutput:\n%s", err, clip(out.String()))
		default:
		}
	}

	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	// The status page answers once the demo is up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, err := get("/")
		if err == nil && code == http.StatusOK {
			break
		}
		exitedEarly()
		if time.Now().After(deadline) {
			t.Fatalf("status page %s/ did not answer 200 within 20 s (last: %d, %v)\noutput:\n%s",
				base, code, err, clip(out.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/", "/api/status"} {
		code, body, err := get(path)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %s: %d, %v\n%s", path, code, err, clip(body))
		}
		if !strings.Contains(body, "smgw-demo") {
			t.Errorf("GET %s: the gateway id smgw-demo is not on it:\n%s", path, clip(body))
		}
	}

	// The CLI reads from the running daemon; the simulated meters deliver
	// their first readings within moments of the start.
	deadline = time.Now().Add(15 * time.Second)
	for {
		exitedEarly()
		r := mustSmgw(t, 30*time.Second, "readings", "--data", dir, "--format", "json", "--limit", "5")
		rs := parseReadings(t, r.stdout)
		if len(rs) > 5 {
			t.Errorf("readings --limit 5 printed %d readings", len(rs))
		}
		if len(rs) > 0 {
			t.Logf("first reading: %s %s %s %s %s", rs[0].Meter, rs[0].OBIS, rs[0].Time.Format(time.RFC3339), rs[0].Value, rs[0].Unit)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no readings from the running demo within 15 s\ndemo output:\n%s", clip(out.String()))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r := mustSmgw(t, 30*time.Second, "meters", "--data", dir); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("meters printed nothing for the running demo: %v", r)
	}

	// SIGTERM drains, flushes and exits 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("smgw demo after SIGTERM: exit %d, want 0\noutput:\n%s", ee.ExitCode(), clip(out.String()))
			}
			t.Fatalf("smgw demo after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("smgw demo did not exit within 15 s of SIGTERM\noutput:\n%s", clip(out.String()))
	}

	// With the daemon gone the CLI opens the database read-only.
	if r := mustSmgw(t, 30*time.Second, "readings", "--data", dir); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("readings after the demo stopped printed nothing: %v", r)
	}
	mustSmgw(t, 30*time.Second, "log", "system", "--verify", "--data", dir)
}
