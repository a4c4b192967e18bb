package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	lmnwmbus "github.com/smgw/smgw/internal/lmn/wmbus"
	wmbussim "github.com/smgw/smgw/internal/lmn/wmbus/sim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// wmbusService is the wireless M-Bus receiver and its meters; with
// [wmbus] kind = "sim" also the simulated meters feeding the receiver.
type wmbusService struct {
	svc   *lmnwmbus.Service
	desc  string                          // "im871a /dev/ttyUSB0"
	stats func() halwmbus.Stats           // the receiver's counters
	feed  func(ctx context.Context) error // kind "sim": writes the simulated telegrams; nil otherwise
	log   *slog.Logger
}

// storeKeys reads meter keys from the store's sealed secrets: the record
// "wmbus/<meter id>" of kind store.KindSecret (what `smgw keys
// import-meter-key` and the HES key-import command write).
type storeKeys struct{ st *store.Store }

func (k storeKeys) MeterKey(id meter.MeterID) ([]byte, error) {
	key, err := k.st.Record(store.KindSecret, "wmbus/"+string(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", lmnwmbus.ErrNoKey, id)
	}
	return key, err
}

// newWMBus builds the service for the wmbus meters of cfg; nil when there
// are none and no receiver is configured.
func newWMBus(cfg *config.Config, meters []config.Meter, sink lmnwmbus.Sink, st *store.Store,
	now func() time.Time, log *slog.Logger) (*wmbusService, error) {
	w := cfg.WMBus
	if w.Kind == "" && len(meters) == 0 {
		return nil, nil
	}
	log = log.With("service", "wmbus")
	mode, err := halwmbus.ParseLinkMode(w.LinkMode)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	ws := &wmbusService{log: log}
	onBad := func(err error) { log.Debug("wmbus: receiver dropped a frame", "err", err) }
	var recv halwmbus.Receiver
	switch w.Kind {
	case config.WMBusIM871A:
		r, err := halwmbus.NewIM871A(&halwmbus.IM871AOptions{Device: w.Device, Mode: mode, Now: now, Log: log, OnBad: onBad})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		recv, ws.stats, ws.desc = r, r.Stats, "im871a "+w.Device
	case config.WMBusAMB8465:
		r, err := halwmbus.NewAmber(&halwmbus.AmberOptions{Device: w.Device, Mode: mode, Now: now, Log: log, OnBad: onBad})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		recv, ws.stats, ws.desc = r, r.Stats, "amb8465 "+w.Device
	case config.WMBusLines:
		r := halwmbus.NewLinesFile(w.File, &halwmbus.LinesOptions{Now: now, Log: log, OnBad: onBad})
		recv, ws.stats, ws.desc = r, r.Stats, "lines "+w.File
	case config.WMBusSim:
		pr, pw := io.Pipe()
		r := halwmbus.NewLines(pr, &halwmbus.LinesOptions{Now: now, Log: log, OnBad: onBad})
		recv, ws.stats, ws.desc = r, r.Stats, "sim (simulated meters through the line reader)"
		var sims []*wmbussim.Meter
		interval := time.Duration(0)
		for i, mc := range meters {
			kind := wmbussim.Water
			if mc.Medium == "heat" {
				kind = wmbussim.Heat
			}
			m, err := wmbussim.New(wmbussim.Options{Kind: kind, Manufacturer: mc.Manufacturer,
				Address: mc.WMBusAddress(), Key: mc.WMBusKey(), Access: byte(37 * (i + 1))})
			if err != nil {
				return nil, fmt.Errorf("%w: meter %s: %w", ErrRefused, mc.ID, err)
			}
			sims = append(sims, m)
			if iv := mc.Interval.Std(); interval == 0 || iv < interval {
				interval = iv
			}
		}
		if interval <= 0 {
			interval = time.Minute
		}
		ws.feed = func(ctx context.Context) error {
			defer pw.Close()
			return wmbussim.Run(ctx, pw, sims, interval, now)
		}
	default:
		return nil, fmt.Errorf("%w: wmbus meters need a receiver: set [wmbus] kind", ErrRefused)
	}
	var mcs []lmnwmbus.MeterConfig
	for _, mc := range meters {
		if mc.Key != "" {
			log.Warn("INSECURE: the key of a wM-Bus meter is in the configuration file in plaintext; "+
				"keep meter keys in the key store in production", "meter", mc.ID)
		}
		mcs = append(mcs, lmnwmbus.MeterConfig{ID: mc.ID, Manufacturer: mc.Manufacturer,
			Address: mc.WMBusAddress(), Key: mc.WMBusKey(), Medium: mc.Medium})
	}
	opts := &lmnwmbus.Options{
		Receiver:     recv,
		Meters:       mcs,
		Sink:         sink,
		DupWindow:    w.DupWindow.Std(),
		MaxClockSkew: w.MaxClockSkew.Std(),
		Now:          now,
		Log:          log,
	}
	if w.MaxClockSkew == 0 {
		opts.MaxClockSkew = -1
	}
	if st != nil {
		opts.Keys = storeKeys{st}
		opts.State = st // the replay state survives restarts
	}
	ws.svc, err = lmnwmbus.New(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return ws, nil
}

// Run runs the receiver, the meters and (kind "sim") the simulated
// meters until ctx ends.
func (ws *wmbusService) Run(ctx context.Context) error {
	if ws.feed == nil {
		return ws.svc.Run(ctx)
	}
	errc := make(chan error, 1)
	fctx, stop := context.WithCancel(ctx)
	go func() { errc <- ws.feed(fctx) }()
	err := ws.svc.Run(ctx)
	stop()
	if ferr := <-errc; ferr != nil && ctx.Err() == nil {
		ws.log.Warn("wmbus: the simulated meters stopped", "err", ferr)
	}
	return err
}

// status converts the service's report for the control socket.
func (ws *wmbusService) status() ctl.WMBusStatus {
	st := ws.svc.Stats()
	out := ctl.WMBusStatus{
		Receiver: ws.desc + ": " + st.Receiver,
		Stats: ctl.WMBusStats{Frames: st.Frames, Unreadable: st.Unreadable, Unknown: st.Unknown,
			Stored: st.Stored, Readings: st.Readings, Dropped: st.Dropped, ReceiverBad: ws.stats().Bad},
		Meters: []ctl.WMBusHealth{},
		Nearby: []ctl.WMBusNearby{},
		Bad:    []ctl.WMBusBad{},
	}
	for _, h := range ws.svc.Health() {
		wh := ctl.WMBusHealth{Meter: string(h.ID), Manufacturer: h.Manufacturer, Address: h.Address, Medium: h.Medium,
			LastSeen: h.LastSeen, Telegrams: h.Telegrams, Stored: h.Stored, Readings: h.Readings,
			Duplicates: h.Duplicates, Replays: h.Replays, LastError: h.LastError, AccessNumber: h.AccessNumber,
			Counter: h.Counter, Security: h.Security, MeterTime: h.MeterTime, IVReuse: h.IVReuse,
			SameCiphertext: h.SameCiphertext, Flags: h.Flags}
		if len(h.Errors) > 0 {
			wh.Errors = h.Errors
		}
		if h.HasRSSI {
			r := h.RSSI
			wh.RSSI = &r
		}
		out.Meters = append(out.Meters, wh)
	}
	for _, n := range ws.svc.Nearby() {
		wn := ctl.WMBusNearby{Manufacturer: n.Manufacturer, ID: n.ID, Version: n.Version, DeviceType: n.DeviceType,
			Medium: n.Medium, Encrypted: n.Encrypted, FirstSeen: n.FirstSeen, LastSeen: n.LastSeen, Count: n.Count}
		if n.HasRSSI {
			r := n.RSSI
			wn.RSSI = &r
		}
		out.Nearby = append(out.Nearby, wn)
	}
	for _, b := range ws.svc.BadTelegrams() {
		out.Bad = append(out.Bad, ctl.WMBusBad{Time: b.Time, Meter: b.Meter, Reason: b.Reason, Err: b.Err, Hex: b.Hex})
	}
	return out
}

// WMBus implements ctl.WMBusBackend.
func (a *App) WMBus(ctx context.Context) (ctl.WMBusStatus, error) {
	if err := ctx.Err(); err != nil {
		return ctl.WMBusStatus{}, err
	}
	if a.wmbus == nil {
		return ctl.WMBusStatus{Meters: []ctl.WMBusHealth{}, Nearby: []ctl.WMBusNearby{}, Bad: []ctl.WMBusBad{}}, nil
	}
	return a.wmbus.status(), nil
}

var _ ctl.WMBusBackend = (*App)(nil)
