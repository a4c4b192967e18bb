package update

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// fakeRAUC serves the part of RAUC's D-Bus API RaucDBus uses on a private
// bus: InstallBundle, the Completed signal, the LastError and BootSlot
// properties.
type fakeRAUC struct {
	conn  *dbus.Conn
	props *prop.Properties
	fail  string // LastError to report; "" succeeds
	mu    sync.Mutex
	got   []string
}

func (f *fakeRAUC) InstallBundle(source string, args map[string]dbus.Variant) *dbus.Error {
	f.mu.Lock()
	f.got = append(f.got, source)
	fail := f.fail
	f.mu.Unlock()
	go func() {
		time.Sleep(20 * time.Millisecond) // RAUC answers the call first, then works
		code := int32(0)
		if fail != "" {
			code = 1
			f.props.SetMust(raucInstaller, "LastError", fail)
		}
		f.conn.Emit(raucPath, raucInstaller+".Completed", code)
	}()
	return nil
}

// privateBus starts a dbus-daemon for the test and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("dbus-daemon is not installed (Debian package dbus)")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(addr)
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func serveRAUC(t *testing.T, addr, fail string) *fakeRAUC {
	t.Helper()
	c := connect(t, addr)
	f := &fakeRAUC{conn: c, fail: fail}
	if err := c.Export(f, raucPath, raucInstaller); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(c, raucPath, prop.Map{raucInstaller: {
		"LastError": {Value: "", Writable: false, Emit: prop.EmitTrue},
		"BootSlot":  {Value: "A", Writable: false, Emit: prop.EmitFalse},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.props = props
	if reply, err := c.RequestName(raucService, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request %s: %v %v", raucService, reply, err)
	}
	return f
}

func TestRaucDBus(t *testing.T) {
	addr := privateBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	rauc := serveRAUC(t, addr, "")
	inst := &RaucDBus{Conn: connect(t, addr)}
	if slot, err := inst.BootedSlot(ctx); err != nil || slot != "A" {
		t.Fatalf("BootedSlot: %q %v", slot, err)
	}
	if err := inst.Install(ctx, "/var/lib/smgw/update/bundle.raucb"); err != nil {
		t.Fatalf("Install: %v", err)
	}
	rauc.mu.Lock()
	got := append([]string(nil), rauc.got...)
	rauc.fail = "Failed to check bundle identifier: Invalid bundle"
	rauc.mu.Unlock()
	if len(got) != 1 || got[0] != "/var/lib/smgw/update/bundle.raucb" {
		t.Fatalf("RAUC was asked to install %v", got)
	}

	if err := inst.Install(ctx, "/x.raucb"); err == nil || !strings.Contains(err.Error(), "Invalid bundle") {
		t.Fatalf("Install of a bundle RAUC refuses: %v", err)
	}
}

func TestRaucDBusNoService(t *testing.T) {
	addr := privateBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inst := &RaucDBus{Conn: connect(t, addr)}
	if err := inst.Install(ctx, "/x.raucb"); err == nil {
		t.Fatal("Install without RAUC on the bus succeeded")
	}
}
