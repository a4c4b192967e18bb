package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	mb "github.com/smgw/smgw/internal/proto/modbus"
)

// Sink receives what the meters produce (the gateway's ingest; the same
// interface as the simulated meters' sim.Sink).
type Sink interface {
	// Append hands over register readings; it returns when they are
	// durable (or fails).
	Append(ctx context.Context, rs ...meter.Reading) error
	// Live hands over instantaneous samples; it never blocks.
	Live(rs ...meter.Reading)
}

// MeterOptions describe one meter on a bus.
type MeterOptions struct {
	ID      meter.MeterID
	Unit    byte // RTU address 1…247 (or the unit id behind a TCP gateway)
	Profile *profile.Profile
	// Interval is the period of the registers (OBIS D ≠ 7); 0 is 15 min.
	Interval time.Duration
	// LiveInterval is the period of the instantaneous values (OBIS D = 7);
	// 0 reads them with the registers.
	LiveInterval time.Duration
	// Sink receives the readings.
	Sink Sink
}

// BusOptions configure a Bus. The zero value is usable with a Client.
type BusOptions struct {
	// Retries is how often a request is repeated after a timeout or a
	// garbled response within one poll; 0 is 2, negative is none.
	Retries int
	// MaxBackoff caps the delay before a failed meter is tried again (it
	// doubles from one second); 0 is the meter's shortest interval.
	MaxBackoff time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

// Stats are one meter's counters and health.
type Stats struct {
	ID          meter.MeterID
	Unit        byte
	Requests    uint64 // requests sent, retries included
	Responses   uint64 // good responses
	Timeouts    uint64
	CRCErrors   uint64
	BadFrames   uint64 // malformed, from another unit, or to another request
	Exceptions  map[mb.ExceptionCode]uint64
	Polls       uint64 // polls begun
	FailedPolls uint64 // polls with at least one request that failed after its retries
	BadValues   uint64 // registers whose bytes held no valid value
	Readings    uint64 // readings handed to the sink
	Failures    int    // consecutive failed polls; 0 when healthy
	LastError   string
	LastSuccess time.Time // end of the last poll without failure
}

// Healthy reports whether the meter's last poll succeeded.
func (s Stats) Healthy() bool { return s.Failures == 0 && !s.LastSuccess.IsZero() }

// group is one periodic part of a meter's plan.
type group struct {
	every   time.Duration
	live    bool
	batches []Batch
	next    time.Time // when it is due
}

// busMeter is a meter and its schedule.
type busMeter struct {
	opts    MeterOptions
	groups  []*group
	backoff time.Duration
	retryAt time.Time // after a failure: not before this

	// the poll in progress
	poll     *group
	batch    int
	at       time.Time
	readings []meter.Reading
	failed   bool
	served   uint64 // turns served, for round-robin ties

	mu    sync.Mutex
	stats Stats
}

// Bus owns one line and polls its meters. New → AddMeter… → Run.
type Bus struct {
	c       *Client
	retries int
	maxBO   time.Duration
	now     func() time.Time
	log     *slog.Logger
	meters  []*busMeter
	turn    uint64
	mu      sync.Mutex
	running bool
}

// NewBus returns a bus that carries its transactions with c.
func NewBus(c *Client, opts *BusOptions) (*Bus, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no client", ErrOptions)
	}
	var o BusOptions
	if opts != nil {
		o = *opts
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Bus{c: c, retries: max(o.Retries, 0), maxBO: o.MaxBackoff, now: o.Now, log: o.Log}, nil
}

// AddMeter adds a meter before Run.
func (b *Bus) AddMeter(mo MeterOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return fmt.Errorf("%w: meter %s added while the bus runs", ErrOptions, mo.ID)
	}
	if err := mo.ID.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if mo.Profile == nil || len(mo.Profile.Registers) == 0 {
		return fmt.Errorf("%w: meter %s: no profile", ErrOptions, mo.ID)
	}
	if mo.Sink == nil {
		return fmt.Errorf("%w: meter %s: no sink", ErrOptions, mo.ID)
	}
	if b.c.framing == RTU && (mo.Unit < 1 || mo.Unit > mb.MaxUnit) {
		return fmt.Errorf("%w: meter %s: unit %d, must be 1…%d", ErrOptions, mo.ID, mo.Unit, mb.MaxUnit)
	}
	for _, m := range b.meters {
		if m.opts.Unit == mo.Unit {
			return fmt.Errorf("%w: meter %s: unit %d is meter %s's already", ErrOptions, mo.ID, mo.Unit, m.opts.ID)
		}
		if m.opts.ID == mo.ID {
			return fmt.Errorf("%w: meter %s added twice", ErrOptions, mo.ID)
		}
	}
	if mo.Interval <= 0 {
		mo.Interval = 15 * time.Minute
	}
	var live, regs []profile.Register
	for _, r := range mo.Profile.Registers {
		if mo.LiveInterval > 0 && r.OBIS.Instantaneous() {
			live = append(live, r)
		} else {
			regs = append(regs, r)
		}
	}
	m := &busMeter{opts: mo, stats: Stats{ID: mo.ID, Unit: mo.Unit, Exceptions: map[mb.ExceptionCode]uint64{}}}
	now := b.now()
	if len(regs) > 0 {
		m.groups = append(m.groups, &group{every: mo.Interval, batches: Plan(regs, mo.Profile.MaxRegisters, mo.Profile.MaxGap), next: now})
	}
	if len(live) > 0 {
		m.groups = append(m.groups, &group{every: mo.LiveInterval, live: true, batches: Plan(live, mo.Profile.MaxRegisters, mo.Profile.MaxGap), next: now})
	}
	b.meters = append(b.meters, m)
	return nil
}

