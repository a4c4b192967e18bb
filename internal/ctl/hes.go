package ctl

import (
	"context"
	"fmt"
	"net/http"
)

// HES command keys over the control socket (docs/commands.md, "Keys and
// roles"): the public keys the daemon verifies HES commands with, from
// [[wan.commands.key]] and imported into the key store. The running
// command path takes an import or a removal up with the next command.
//
//	GET  /v1/keys/hes                                              → [HESKey]
//	POST /v1/keys/hes/import  {"id": I, "role": R, "pem": PEM}     → HESKey
//	POST /v1/keys/hes/remove  {"id": I}                            → {}

// HESKey describes a HES command-verification key (never more than its
// public part).
type HESKey struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	// Source is "config" ([[wan.commands.key]]) or "store" (imported).
	Source string `json:"source"`
	// Fingerprint is the first 8 bytes of the SHA-256 of the key's
	// SubjectPublicKeyInfo, hex.
	Fingerprint string `json:"fingerprint"`
	// Shadowed: an imported key whose id is also configured; the
	// configured key is used.
	Shadowed bool `json:"shadowed,omitempty"`
	// Error: the key cannot be used (an unreadable file or record).
	Error string `json:"error,omitempty"`
}

// HESKeysBackend is what a daemon that verifies HES commands exposes
// besides KeysBackend (internal/app implements it).
type HESKeysBackend interface {
	// HESKeys lists the configured and the imported keys.
	HESKeys(ctx context.Context) ([]HESKey, error)
	// ImportHESKey stores a PEM public key or certificate as key id with
	// role, replacing an imported key of that id.
	ImportHESKey(ctx context.Context, id, role string, pem []byte) (HESKey, error)
	// RemoveHESKey removes an imported key (ErrNotFound if there is none).
	RemoveHESKey(ctx context.Context, id string) error
}

func (s *Server) hesRoutes(mux *http.ServeMux) {
	with := func(h func(HESKeysBackend, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
		return s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
			hb, ok := kb.(HESKeysBackend)
			if !ok {
				return errNoHES
			}
			return h(hb, w, r)
		})
	}
	mux.HandleFunc("GET /v1/keys/hes", with(func(hb HESKeysBackend, w http.ResponseWriter, r *http.Request) error {
		ks, err := hb.HESKeys(r.Context())
		if err != nil {
			return err
		}
		if ks == nil {
			ks = []HESKey{}
		}
		return writeValue(w, ks)
	}))
	mux.HandleFunc("POST /v1/keys/hes/import", with(func(hb HESKeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			ID   string `json:"id"`
			Role string `json:"role"`
			PEM  string `json:"pem"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		k, err := hb.ImportHESKey(r.Context(), req.ID, req.Role, []byte(req.PEM))
		if err != nil {
			return err
		}
		return writeValue(w, k)
	}))
	mux.HandleFunc("POST /v1/keys/hes/remove", with(func(hb HESKeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			ID string `json:"id"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		if err := hb.RemoveHESKey(r.Context(), req.ID); err != nil {
			return err
		}
		return writeValue(w, struct{}{})
	}))
}

var errNoHES = fmt.Errorf("%w: this daemon does not verify HES commands", ErrNotFound)

// HESKeys implements HESKeysBackend.
func (c *Client) HESKeys(ctx context.Context) ([]HESKey, error) {
	var ks []HESKey
	err := c.getJSON(ctx, "/v1/keys/hes", nil, &ks)
	return ks, err
}

// ImportHESKey implements HESKeysBackend.
func (c *Client) ImportHESKey(ctx context.Context, id, role string, pem []byte) (HESKey, error) {
	var k HESKey
	err := c.post(ctx, "/v1/keys/hes/import", map[string]string{"id": id, "role": role, "pem": string(pem)}, &k)
	return k, err
}

// RemoveHESKey implements HESKeysBackend.
func (c *Client) RemoveHESKey(ctx context.Context, id string) error {
	var rsp struct{}
	return c.post(ctx, "/v1/keys/hes/remove", map[string]string{"id": id}, &rsp)
}

var _ HESKeysBackend = (*Client)(nil)
