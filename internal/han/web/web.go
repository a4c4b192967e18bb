package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

// Store is what the service reads (and keeps paired clients in);
// *store.Store implements it.
type Store interface {
	Records
	Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error
	Latest(id meter.MeterID, o meter.OBIS) (meter.Reading, bool)
	Meters() []store.MeterInfo
	Subscribe(buf int) *store.Subscription
}

// Options configure the service. Store and one of Listener or Binding are
// required; the zero value of the rest is usable.
type Options struct {
	// Tariff is the household's tariff model (prices, messages,
	// demand-response events); nil serves none.
	Tariff *tariff.Model
	// Meters are the household's meters: what a new pairing binds to by
	// default. None is every meter of the gateway.
	Meters []meter.MeterID
	// Live returns the newest live samples (power, voltage) that the
	// store keeps only as means: they are streamed as "live" events.
	// nil streams stored readings only.
	Live func() []meter.Reading
	// LiveEvery is how often Live is polled; 0 is 1 s.
	LiveEvery time.Duration

	// Binding says where to listen (the HAN interface's addresses);
	// re-resolved every ResolveEvery (0 is 10 s) so the service follows
	// the interface's addresses.
	Binding      *Binding
	ResolveEvery time.Duration
	// Listener, if set, is served instead of Binding (the demo and
	// tests, which bind 127.0.0.1). The service closes it.
	Listener net.Listener
	// TLS is the server's TLS configuration (ServerTLSConfig); nil serves
	// plain HTTP, which needs Plain.
	TLS *tls.Config
	// Plain allows plain HTTP (han.tls = false: a closed network).
	Plain bool

	// Demo skips pairing: every request is served as a client that may
	// see every meter, and the page says so. Only `smgw demo` sets it;
	// no configuration key does.
	Demo bool
	// RatePerMinute and Burst are each client's token bucket; 0 is 600
	// and 60.
	RatePerMinute, Burst int
	// PairingLifetime is how long a pairing code is valid; 0 is 5 min.
	PairingLifetime time.Duration
	// MaxClients bounds the paired clients; 0 is 32.
	MaxClients int
	// Heartbeat is the live stream's comment interval; 0 is 15 s.
	Heartbeat time.Duration
	// StreamBuffer is each live stream's buffer of events; a client that
	// falls this far behind is dropped. 0 is 256.
	StreamBuffer int
	// Location is the time zone history is aligned in; nil is time.Local.
	Location *time.Location

	// GatewayID, Version and Started describe the gateway (GET /api/v1/status).
	GatewayID, Version string
	Started            time.Time

	// SEP2 is mounted at /sep2/ behind the same client authentication:
	// the IEEE 2030.5 subset (internal/han/sep2). nil mounts nothing.
	SEP2 http.Handler

	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives the service's log lines; nil discards them.
	Log *slog.Logger
}

// Service is the HAN web service: the JSON API, the live stream, the
// in-home display page and the SEP2 mount, on the HAN's addresses.
// New → Run → Close.
type Service struct {
	st    Store
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	loc   *time.Location
	cl    *clients
	rate  *limiter
	pairs *limiter
	hub   *hub
	mux   *http.ServeMux
	srv   *http.Server

	base     context.Context // parent of every request's context
	stopBase context.CancelFunc

	mu        sync.Mutex
	listeners map[string]net.Listener // by address
	serving   sync.WaitGroup
	closed    bool
	closeOnce sync.Once
}

