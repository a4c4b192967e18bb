package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
)

// demoDLMS adds a simulated DLMS/COSEM meter, "dlms-1", to the demo: the
// simulator answers on one end of a pseudo-terminal pair made by socat,
// the gateway reads it on the other through the real DLMS driver (HDLC,
// registers every minute, the 15-minute load profile with backfill).
// Without socat it logs that and leaves the meter out. It returns what
// stops the simulator and socat.
func (c *cli) demoDLMS(ctx context.Context, cfg *config.Config, log *slog.Logger) func() {
	nothing := func() {}
	if _, err := exec.LookPath("socat"); err != nil {
		log.Warn("demo: socat is not installed: skipping the simulated DLMS meter (apt-get install socat)")
		return nothing
	}
	dir := filepath.Join(cfg.Gateway.RuntimeDir, "dlms")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Warn("demo: skipping the simulated DLMS meter", "err", err)
		return nothing
	}
	gw, mtr := filepath.Join(dir, "gateway-end"), filepath.Join(dir, "meter-end")
	os.Remove(gw)
	os.Remove(mtr)
	var stderr bytes.Buffer
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+gw, "pty,raw,echo=0,link="+mtr)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		log.Warn("demo: skipping the simulated DLMS meter: socat", "err", err)
		return nothing
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	kill := func() { cmd.Process.Kill(); <-exited }
	for i := 0; ; i++ {
		_, e1 := os.Stat(gw)
		_, e2 := os.Stat(mtr)
		if e1 == nil && e2 == nil {
			break
		}
		if i > 500 {
			kill()
			log.Warn("demo: skipping the simulated DLMS meter: socat made no pty pair", "stderr", stderr.String())
			return nothing
		}
		time.Sleep(10 * time.Millisecond)
	}
	port, err := serial.Open(&serial.Config{Name: mtr, Baud: 9600})
	if err != nil {
		kill()
		log.Warn("demo: skipping the simulated DLMS meter", "err", err)
		return nothing
	}
	sim, err := dlmssim.New(&dlmssim.Options{Since: time.Now().Add(-48 * time.Hour)})
	if err != nil {
		port.Close()
		kill()
		log.Warn("demo: skipping the simulated DLMS meter", "err", err)
		return nothing
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); sim.Serve(sctx, port) }()
	m := config.DefaultMeter()
	m.ID, m.Driver, m.Port = "dlms-1", config.DriverDLMS, gw
	m.Interval = config.Duration(time.Minute)
	m.Registers = []string{"1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.1.8.1.255", "1.0.1.8.2.255", "1.0.16.7.0.255"}
	cfg.Meters = append(cfg.Meters, m)
	log.Info("demo: simulated DLMS meter dlms-1 on a pty pair", "port", gw)
	return func() {
		cancel()
		port.Close()
		<-served
		kill()
	}
}
