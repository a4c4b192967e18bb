package ctl

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The Zigbee Smart Energy ESI over the control socket
// (docs/zigbee-esi.md):
//
//	POST /v1/zigbee/permit                {"eui64", "install_code", "seconds"} → {}
//	GET  /v1/zigbee/devices                                                     → ZigbeeNetwork
//	POST /v1/zigbee/devices/{eui64}/remove {}                                    → {}

// ZigbeeNetwork describes the Zigbee network and its joined devices.
type ZigbeeNetwork struct {
	Driver        string         `json:"driver"`
	Firmware      string         `json:"firmware,omitempty"`
	State         string         `json:"state"`
	IEEE          string         `json:"ieee,omitempty"` // the coordinator's EUI-64
	Channel       int            `json:"channel,omitempty"`
	PANID         string         `json:"pan_id,omitempty"`          // "0x1A62"
	ExtendedPANID string         `json:"extended_pan_id,omitempty"` // 16 hex digits
	Devices       []ZigbeeDevice `json:"devices"`
}

// ZigbeeDevice is a joined device.
type ZigbeeDevice struct {
	EUI64    string    `json:"eui64"` // 16 hex digits
	NWK      string    `json:"nwk"`   // "0x4C21"
	Joined   time.Time `json:"joined"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	LQI      int       `json:"lqi,omitempty"`
	Endpoint int       `json:"endpoint,omitempty"`
}

// ZigbeeBackend is implemented by a daemon that runs the Zigbee ESI; the
// server answers /v1/zigbee/… with it, 404 (ErrNotFound) otherwise.
// Malformed EUI-64s and install codes are ErrBadRequest.
type ZigbeeBackend interface {
	ZigbeePermit(ctx context.Context, eui64, installCode string, d time.Duration) error
	ZigbeeDevices(ctx context.Context) (ZigbeeNetwork, error)
	ZigbeeRemove(ctx context.Context, eui64 string) error
}

func (s *Server) zigbeeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/zigbee/permit", s.withZigbee(func(zb ZigbeeBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct {
			EUI64       string `json:"eui64"`
			InstallCode string `json:"install_code"`
			Seconds     int    `json:"seconds"`
		}
		if err := readBody(r, &req); err != nil {
			return err
		}
		if req.Seconds <= 0 || req.Seconds > 3600 {
			return fmt.Errorf("%w: seconds %d: must be 1…3600", ErrBadRequest, req.Seconds)
		}
		if err := zb.ZigbeePermit(r.Context(), req.EUI64, req.InstallCode, time.Duration(req.Seconds)*time.Second); err != nil {
			return err
		}
		return writeValue(w, struct{}{})
	}))
	mux.HandleFunc("GET /v1/zigbee/devices", s.withZigbee(func(zb ZigbeeBackend, w http.ResponseWriter, r *http.Request) error {
		n, err := zb.ZigbeeDevices(r.Context())
		if err != nil {
			return err
		}
		if n.Devices == nil {
			n.Devices = []ZigbeeDevice{}
		}
		return writeValue(w, n)
	}))
	mux.HandleFunc("POST /v1/zigbee/devices/{eui64}/remove", s.withZigbee(func(zb ZigbeeBackend, w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := readBody(r, &req); err != nil {
			return err
		}
		if err := zb.ZigbeeRemove(r.Context(), r.PathValue("eui64")); err != nil {
			return err
		}
		return writeValue(w, struct{}{})
	}))
}

// withZigbee adapts a Zigbee handler: no ZigbeeBackend is ErrNotFound.
func (s *Server) withZigbee(h func(ZigbeeBackend, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		zb, ok := s.b.(ZigbeeBackend)
		if !ok {
			s.writeError(w, r, fmt.Errorf("%w: this daemon has no Zigbee service", ErrNotFound), nil)
			return
		}
		if err := h(zb, w, r); err != nil {
			s.writeError(w, r, err, nil)
		}
	}
}

// ZigbeePermit implements ZigbeeBackend over the socket.
func (c *Client) ZigbeePermit(ctx context.Context, eui64, installCode string, d time.Duration) error {
	req := map[string]any{"eui64": eui64, "install_code": installCode, "seconds": int((d + time.Second - 1) / time.Second)}
	return c.post(ctx, "/v1/zigbee/permit", req, &struct{}{})
}

// ZigbeeDevices implements ZigbeeBackend over the socket.
func (c *Client) ZigbeeDevices(ctx context.Context) (ZigbeeNetwork, error) {
	var n ZigbeeNetwork
	err := c.getJSON(ctx, "/v1/zigbee/devices", nil, &n)
	return n, err
}

// ZigbeeRemove implements ZigbeeBackend over the socket.
func (c *Client) ZigbeeRemove(ctx context.Context, eui64 string) error {
	return c.post(ctx, "/v1/zigbee/devices/"+url.PathEscape(eui64)+"/remove", struct{}{}, &struct{}{})
}

var _ ZigbeeBackend = (*Client)(nil)
