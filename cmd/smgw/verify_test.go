package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/wan/mqtt"
	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
	"github.com/smgw/smgw/internal/wan/payload"
)

// uplinkMessage runs the MQTT uplink against mosquitto over a store with
// three readings and returns the message the HES received, the public key
// file of the gateway's signing key and the readings.
func uplinkMessage(t *testing.T, format payload.Format) ([]byte, string, []meter.Reading) {
	t.Helper()
	br := mqtttest.Start(t)
	hes := br.NewHES("hes-verify-"+string(format), "smgw/+/readings")
	dir := t.TempDir()
	kp := keys.NewDev(filepath.Join(dir, "key"), nil)
	st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{Keys: kp, OutboxChannels: []string{"mqtt"}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	rs := []meter.Reading{
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:1.8.0*255"), Time: t0, Value: meter.V(123456789, -3), Unit: meter.UnitWattHour, Source: meter.SourceSim},
		{Meter: "elec-1", OBIS: meter.MustOBIS("1-0:2.8.0*255"), Time: t0, Value: meter.V(42, 0), Unit: meter.UnitWattHour, Source: meter.SourceSim},
		{Meter: "water-1", OBIS: meter.MustOBIS("8-0:1.0.0*255"), Time: t0.Add(15 * time.Minute), Value: meter.V(1234, -3), Unit: meter.UnitCubicMetre, Quality: meter.QualityEstimated, Source: meter.SourceSim},
	}
	if err := st.Append(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
	signer, err := kp.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, err := mqtt.New(st, &mqtt.Options{URL: br.PlainURL(), GatewayID: "gw-v", Signer: signer, Format: format, MaxDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	ok := hes.Wait(20*time.Second, func(ms []mqtttest.Message) bool { return len(ms) > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("no message at the HES")
	}
	pem, err := keys.MarshalPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "identity.pub")
	if err := os.WriteFile(pubFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return hes.Messages()[0].Payload, pubFile, rs
}

func TestVerifyUplinkMessage(t *testing.T) {
	for _, f := range []payload.Format{payload.CBOR, payload.JWS} {
		t.Run(string(f), func(t *testing.T) {
			msg, pubFile, rs := uplinkMessage(t, f)
			file := filepath.Join(t.TempDir(), "msg")
			if err := os.WriteFile(file, msg, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "verify", file, "--pubkey", pubFile)
			if code != exitOK {
				t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "signature OK") || !strings.Contains(errOut, "gateway gw-v, sequence 1…3") {
				t.Errorf("verify's summary: %s", errOut)
			}
			for _, want := range []string{"123456.789", "1-0:2.8.0*255", "water-1", "estimated", "2026-11-22T06:15:00Z"} {
				if !strings.Contains(out, want) {
					t.Errorf("verify's output lacks %q:\n%s", want, out)
				}
			}
			code, out, _ = runCLI(t, "verify", file, "--pubkey", pubFile, "--format", "json")
			if code != exitOK || strings.Count(out, "\n") != len(rs) {
				t.Errorf("verify --format json: exit %d\n%s", code, out)
			}

			// Tampered: one byte of the readings changed.
			bad := []byte(strings.Replace(string(msg), "water-1", "water-2", 1))
			if f == payload.JWS {
				// The readings are base64url in the JWS payload: flip a
				// character of it instead.
				i := strings.Index(string(msg), `"payload":"`) + len(`"payload":"`) + 40
				bad = append([]byte(nil), msg...)
				bad[i] ^= 1
			}
			if string(bad) == string(msg) {
				t.Fatal("tampering changed nothing")
			}
			tampered := filepath.Join(t.TempDir(), "tampered")
			if err := os.WriteFile(tampered, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = runCLI(t, "verify", tampered, "--pubkey", pubFile)
			if code != exitFail || out != "" {
				t.Errorf("verify of a tampered message: exit %d, want %d\n%s%s", code, exitFail, out, errOut)
			}
		})
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "f"},
		{"verify", "f", "--pubkey", "a", "--cert", "b"},
		{"verify", "f", "--no-verify", "--format", "xml"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
