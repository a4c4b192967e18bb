package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/keys"
)

// demoMQTT sets up the demo's uplink: readings are always queued on the
// outbox channel "mqtt" (so `smgw status` shows the queue grow without a
// broker), and with url they are published there. For mqtts:// the demo
// presents a self-signed certificate for its development signing key,
// made once in the data directory (identity.crt), and verifies the broker
// against caFile (or the system's roots).
func (c *cli) demoMQTT(ctx context.Context, cfg *config.Config, url, caFile string) error {
	m := &cfg.WAN.MQTT
	cfg.Store.OutboxChannels = append(cfg.Store.OutboxChannels, m.Channel)
	if url == "" {
		fmt.Fprintf(c.stderr, "smgw demo: no --mqtt broker: readings queue in the outbox channel %q (see smgw status)\n", m.Channel)
		return nil
	}
	m.URL = url
	m.MaxDelay = config.Duration(time.Second)
	if caFile != "" {
		abs, err := filepath.Abs(caFile)
		if err != nil {
			return err
		}
		m.CAFile = abs
	}
	if !strings.HasPrefix(url, "mqtts:") {
		return nil
	}
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o700); err != nil {
		return err
	}
	certFile := filepath.Join(cfg.Gateway.DataDir, keys.IdentityCertFile)
	if _, err := os.Stat(certFile); err == nil {
		fmt.Fprintf(c.stderr, "smgw demo: TLS client certificate %s\n", certFile)
		return nil
	}
	signer, err := keys.NewDev(cfg.Security.DevKeyFile, nil).Signer(ctx)
	if err != nil {
		return fmt.Errorf("the demo's signing key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cfg.Gateway.ID, Organization: []string{"smgw demo (self-signed)"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return fmt.Errorf("the demo's client certificate: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "smgw demo: made a self-signed TLS client certificate for the demo's signing key: %s\n"+
		"  (let the broker trust it, e.g. mosquitto's cafile, or have it signed: smgw keys csr)\n", certFile)
	return nil
}
