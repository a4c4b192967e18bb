package zigbee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

// Errors of this package.
var (
	// ErrConfig is returned (wrapped) by New for unusable options. It is
	// permanent.
	ErrConfig = errors.New("zigbee esi: invalid configuration")
	// ErrUnknownDevice is returned (wrapped) by Remove for a device that
	// is not joined.
	ErrUnknownDevice = errors.New("zigbee esi: no such device")
	// ErrNotRunning is returned (wrapped) by Permit and Remove before Run
	// has brought the network up. It is retryable.
	ErrNotRunning = errors.New("zigbee esi: network not up")
)

// Endpoint numbers and device ids.
const (
	// ESIEndpoint is the ESI's endpoint unless Options.Endpoint says otherwise.
	ESIEndpoint uint8 = 1
	// DeviceMeteringDevice is the device id of a mirror endpoint.
	DeviceMeteringDevice uint16 = 0x0501
)

// Kinds of meters (Meter.Kind).
const (
	KindElectricity = "electricity"
	KindGas         = "gas"
	KindWater       = "water"
)

// Meter is a household meter served on a Metering cluster.
type Meter struct {
	ID   meter.MeterID
	Kind string // KindElectricity, KindGas or KindWater
}

// Options configure a Service. NCP and Meters[0] are required.
type Options struct {
	NCP hal.NCP
	// Network is the network to form; its Endpoints are set by the
	// service.
	Network hal.NetworkConfig
	// Meters are the household's meters: the first, the electricity
	// meter, is served on the ESI endpoint; the others (gas, water) on
	// mirror endpoints Endpoint+1, +2, ….
	Meters []Meter
	// Tariff is the household's tariff model; nil serves no prices,
	// messages or events (the clusters answer NOT_FOUND).
	Tariff *tariff.Model
	// Endpoint is the ESI's endpoint; 0 is ESIEndpoint.
	Endpoint uint8
	// Location is the household's time zone (day boundaries, the Time
	// cluster's local time); nil is UTC.
	Location *time.Location
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Synced reports whether the gateway's clock is trusted (the Time
	// cluster's Synchronized bit); nil is always.
	Synced func() bool
	// Log receives the service's log lines; nil discards them.
	Log *slog.Logger
	// ProviderID is the Price cluster's provider id; 0 is fine for a
	// single supplier.
	ProviderID uint32
	// Version is the gateway's software version (Basic's SWBuildID).
	Version string
	// MaxPayload bounds a ZCL frame sent in one APS frame (no
	// fragmentation); 0 is 82 bytes, what every Zigbee stack carries with
	// APS security. Longer display messages are cut to fit.
	MaxPayload int
	// Tick is how often periodic reports and scheduled pushes are
	// checked; 0 is 1 s.
	Tick time.Duration
	// OnSend, if set, is called after each frame the ESI handed to the
	// NCP (benchmarks and diagnostics).
	OnSend func(dst uint16, cluster uint16, frame []byte)
}

