// Package modbustest starts the Modbus peer the tests read: Debian's
// pymodbus (python3-pymodbus 3.0.x) serving a register image on one end of
// a pseudo-terminal pair. It also builds register images from meter
// profiles, with the exact values a driver must read back. Only tests
// import it.
package modbustest

import (
	"bufio"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/testutil"
)

//go:embed pymodbus_server.py
var serverScript []byte

// ServerScript returns the pymodbus server script StartPymodbus runs, for
// tests that start it their own way (the appliance boot test runs it
// behind an emulated USB adapter).
func ServerScript() []byte { return serverScript }

// Image is a register image: unit → table ("input", "holding") → address
// (decimal) → value.
type Image map[byte]map[string]map[string]uint16

// Register returns the value at table and address of unit (0 if unset).
func (img Image) Register(unit byte, table string, addr int) uint16 {
	return img[unit][table][strconv.Itoa(addr)]
}

// Fill writes p's registers for unit into img with values chosen from
// seed, and returns the exact value the driver must read for each OBIS
// code: float32 registers get values with at most 7 significant digits at
// the register's decimals (so they survive float32 exactly), integer
// registers multiples of their scale (negative for signed types).
func (img Image) Fill(t testing.TB, unit byte, p *profile.Profile, seed int) map[meter.OBIS]meter.Value {
	t.Helper()
	want := map[meter.OBIS]meter.Value{}
	if img[unit] == nil {
		img[unit] = map[string]map[string]uint16{"input": {}, "holding": {}}
	}
	for i, r := range p.Registers {
		raw := int64(1000 + 37*i + 101*seed)
		var v meter.Value
		if r.Type == "float32" {
			x := meter.V(raw*int64(1+i%7)+int64(i), int8(-r.Decimals))
			m, err := x.MulInt(r.Scale.M)
			if err != nil {
				t.Fatal(err)
			}
			v = meter.V(m.M, m.E+r.Scale.E)
		} else {
			if r.Type == "int16" || r.Type == "int32" || r.Type == "int64" {
				raw = -raw
			}
			v = meter.V(raw*r.Scale.M, r.Scale.E)
		}
		b, err := r.Encode(v, p.LittleEndian)
		if err != nil {
			t.Fatalf("encode %s = %s: %v", r.OBIS, v, err)
		}
		for k := 0; k < len(b); k += 2 {
			img[unit][r.Table.String()][strconv.Itoa(int(r.Address)+k/2)] = binary.BigEndian.Uint16(b[k:])
		}
		want[r.OBIS] = v
	}
	return want
}

// HavePymodbus reports whether Debian's python3 can import the parts of
// pymodbus the server uses.
func HavePymodbus() bool {
	err := exec.Command("/usr/bin/python3", "-c",
		"import pymodbus.framer.rtu_framer, pymodbus.datastore, pymodbus.factory").Run()
	return err == nil
}

// StartPymodbus serves img with pymodbus on device (one end of a pty
// pair) and returns when the server is ready; it is stopped at the test's
// end. Registers not in the image answer exception 2; units not in it stay
// silent. The test is skipped if /usr/bin/python3 cannot import pymodbus.
func StartPymodbus(t testing.TB, device string, img Image) {
	t.Helper()
	if !HavePymodbus() {
		t.Skip("/usr/bin/python3 cannot import pymodbus: apt-get install python3-pymodbus")
	}
	dir := t.TempDir()
	doc := map[string]any{}
	for u, tables := range img {
		doc[strconv.Itoa(int(u))] = tables
	}
	data, _ := json.Marshal(map[string]any{"units": doc})
	imgPath, script := filepath.Join(dir, "image.json"), filepath.Join(dir, "pymodbus_server.py")
	if err := os.WriteFile(imgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, serverScript, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script, device, imgPath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pymodbus server's stderr:\n%s", stderr.String())
		}
		stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("pymodbus server did not start: %q\n%s", line, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pymodbus server not ready in 30 s")
	}
}
