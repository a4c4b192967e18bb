package web

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// cookieName carries the token for the page (EventSource cannot send an
// Authorization header): HttpOnly, SameSite=Strict, Secure over TLS.
const cookieName = "smgw_han"

// csp allows nothing but this origin: no inline script or style, no
// framing, no forms.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type ctxKey struct{}

// principal is who a request is served for.
type principal struct {
	client Client
	demo   bool
}

// sees reports whether the principal may see meter id.
func (p *principal) sees(id meter.MeterID) bool {
	return len(p.client.Meters) == 0 || slices.Contains(p.client.Meters, id)
}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxKey{}).(*principal)
	return p
}

// public paths are served without a client: the page and its files (the
// pairing screen), and the pairing exchange.
func public(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/static/") || path == "/api/v1/pair"
}

// writable are the only requests that change anything.
func writable(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	return p == "/api/v1/pair" ||
		strings.HasPrefix(p, "/api/v1/messages/") && strings.HasSuffix(p, "/ack") ||
		strings.HasPrefix(p, "/api/v1/events/") && strings.HasSuffix(p, "/opt-out")
}

// ServeHTTP implements http.Handler: security headers, the read-only
// rule, client authentication and rate limits, then the routes.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.TLS != nil {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
	sep2 := strings.HasPrefix(r.URL.Path, "/sep2/")
	readOnly := func() bool {
		if !sep2 && r.Method != http.MethodGet && r.Method != http.MethodHead && !writable(r) {
			hd.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return false
		}
		return true
	}
	if s.opts.Demo && !hostIsLocal(r.Host) {
		// The demo has no pairing: refuse foreign host names so another
		// web site cannot read it through DNS rebinding.
		http.Error(w, "host not served", http.StatusMisdirectedRequest)
		return
	}
	if public(r.URL.Path) {
		if !readOnly() {
			return
		}
		if r.URL.Path == "/api/v1/pair" {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			if ok, wait := s.pairs.allow("pair " + host); !ok {
				tooMany(w, wait)
				return
			}
		}
		s.mux.ServeHTTP(w, r)
		return
	}
	p, cookie := s.authenticate(r)
	if p == nil {
		// Nothing else: no hint whether the path, meter or token exists.
		hd.Set("WWW-Authenticate", `Bearer realm="smgw-han"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !readOnly() {
		return
	}
	key := "client " + p.client.ID
	if p.demo {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		key = "demo " + host
	}
	if ok, wait := s.rate.allow(key); !ok {
		tooMany(w, wait)
		return
	}
	if cookie && r.Method == http.MethodPost && !sameOrigin(r) {
		// A cookie rides along with cross-site requests; the page's own
		// writes are same-origin JSON.
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
	if sep2 {
		if s.opts.SEP2 == nil {
			http.NotFound(w, r)
			return
		}
		http.StripPrefix("/sep2", s.opts.SEP2).ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authenticate finds the request's client: a bearer token, the page's
// cookie, or a TLS client certificate paired before. cookie reports that
// the cookie was what authenticated it.
func (s *Service) authenticate(r *http.Request) (p *principal, cookie bool) {
	if s.opts.Demo {
		return &principal{client: Client{ID: "demo", Name: "demo"}, demo: true}, false
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, false
		}
		if c, ok := s.cl.authToken(strings.TrimSpace(tok)); ok {
			return &principal{client: c}, false
		}
		return nil, false
	}
	if ck, err := r.Cookie(cookieName); err == nil {
		if c, ok := s.cl.authToken(ck.Value); ok {
			return &principal{client: c}, true
		}
		return nil, false
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// crypto/tls has checked the client's signature with the
		// certificate's key (CertificateVerify): it holds the key.
		if c, ok := s.cl.authCert(Fingerprint(r.TLS.PeerCertificates[0].Raw)); ok {
			return &principal{client: c}, false
		}
	}
	return nil, false
}

// sameOrigin reports whether a cookie-authenticated write comes from
// the page: a JSON body (which a cross-site form cannot send without a
// CORS preflight, which this server never grants) and, where the browser
// says, a same-origin fetch.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/json")
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := max(int((wait+time.Second-1)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, "too many requests", http.StatusTooManyRequests)
}

// hostIsLocal reports whether a Host header names a loopback or IP
// address or localhost (the demo's guard against DNS rebinding).
func hostIsLocal(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	return net.ParseIP(host) != nil
}

// Visible reports whether the client a request is served for may see
// meter id: for handlers mounted behind the service (Options.SEP2).
func Visible(r *http.Request, id meter.MeterID) bool {
	p := principalOf(r)
	return p != nil && p.sees(id)
}

// Device names the client a request is served for in the tariff model
// ("han:<client id>", as its confirmations and opt-outs are recorded);
// "" outside the service.
func Device(r *http.Request) string {
	p := principalOf(r)
	if p == nil {
		return ""
	}
	return device(p)
}
