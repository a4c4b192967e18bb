package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Sink receives what a meter produces. The gateway's ingest implements it.
type Sink interface {
	// Append hands over register readings; it returns when they are
	// durable (or fails).
	Append(ctx context.Context, rs ...meter.Reading) error
	// Live hands over an instantaneous sample (1-second power etc.); never
	// blocks.
	Live(rs ...meter.Reading)
}

// Profile names what a simulated meter measures.
type Profile string

// The profiles.
const (
	Electricity Profile = "electricity"
	Water       Profile = "water"
	Heat        Profile = "heat"
)

// Profiles lists the known profiles.
func Profiles() []Profile { return []Profile{Electricity, Water, Heat} }

// Quantity describes one quantity a meter produces.
type Quantity struct {
	OBIS     meter.OBIS
	Unit     meter.Unit
	Exponent int8 // the decimal exponent of every value
	// Live: produced by the live ticks (Sink.Live), not with the registers
	// (Sink.Append).
	Live bool
	// Cumulative: a register that never decreases.
	Cumulative  bool
	Description string
}

// Errors. Both are permanent: retrying with the same input fails again.
var (
	// ErrOptions is returned (wrapped) by New for invalid options.
	ErrOptions = errors.New("sim: invalid options")
	// ErrTimeRange is returned (wrapped) for a time outside the simulated
	// range, 2020-01-01T00:00Z up to 2100-01-01T00:00Z. Run logs it and
	// skips the tick (a gateway's clock reads 1970 until it is synced).
	ErrTimeRange = errors.New("sim: time outside the simulated range")
)

// Limits of the options.
const (
	// MinInterval is the shortest Interval and LiveInterval accepted.
	MinInterval = time.Millisecond
	// MaxInterval is the longest Interval accepted.
	MaxInterval = 24 * time.Hour
	// DefaultInterval is the register period when Options.Interval is 0.
	DefaultInterval = 15 * time.Minute
	// DefaultLiveInterval is the live period of the electricity profile
	// when Options.LiveInterval is 0.
	DefaultLiveInterval = time.Second
)

// Options configure a Meter. ID and Profile are required; the zero value
// of every other field is a sensible default.
type Options struct {
	// ID names the meter; it must be a valid meter.MeterID.
	ID meter.MeterID
	// Profile is what the meter measures.
	Profile Profile
	// Interval is the register period; 0 is 15m. Registers are produced on
	// the multiples of Interval since the zero time (for periods dividing
	// a day: the UTC wall-clock boundaries, e.g. :00, :15, :30, :45).
	Interval time.Duration
	// LiveInterval is the period of instantaneous values: 0 is 1s for
	// electricity and none for the other profiles; negative is none. A
	// positive LiveInterval for a profile without live quantities is an
	// error.
	LiveInterval time.Duration
	// Seed makes the meter's figures differ from other meters'; 0 derives
	// it from ID.
	Seed int64
	// Location is the local time zone of the household (its daily routine,
	// the T1/T2 tariff windows); nil is time.Local.
	Location *time.Location
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Speed is how many simulated seconds pass per second of Now in Run;
	// 0 is 1. With Speed ≠ 1, Run starts at Now() and timestamps its
	// readings on that virtual clock. Backfill is unaffected.
	Speed float64
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// Outages restores the spans the breaker was open (Meter.Outages of
	// the meter before a restart); electricity only.
	Outages []Outage
}

// Meter is a simulated meter. Its methods are safe for concurrent use.
type Meter struct {
	id       meter.MeterID
	profile  Profile
	interval time.Duration
	liveIv   time.Duration // 0: none
	now      func() time.Time
	speed    float64
	log      *slog.Logger
	model    model

	mu      sync.Mutex
	it      integrator
	outages []Outage // breaker open spans (breaker.go)
}

