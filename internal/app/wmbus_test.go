package app

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/lmn/wmbus/sim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// TestWMBusLines runs the gateway with a wM-Bus meter heard through the
// line reader from a file: its telegram is stored, a wrong-key meter's is
// not, an unknown meter is listed nearby and a garbled line is counted.
func TestWMBusLines(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	var ms []config.Meter
	for _, m := range cfg.Meters {
		if m.Driver != config.DriverWMBus {
			ms = append(ms, m)
		}
	}
	key := "00112233445566778899aabbccddeeff"
	good := config.DefaultMeter()
	good.ID, good.Driver, good.Manufacturer, good.Address, good.Key = "w-good", config.DriverWMBus, "SMG", "20000001", key
	wrong := good
	wrong.ID, wrong.Address, wrong.Key = "w-wrong", "20000002", "ffeeddccbbaa99887766554433221100"
	stored := good
	stored.ID, stored.Address, stored.Key = "w-stored", "20000004", "" // its key is in the store
	cfg.Meters = append(ms, good, wrong, stored)

	k, _ := hex.DecodeString(key)
	now := time.Now()
	var lines []byte
	for _, o := range []sim.Options{
		{Kind: sim.Water, Manufacturer: "SMG", Address: "20000001", Key: k},
		{Kind: sim.Water, Manufacturer: "SMG", Address: "20000002", Key: k},
		{Kind: sim.Heat, Manufacturer: "KAM", Address: "30000003", Key: k},
		{Kind: sim.Water, Manufacturer: "SMG", Address: "20000004", Key: k},
	} {
		m, err := sim.New(o)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, hex.EncodeToString(m.Telegram(now))+"\n"...)
	}
	lines = append(lines, "not hex\n"...)
	file := filepath.Join(dir, "telegrams.txt")
	if err := os.WriteFile(file, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.WMBus = config.WMBus{Kind: config.WMBusLines, File: file, LinkMode: "T1",
		MaxClockSkew: config.Duration(time.Hour), DupWindow: config.Duration(time.Minute)}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// The key of w-stored, imported into the store before the start.
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(DBPath(cfg.Gateway.DataDir), &store.Options{Keys: keys.NewDev(cfg.Security.DevKeyFile, testLog(t)), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutRecord(context.Background(), store.KindSecret, "wmbus/w-stored", k); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	a, stopApp := startApp(t, cfg, &notifications{}, 0)
	stop := sync.OnceValue(stopApp)
	defer stop()
	waitFor(t, "the lines read", func() bool {
		st, _ := a.WMBus(context.Background())
		return st.Stats.Frames == 4 && st.Stats.ReceiverBad == 1
	})
	ws, err := a.WMBus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ws.Stats.Stored != 2 || ws.Stats.Unknown != 1 || len(ws.Nearby) != 1 || ws.Nearby[0].ID != "30000003" {
		t.Errorf("status %+v", ws)
	}
	if h := ws.Meters[2]; h.Meter != "w-stored" || h.Stored != 1 {
		t.Errorf("meter with its key in the store %+v", h)
	}
	if h := ws.Meters[1]; h.Meter != "w-wrong" || h.Errors["decrypt"] != 1 || h.Stored != 0 {
		t.Errorf("wrong-key meter %+v", h)
	}
	waitFor(t, "the reading stored", func() bool {
		n := 0
		a.Query(context.Background(), store.Query{Meter: "w-good"}, func(r meter.Reading) error {
			if r.Source == meter.SourceWMBus {
				n++
			}
			return nil
		})
		return n > 0
	})
	n := 0
	a.Query(context.Background(), store.Query{Meter: "w-wrong"}, func(meter.Reading) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d readings of the wrong-key meter stored", n)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}
