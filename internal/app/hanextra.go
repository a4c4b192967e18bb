package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/smgw/smgw/internal/han/hass"
	"github.com/smgw/smgw/internal/han/mdns"
	"github.com/smgw/smgw/internal/han/sep2"
	"github.com/smgw/smgw/internal/han/web"
	"github.com/smgw/smgw/internal/version"
)

// The HAN's extras (docs/sep2.md, docs/home-assistant.md): the IEEE
// 2030.5 handler mounted by the HAN service, DNS-SD advertisement on the
// HAN interface ([mdns]) and Home Assistant publication ([hass]).

// sep2Handler returns the IEEE 2030.5 subset over the store and the
// tariff model, for the HAN service to mount at /sep2/.
func (a *App) sep2Handler() http.Handler {
	o := &sep2.Options{
		Prefix: "/sep2",
		Meters: a.cfg.HAN.Meters,
		// The HAN service's client: a display sees only its pairing's
		// meters, and its responses are recorded under its own id.
		Visible: web.Visible,
		Device:  web.Device,
		Now:     a.now,
		Log:     a.log.With("service", "sep2"),
	}
	if a.clock != nil {
		o.Synced = a.clock.Trusted
	}
	return sep2.NewHandler(sep2.NewSource(a.st, a.tariff), o)
}

// runHANExtra runs the [mdns] responder and the [hass] publisher, those
// enabled, until ctx ends. A failure of either is logged; it does not
// stop the gateway.
func (a *App) runHANExtra(ctx context.Context) error {
	done := make(chan struct{}, 2)
	n := 0
	if a.cfg.MDNS.Enabled && a.han.svc != nil && a.cfg.HAN.Interface != "" {
		n++
		go func() { defer func() { done <- struct{}{} }(); a.runMDNS(ctx) }()
	}
	if a.cfg.HASS.Enabled {
		n++
		go func() { defer func() { done <- struct{}{} }(); a.runHASS(ctx) }()
	}
	<-ctx.Done()
	for range n {
		<-done
	}
	return nil
}

func (a *App) runMDNS(ctx context.Context) {
	log := a.log.With("service", "mdns")
	id := strings.ReplaceAll(a.cfg.Gateway.ID, ".", "-") // one DNS label
	inst := a.cfg.MDNS.Instance
	if inst == "" {
		inst = "smgw " + id
	}
	port := uint16(a.han.port)
	label := func(s string) string { return s[:min(len(s), 63)] } // gateway ids are ASCII
	z := mdns.Zone{Host: label("smgw-" + id), Services: []mdns.Service{
		mdns.SmartEnergy(label(inst), port, "/sep2/dcap", a.han.tls, a.cfg.MDNS.Level),
		mdns.Page(label(inst+" display"), port, a.han.tls),
	}}
	r, err := mdns.New(&mdns.Options{Interface: a.cfg.HAN.Interface, WANInterfaces: []string{a.cfg.WAN.Link.Ethernet, a.cfg.WAN.Link.LTE}, Zone: z, Log: log})
	if err != nil {
		log.Error("DNS-SD advertisement off", "err", err)
		return
	}
	defer r.Close()
	log.Info("advertising the HAN services by DNS-SD", "interface", a.cfg.HAN.Interface, "port", port)
	if err := r.Run(ctx); err != nil {
		log.Error("DNS-SD responder stopped", "err", err)
	}
}

func (a *App) runHASS(ctx context.Context) {
	log := a.log.With("service", "hass")
	h := a.cfg.HASS
	o := &hass.Options{Broker: h.Broker, Username: h.Username, Password: h.Password, Node: a.cfg.Gateway.ID,
		DiscoveryPrefix: h.DiscoveryPrefix, BaseTopic: h.BaseTopic, Meters: h.Meters, Version: version.Version, Log: log}
	if len(o.Meters) == 0 {
		o.Meters = a.cfg.HAN.Meters
	}
	if h.CAFile != "" {
		pool, err := caPool(h.CAFile)
		if err != nil {
			log.Error("Home Assistant publication off", "err", err)
			return
		}
		o.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	p, err := hass.New(a.st, o)
	if err != nil {
		log.Error("Home Assistant publication off", "err", err)
		return
	}
	if err := p.Run(ctx); err != nil {
		log.Error("Home Assistant publication stopped", "err", err)
	}
}

func caPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hass.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("hass.ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}