// New validates opts and returns a meter. It starts nothing.
func New(opts *Options) (*Meter, error) {
	if opts == nil {
		return nil, fmt.Errorf("%w: nil options", ErrOptions)
	}
	o := *opts
	if err := o.ID.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	switch {
	case o.Interval == 0:
		o.Interval = DefaultInterval
	case o.Interval < MinInterval || o.Interval > MaxInterval:
		return nil, fmt.Errorf("%w: meter %s: interval %s out of range %s…%s", ErrOptions, o.ID, o.Interval, MinInterval, MaxInterval)
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if math.IsNaN(o.Speed) || math.IsInf(o.Speed, 0) || o.Speed < 0 {
		return nil, fmt.Errorf("%w: meter %s: speed %v must be a positive number", ErrOptions, o.ID, o.Speed)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	seed := uint64(o.Seed)
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(o.ID))
		seed = h.Sum64()
	}
	r := rng(seed)
	var md model
	switch o.Profile {
	case Electricity:
		md = newElectricity(r)
	case Water:
		md = newWater(r)
	case Heat:
		md = newHeat(r)
	default:
		return nil, fmt.Errorf("%w: meter %s: unknown profile %q (known: electricity, water, heat)", ErrOptions, o.ID, o.Profile)
	}
	hasLive := false
	for _, q := range md.quantities() {
		hasLive = hasLive || q.Live
	}
	switch {
	case o.LiveInterval < 0:
		o.LiveInterval = 0
	case o.LiveInterval == 0:
		if hasLive {
			o.LiveInterval = DefaultLiveInterval
		}
	case !hasLive:
		return nil, fmt.Errorf("%w: meter %s: profile %s has no live quantities; leave live interval 0", ErrOptions, o.ID, o.Profile)
	case o.LiveInterval < MinInterval:
		return nil, fmt.Errorf("%w: meter %s: live interval %s shorter than %s", ErrOptions, o.ID, o.LiveInterval, MinInterval)
	}
	if err := validOutages(o.ID, o.Outages); err != nil {
		return nil, err
	}
	if len(o.Outages) > 0 && o.Profile != Electricity {
		return nil, fmt.Errorf("%w: meter %s: profile %s has no breaker to have outages", ErrOptions, o.ID, o.Profile)
	}
	return &Meter{
		outages:  slices.Clone(o.Outages),
		id:       o.ID,
		profile:  o.Profile,
		interval: o.Interval,
		liveIv:   o.LiveInterval,
		now:      o.Now,
		speed:    o.Speed,
		log:      o.Log.With("meter", string(o.ID)),
		model:    md,
		it:       integrator{m: md, loc: o.Location},
	}, nil
}

// ID returns the meter's id.
func (m *Meter) ID() meter.MeterID { return m.id }

// Profile returns the meter's profile.
func (m *Meter) Profile() Profile { return m.profile }

// Quantities lists what the meter produces: the registers in the order
// Append receives them, then the live quantities in the order Live
// receives them.
func (m *Meter) Quantities() []Quantity { return m.model.quantities() }

