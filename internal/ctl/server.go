package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// ServerOptions configure a Server. nil or the zero value is usable.
type ServerOptions struct {
	// Log receives the server's log lines; nil discards them.
	Log *slog.Logger
	// AllowGID is a group (normally "smgw") whose members may use the
	// socket besides root and the daemon's own user; 0 means none (the root
	// group is not granted this way). The peer's primary group and, on
	// Linux, its supplementary groups count.
	AllowGID uint32
	// ShutdownTimeout bounds how long Run waits, once its context is done,
	// for cancelled requests to finish; 0 means 5 s.
	ShutdownTimeout time.Duration
}

// Server serves Backend on a unix socket. Listen → Run → Close.
type Server struct {
	log     *slog.Logger
	b       Backend
	path    string
	ln      *credListener
	srv     *http.Server
	timeout time.Duration

	base       context.Context // parent of every request's context
	cancelBase context.CancelFunc
	handlers   sync.WaitGroup // running handlers

	mu      sync.Mutex
	closed  bool
	running bool
	wg      sync.WaitGroup // Run
	done    chan struct{}  // closed by Close
	once    sync.Once
	err     error // of the listener's Close
}

// Listen creates the socket at path and returns a server for b. The
// parent directory is created (0750) if missing. An existing socket file is
// removed only when nothing answers on it; if a process does, Listen fails
// with ErrDaemonRunning. The socket is mode 0660. Listen starts no
// goroutines; Run serves.
func Listen(path string, b Backend, opts *ServerOptions) (*Server, error) {
	if opts == nil {
		opts = &ServerOptions{}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("ctl: create socket directory: %w", err)
		}
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ctl: listen on %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o660); err != nil {
		ul.Close()
		return nil, fmt.Errorf("ctl: chmod socket: %w", err)
	}
	s := &Server{
		log:     log.With("socket", path),
		b:       b,
		path:    path,
		timeout: opts.ShutdownTimeout,
		done:    make(chan struct{}),
	}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	self := uint32(os.Geteuid())
	allowGID := opts.AllowGID
	s.ln = &credListener{
		UnixListener: ul,
		log:          s.log,
		allow:        func(p peerCred) bool { return allowed(p, self, allowGID) },
		needGroups:   allowGID != 0,
	}
	if !peerCredSupported {
		s.log.Warn("ctl: peer credentials are not available on this system; access is guarded by the socket file's mode only")
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// removeStale removes a socket file nothing answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ctl: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("ctl: %s exists and is not a socket; not removing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w on %s", ErrDaemonRunning, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("ctl: probe existing socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ctl: remove stale socket: %w", err)
	}
	return nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Run serves until ctx is done (or Close is called) and returns nil then.
// Requests in flight are cancelled: their contexts end, so a streaming
// query stops.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.running {
		s.mu.Unlock()
		return errors.New("ctl: Run called twice")
	}
	s.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	s.log.Info("ctl: serving")
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case <-s.done:
	case serveErr = <-errc:
	}
	s.cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	if err := s.srv.Shutdown(sctx); err != nil {
		s.log.Warn("ctl: requests did not end in time; closing their connections", "err", err)
		s.srv.Close()
	}
	cancel()
	if serveErr == nil {
		serveErr = <-errc
	}
	s.handlers.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		select {
		case <-s.done: // Close closed the listener under Serve
		default:
			return fmt.Errorf("ctl: serve: %w", serveErr)
		}
	}
	return nil
}

