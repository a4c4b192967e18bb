package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/lmn/bus"
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

// Job names of a meter's poll plan on the line's scheduler.
const (
	JobRegisters = "registers" // the registers, every Interval
	JobLive      = "live"      // the instantaneous values, every LiveInterval
)

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
	// MaxBackoff caps the delay before a failed poll is tried again (it
	// doubles from one second; a retry never runs past the poll's next
	// regular slot); 0 is 5 min.
	MaxBackoff time.Duration
	// PollRetries is how often a failed poll is tried again before it
	// waits for its next slot; 0 is 3, negative is none.
	PollRetries int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

// Stats are one meter's Modbus counters and health.
type Stats struct {
	ID          meter.MeterID
	Unit        byte
	Requests    uint64 // requests sent, retries included
	Responses   uint64 // good responses
	Timeouts    uint64
	CRCErrors   uint64
	BadFrames   uint64 // malformed, from another unit, or to another request
	Exceptions  map[mb.ExceptionCode]uint64
	Polls       uint64    // polls begun
	FailedPolls uint64    // polls with at least one request that failed after its retries
	BadValues   uint64    // registers whose bytes held no valid value
	Readings    uint64    // readings handed to the sink
	Failures    int       // consecutive failed polls; 0 when healthy
	LastError   string    // of the last failed poll
	LastSuccess time.Time // end of the last poll without failure
}

// Healthy reports whether the meter's last poll succeeded.
func (s Stats) Healthy() bool { return s.Failures == 0 && !s.LastSuccess.IsZero() }

// busMeter is a meter and its poll plan's requests.
type busMeter struct {
	opts MeterOptions
	jobs map[string][]Batch // by job name
	live map[string]bool    // jobs whose readings are all live values

	mu    sync.Mutex
	stats Stats
}