// inRange checks t against the simulated range.
func (m *Meter) inRange(t time.Time) error {
	if t.Before(epoch) || !t.Before(endTime) {
		return fmt.Errorf("%w: meter %s: %s", ErrTimeRange, m.id, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// registersAt appends the register readings at t to dst.
func (m *Meter) registersAt(dst []meter.Reading, t time.Time) ([]meter.Reading, error) {
	if err := m.inRange(t); err != nil {
		return dst, err
	}
	rel := t.Sub(epoch)
	n, e := int64(rel/slotDur), rel%slotDur
	m.mu.Lock()
	cum, si := m.it.at(n, e)
	m.subtractOutages(&cum, t)
	m.mu.Unlock()
	return m.own(dst, m.model.registers(dst, t.UTC(), &si, e, &cum)), nil
}

// liveAt appends the live readings at t to dst.
func (m *Meter) liveAt(dst []meter.Reading, t time.Time) ([]meter.Reading, error) {
	if err := m.inRange(t); err != nil {
		return dst, err
	}
	rel := t.Sub(epoch)
	n, e := int64(rel/slotDur), rel%slotDur
	si := m.it.slotAt(n) // reads only the (immutable) location
	out := m.own(dst, m.model.live(dst, t.UTC(), &si, e))
	m.mu.Lock()
	open := m.openAt(t)
	m.mu.Unlock()
	if open { // the breaker is open: no power flows
		for i := len(dst); i < len(out); i++ {
			if o := out[i].OBIS; o == meter.OBISActivePowerImport || o == meter.OBISActivePowerExport {
				out[i].Value = meter.V(0, out[i].Value.E)
			}
		}
	}
	return out, nil
}

// own sets the meter id on the readings rs appended after dst.
func (m *Meter) own(dst, rs []meter.Reading) []meter.Reading {
	for i := len(dst); i < len(rs); i++ {
		rs[i].Meter = m.id
	}
	return rs
}

// ceil returns the first multiple of d (since the zero time) at or after t.
func ceil(t time.Time, d time.Duration) time.Time {
	b := t.Truncate(d)
	if b.Before(t) {
		b = b.Add(d)
	}
	return b
}

// backfillBatch is how many readings Backfill hands to one Append at most.
const backfillBatch = 1024

// Backfill produces the register readings of every interval boundary in
// [from, to), in time order, in batches to sink.Append. It returns the
// first error of Append (wrapped), ctx's error if ctx ends, or
// ErrTimeRange if a boundary is outside the simulated range (before
// producing anything).
func (m *Meter) Backfill(ctx context.Context, sink Sink, from, to time.Time) error {
	if sink == nil {
		return fmt.Errorf("sim: meter %s: backfill: nil sink", m.id)
	}
	first := ceil(from, m.interval)
	if !first.Before(to) {
		return nil
	}
	last := ceil(to, m.interval).Add(-m.interval)
	if err := m.inRange(first); err != nil {
		return fmt.Errorf("sim: meter %s: backfill: %w", m.id, err)
	}
	if err := m.inRange(last); err != nil {
		return fmt.Errorf("sim: meter %s: backfill: %w", m.id, err)
	}
	per := len(m.model.quantities())
	batch := make([]meter.Reading, 0, backfillBatch+per)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := sink.Append(ctx, batch...); err != nil {
			return fmt.Errorf("sim: meter %s: backfill: %w", m.id, err)
		}
		// The sink may keep what it was given: start a new slice.
		batch = make([]meter.Reading, 0, backfillBatch+per)
		return nil
	}
	for t := first; t.Before(to); t = t.Add(m.interval) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if batch, err = m.registersAt(batch, t); err != nil {
			return fmt.Errorf("sim: meter %s: backfill: %w", m.id, err)
		}
		if len(batch) >= backfillBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// maxBacklog is how many missed register boundaries Run catches up on;
// beyond it (the clock jumped, or the sink stalled) it resumes at the
// present and logs the gap, which Backfill can fill.
const maxBacklog = 96

// Run produces readings until ctx ends, then returns nil: the registers at
// every interval boundary (sink.Append; a failure is logged and the
// readings are dropped, retrying is the sink's job) and the live values at
// every live boundary (sink.Live; missed live ticks are skipped). Readings
// are timestamped at their boundary, in UTC. A boundary outside the
// simulated range (an unsynced clock) is logged once and skipped. Run
// starts no goroutines.
func (m *Meter) Run(ctx context.Context, sink Sink) error {
	if sink == nil {
		return fmt.Errorf("sim: meter %s: run: nil sink", m.id)
	}
	r0 := m.now()
	vnow := func() time.Time {
		t := m.now()
		if m.speed == 1 {
			return t
		}
		return r0.Add(time.Duration(float64(t.Sub(r0)) * m.speed))
	}
	wait := func(d time.Duration) time.Duration {
		if m.speed == 1 {
			return d
		}
		return time.Duration(math.Ceil(float64(d) / m.speed))
	}
	v := vnow()
	nextReg := ceil(v, m.interval)
	var nextLive time.Time
	if m.liveIv > 0 {
		nextLive = ceil(v, m.liveIv)
	}
	m.log.Info("sim: meter running", "profile", string(m.profile), "interval", m.interval, "live_interval", m.liveIv, "speed", m.speed)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	rangeWarned := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		v = vnow()
		switch {
		case v.Sub(nextReg) > maxBacklog*m.interval:
			skipTo := ceil(v, m.interval)
			m.log.Warn("sim: clock jumped or sink stalled; skipping register boundaries",
				"from", nextReg.UTC(), "to", skipTo.UTC())
			nextReg = skipTo
		case nextReg.Sub(v) > m.interval:
			// The clock went back: carry on from the present.
			nextReg = ceil(v, m.interval)
		}
		if !nextReg.After(v) {
			rs, err := m.registersAt(nil, nextReg)
			switch {
			case err != nil:
				if !rangeWarned {
					m.log.Warn("sim: not producing readings", "err", err)
					rangeWarned = true
				}
			default:
				if err := sink.Append(ctx, rs...); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					m.log.Warn("sim: append failed; readings dropped", "time", nextReg.UTC(), "err", err)
				}
			}
			nextReg = nextReg.Add(m.interval)
			continue
		}
		if m.liveIv > 0 {
			if nextLive.Sub(v) > m.liveIv {
				nextLive = ceil(v, m.liveIv)
			}
			if !nextLive.After(v) {
				rs, err := m.liveAt(nil, nextLive)
				if err == nil {
					sink.Live(rs...)
				}
				nextLive = ceil(v, m.liveIv)
				if !nextLive.After(v) {
					nextLive = nextLive.Add(m.liveIv)
				}
			}
		}
		wake := nextReg
		if m.liveIv > 0 && nextLive.Before(wake) {
			wake = nextLive
		}
		timer.Reset(wait(wake.Sub(v)))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
	}
}
