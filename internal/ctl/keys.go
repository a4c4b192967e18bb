package ctl

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/smgw/smgw/internal/store"
)

// Key management over the control socket: the daemon holds the store's
// lock and (with swtpm, which serves one client) the TPM, so `smgw keys`
// asks it while it runs. These are the only POST endpoints; request bodies
// are JSON of at most maxKeysBody bytes. A secret's value travels only
// in a request body on the socket (which only root, the daemon's user and
// its group may use) and is never logged.
//
//	GET  /v1/keys                  KeysInfo
//	POST /v1/keys/rotate           {}                        → {"id": N}
//	POST /v1/keys/secret           {"name": N, "key": HEX}   → {}
//	POST /v1/keys/csr              {"subject": "CN=…"}       → {"csr": PEM}
//	POST /v1/keys/cert             {"pem": PEM}              → {"subject": S, "not_after": T}
//	GET  /v1/log/{name}/checkpoint                           → Checkpoint JSON, 404 if never signed

// KeysBackend is what a daemon that manages keys exposes besides Backend
// (internal/app implements it). A Backend without it answers the key
// endpoints with ErrNotFound.
type KeysBackend interface {
	// KeysInfo describes the keys.
	KeysInfo(ctx context.Context) (KeysInfo, error)
	// RotateKey makes a new data key current and starts re-sealing in the
	// background; it returns the new key's id.
	RotateKey(ctx context.Context) (uint32, error)
	// PutSecret stores a secondary key (store.KindSecret) under name.
	PutSecret(ctx context.Context, name string, key []byte) error
	// CSR returns a PEM certificate request for subject signed by the
	// gateway's signing key.
	CSR(ctx context.Context, subject string) ([]byte, error)
	// InstallCert checks a PEM chain against the signing key and installs
	// it; it returns the leaf's subject and expiry.
	InstallCert(ctx context.Context, pem []byte) (subject string, notAfter time.Time, err error)
	// Checkpoint returns an event log's last signed head; ok is false if
	// it was never signed.
	Checkpoint(ctx context.Context, name store.LogName) (c store.Checkpoint, ok bool, err error)
}

// KeysInfo describes the gateway's keys (never their values).
type KeysInfo struct {
	Provider  string   `json:"provider"`
	Secure    bool     `json:"secure"`
	Current   uint32   `json:"current"`    // the data key that seals
	DataKeys  []uint32 `json:"data_keys"`  // every data key held
	Reseal    string   `json:"reseal"`     // the re-seal pass's state, "" when none ran
	Secrets   []string `json:"secrets"`    // names of the secondary keys
	PublicKey string   `json:"public_key"` // the signing key, PEM
}

const maxKeysBody = 1 << 20

type wireCheckpoint struct {
	Log  string   `json:"log"`
	Seq  uint64   `json:"seq"`
	Hash string   `json:"hash"`
	Time wireTime `json:"time"`
	Sig  string   `json:"sig"`
}

func (s *Server) keyRoutes(mux *http.ServeMux) {
	s.hesRoutes(mux) // hes.go
	mux.HandleFunc("GET /v1/keys", s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
		info, err := kb.KeysInfo(r.Context())
		if err != nil {
			return err
		}
		return writeValue(w, info)
	}))
	mux.HandleFunc("POST /v1/keys/rotate", s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := readBody(r, &req); err != nil {
			return err
		}
		id, err := kb.RotateKey(r.Context())
		if err != nil {
			return err
		}
		return writeValue(w, map[string]uint32{"id": id})
	}))
	mux.HandleFunc("POST /v1/keys/secret", s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		key, err := hex.DecodeString(req.Key)
		if err != nil || len(key) == 0 {
			return badParam("key", errors.New("not a hex string"))
		}
		defer clear(key)
		if err := kb.PutSecret(r.Context(), req.Name, key); err != nil {
			return err
		}
		return writeValue(w, struct{}{})
	}))
	mux.HandleFunc("POST /v1/keys/csr", s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Subject string `json:"subject"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		csr, err := kb.CSR(r.Context(), req.Subject)
		if err != nil {
			return err
		}
		return writeValue(w, map[string]string{"csr": string(csr)})
	}))
	mux.HandleFunc("POST /v1/keys/cert", s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			PEM string `json:"pem"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		subj, na, err := kb.InstallCert(r.Context(), []byte(req.PEM))
		if err != nil {
			return err
		}
		return writeValue(w, map[string]string{"subject": subj, "not_after": string(fmtTime(na))})
	}))
	mux.HandleFunc("GET /v1/log/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		name, ok := s.logName(w, r)
		if !ok {
			return
		}
		s.withKeys(func(kb KeysBackend, w http.ResponseWriter, r *http.Request) error {
			c, ok, err := kb.Checkpoint(r.Context(), name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: log %s was never signed", ErrNotFound, name)
			}
			return writeValue(w, wireCheckpoint{Log: string(c.Log), Seq: c.Seq, Hash: hex.EncodeToString(c.Hash[:]),
				Time: fmtTime(c.Time), Sig: hex.EncodeToString(c.Sig)})
		})(w, r)
	})
}