// Bus is one line and its meters, served by the line's scheduler
// (internal/lmn/bus): one request/response job at a time, each meter's
// poll plan on its periods, commands first, fair turns between meters
// and failed polls retried with backoff. New → AddMeter… → Run.
type Bus struct {
	c       *Client
	r       *bus.Runner
	retries int
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	meters  []*busMeter
	byID    map[meter.MeterID]*busMeter
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
	r := bus.NewRunner(&bus.Options{
		Retries: o.PollRetries, Backoff: time.Second, MaxBackoff: o.MaxBackoff,
		HoldOnTimeout: true, Now: o.Now,
	}, o.Log)
	return &Bus{c: c, r: r, retries: max(o.Retries, 0), now: o.Now, log: o.Log, byID: map[meter.MeterID]*busMeter{}}, nil
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
	m := &busMeter{opts: mo, jobs: map[string][]Batch{}, live: map[string]bool{},
		stats: Stats{ID: mo.ID, Unit: mo.Unit, Exceptions: map[mb.ExceptionCode]uint64{}}}
	// Both on the wall clock's grid: a poll that ran long skips the
	// slots it missed.
	var plan []bus.Job
	if len(regs) > 0 {
		m.jobs[JobRegisters] = Plan(regs, mo.Profile.MaxRegisters, mo.Profile.MaxGap)
		plan = append(plan, bus.Job{Name: JobRegisters, Every: mo.Interval, Align: true})
	}
	if len(live) > 0 {
		m.jobs[JobLive] = Plan(live, mo.Profile.MaxRegisters, mo.Profile.MaxGap)
		m.live[JobLive] = true
		plan = append(plan, bus.Job{Name: JobLive, Every: mo.LiveInterval, Align: true})
	}
	if err := b.r.Add(string(mo.ID), plan, func(ctx context.Context, job string) error { return b.poll(ctx, m, job) }); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	b.meters = append(b.meters, m)
	b.byID[mo.ID] = m
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

// Health returns every meter's health as the line's scheduler counts it
// (the form every RS-485 driver reports), in the order added.
func (b *Bus) Health() []bus.Health { return b.r.Health() }

// Occupancy returns how busy the line is.
func (b *Bus) Occupancy() bus.Occupancy { return b.r.Occupancy() }

// Ticks counts finished polls and commands (for a watchdog).
func (b *Bus) Ticks() uint64 { return b.r.Ticks() }

// Batches returns the number of requests of each meter's full poll.
func (b *Bus) Batches() map[meter.MeterID]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[meter.MeterID]int{}
	for _, m := range b.meters {
		for _, bs := range m.jobs {
			out[m.opts.ID] += len(bs)
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
	return b.r.Run(ctx)
}

// PollOnce runs one full poll of every meter (every job of its plan),
// serving them in turn as Run does, and returns when all are done. A
// failed poll is not retried within it. For probes, tests and benchmarks;
// not while Run runs.
func (b *Bus) PollOnce(ctx context.Context) error { return b.r.Cycle(ctx) }

// Do sends req to meter id as a command: it goes on the line as soon as
// the request in progress ends, before any poll, with the bus's retries
// for timeouts and garbled answers (not for a write that may have been
// executed: functions 6 and 16 are sent once). It needs Run to be
// running. The response's Data is the caller's.
func (b *Bus) Do(ctx context.Context, id meter.MeterID, req mb.Request) (mb.Response, error) {
	b.mu.Lock()
	m := b.byID[id]
	b.mu.Unlock()
	if m == nil {
		return mb.Response{}, fmt.Errorf("%w: meter %s: not on this bus", ErrOptions, id)
	}
	if err := req.Validate(); err != nil {
		return mb.Response{}, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	retries := b.retries
	if req.Function == mb.FuncWriteSingle || req.Function == mb.FuncWriteMultiple {
		retries = 0
	}
	var resp mb.Response
	err := b.r.Do(ctx, string(id), func(ctx context.Context) error {
		r, err := transact(ctx, b.c, retries, m, req, b.noter(m))
		if err != nil {
			return b.jobErr(ctx, m, err)
		}
		resp = r
		resp.Data = append([]byte(nil), r.Data...)
		return nil
	})
	return resp, err
}

// noter passes the errors a request recovered from to the line's
// counters.
func (b *Bus) noter(m *busMeter) func(err error) {
	return func(err error) {
		b.r.Note(string(m.opts.ID), bus.Classify(lineErr(err)))
		b.r.Retried(string(m.opts.ID))
	}
}

// jobErr turns a request's final error into the job's: the port's
// failure stops the line; the rest is the meter's, classified for the
// scheduler's counters.
func (b *Bus) jobErr(ctx context.Context, m *busMeter, err error) error {
	var ex *mb.Exception
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("modbus: meter %s: %w: %w", m.opts.ID, bus.ErrTimeout, err)
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrGarbled), errors.As(err, &ex):
		return lineErr(err)
	case errors.Is(err, ErrOptions):
		return fmt.Errorf("%w: %w", bus.ErrPermanent, err)
	}
	return bus.Stop(fmt.Errorf("%w: meter %s: %w", ErrPort, m.opts.ID, err))
}

// lineErr wraps a transaction's error with the scheduler's sentinel for
// its kind (the message stays the same).
func lineErr(err error) error {
	var ex *mb.Exception
	switch {
	case errors.As(err, &ex):
		return &bus.ProtocolError{Kind: "exception:" + ex.Code.String(), Err: err}
	case errors.Is(err, ErrTimeout):
		return &kindError{err, bus.ErrTimeout}
	case errors.Is(err, ErrGarbled):
		return &kindError{err, bus.ErrFrame}
	}
	return err
}

type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// poll is one job of m's plan: every request of it in turn, the readings
// to the sink. A request the meter refuses (an exception) or garbles
// beyond the retries fails the poll but not the other requests; one it
// does not answer ends the poll at once, leaving the line to the others.
func (b *Bus) poll(ctx context.Context, m *busMeter, job string) error {
	batches, ok := m.jobs[job]
	if !ok {
		return fmt.Errorf("modbus: meter %s: %w: unknown job %q", m.opts.ID, bus.ErrPermanent, job)
	}
	at := b.now()
	m.count(func(s *Stats) { s.Polls++ })
	note := b.noter(m)
	var readings []meter.Reading
	var failed error
	for _, bt := range batches {
		resp, err := transact(ctx, b.c, b.retries, m, bt.Request(), note)
		if err != nil {
			err = b.jobErr(ctx, m, err)
			if errors.Is(err, bus.ErrStop) || ctx.Err() != nil {
				return err
			}
			b.log.Debug("modbus: read failed", "meter", m.opts.ID, "unit", m.opts.Unit,
				"table", bt.Table.String(), "address", bt.Address, "count", bt.Count, "err", err)
			if failed != nil {
				// Counted here; the poll's error is the last one.
				b.r.Note(string(m.opts.ID), bus.Classify(failed))
			}
			failed = err
			if errors.Is(err, bus.ErrTimeout) {
				break // the meter does not answer
			}
			continue
		}
		readings = m.decode(bt, resp, at, readings)
	}
	// The poll's outcome is in Stats before the readings are handed on
	// (the scheduler's Health has it once the job has returned).
	if failed != nil {
		m.count(func(s *Stats) { s.FailedPolls++; s.Failures++; s.LastError = failed.Error() })
	} else {
		now := b.now()
		m.count(func(s *Stats) { s.Failures, s.LastSuccess = 0, now })
	}
	if err := m.deliver(ctx, readings, m.live[job]); err != nil {
		return bus.Stop(err)
	}
	if failed != nil {
		return fmt.Errorf("modbus: meter %s unit %d, %s: %w", m.opts.ID, m.opts.Unit, job, failed)
	}
	return nil
}

// deliver hands readings to the sink: instantaneous values as live
// values, the others to Append.
func (m *busMeter) deliver(ctx context.Context, rs []meter.Reading, live bool) error {
	if len(rs) == 0 {
		return nil
	}
	m.count(func(s *Stats) { s.Readings += uint64(len(rs)) })
	if live {
		m.opts.Sink.Live(rs...)
		return nil
	}
	var lv, regs []meter.Reading
	for _, r := range rs {
		if r.OBIS.Instantaneous() {
			lv = append(lv, r)
		} else {
			regs = append(regs, r)
		}
	}
	if len(lv) > 0 {
		m.opts.Sink.Live(lv...)
	}
	if len(regs) > 0 {
		if err := m.opts.Sink.Append(ctx, regs...); err != nil {
			return fmt.Errorf("modbus: meter %s: store readings: %w", m.opts.ID, err)
		}
	}
	return nil
}

// transact does one request with retries, counting what happens; note
// (if set) is told of each failure that is retried.
func transact(ctx context.Context, c *Client, retries int, m *busMeter, req mb.Request, note func(error)) (mb.Response, error) {
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 && note != nil {
			note(err)
		}
		m.count(func(s *Stats) { s.Requests++ })
		var resp mb.Response
		resp, err = c.Do(ctx, m.opts.Unit, req)
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

// decode appends a batch's response to rs as readings taken at at.
func (m *busMeter) decode(bt Batch, resp mb.Response, at time.Time, rs []meter.Reading) []meter.Reading {
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
		rs = append(rs, meter.Reading{
			Meter: m.opts.ID, OBIS: r.OBIS, Time: at, Value: v, Unit: r.Unit, Source: meter.SourceModbus,
		})
	}
	return rs
}

// ReadAll reads every register of p from unit once, without a schedule,
// and returns the readings in profile order and the errors of the
// requests that failed (the probe's read).
func ReadAll(ctx context.Context, c *Client, unit byte, p *profile.Profile, id meter.MeterID, retries int) ([]meter.Reading, error) {
	m := &busMeter{opts: MeterOptions{ID: id, Unit: unit, Profile: p}, stats: Stats{Exceptions: map[mb.ExceptionCode]uint64{}}}
	at := c.now()
	var errs []error
	var rs []meter.Reading
	for _, bt := range Plan(p.Registers, p.MaxRegisters, p.MaxGap) {
		resp, err := transact(ctx, c, max(retries, 0), m, bt.Request(), nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s registers %d…%d: %w", bt.Table, bt.Address, int(bt.Address)+int(bt.Count)-1, err))
			continue
		}
		rs = m.decode(bt, resp, at, rs)
	}
	order := map[meter.OBIS]int{}
	for i, r := range p.Registers {
		order[r.OBIS] = i
	}
	sort.SliceStable(rs, func(i, j int) bool { return order[rs[i].OBIS] < order[rs[j].OBIS] })
	return rs, errors.Join(errs...)
}