// Stats returns every meter's counters, in the order added.
func (b *Bus) Stats() []Stats {
	b.mu.Lock()
	ms := b.meters
	b.mu.Unlock()
	out := make([]Stats, len(ms))
	for i, m := range ms {
		m.mu.Lock()
		s := m.stats
		s.Exceptions = make(map[mb.ExceptionCode]uint64, len(m.stats.Exceptions))
		for k, v := range m.stats.Exceptions {
			s.Exceptions[k] = v
		}
		m.mu.Unlock()
		out[i] = s
	}
	return out
}

// Batches returns the number of requests of each meter's full poll.
func (b *Bus) Batches() map[meter.MeterID]int {
	out := map[meter.MeterID]int{}
	for _, m := range b.meters {
		for _, g := range m.groups {
			out[m.opts.ID] += len(g.batches)
		}
	}
	return out
}

// Run polls the meters until ctx ends; it returns nil then, an error
// wrapping ErrPort when the port fails, or the error of a sink that failed
// for good.
func (b *Bus) Run(ctx context.Context) error {
	b.mu.Lock()
	b.running = true
	b.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return nil
		}
		m, wait := b.pick()
		if m == nil {
			if wait < 0 {
				<-ctx.Done() // no meters
				return nil
			}
			if err := sleep(ctx, wait); err != nil {
				return nil
			}
			continue
		}
		if err := b.step(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// PollOnce runs one full poll of every meter (every group), serving them
// in turn as Run does, and returns when all are done. For probes, tests
// and benchmarks.
func (b *Bus) PollOnce(ctx context.Context) error {
	now := b.now()
	for _, m := range b.meters {
		m.retryAt = time.Time{}
		for _, g := range m.groups {
			g.next = now
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var m *busMeter
		for _, x := range b.meters {
			if x.poll != nil || x.due(now) != nil {
				if m == nil || x.served < m.served {
					m = x
				}
			}
		}
		if m == nil {
			return nil
		}
		if err := b.step(ctx, m); err != nil {
			return err
		}
	}
}

// due returns the group of m due at now (the most overdue), or nil.
func (m *busMeter) due(now time.Time) *group {
	if now.Before(m.retryAt) {
		return nil
	}
	var d *group
	for _, g := range m.groups {
		if !g.next.After(now) && (d == nil || g.next.Before(d.next)) {
			d = g
		}
	}
	return d
}

// pick chooses the meter to serve next: among those with a poll under way
// or due, the one served least recently (round-robin, one request a
// turn). Without one it returns how long until the next is due (-1: no
// meters).
func (b *Bus) pick() (*busMeter, time.Duration) {
	now := b.now()
	var best *busMeter
	next := time.Time{}
	for _, m := range b.meters {
		if m.poll != nil || m.due(now) != nil {
			if best == nil || m.served < best.served {
				best = m
			}
			continue
		}
		for _, g := range m.groups {
			t := g.next
			if t.Before(m.retryAt) {
				t = m.retryAt
			}
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	if best != nil {
		return best, 0
	}
	if next.IsZero() {
		return nil, -1
	}
	return nil, max(next.Sub(now), 0)
}

// step sends one request of m's poll (starting the poll if none is under
// way) and finishes the poll after its last request.
func (b *Bus) step(ctx context.Context, m *busMeter) error {
	b.turn++
	m.served = b.turn
	if m.poll == nil {
		now := b.now()
		m.poll = m.due(now)
		if m.poll == nil {
			return nil
		}
		m.batch, m.at, m.failed, m.readings = 0, now, false, m.readings[:0]
		m.count(func(s *Stats) { s.Polls++ })
	}
	g := m.poll
	bt := g.batches[m.batch]
	resp, err := b.transact(ctx, m, bt.Request())
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ex *mb.Exception
		if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrGarbled) && !errors.As(err, &ex) {
			return fmt.Errorf("%w: meter %s: %w", ErrPort, m.opts.ID, err)
		}
		m.failed = true
		m.mu.Lock()
		wasHealthy := m.stats.Failures == 0
		m.mu.Unlock()
		level := slog.LevelDebug // a meter already failing is logged once, not at every poll
		if wasHealthy {
			level = slog.LevelWarn
		}
		b.log.Log(ctx, level, "modbus: read failed", "meter", m.opts.ID, "unit", m.opts.Unit,
			"table", bt.Table.String(), "address", bt.Address, "count", bt.Count, "err", err)
		m.count(func(s *Stats) { s.LastError = err.Error() })
		if errors.Is(err, ErrTimeout) {
			// The meter does not answer: leave the line to the others
			// rather than time out on each of its requests.
			return b.finish(ctx, m)
		}
	} else {
		m.decode(bt, resp)
	}
	m.batch++
	if m.batch < len(g.batches) {
		return nil
	}
	return b.finish(ctx, m)
}

// finish ends m's poll: readings to the sink, the schedule advanced, the
// backoff set or cleared.
func (b *Bus) finish(ctx context.Context, m *busMeter) error {
	g := m.poll
	m.poll = nil
	now := b.now()
	g.next = nextTick(m.at, now, g.every)
	if m.failed {
		if m.backoff == 0 {
			m.backoff = time.Second
		} else {
			m.backoff *= 2
		}
		limit := b.maxBO
		if limit <= 0 {
			limit = g.every
			for _, x := range m.groups {
				limit = min(limit, x.every)
			}
		}
		m.backoff = min(m.backoff, max(limit, time.Second))
		m.retryAt = now.Add(m.backoff)
		for _, x := range m.groups {
			if x.next.After(now) && x != g {
				continue
			}
			x.next = m.retryAt // a failed group is tried again after the backoff
		}
		m.count(func(s *Stats) { s.FailedPolls++; s.Failures++ })
	} else {
		m.backoff, m.retryAt = 0, time.Time{}
		m.mu.Lock()
		if m.stats.Failures > 0 {
			b.log.Info("modbus: meter answers again", "meter", m.opts.ID, "unit", m.opts.Unit, "failed_polls", m.stats.Failures)
		}
		m.stats.Failures, m.stats.LastSuccess = 0, now
		m.mu.Unlock()
	}
	if len(m.readings) == 0 {
		return nil
	}
	rs := m.readings
	m.count(func(s *Stats) { s.Readings += uint64(len(rs)) })
	if g.live {
		m.opts.Sink.Live(rs...)
		return nil
	}
	var live, regs []meter.Reading
	for _, r := range rs {
		if r.OBIS.Instantaneous() {
			live = append(live, r)
		} else {
			regs = append(regs, r)
		}
	}
	if len(live) > 0 {
		m.opts.Sink.Live(live...)
	}
	if len(regs) > 0 {
		if err := m.opts.Sink.Append(ctx, regs...); err != nil {
			return fmt.Errorf("modbus: meter %s: store readings: %w", m.opts.ID, err)
		}
	}
	return nil
}

// nextTick is the first multiple of every (on the wall clock) after start
// that is not before now: polls stay on their grid and one that ran long
// skips the ticks it missed.
func nextTick(start, now time.Time, every time.Duration) time.Time {
	t := start.Truncate(every).Add(every)
	if t.Before(now) {
		t = now.Truncate(every).Add(every)
	}
	return t
}

// transact does one request with retries, counting what happens.
func (b *Bus) transact(ctx context.Context, m *busMeter, req mb.Request) (mb.Response, error) {
	var err error
	for attempt := 0; attempt <= b.retries; attempt++ {
		m.count(func(s *Stats) { s.Requests++ })
		var resp mb.Response
		resp, err = b.c.Do(ctx, m.opts.Unit, req)
		var ex *mb.Exception
		switch {
		case err == nil:
			m.count(func(s *Stats) { s.Responses++ })
			return resp, nil
		case ctx.Err() != nil:
			return mb.Response{}, err
		case errors.As(err, &ex):
			m.count(func(s *Stats) { s.Exceptions[ex.Code]++ })
			return mb.Response{}, err // the meter's answer: no retry
		case errors.Is(err, mb.ErrCRC):
			m.count(func(s *Stats) { s.CRCErrors++ })
		case errors.Is(err, ErrGarbled):
			m.count(func(s *Stats) { s.BadFrames++ })
		case errors.Is(err, ErrTimeout):
			m.count(func(s *Stats) { s.Timeouts++ })
		default:
			return mb.Response{}, err // the port failed
		}
	}
	return mb.Response{}, err
}

func (m *busMeter) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

// decode turns a batch's response into readings.
func (m *busMeter) decode(bt Batch, resp mb.Response) {
	for _, r := range bt.Registers {
		off := 2 * int(r.Address-bt.Address)
		end := off + 2*r.Count()
		if end > len(resp.Data) {
			continue
		}
		v, err := r.Decode(resp.Data[off:end], m.opts.Profile.LittleEndian)
		if err != nil {
			m.count(func(s *Stats) { s.BadValues++ })
			continue
		}
		m.readings = append(m.readings, meter.Reading{
			Meter: m.opts.ID, OBIS: r.OBIS, Time: m.at, Value: v, Unit: r.Unit, Source: meter.SourceModbus,
		})
	}
}

// ReadAll reads every register of p from unit once, without a schedule,
// and returns the readings in profile order and the errors of the
// requests that failed (the probe's read).
func ReadAll(ctx context.Context, c *Client, unit byte, p *profile.Profile, id meter.MeterID, retries int) ([]meter.Reading, error) {
	m := &busMeter{opts: MeterOptions{ID: id, Unit: unit, Profile: p}, stats: Stats{Exceptions: map[mb.ExceptionCode]uint64{}}}
	m.at = c.now()
	b := &Bus{c: c, retries: max(retries, 0), now: c.now}
	var errs []error
	for _, bt := range Plan(p.Registers, p.MaxRegisters, p.MaxGap) {
		resp, err := b.transact(ctx, m, bt.Request())
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s registers %d…%d: %w", bt.Table, bt.Address, int(bt.Address)+int(bt.Count)-1, err))
			continue
		}
		m.decode(bt, resp)
	}
	order := map[meter.OBIS]int{}
	for i, r := range p.Registers {
		order[r.OBIS] = i
	}
	sort.SliceStable(m.readings, func(i, j int) bool { return order[m.readings[i].OBIS] < order[m.readings[j].OBIS] })
	return m.readings, errors.Join(errs...)
}
