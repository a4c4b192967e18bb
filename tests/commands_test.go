package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/wan/command"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

// TestMQTTCommands sends HES commands to the real gateway through the real
// mosquitto as MQTT v5 requests (mosquitto_pub with a response topic and
// correlation data) and checks the signed responses: a status command
// runs, an unauthorised disconnect and a replay are refused with their
// reasons.
func TestMQTTCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-cmd", "hes/resp/#")
	dir := t.TempDir()
	keysByRole := map[command.Role]*ecdsa.PrivateKey{}
	var tables strings.Builder
	for _, r := range []command.Role{command.RoleReader, command.RoleAdmin} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keysByRole[r] = k
		b, _ := command.EncodeKeyPEM(&k.PublicKey, r)
		path := filepath.Join(t.TempDir(), string(r)+".pem")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&tables, "\n[[wan.commands.key]]\nid = \"hes-%s\"\nrole = %q\npublic_key_file = %q\n", r, r, path)
	}
	cfg := writeConfig(t, dir, mqttConfig(br.PlainURL(), 1, true)+tables.String())
	cmd := exec.Command(binary(t), "run", "-c", cfg)
	cmd.Env = testEnv()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, connected, ok := uplinkPending(t, cfg); ok && connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not connect to the broker\n%s", clip(stderr.String()))
		}
	}
	pubPEM, err := os.ReadFile(filepath.Join(dir, keys.IdentityPubFile))
	if err != nil {
		t.Fatal(err)
	}
	gwPub, err := keys.ParsePublicKey(keys.IdentityPubFile, pubPEM)
	if err != nil {
		t.Fatal(err)
	}

	host, port, _ := strings.Cut(br.PlainAddr, ":")
	n := 0
	// request publishes an envelope and returns the verified response.
	request := func(env []byte) *command.Response {
		t.Helper()
		n++
		f := filepath.Join(t.TempDir(), "cmd.cbor")
		os.WriteFile(f, env, 0o644)
		topic := fmt.Sprintf("hes/resp/%d", n)
		corr := fmt.Sprintf("corr-%d", n)
		pub := exec.Command("mosquitto_pub", "-V", "mqttv5", "-h", host, "-p", port, "-q", "1",
			"-t", "smgw/smgw-test/cmd", "-f", f,
			"-D", "publish", "response-topic", topic, "-D", "publish", "correlation-data", corr)
		if out, err := pub.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
		var got *mqtttest.Message
		hes.Wait(20*time.Second, func(ms []mqtttest.Message) bool {
			for i := range ms {
				if ms[i].Topic == topic {
					got = &ms[i]
					return true
				}
			}
			return false
		})
		if got == nil {
			t.Fatalf("no response on %s\n%s", topic, clip(stderr.String()))
		}
		if !strings.Contains(got.Correlation, corr) && !strings.Contains(got.Correlation, fmt.Sprintf("%x", corr)) {
			t.Errorf("correlation data %q, want %q", got.Correlation, corr)
		}
		r, err := command.ParseResponse(got.Payload, gwPub)
		if err != nil {
			t.Fatalf("response on %s: %v", topic, err)
		}
		return r
	}
	envelope := func(role command.Role, id, kind string, args any) []byte {
		now := time.Now()
		p := &command.Payload{Version: 1, ID: id, Gateway: "smgw-test", Issued: now.Unix(), Expires: now.Add(5 * time.Minute).Unix(), Kind: kind}
		if args != nil {
			p.Args, _ = command.Marshal(args)
		}
		b, err := command.Sign(keysByRole[role], "hes-"+string(role), p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	status := envelope(command.RoleReader, "s-1", "status", nil)
	r := request(status)
	if !r.OK || r.ID != "s-1" || r.Gateway != "smgw-test" {
		t.Fatalf("status: %+v %+v", r, r.Error)
	}
	var st struct {
		Meters []struct {
			ID string `json:"id"`
		} `json:"meters"`
	}
	if err := command.Unmarshal(r.Result, &st); err != nil || len(st.Meters) != 1 || st.Meters[0].ID != "elec-0" {
		t.Errorf("status result: %+v %v", st, err)
	}
	r = request(envelope(command.RoleReader, "d-1", "disconnect", map[string]string{"meter": "elec-0"}))
	if r.OK || r.Error == nil || r.Error.Reason != command.ReasonForbidden {
		t.Errorf("unauthorised disconnect: %+v %+v", r, r.Error)
	}
	r = request(status)
	if r.OK || r.Error == nil || r.Error.Reason != command.ReasonReplayed {
		t.Errorf("replayed status: %+v %+v", r, r.Error)
	}
	r = request(envelope(command.RoleAdmin, "d-2", "disconnect", map[string]string{"meter": "elec-0"}))
	if !r.OK {
		t.Errorf("disconnect: %+v", r.Error)
	}

	// The event log has all four.
	out, err := exec.Command(binary(t), "log", "system", "-c", cfg, "--format", "json").Output()
	if err != nil {
		t.Fatalf("smgw log: %v", err)
	}
	for _, want := range []string{`"command-rejected"`, `"forbidden"`, `"replayed"`, `"command-done"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("system log lacks %s", want)
		}
	}
}
