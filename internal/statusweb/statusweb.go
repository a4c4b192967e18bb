// Package statusweb is the gateway's local status page, served by the
// daemon on 127.0.0.1:8080 (status.listen) and by `smgw demo` on
// 127.0.0.1:8081, the demo's 8080 being the in-home display page
// (internal/han/web): one self-contained HTML page
// (no external assets, works offline) with the gateway's state, its
// services and store, each meter's latest values and a chart of the last
// 24 hours of consumption, kept live by a small script polling the JSON API
// beside it:
//
//	GET /                     the page
//	GET /api/status           ctl.Status as JSON (the form of ctl's /v1/status)
//	GET /api/meters           the meters and their series (ctl.MarshalMeters)
//	GET /api/readings?meter=&obis=&from=&to=&limit=
//	                          a JSON array of readings (ctl.EncodeReadingJSON);
//	                          limit defaults to 10,000 and may be at most 100,000;
//	                          the trailer Smgw-Truncated: true says more matched
//	GET /static/…             the page's stylesheet, script and icon
//
// Values are shown exactly as stored (meter.Value.String); floats appear
// only as chart coordinates. Only GET and HEAD are served; every answer
// carries a strict Content-Security-Policy (same origin only, no inline
// script or style, no framing), and requests naming a host other than an
// IP address, localhost or one of Options.Hosts are refused, so another
// web site cannot read the page through DNS rebinding.
package statusweb

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
)

// Options configure the handler. nil or the zero value is usable.
type Options struct {
	// Log receives the handler's log lines; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Location is the time zone times are shown in; nil is time.Local.
	Location *time.Location
	// Hosts are host names (without port) the page may be requested by,
	// besides IP addresses and localhost, e.g. "smgw.local".
	Hosts []string
}

// Limits of /api/readings.
const (
	DefaultLimit = 10_000
	MaxLimit     = 100_000
)

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/index.html.tmpl"))

// static are the files under /static/, with their types.
var static = map[string]string{
	"style.css": "text/css; charset=utf-8",
	"app.js":    "text/javascript; charset=utf-8",
	"icon.svg":  "image/svg+xml",
}

// csp allows nothing but this origin: no inline script or style, no
// framing, no forms.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type handler struct {
	b     ctl.Backend
	log   *slog.Logger
	now   func() time.Time
	loc   *time.Location
	hosts []string
	mux   *http.ServeMux
}

// New returns the status page's handler over b.
func New(b ctl.Backend, opts *Options) http.Handler {
	if opts == nil {
		opts = &Options{}
	}
	h := &handler{b: b, log: opts.Log, now: opts.Now, loc: opts.Location, hosts: opts.Hosts}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.loc == nil {
		h.loc = time.Local
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /api/status", h.apiStatus)
	h.mux.HandleFunc("GET /api/meters", h.apiMeters)
	h.mux.HandleFunc("GET /api/readings", h.apiReadings)
	h.mux.HandleFunc("GET /static/{file}", h.static)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.error(w, r, http.StatusNotFound, "statusweb: no such page: "+r.URL.Path)
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		h.error(w, r, http.StatusMethodNotAllowed, "statusweb: method "+r.Method+" not allowed")
		return
	}
	if !h.hostAllowed(r.Host) {
		h.log.Warn("statusweb: refused a request for a foreign host name", "host", r.Host, "remote", r.RemoteAddr)
		h.error(w, r, http.StatusMisdirectedRequest, "statusweb: host "+strconv.Quote(r.Host)+" not served")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// hostAllowed reports whether a request's Host may be served: IP
// literals, localhost and the configured names.
func (h *handler) hostAllowed(host string) bool {
	if host == "" {
		return true // HTTP/1.0, or a test calling the handler directly
	}
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
	if net.ParseIP(name) != nil || strings.EqualFold(name, "localhost") || strings.HasSuffix(strings.ToLower(name), ".localhost") {
		return true
	}
	return slices.ContainsFunc(h.hosts, func(s string) bool { return strings.EqualFold(s, name) })
}

// error answers with JSON {"error": msg} for the API, plain text otherwise.
func (h *handler) error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{msg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(b, '\n'))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// backendError answers for a failed backend call.
func (h *handler) backendError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ctl.ErrBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, ctl.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 && r.Context().Err() == nil {
		h.log.Warn("statusweb: request failed", "path", r.URL.Path, "err", err)
	}
	h.error(w, r, status, err.Error())
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (h *handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.b.Status(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	b, err := json.Marshal(st)
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	writeJSON(w, append(b, '\n'))
}

func (h *handler) apiMeters(w http.ResponseWriter, r *http.Request) {
	ms, err := h.b.Meters(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	b, err := ctl.MarshalMeters(ms)
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	writeJSON(w, append(b, '\n'))
}

func (h *handler) apiReadings(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := ctl.ParseQuery(v)
	if err != nil {
		h.error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	limit := DefaultLimit
	if v.Has("limit") {
		if q.Limit < 1 || q.Limit > MaxLimit {
			h.error(w, r, http.StatusBadRequest, fmt.Sprintf("statusweb: parameter limit: must be 1…%d", MaxLimit))
			return
		}
		limit = q.Limit
	}
	q.Limit = limit + 1 // one more, to tell a truncated answer
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		return
	}

	var bw *bufio.Writer
	var tw *trackWriter
	n := 0
	truncated := false
	var line []byte
	err = h.b.Query(r.Context(), q, func(rd meter.Reading) error {
		if n == limit {
			truncated = true
			return errStop
		}
		if bw == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Trailer", "Smgw-Truncated")
			tw = &trackWriter{w: w}
			bw = bufio.NewWriterSize(tw, 32<<10)
			bw.WriteString("[\n")
		} else {
			bw.WriteString(",\n")
		}
		n++
		line = ctl.EncodeReadingJSON(line[:0], rd)
		_, err := bw.Write(line)
		return err
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		if bw == nil || !tw.wrote {
			// Nothing has gone out yet: a proper error answer.
			w.Header().Del("Trailer")
			h.backendError(w, r, err)
			return
		}
		// The status line is gone: break the answer off rather than end a
		// short array that would look complete.
		if r.Context().Err() == nil {
			h.log.Warn("statusweb: readings failed mid-answer", "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	if bw == nil {
		writeJSON(w, []byte("[]\n"))
		return
	}
	bw.WriteString("\n]\n")
	bw.Flush()
	if truncated {
		w.Header().Set("Smgw-Truncated", "true")
	}
}

var errStop = errors.New("statusweb: limit reached")

// trackWriter notes whether anything was written through it.
type trackWriter struct {
	w     io.Writer
	wrote bool
}

func (t *trackWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.w.Write(p)
}

func (h *handler) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct, ok := static[name]
	if !ok {
		h.error(w, r, http.StatusNotFound, "statusweb: no such file: "+name)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		h.error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	data := h.pageData(r.Context())
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		h.log.Error("statusweb: render page", "err", err)
		h.error(w, r, http.StatusInternalServerError, "statusweb: cannot render the page")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}
