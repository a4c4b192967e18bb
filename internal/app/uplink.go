package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/version"
	"github.com/smgw/smgw/internal/wan/mqtt"
	"github.com/smgw/smgw/internal/wan/payload"
)

// The MQTT uplink ([wan.mqtt], docs/mqtt.md): it drains the outbox
// channel wan.mqtt.channel, on which every reading is queued whenever a
// broker is configured (or the channel is listed in store.outbox_channels,
// so that readings queue up before a broker is configured).

// outboxChannels returns the store's outbox channels: the configured ones
// and, with a broker configured, the uplink's.
func outboxChannels(cfg *config.Config) []string {
	chs := slices.Clone(cfg.Store.OutboxChannels)
	if m := cfg.WAN.MQTT; m.URL != "" && !slices.Contains(chs, m.Channel) {
		chs = append(chs, m.Channel)
	}
	return chs
}

// initUplink creates the uplink when a broker is configured.
func (a *App) initUplink(ctx context.Context) error {
	m := a.cfg.WAN.MQTT
	if m.URL == "" {
		return nil
	}
	o := &mqtt.Options{
		URL: m.URL, GatewayID: a.cfg.Gateway.ID, TopicPrefix: m.TopicPrefix, Channel: m.Channel,
		BatchSize: m.BatchSize, MaxDelay: m.MaxDelay.Std(), KeepAlive: m.KeepAlive.Std(),
		SessionExpiry: m.SessionExpiry.Std(), Format: payload.Format(m.Format), QoS: byte(m.QoS),
		BackoffMin: m.BackoffMin.Std(), BackoffMax: m.BackoffMax.Std(), Version: version.Version,
		Now: a.now, Log: a.log.With("service", "mqtt"),
	}
	var err error
	if o.Signer, err = a.keys.Signer(ctx); err != nil {
		return fmt.Errorf("app: the gateway's signing key for the MQTT uplink: %w", err)
	}
	if a.cmds != nil {
		o.Commands = a.cmds.Handle
	}
	if a.link != nil {
		o.Link = a.link
		l := a.link
		o.LinkState = func() string { return string(l.Status().Active) }
	}
	o.StatusEvery = m.StatusEvery.Std()
	if o.TLS, err = uplinkTLS(ctx, a.cfg, a.keys); err != nil {
		return err
	}
	if a.uplink, err = mqtt.New(a.st, o); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// uplinkTLS is the TLS configuration for mqtts://: the broker verified
// against wan.mqtt.ca_file (or the system's roots), and the client
// certificate wan.mqtt.client_cert (default <data_dir>/identity.crt) for
// the gateway's signing key, when that file exists.
func uplinkTLS(ctx context.Context, cfg *config.Config, kp keys.Provider) (*tls.Config, error) {
	m := cfg.WAN.MQTT
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		b, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: wan.mqtt.ca_file: %w", ErrRefused, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%w: wan.mqtt.ca_file %s: no PEM certificate", ErrRefused, m.CAFile)
		}
	}
	certFile := m.ClientCert
	if certFile == "" {
		certFile = filepath.Join(cfg.Gateway.DataDir, keys.IdentityCertFile)
	}
	if _, err := os.Stat(certFile); errors.Is(err, fs.ErrNotExist) {
		if m.ClientCert != "" {
			return nil, fmt.Errorf("%w: wan.mqtt.client_cert: %w", ErrRefused, err)
		}
		return c, nil // no certificate installed: the broker decides
	}
	cert, err := keys.ClientCertificate(ctx, kp, certFile)
	if err != nil {
		return nil, fmt.Errorf("%w: the MQTT client certificate: %w", ErrRefused, err)
	}
	c.Certificates = []tls.Certificate{cert}
	return c, nil
}

// runUplink runs the uplink, if there is one, until ctx ends.
func (a *App) runUplink(ctx context.Context) error {
	if a.uplink == nil {
		<-ctx.Done()
		return nil
	}
	return a.uplink.Run(ctx)
}

// uplinkStatus reports the uplink, or with no broker configured the
// outbox channel readings queue on; nil when there is neither.
func (a *App) uplinkStatus() *ctl.UplinkStatus {
	if a.uplink != nil {
		s := a.uplink.Status()
		return &ctl.UplinkStatus{
			Broker: s.Broker, Channel: a.cfg.WAN.MQTT.Channel, Connected: s.Connected, LastPuback: s.LastPuback,
			Pending: s.Pending, Published: s.Published, Readings: s.Readings, BytesToday: s.BytesToday,
			LastError: s.LastError,
		}
	}
	ch := a.cfg.WAN.MQTT.Channel
	if !slices.Contains(a.cfg.Store.OutboxChannels, ch) {
		return nil
	}
	next, acked := a.st.OutboxState(ch)
	return &ctl.UplinkStatus{Channel: ch, Pending: next - 1 - acked}
}