// Close stops serving, removes the socket and waits for Run and every
// request to end. It is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.cancelBase()
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.err = fmt.Errorf("ctl: close: %w", err)
		}
	})
	s.wg.Wait()
	s.handlers.Wait()
	return s.err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []byte("{}\n"))
	})
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("GET /v1/meters", s.handleMeters)
	mux.HandleFunc("GET /v1/readings", s.handleReadings)
	mux.HandleFunc("GET /v1/log/{name}", s.handleEvents)
	mux.HandleFunc("GET /v1/log/{name}/verify", s.handleVerify)
	s.keyRoutes(mux) // keys.go
	mux.HandleFunc("GET /v1/wmbus", s.handleWMBus)
	s.hanRoutes(mux) // han.go
	s.zigbeeRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("%w: %s", ErrNotFound, r.URL.Path), nil)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, "/v1/keys/") || strings.HasPrefix(r.URL.Path, "/v1/han/") || strings.HasPrefix(r.URL.Path, "/v1/zigbee/"))) {
			w.Header().Set("Allow", "GET, HEAD")
			writeErrorBody(w, http.StatusMethodNotAllowed, wireError{Error: "ctl: method " + r.Method + " not allowed", Code: "method"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	b, err := json.Marshal(st)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, append(b, '\n'))
}

func (s *Server) handleMeters(w http.ResponseWriter, r *http.Request) {
	ms, err := s.b.Meters(r.Context())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	b, err := MarshalMeters(ms)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, append(b, '\n'))
}

// ParseQuery reads a store.Query from the URL parameters meter, obis,
// from, to (RFC 3339) and limit; any other parameter is an error. Errors
// wrap ErrBadRequest and name the parameter.
func ParseQuery(v url.Values) (store.Query, error) {
	var q store.Query
	for k := range v {
		switch k {
		case "meter", "obis", "from", "to", "limit":
		default:
			return q, badParam(k, errors.New("unknown parameter"))
		}
	}
	if m := v.Get("meter"); m != "" {
		id := meter.MeterID(m)
		if err := id.Validate(); err != nil {
			return q, badParam("meter", err)
		}
		q.Meter = id
	}
	if o := v.Get("obis"); o != "" {
		x, err := meter.ParseOBIS(o)
		if err != nil {
			return q, badParam("obis", err)
		}
		q.OBIS = x
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if t := v.Get(f.name); t != "" {
			x, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return q, badParam(f.name, errors.New("not an RFC 3339 time"))
			}
			*f.dst = x
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return q, badParam("limit", errors.New("not a non-negative integer"))
		}
		q.Limit = n
	}
	return q, nil
}

// QueryValues is the inverse of ParseQuery.
func QueryValues(q store.Query) url.Values {
	v := url.Values{}
	if q.Meter != "" {
		v.Set("meter", string(q.Meter))
	}
	if q.OBIS != (meter.OBIS{}) {
		v.Set("obis", q.OBIS.String())
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func (s *Server) handleReadings(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	st := newStream(w, &s.handlers)
	if r.Method == http.MethodHead {
		st.finish(nil)
		return
	}
	err = s.b.Query(r.Context(), q, func(rd meter.Reading) error {
		return st.line(func(dst []byte) []byte { return EncodeReadingJSON(dst, rd) })
	})
	s.endStream(w, r, st, err)
}

func (s *Server) logName(w http.ResponseWriter, r *http.Request) (store.LogName, bool) {
	name := store.LogName(r.PathValue("name"))
	for _, l := range store.Logs {
		if l == name {
			return name, true
		}
	}
	s.writeError(w, r, fmt.Errorf("%w: no event log %q", ErrNotFound, name), nil)
	return "", false
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	name, ok := s.logName(w, r)
	if !ok {
		return
	}
	var after uint64
	for k := range r.URL.Query() {
		if k != "after" {
			s.writeError(w, r, badParam(k, errors.New("unknown parameter")), nil)
			return
		}
	}
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			s.writeError(w, r, badParam("after", errors.New("not a sequence number")), nil)
			return
		}
		after = n
	}
	st := newStream(w, &s.handlers)
	if r.Method == http.MethodHead {
		st.finish(nil)
		return
	}
	err := s.b.Events(r.Context(), name, after, func(ev store.Event) error {
		return st.line(func(dst []byte) []byte { return EncodeEventJSON(dst, ev) })
	})
	s.endStream(w, r, st, err)
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	name, ok := s.logName(w, r)
	if !ok {
		return
	}
	rep, err := s.b.VerifyLog(r.Context(), name)
	if err != nil {
		var wr *wireLogReport
		if rep != (store.LogReport{}) {
			x := toWireReport(rep)
			wr = &x
		}
		s.writeError(w, r, err, wr)
		return
	}
	b, err := json.Marshal(toWireReport(rep))
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, append(b, '\n'))
}

