package ctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/ctl/ctltest"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// keysBackend is a ctltest.Backend that also manages keys, in memory.
type keysBackend struct {
	ctltest.Backend
	current uint32
	secrets map[string][]byte
	cp      store.Checkpoint
}

func (k *keysBackend) KeysInfo(context.Context) (ctl.KeysInfo, error) {
	var names []string
	for n := range k.secrets {
		names = append(names, n)
	}
	return ctl.KeysInfo{Provider: "test", Secure: true, Current: k.current, DataKeys: []uint32{k.current}, Secrets: names}, nil
}
func (k *keysBackend) RotateKey(context.Context) (uint32, error) { k.current++; return k.current, nil }
func (k *keysBackend) PutSecret(_ context.Context, name string, key []byte) error {
	if name == "bad" {
		return ctl.ErrBadRequest
	}
	k.secrets[name] = bytes.Clone(key)
	return nil
}
func (k *keysBackend) CSR(_ context.Context, subject string) ([]byte, error) {
	return []byte("CSR for " + subject), nil
}
func (k *keysBackend) InstallCert(_ context.Context, pem []byte) (string, time.Time, error) {
	if string(pem) == "other" {
		return "", time.Time{}, fmt.Errorf("%w: for another key", keys.ErrCertificate)
	}
	return "CN=" + string(pem), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil
}
func (k *keysBackend) Checkpoint(_ context.Context, name store.LogName) (store.Checkpoint, bool, error) {
	if name != store.LogSystem {
		return store.Checkpoint{}, false, nil
	}
	return k.cp, true, nil
}

func TestKeysEndpoints(t *testing.T) {
	b := &keysBackend{current: 1, secrets: map[string][]byte{},
		cp: store.Checkpoint{Log: store.LogSystem, Seq: 7, Hash: [32]byte{1, 2}, Time: time.Unix(100, 0).UTC(), Sig: []byte{0x30, 1}}}
	f := serve(t, b)
	ctx := context.Background()
	if id, err := f.client.RotateKey(ctx); err != nil || id != 2 {
		t.Fatalf("RotateKey = %d, %v", id, err)
	}
	if err := f.client.PutSecret(ctx, "wmbus/1", []byte{0xAA, 0xBB}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.secrets["wmbus/1"], []byte{0xAA, 0xBB}) {
		t.Errorf("secret arrived as %x", b.secrets["wmbus/1"])
	}
	if err := f.client.PutSecret(ctx, "bad", []byte{1}); !errors.Is(err, ctl.ErrBadRequest) {
		t.Errorf("bad secret: %v, want ErrBadRequest", err)
	}
	info, err := f.client.KeysInfo(ctx)
	if err != nil || info.Current != 2 || len(info.Secrets) != 1 {
		t.Fatalf("KeysInfo = %+v, %v", info, err)
	}
	if csr, err := f.client.CSR(ctx, "CN=x"); err != nil || string(csr) != "CSR for CN=x" {
		t.Errorf("CSR = %q, %v", csr, err)
	}
	if subj, na, err := f.client.InstallCert(ctx, []byte("gw")); err != nil || subj != "CN=gw" || na.Year() != 2030 {
		t.Errorf("InstallCert = %q %v %v", subj, na, err)
	}
	if _, _, err := f.client.InstallCert(ctx, []byte("other")); !errors.Is(err, keys.ErrCertificate) {
		t.Errorf("InstallCert of another key's certificate: %v, want keys.ErrCertificate", err)
	}
	cp, ok, err := f.client.Checkpoint(ctx, store.LogSystem)
	if err != nil || !ok || cp.Seq != 7 || cp.Hash != b.cp.Hash || !cp.Time.Equal(b.cp.Time) || !bytes.Equal(cp.Sig, b.cp.Sig) {
		t.Errorf("Checkpoint = %+v %v %v", cp, ok, err)
	}
	if _, ok, err := f.client.Checkpoint(ctx, store.LogConsumer); ok || err != nil {
		t.Errorf("unsigned log: %v %v", ok, err)
	}
}

// A daemon whose backend does not manage keys answers "not found", and
// POST stays refused elsewhere.
func TestKeysWithoutKeysBackend(t *testing.T) {
	f := serve(t, &ctltest.Backend{})
	if _, err := f.client.RotateKey(context.Background()); !errors.Is(err, ctl.ErrNotFound) {
		t.Errorf("RotateKey: %v, want ErrNotFound", err)
	}
	if code, _, _ := rawGet(t, f.path, "POST", "/v1/status"); code != 405 {
		t.Errorf("POST /v1/status: %d, want 405", code)
	}
}
