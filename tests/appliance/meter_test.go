package appliance

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/smgw/smgw/internal/lmn/modbus/modbustest"
)

// The meter behind the USB-serial adapter SMGW-RS485-0: an Eastron SDM120
// as Debian's pymodbus serves it (modbustest's pymodbus_server.py), on a pty
// that socat joins to QEMU's side of the adapter.
const (
	meterProfile = "sdm120"
	meterUnit    = 1
)

// haveMeterSim reports whether the host can run the simulator: socat and
// a python3 with pymodbus.
func haveMeterSim() bool {
	if _, err := exec.LookPath("socat"); err != nil {
		return false
	}
	return exec.Command("/usr/bin/python3", "-c", "import pymodbus.framer.rtu_framer, pymodbus.datastore, pymodbus.factory").Run() == nil
}

// meterImage returns pymodbus_server.py's register image for the profile:
// every float32 register of profiles/meters/modbus/NAME.toml holds a
// plausible value.
func meterImage(t *testing.T, name string) []byte {
	t.Helper()
	var prof struct {
		Register []struct {
			OBIS    string `toml:"obis"`
			Table   string `toml:"table"`
			Address int    `toml:"address"`
			Type    string `toml:"type"`
		} `toml:"register"`
	}
	path := filepath.Join(moduleRoot(t), "profiles", "meters", "modbus", name+".toml")
	if _, err := toml.DecodeFile(path, &prof); err != nil {
		t.Fatalf("meter profile: %v", err)
	}
	input := map[string]uint16{}
	for i, r := range prof.Register {
		if r.Table != "input" || r.Type != "float32" {
			t.Fatalf("%s: register %s: only float32 input registers are simulated", path, r.OBIS)
		}
		bits := math.Float32bits(float32(100 + 10*i))
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], bits)
		input[fmt.Sprint(r.Address)] = binary.BigEndian.Uint16(b[:2])
		input[fmt.Sprint(r.Address+1)] = binary.BigEndian.Uint16(b[2:])
	}
	doc, _ := json.Marshal(map[string]any{"units": map[string]any{fmt.Sprint(meterUnit): map[string]any{"input": input}}})
	return doc
}

// startMeterSim joins QEMU's unix socket of the adapter to a pty with
// socat and serves the meter on it.
func startMeterSim(t *testing.T, work, sock string) {
	t.Helper()
	img := filepath.Join(work, "meter.json")
	if err := os.WriteFile(img, meterImage(t, meterProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	pty := filepath.Join(work, "meter-pty")
	socat, err := start(exec.Command("socat", "UNIX-CONNECT:"+sock+",retry=100,interval=0.2", "PTY,link="+pty+",raw,echo=0"))
	if err != nil {
		t.Fatalf("socat: %v", err)
	}
	t.Cleanup(func() { stopByPID(t, socat, "socat") })
	for i := 0; ; i++ {
		if _, err := os.Stat(pty); err == nil {
			break
		}
		if i == 200 {
			t.Fatalf("socat made no pty %s", pty)
		}
		time.Sleep(100 * time.Millisecond)
	}
	script := filepath.Join(t.TempDir(), "pymodbus_server.py")
	if err := os.WriteFile(script, modbustest.ServerScript(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script, pty, img)
	stdin, _ := cmd.StdinPipe() // the server stops when its stdin closes
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	sim, err := start(cmd)
	if err != nil {
		t.Fatalf("pymodbus server: %v", err)
	}
	t.Cleanup(func() { stdin.Close(); stopByPID(t, sim, "pymodbus server") })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("pymodbus server did not start: %q", line)
	}
}
