package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/han/web"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/version"
)

// The HAN display service ([han], docs/han.md): the JSON API, the live
// stream and the in-home display page on the HAN interface's addresses,
// over HTTPS with the gateway's certificate. The demo serves it on the
// listener it binds (Options.HANListener), in plain HTTP, without pairing.

// hanState is the app's part for the HAN service.
type hanState struct {
	svc  *web.Service
	fp   string // SHA-256 of the TLS certificate; "" for plain HTTP
	tls  bool
	port int
}

// initHAN creates the service when [han] enables it or the demo gives a
// listener. It binds the HAN addresses (refusing WAN and wildcard ones).
func (a *App) initHAN(ctx context.Context) error {
	hc := a.cfg.HAN
	if a.opts.HANListener == nil && !hc.Enabled {
		return nil
	}
	o := &web.Options{
		Tariff: a.tariff, Meters: hc.Meters, Live: a.ingest.LiveValues,
		RatePerMinute: hc.RatePerMinute, Burst: hc.Burst, PairingLifetime: hc.PairingCodeLifetime.Std(),
		MaxClients: hc.MaxClients, GatewayID: a.cfg.Gateway.ID, Version: version.Version, Started: a.now(),
		Now: a.now, Log: a.log.With("service", "han"),
	}
	o.SEP2 = a.hanSEP2() // the IEEE 2030.5 subset, mounted at /sep2/
	if a.opts.HANListener != nil {
		// The demo: loopback, plain HTTP, no pairing.
		o.Listener, o.Plain, o.Demo = a.opts.HANListener, true, true
		a.opts.HANListener = nil // the service owns it now
	} else {
		b := &web.Binding{Interface: hc.Interface, Port: hc.HANPort(),
			WANInterfaces: []string{a.cfg.WAN.Link.Ethernet, a.cfg.WAN.Link.LTE}}
		for _, s := range hc.Addresses {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("%w: han.addresses: %w", ErrRefused, err)
			}
			b.Addresses = append(b.Addresses, ip)
		}
		addrs, err := b.Resolve()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
		o.Binding = b
		if hc.TLS {
			hosts := hostNames()
			for _, ad := range addrs {
				if h, _, err := net.SplitHostPort(ad); err == nil {
					h, _, _ = strings.Cut(h, "%") // no zone in a certificate
					hosts = append(hosts, h)
				}
			}
			cert, err := web.GatewayCertificate(ctx, a.keys, web.CertOptions{
				Installed:  filepath.Join(a.cfg.Gateway.DataDir, keys.IdentityCertFile),
				SelfSigned: filepath.Join(a.cfg.Gateway.DataDir, web.SelfSignedFile),
				CommonName: a.cfg.Gateway.ID, Hosts: hosts, Now: a.now,
			})
			if err != nil {
				return fmt.Errorf("%w: the HAN certificate: %w", ErrRefused, err)
			}
			o.TLS = web.ServerTLSConfig(cert)
			a.han.fp, a.han.tls = web.Fingerprint(cert.Certificate[0]), true
		} else {
			o.Plain = true
			a.log.Warn("the HAN service serves plain HTTP (han.tls = false): only for a closed network")
		}
		a.han.port = b.Port
	}
	svc, err := web.New(a.st, o)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	a.han.svc = svc
	return nil
}

// hanSEP2 returns the IEEE 2030.5 handler to mount at /sep2/.
//
// HOOK(sep2): internal/han/sep2 (helper S) provides NewHandler(src, opts)
// over a Source built from the store and the tariff model; return it here
// once that package exists. Until then nothing is mounted.
func (a *App) hanSEP2() http.Handler { return a.sep2Handler() } // hanextra.go

// runHAN runs the HAN service, if there is one, until ctx ends.
func (a *App) runHAN(ctx context.Context) error {
	if a.han.svc == nil {
		<-ctx.Done()
		return nil
	}
	return a.han.svc.Run(ctx)
}

// closeHAN releases the HAN service's listeners.
func (a *App) closeHAN() error {
	if a.opts.HANListener != nil {
		a.opts.HANListener.Close() // New failed before the service took it
	}
	if a.han.svc == nil {
		return nil
	}
	return a.han.svc.Close()
}

// HANAddrs returns the HAN service's listening addresses; none when it is off.
func (a *App) HANAddrs() []string {
	if a.han.svc == nil {
		return nil
	}
	return a.han.svc.Addrs()
}

func (a *App) hanService() (*web.Service, error) {
	if a.han.svc == nil {
		return nil, fmt.Errorf("%w: the HAN display service is off ([han] enabled = false)", ctl.ErrNotFound)
	}
	return a.han.svc, nil
}

// HANPair implements ctl.HANBackend: a one-time pairing code.
func (a *App) HANPair(ctx context.Context, meters []string) (ctl.HANPairing, error) {
	svc, err := a.hanService()
	if err != nil {
		return ctl.HANPairing{}, err
	}
	ids := make([]meter.MeterID, len(meters))
	for i, m := range meters {
		ids[i] = meter.MeterID(m)
		if err := ids[i].Validate(); err != nil {
			return ctl.HANPairing{}, fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
		}
	}
	pc, err := svc.NewPairingCode(ids)
	if err != nil {
		return ctl.HANPairing{}, fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	p := ctl.HANPairing{Code: pc.Code, Expires: pc.Expires, CertSHA256: a.han.fp}
	for _, m := range pc.Meters {
		p.Meters = append(p.Meters, string(m))
	}
	scheme := "http"
	if a.han.tls {
		scheme = "https"
	}
	for _, ad := range svc.Addrs() {
		p.URLs = append(p.URLs, scheme+"://"+ad+"/")
	}
	a.log.Info("HAN pairing code issued", "expires", pc.Expires, "meters", len(pc.Meters))
	return p, nil
}

func toCtlClient(c web.Client) ctl.HANClient {
	hc := ctl.HANClient{ID: c.ID, Name: c.Name, Paired: c.Paired, LastUse: c.LastUse, CertSHA256: c.CertSHA256, Revoked: c.Revoked}
	for _, m := range c.Meters {
		hc.Meters = append(hc.Meters, string(m))
	}
	return hc
}

// HANClients implements ctl.HANBackend.
func (a *App) HANClients(ctx context.Context) ([]ctl.HANClient, error) {
	svc, err := a.hanService()
	if err != nil {
		return nil, err
	}
	var out []ctl.HANClient
	for _, c := range svc.Clients() {
		out = append(out, toCtlClient(c))
	}
	return out, nil
}

// HANRevoke implements ctl.HANBackend.
func (a *App) HANRevoke(ctx context.Context, id string) (ctl.HANClient, error) {
	svc, err := a.hanService()
	if err != nil {
		return ctl.HANClient{}, err
	}
	c, err := svc.Revoke(ctx, id)
	if errors.Is(err, web.ErrNoClient) {
		return ctl.HANClient{}, fmt.Errorf("%w: %w", ctl.ErrNotFound, err)
	}
	if err != nil {
		return ctl.HANClient{}, err
	}
	a.log.Info("HAN client revoked", "client", c.ID, "name", c.Name)
	return toCtlClient(c), nil
}

var _ ctl.HANBackend = (*App)(nil)
