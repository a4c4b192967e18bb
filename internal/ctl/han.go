package ctl

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The HAN display service over the control socket (docs/han.md):
//
//	POST /v1/han/pair                {"meters": [ID…]}  → HANPairing
//	GET  /v1/han/clients                                → {"clients": [HANClient…]}
//	POST /v1/han/clients/{id}/revoke {}                 → HANClient

// HANPairing is a one-time pairing code for a display.
type HANPairing struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
	Meters  []string  `json:"meters,omitempty"` // what it binds to; none: every meter
	// CertSHA256 is the SHA-256 of the HAN service's TLS certificate, for
	// displays that pin it; "" when the service serves plain HTTP.
	CertSHA256 string `json:"cert_sha256,omitempty"`
	// URLs are where the displays reach the service.
	URLs []string `json:"urls,omitempty"`
}

// HANClient is a paired display.
type HANClient struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Paired     time.Time  `json:"paired"`
	LastUse    time.Time  `json:"last_use,omitzero"`
	Meters     []string   `json:"meters,omitempty"`
	CertSHA256 string     `json:"cert_sha256,omitempty"`
	Revoked    *time.Time `json:"revoked,omitempty"`
}

// HANBackend is implemented by a daemon that runs the HAN display
// service; the server answers /v1/han/… with it, and 404 (ErrNotFound)
// when the backend does not implement it or the service is off.
type HANBackend interface {
	HANPair(ctx context.Context, meters []string) (HANPairing, error)
	HANClients(ctx context.Context) ([]HANClient, error)
	HANRevoke(ctx context.Context, id string) (HANClient, error)
}

func (s *Server) hanRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/han/pair", s.withHAN(func(hb HANBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Meters []string `json:"meters"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		p, err := hb.HANPair(r.Context(), req.Meters)
		if err != nil {
			return err
		}
		return writeValue(w, p)
	}))
	mux.HandleFunc("GET /v1/han/clients", s.withHAN(func(hb HANBackend, w http.ResponseWriter, r *http.Request) error {
		cs, err := hb.HANClients(r.Context())
		if err != nil {
			return err
		}
		if cs == nil {
			cs = []HANClient{}
		}
		return writeValue(w, map[string][]HANClient{"clients": cs})
	}))
	mux.HandleFunc("POST /v1/han/clients/{id}/revoke", s.withHAN(func(hb HANBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := readBody(r, &req); err != nil {
			return err
		}
		c, err := hb.HANRevoke(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeValue(w, c)
	}))
}

// withHAN adapts a HAN handler: no HANBackend is ErrNotFound.
func (s *Server) withHAN(h func(HANBackend, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hb, ok := s.b.(HANBackend)
		if !ok {
			s.writeError(w, r, fmt.Errorf("%w: this daemon has no HAN display service", ErrNotFound), nil)
			return
		}
		if err := h(hb, w, r); err != nil {
			s.writeError(w, r, err, nil)
		}
	}
}

// HANPair implements HANBackend over the socket.
func (c *Client) HANPair(ctx context.Context, meters []string) (HANPairing, error) {
	var p HANPairing
	err := c.post(ctx, "/v1/han/pair", map[string][]string{"meters": meters}, &p)
	return p, err
}

// HANClients implements HANBackend over the socket.
func (c *Client) HANClients(ctx context.Context) ([]HANClient, error) {
	var rsp struct {
		Clients []HANClient `json:"clients"`
	}
	err := c.getJSON(ctx, "/v1/han/clients", nil, &rsp)
	return rsp.Clients, err
}

// HANRevoke implements HANBackend over the socket.
func (c *Client) HANRevoke(ctx context.Context, id string) (HANClient, error) {
	var hc HANClient
	err := c.post(ctx, "/v1/han/clients/"+url.PathEscape(id)+"/revoke", struct{}{}, &hc)
	return hc, err
}

var _ HANBackend = (*Client)(nil)