// DeviceInfo is a device joined to the ESI's network.
type DeviceInfo struct {
	EUI64    uint64    `json:"eui64"`
	NWK      uint16    `json:"nwk"`
	Joined   time.Time `json:"joined"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	LQI      uint8     `json:"lqi,omitempty"`
	Endpoint uint8     `json:"endpoint,omitempty"` // the device's endpoint we talk to
}

// EUI returns the device's EUI-64 as 16 hex digits (the device name in
// the tariff model's confirmations and opt-outs).
func (d DeviceInfo) EUI() string { return fmt.Sprintf("%016X", d.EUI64) }

// RetryAfter is how long after a failed delivery a device is sent its
// price, messages and events again.
const RetryAfter = 30 * time.Second

// Record kind and name of the joined devices in the store.
const (
	RecordKind    = "zigbee"
	recordDevices = "devices"
)

// Service is the ESI.
type Service struct {
	st     *store.Store
	ncp    hal.NCP
	o      Options
	log    *slog.Logger
	eps    []meterEP
	esi    uint8
	loc    *time.Location
	maxPay int

	mu      sync.Mutex
	devices map[uint64]*DeviceInfo // by EUI-64
	up      bool
	stats   Stats

	// Owned by Run's goroutine:
	seq       uint8
	reports   map[reportKey]*reportCfg
	sent      map[uint16]*pushState // by NWK: what was pushed to the device
	identify  time.Time             // identifying until
	lastPrice tariff.Price
	priceID   uint32
	nextPrice time.Time
	outq      chan outFrame
	failed    chan uint16          // from the sender: a frame to this NWK failed
	retry     map[uint16]time.Time // NWK → when to send it everything again
	resync    bool                 // the co-processor reset: send everything again once up

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Stats are counters since New.
type Stats struct {
	Received   uint64 `json:"received"`    // ZCL frames received
	Sent       uint64 `json:"sent"`        // ZCL frames sent
	SendErrors uint64 `json:"send_errors"` // frames the NCP failed to deliver
	Dropped    uint64 `json:"dropped"`     // frames dropped (queue full)
	Malformed  uint64 `json:"malformed"`   // frames that did not parse
	Reports    uint64 `json:"reports"`     // Report Attributes frames sent
	Resets     uint64 `json:"resets"`      // co-processor resets seen
}

type outFrame struct {
	dst     uint16
	dstEP   uint8
	srcEP   uint8
	cluster uint16
	frame   []byte
}

// pushState is what was pushed to one device.
type pushState struct {
	price    uint32          // IssuerEventID of the last price pushed
	messages map[string]bool // message id → sent (true) / cancel sent
	cancels  map[string]bool
	events   map[string]bool
	evCancel map[string]bool
}

// New checks the options and prepares the service; it starts nothing.
func New(st *store.Store, opts *Options) (*Service, error) {
	if opts == nil || opts.NCP == nil {
		return nil, fmt.Errorf("%w: no co-processor (Options.NCP)", ErrConfig)
	}
	if st == nil {
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	o := *opts
	if len(o.Meters) == 0 {
		return nil, fmt.Errorf("%w: no meter to serve (Options.Meters)", ErrConfig)
	}
	if o.Endpoint == 0 {
		o.Endpoint = ESIEndpoint
	}
	if int(o.Endpoint)+len(o.Meters)-1 > 240 {
		return nil, fmt.Errorf("%w: endpoint %d with %d meters runs past 240", ErrConfig, o.Endpoint, len(o.Meters))
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Synced == nil {
		o.Synced = func() bool { return true }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 82
	}
	if o.MaxPayload < 40 {
		return nil, fmt.Errorf("%w: max payload %d: at least 40 bytes", ErrConfig, o.MaxPayload)
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	s := &Service{st: st, ncp: o.NCP, o: o, log: o.Log, esi: o.Endpoint, loc: o.Location, maxPay: o.MaxPayload,
		devices: map[uint64]*DeviceInfo{}, reports: map[reportKey]*reportCfg{}, sent: map[uint16]*pushState{},
		outq: make(chan outFrame, 256), failed: make(chan uint16, 64), retry: map[uint16]time.Time{}}
	for i, m := range o.Meters {
		if err := m.ID.Validate(); err != nil {
			return nil, fmt.Errorf("%w: meters[%d]: %w", ErrConfig, i, err)
		}
		ep, err := newMeterEP(o.Endpoint+uint8(i), m, i == 0)
		if err != nil {
			return nil, fmt.Errorf("%w: meters[%d]: %w", ErrConfig, i, err)
		}
		s.eps = append(s.eps, ep)
	}
	if b, err := st.Record(RecordKind, recordDevices); err == nil {
		var ds []DeviceInfo
		if err := json.Unmarshal(b, &ds); err != nil {
			return nil, fmt.Errorf("zigbee esi: the stored device list: %w", err)
		}
		for i := range ds {
			s.devices[ds[i].EUI64] = &ds[i]
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("zigbee esi: the stored device list: %w", err)
	}
	return s, nil
}

// Endpoints returns the endpoints the service registers.
func (s *Service) Endpoints() []hal.Endpoint {
	var out []hal.Endpoint
	for i, ep := range s.eps {
		e := hal.Endpoint{ID: ep.id, Profile: zcl.ProfileSmartEnergy, DeviceID: DeviceMeteringDevice,
			InClusters: []uint16{zcl.ClusterBasic, zcl.ClusterIdentify, zcl.ClusterMetering}}
		if i == 0 {
			e.DeviceID = zcl.DeviceESI
			e.InClusters = []uint16{zcl.ClusterBasic, zcl.ClusterIdentify, zcl.ClusterTime,
				zcl.ClusterPrice, zcl.ClusterDRLC, zcl.ClusterMetering, zcl.ClusterMessaging}
		}
		out = append(out, e)
	}
	return out
}

// Devices returns the joined devices, by EUI-64.
func (s *Service) Devices() []DeviceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeviceInfo, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b DeviceInfo) int {
		switch {
		case a.EUI64 < b.EUI64:
			return -1
		case a.EUI64 > b.EUI64:
			return 1
		}
		return 0
	})
	return out
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Info returns the co-processor's description.
func (s *Service) Info() hal.Info { return s.ncp.Info() }

// Permit opens the network for the device eui64 with its install code
// (hex digits with CRC, see hal/zigbee.ParseInstallCode) for d.
func (s *Service) Permit(ctx context.Context, eui64 uint64, installCode []byte, d time.Duration) error {
	if !s.isUp() {
		return ErrNotRunning
	}
	if err := s.ncp.PermitJoin(ctx, eui64, installCode, d); err != nil {
		return fmt.Errorf("zigbee esi: permit %016X: %w", eui64, err)
	}
	s.log.Info("joining permitted", "eui64", fmt.Sprintf("%016X", eui64), "for", d)
	s.consumerLog(ctx, "zigbee-permit", fmt.Sprintf("Zigbee joining opened for device %016X for %s", eui64, d), map[string]string{"eui64": fmt.Sprintf("%016X", eui64)})
	return nil
}

// Remove asks the device to leave and forgets it.
func (s *Service) Remove(ctx context.Context, eui64 uint64) error {
	s.mu.Lock()
	d, ok := s.devices[eui64]
	var dev hal.Device
	if ok {
		dev = hal.Device{NWK: d.NWK, EUI64: d.EUI64}
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %016X", ErrUnknownDevice, eui64)
	}
	if s.isUp() {
		if err := s.ncp.Remove(ctx, dev); err != nil {
			s.log.Warn("leave request failed; forgetting the device anyway", "eui64", fmt.Sprintf("%016X", eui64), "err", err)
		}
	}
	s.forget(ctx, eui64)
	s.consumerLog(ctx, "zigbee-remove", fmt.Sprintf("Zigbee device %016X removed", eui64), map[string]string{"eui64": fmt.Sprintf("%016X", eui64)})
	return nil
}

func (s *Service) isUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

func (s *Service) setUp(up bool) {
	s.mu.Lock()
	s.up = up
	s.mu.Unlock()
}

func (s *Service) consumerLog(ctx context.Context, kind, msg string, attrs map[string]string) {
	if _, err := s.st.Log(ctx, store.LogConsumer, store.Event{Time: s.o.Now(), Kind: kind, Message: msg, Attrs: attrs}); err != nil {
		s.log.Warn("event log", "kind", kind, "err", err)
	}
}

// saveDevices persists the device list (called without mu).
func (s *Service) saveDevices(ctx context.Context) {
	b, err := json.Marshal(s.Devices())
	if err == nil {
		err = s.st.PutRecord(ctx, RecordKind, recordDevices, b)
	}
	if err != nil {
		s.log.Warn("saving the device list", "err", err)
	}
}

func (s *Service) forget(ctx context.Context, eui64 uint64) {
	s.mu.Lock()
	_, ok := s.devices[eui64]
	if ok {
		delete(s.devices, eui64)
	}
	s.mu.Unlock()
	if ok {
		// What was pushed to its address is forgotten when a device announces
		// itself there again (announce).
		s.saveDevices(ctx)
	}
}

// deviceByNWK returns the joined device at nwk.
func (s *Service) deviceByNWK(nwk uint16) (DeviceInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.NWK == nwk {
			return *d, true
		}
	}
	return DeviceInfo{}, false
}

// Run forms the network, serves the clusters and pushes prices, messages
// and events until ctx ends; it returns nil then. A co-processor that
// cannot be started is retried with backoff.
func (s *Service) Run(ctx context.Context) error {
	cfg := s.o.Network
	cfg.Endpoints = s.Endpoints()
	backoff := time.Second
	for {
		err := s.ncp.Start(ctx, cfg)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, hal.ErrConfig) || errors.Is(err, hal.ErrUnsupported) {
			return fmt.Errorf("zigbee esi: %w", err)
		}
		s.log.Error("starting the co-processor failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
	s.setUp(true)
	defer s.setUp(false)
	info := s.ncp.Info()
	s.log.Info("zigbee network up", "channel", info.Channel, "pan", fmt.Sprintf("0x%04X", info.PANID), "firmware", info.Firmware)

	sendCtx, stopSend := context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.sender(sendCtx)
	defer func() {
		stopSend()
		s.wg.Wait()
	}()

	sub := s.st.Subscribe(64)
	defer sub.Close()
	tick := time.NewTicker(s.o.Tick)
	defer tick.Stop()
	var changed <-chan struct{}
	if s.o.Tariff != nil {
		changed = s.o.Tariff.Changed()
	}
	s.pushAll(ctx)
	events := s.ncp.Events()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("zigbee esi: the co-processor driver closed its events")
			}
			s.handleEvent(ctx, ev)
		case r, ok := <-sub.C():
			if !ok {
				<-ctx.Done()
				return nil
			}
			if s.servesReading(r) {
				s.checkReports(ctx, false)
			}
		case <-changed:
			changed = s.o.Tariff.Changed()
			s.pushAll(ctx)
		case nwk := <-s.failed:
			if _, ok := s.retry[nwk]; !ok {
				s.retry[nwk] = time.Now().Add(RetryAfter)
			}
		case <-tick.C:
			s.resyncIfUp(ctx)
			s.checkReports(ctx, true)
			if !s.nextPrice.IsZero() && !s.o.Now().Before(s.nextPrice) {
				s.pushAll(ctx)
			}
		}
	}
}

// Close releases the service; the NCP is the caller's to close. It is
// idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.wg.Wait() })
	return nil
}

func (s *Service) handleEvent(ctx context.Context, ev hal.Event) {
	switch e := ev.(type) {
	case hal.Incoming:
		s.handleFrame(ctx, e.Frame)
	case hal.Announce:
		s.announce(ctx, e.Device)
	case hal.Left:
		s.log.Info("device left", "device", e.Device.String())
		s.forget(ctx, e.Device.EUI64)
	case hal.Reset:
		s.mu.Lock()
		s.stats.Resets++
		s.mu.Unlock()
		// The driver restarts the co-processor and the network resumes
		// from its NV memory; what we pushed may have been lost, so
		// push everything again once frames flow.
		s.log.Error("zigbee co-processor reset; prices, messages and events are sent again once it is back", "reason", e.Reason)
		s.resync = true
	}
}

// resyncIfUp sends everything again after a co-processor reset, once the
// driver reports the network up, and to devices whose frames failed.
func (s *Service) resyncIfUp(ctx context.Context) {
	now := time.Now()
	for nwk, at := range s.retry {
		if now.After(at) {
			delete(s.retry, nwk)
			delete(s.sent, nwk)
			s.pushAll(ctx)
		}
	}
	if !s.resync || s.ncp.Info().State != hal.StateUp {
		return
	}
	s.resync = false
	clear(s.sent)
	for _, rc := range s.reports {
		rc.lastSent = time.Time{}
	}
	s.pushAll(ctx)
}

func (s *Service) announce(ctx context.Context, d hal.Device) {
	now := s.o.Now()
	s.mu.Lock()
	old, ok := s.devices[d.EUI64]
	if ok && old.NWK != d.NWK {
		delete(s.sent, old.NWK)
	}
	if !ok {
		old = &DeviceInfo{EUI64: d.EUI64, Joined: now}
		s.devices[d.EUI64] = old
	}
	old.NWK, old.LastSeen = d.NWK, now
	s.mu.Unlock()
	s.log.Info("device announced", "device", d.String(), "new", !ok)
	s.saveDevices(ctx)
	if !ok {
		s.consumerLog(ctx, "zigbee-join", fmt.Sprintf("Zigbee device %016X joined", d.EUI64), map[string]string{"eui64": fmt.Sprintf("%016X", d.EUI64)})
	}
	delete(s.sent, d.NWK)
	s.pushAll(ctx)
}

// sender hands queued frames to the NCP one at a time.
func (s *Service) sender(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-s.outq:
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.ncp.Send(sctx, f.dst, f.dstEP, f.srcEP, f.cluster, f.frame)
			cancel()
			s.mu.Lock()
			if err != nil {
				s.stats.SendErrors++
			} else {
				s.stats.Sent++
			}
			s.mu.Unlock()
			if err != nil {
				select {
				case s.failed <- f.dst:
				default:
				}
				s.log.Warn("send failed", "dst", fmt.Sprintf("0x%04X", f.dst), "cluster", fmt.Sprintf("0x%04X", f.cluster), "err", err)
			}
			if s.o.OnSend != nil {
				s.o.OnSend(f.dst, f.cluster, f.frame)
			}
		}
	}
}

// send queues a ZCL frame for the device dst.
func (s *Service) send(dst uint16, dstEP, srcEP uint8, cluster uint16, frame []byte) {
	if len(frame) > s.maxPay {
		s.log.Warn("frame too long for one APS frame; not sent", "cluster", fmt.Sprintf("0x%04X", cluster), "bytes", len(frame), "max", s.maxPay)
		return
	}
	select {
	case s.outq <- outFrame{dst, dstEP, srcEP, cluster, frame}:
	default:
		s.mu.Lock()
		s.stats.Dropped++
		s.mu.Unlock()
		s.log.Warn("send queue full; frame dropped", "dst", fmt.Sprintf("0x%04X", dst), "cluster", fmt.Sprintf("0x%04X", cluster))
	}
}

func (s *Service) nextSeq() uint8 {
	s.seq++
	return s.seq
}

// euiOf names the device at nwk for the tariff model and logs.
func (s *Service) euiOf(nwk uint16) string {
	if d, ok := s.deviceByNWK(nwk); ok {
		return d.EUI()
	}
	return fmt.Sprintf("nwk-%04X", nwk)
}