// withKeys adapts a key handler: no KeysBackend is ErrNotFound; a returned
// error becomes the error answer.
func (s *Server) withKeys(h func(KeysBackend, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kb, ok := s.b.(KeysBackend)
		if !ok {
			s.writeError(w, r, fmt.Errorf("%w: this daemon does not manage keys", ErrNotFound), nil)
			return
		}
		if err := h(kb, w, r); err != nil {
			s.writeError(w, r, err, nil)
		}
	}
}

func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxKeysBody+1))
	if err != nil {
		return fmt.Errorf("%w: read the request: %v", ErrBadRequest, err)
	}
	if len(b) > maxKeysBody {
		return fmt.Errorf("%w: request body over %d bytes", ErrBadRequest, maxKeysBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w: %v", ErrBadRequest, ErrSyntax, err)
	}
	return nil
}

func writeValue(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	writeJSON(w, append(b, '\n'))
	return nil
}

// post sends a JSON request and decodes the JSON answer into dst.
func (c *Client) post(ctx context.Context, path string, body, dst any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("ctl: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://smgw"+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("ctl: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ctl: %s: %w", path, ctx.Err())
		}
		return fmt.Errorf("ctl: %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return fmt.Errorf("ctl: %s: read answer: %w", path, err)
	}
	if err := json.Unmarshal(rb, dst); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrProtocol, path, err)
	}
	return nil
}

// KeysInfo implements KeysBackend.
func (c *Client) KeysInfo(ctx context.Context) (KeysInfo, error) {
	var info KeysInfo
	err := c.getJSON(ctx, "/v1/keys", nil, &info)
	return info, err
}

// RotateKey implements KeysBackend.
func (c *Client) RotateKey(ctx context.Context) (uint32, error) {
	var rsp struct {
		ID uint32 `json:"id"`
	}
	err := c.post(ctx, "/v1/keys/rotate", struct{}{}, &rsp)
	return rsp.ID, err
}

// PutSecret implements KeysBackend.
func (c *Client) PutSecret(ctx context.Context, name string, key []byte) error {
	var rsp struct{}
	return c.post(ctx, "/v1/keys/secret", map[string]string{"name": name, "key": hex.EncodeToString(key)}, &rsp)
}

// CSR implements KeysBackend.
func (c *Client) CSR(ctx context.Context, subject string) ([]byte, error) {
	var rsp struct {
		CSR string `json:"csr"`
	}
	err := c.post(ctx, "/v1/keys/csr", map[string]string{"subject": subject}, &rsp)
	return []byte(rsp.CSR), err
}

// InstallCert implements KeysBackend.
func (c *Client) InstallCert(ctx context.Context, pem []byte) (string, time.Time, error) {
	var rsp struct {
		Subject  string   `json:"subject"`
		NotAfter wireTime `json:"not_after"`
	}
	if err := c.post(ctx, "/v1/keys/cert", map[string]string{"pem": string(pem)}, &rsp); err != nil {
		return "", time.Time{}, err
	}
	na, err := rsp.NotAfter.time("not_after")
	return rsp.Subject, na, err
}

// Checkpoint implements KeysBackend.
func (c *Client) Checkpoint(ctx context.Context, name store.LogName) (store.Checkpoint, bool, error) {
	var w wireCheckpoint
	err := c.getJSON(ctx, "/v1/log/"+url.PathEscape(string(name))+"/checkpoint", nil, &w)
	if errors.Is(err, ErrNotFound) {
		return store.Checkpoint{}, false, nil
	}
	if err != nil {
		return store.Checkpoint{}, false, err
	}
	cp := store.Checkpoint{Log: store.LogName(w.Log), Seq: w.Seq}
	h, err := hex.DecodeString(w.Hash)
	if err != nil || len(h) != 32 {
		return cp, false, fmt.Errorf("%w: checkpoint hash %q", ErrProtocol, w.Hash)
	}
	copy(cp.Hash[:], h)
	if cp.Sig, err = hex.DecodeString(w.Sig); err != nil {
		return cp, false, fmt.Errorf("%w: checkpoint signature", ErrProtocol)
	}
	if cp.Time, err = w.Time.time("time"); err != nil {
		return cp, false, err
	}
	return cp, true, nil
}

var _ KeysBackend = (*Client)(nil)