// endStream ends an NDJSON answer: an error before the first line becomes
// an ordinary error answer, a later one the trailers.
func (s *Server) endStream(w http.ResponseWriter, r *http.Request, st *stream, err error) {
	if err != nil && !st.started {
		s.writeError(w, r, err, nil)
		return
	}
	if err != nil {
		s.logError(r, err)
	}
	st.finish(err)
}

func (s *Server) logError(r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.log.Debug("ctl: request ended", "path", r.URL.Path, "err", err)
		return
	}
	s.log.Warn("ctl: request failed", "path", r.URL.Path, "err", err)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, rep *wireLogReport) {
	code, status := errorCode(err)
	if status >= 500 {
		s.logError(r, err)
	}
	writeErrorBody(w, status, wireError{Error: err.Error(), Code: code, Report: rep})
}

func writeErrorBody(w http.ResponseWriter, status int, e wireError) {
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// Trailers of NDJSON answers.
const (
	trailerError = "Smgw-Error"
	trailerCode  = "Smgw-Error-Code"
)

// stream writes an NDJSON answer. Lines collect in a buffer of about
// streamBuf bytes that is written out when full, and at the latest
// flushEvery after a line was added, so memory stays bounded however long
// the answer and a producer that stalls is still seen promptly.
type stream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	wg  *sync.WaitGroup // counts the pending flush timer
	buf []byte

	started bool // only the handler's goroutine touches it

	mu       sync.Mutex // guards w, buf, timer and done once started
	timer    *time.Timer
	armed    bool // a flush is due
	done     bool // finish has run: w is off limits
	writeErr error
}

const (
	streamBuf  = 32 << 10
	flushEvery = 100 * time.Millisecond
)

func newStream(w http.ResponseWriter, wg *sync.WaitGroup) *stream {
	return &stream{w: w, rc: http.NewResponseController(w), wg: wg}
}

func (s *stream) start() {
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", trailerError+", "+trailerCode)
	s.w.WriteHeader(http.StatusOK)
	s.buf = make([]byte, 0, streamBuf+1024)
}

// line appends one line made by enc; it fails once writing to the client
// has failed.
func (s *stream) line(enc func([]byte) []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.start()
	}
	if s.writeErr != nil {
		return s.writeErr
	}
	s.buf = enc(s.buf)
	s.buf = append(s.buf, '\n')
	if len(s.buf) >= streamBuf {
		s.writeOut(false)
		return s.writeErr
	}
	if !s.armed {
		s.armed = true
		s.wg.Add(1)
		if s.timer == nil {
			s.timer = time.AfterFunc(flushEvery, s.timedFlush)
		} else {
			s.timer.Reset(flushEvery)
		}
	}
	return nil
}

func (s *stream) timedFlush() {
	defer s.wg.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if s.done || s.writeErr != nil {
		return
	}
	s.writeOut(true)
}

// writeOut writes the buffer to the client (and flushes). Called with mu held.
func (s *stream) writeOut(flush bool) {
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			s.writeErr = fmt.Errorf("ctl: write answer: %w", err)
			return
		}
		s.buf = s.buf[:0]
	}
	if flush {
		if err := s.rc.Flush(); err != nil {
			s.writeErr = fmt.Errorf("ctl: flush answer: %w", err)
		}
	}
}

// finish writes what is left and, for err, the error trailers. After it
// the timer no longer touches the response.
func (s *stream) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	if s.armed && s.timer.Stop() {
		s.armed = false
		s.wg.Done()
	}
	if !s.started {
		s.start()
	}
	if s.writeErr != nil {
		return
	}
	s.writeOut(false)
	if err != nil {
		code, _ := errorCode(err)
		msg := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, err.Error())
		s.w.Header().Set(trailerError, msg)
		s.w.Header().Set(trailerCode, code)
	}
}