// New checks the options, loads the paired clients and binds the
// listeners. It starts no goroutines.
func New(st Store, opts *Options) (*Service, error) {
	if st == nil {
		return nil, errors.New("web: no store")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.LiveEvery <= 0 {
		o.LiveEvery = time.Second
	}
	if o.ResolveEvery <= 0 {
		o.ResolveEvery = 10 * time.Second
	}
	if o.RatePerMinute <= 0 {
		o.RatePerMinute = 600
	}
	if o.Burst <= 0 {
		o.Burst = 60
	}
	if o.PairingLifetime <= 0 {
		o.PairingLifetime = 5 * time.Minute
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 32
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = 256
	}
	if o.TLS == nil && !o.Plain {
		return nil, fmt.Errorf("%w: plain HTTP needs han.tls = false (a closed network)", ErrBind)
	}
	if o.Listener == nil && o.Binding == nil {
		return nil, fmt.Errorf("%w: no HAN interface or address configured", ErrBind)
	}
	cl, err := newClients(st, store.ErrNotFound, o.Now, o.PairingLifetime, o.MaxClients, o.Meters)
	if err != nil {
		return nil, err
	}
	s := &Service{
		st: st, opts: o, log: o.Log, now: o.Now, loc: o.Location, cl: cl,
		rate:      newLimiter(o.RatePerMinute, o.Burst, o.Now),
		pairs:     newLimiter(6, 5, o.Now), // pairing attempts per remote address
		hub:       newHub(),
		listeners: map[string]net.Listener{},
	}
	s.base, s.stopBase = context.WithCancel(context.Background())
	s.routes()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if o.Listener != nil {
		s.listeners[o.Listener.Addr().String()] = s.wrap(o.Listener)
		return s, nil
	}
	addrs, err := o.Binding.Resolve()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("web: listen on %s: %w", a, err)
		}
		s.listeners[a] = s.wrap(ln)
	}
	if len(addrs) == 0 {
		s.log.Warn("HAN interface has no address yet; listening once it has one", "interface", o.Binding.Interface)
	}
	return s, nil
}

func (s *Service) wrap(ln net.Listener) net.Listener {
	if s.opts.TLS != nil {
		return tls.NewListener(ln, s.opts.TLS)
	}
	return ln
}

// Addrs returns the addresses listened on now, sorted.
func (s *Service) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ln := range s.listeners {
		out = append(out, ln.Addr().String())
	}
	slices.Sort(out)
	return out
}

// Run serves until ctx ends: the listeners (following the HAN
// interface's addresses), the live stream's feed from the store and the
// live samples. It returns nil on cancellation.
func (s *Service) Run(ctx context.Context) error {
	sub := s.st.Subscribe(4096)
	defer sub.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.feedStore(ctx, sub) }()
	go func() { defer wg.Done(); s.feedLive(ctx) }()

	s.mu.Lock()
	for _, ln := range s.listeners {
		s.serve(ln)
	}
	s.mu.Unlock()
	if s.opts.Listener == nil {
		t := time.NewTicker(s.opts.ResolveEvery)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-t.C:
				s.rebind()
			}
		}
	} else {
		<-ctx.Done()
	}
	s.stopBase() // ends live streams
	s.hub.closeAll()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	s.closeListeners()
	s.serving.Wait()
	wg.Wait()
	return nil
}

// serve starts serving ln (mu held).
func (s *Service) serve(ln net.Listener) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("HAN listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// rebind follows the HAN interface's addresses: new ones are bound,
// vanished ones closed. A refused binding (the interface became a WAN
// address) closes everything.
func (s *Service) rebind() {
	addrs, err := s.opts.Binding.Resolve()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if err != nil {
		s.log.Warn("HAN addresses refused; not listening", "err", err)
		addrs = nil
	}
	for a, ln := range s.listeners {
		if !slices.Contains(addrs, a) {
			s.log.Info("HAN address gone; closing its listener", "addr", a)
			ln.Close()
			delete(s.listeners, a)
		}
	}
	for _, a := range addrs {
		if _, ok := s.listeners[a]; ok {
			continue
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			s.log.Warn("cannot listen on a HAN address; retrying", "addr", a, "err", err)
			continue
		}
		s.log.Info("listening on a new HAN address", "addr", a)
		ln = s.wrap(ln)
		s.listeners[a] = ln
		s.serve(ln)
	}
}

func (s *Service) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for a, ln := range s.listeners {
		ln.Close()
		delete(s.listeners, a)
	}
}

// Close releases the listeners; call it after Run returned (or instead
// of Run). It is idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.stopBase()
		s.hub.closeAll()
		s.closeListeners()
		s.srv.Close()
	})
	s.serving.Wait()
	return nil
}

// NewPairingCode makes a one-time pairing code (`smgw han pair`) binding
// to meters, or with none to Options.Meters.
func (s *Service) NewPairingCode(meters []meter.MeterID) (PairingCode, error) {
	return s.cl.NewCode(meters)
}

// Clients lists the paired clients (`smgw han clients`).
func (s *Service) Clients() []Client { return s.cl.List() }

// Revoke revokes a paired client: its token and certificate stop
// working at once, its open live streams end.
func (s *Service) Revoke(ctx context.Context, id string) (Client, error) {
	c, err := s.cl.Revoke(ctx, id)
	if err == nil {
		s.hub.dropClient(id)
	}
	return c, err
}
