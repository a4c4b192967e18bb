package app

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

// TestHANExtra runs the demo configuration with [hass] pointing at a
// local mosquitto: the demo meters appear as Home Assistant sensors, and
// the IEEE 2030.5 handler serves the same store.
func TestHANExtra(t *testing.T) {
	b := mqtttest.Start(t)
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		t.Skip("mosquitto_sub is not installed")
	}
	host, port, _ := strings.Cut(b.PlainAddr, ":")
	cmd := exec.Command(sub, "-h", host, "-p", port, "-t", "homeassistant/#", "-F", "%t\t%p")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	configs := map[string]map[string]any{}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			topic, payload, _ := strings.Cut(sc.Text(), "\t")
			var c map[string]any
			if json.Unmarshal([]byte(payload), &c) == nil {
				mu.Lock()
				configs[topic] = c
				mu.Unlock()
			}
		}
	}()
	defer func() { cmd.Process.Kill(); cmd.Wait(); <-readDone }()

	cfg := testConfig(t, t.TempDir())
	cfg.HASS.Enabled, cfg.HASS.Broker = true, b.PlainURL()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ns notifications
	a, stop := startApp(t, cfg, &ns, time.Hour)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	waitFor(t, "an energy sensor of a demo meter", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range configs {
			if c["device_class"] == "energy" && c["unit_of_measurement"] == "kWh" && c["state_class"] == "total_increasing" {
				return true
			}
		}
		return false
	})

	// The handler shows a request only the meters of the HAN client that
	// made it (TestHANService reads it through the HAN service as paired
	// displays); a request that did not come through the HAN's
	// authentication sees none.
	rec := httptest.NewRecorder()
	http.StripPrefix("/sep2", a.sep2Handler()).ServeHTTP(rec, httptest.NewRequest("GET", "/sep2/upt?l=255", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `all="0"`) {
		t.Errorf("sep2 usage points without a HAN client: %d %s", rec.Code, rec.Body)
	}
}
