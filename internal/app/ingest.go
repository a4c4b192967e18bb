package app

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// ingestStore is what the ingest pipeline needs of the store.
type ingestStore interface {
	Append(ctx context.Context, rs ...meter.Reading) error
	AppendDeferred(rs ...meter.Reading) error
}

// IngestOptions configure an Ingest. The zero value is usable.
type IngestOptions struct {
	// Resolution is the window over which instantaneous values (OBIS D=7)
	// are averaged before they are stored; 0 stores every sample.
	Resolution time.Duration
	// Latest returns the newest stored reading of a series (store.Latest).
	// With it, samples of a window already stored before a restart are
	// dropped instead of producing a second mean for the same time. nil:
	// nothing is stored yet.
	Latest func(meter.MeterID, meter.OBIS) (meter.Reading, bool)
	// Seen lists the meters that already have readings in the store; the
	// first reading stored of any other meter is reported to OnSeen.
	Seen []meter.MeterID
	// OnSeen is called (from Append or Run, never with a lock held) the
	// first time a reading of a meter not in Seen is stored.
	OnSeen func(ctx context.Context, id meter.MeterID)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Tick is how often Run closes windows whose time is over; 0 is 1 s.
	Tick time.Duration
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// Clock, if set, says whether the clock may timestamp readings
	// (clockgate.go); nil trusts it.
	Clock *ClockGate
}

// Ingest is the pipeline between meter drivers and the store. It
// implements the drivers' sink (sim.Sink): Append stores register readings
// durably; Live keeps the newest value of every quantity in memory and
// stores instantaneous values as means over the configured resolution with
// store.AppendDeferred. It is safe for concurrent use.
type Ingest struct {
	st     ingestStore
	res    time.Duration
	latest func(meter.MeterID, meter.OBIS) (meter.Reading, bool)
	onSeen func(context.Context, meter.MeterID)
	now    func() time.Time
	tick   time.Duration
	retry  time.Duration // the first retry's backoff
	log    *slog.Logger

	mu          sync.Mutex
	series      map[seriesKey]*series
	out         []meter.Reading // scratch: closed windows to store
	seen        map[meter.MeterID]bool
	pendingSeen []meter.MeterID // seen by Live; reported by Run
	late        uint64          // samples dropped: their window was already stored
	deferErrs   uint64          // AppendDeferred failures
	lastErrLog  time.Time

	rate     rateCounter
	progress atomic.Int64 // unix nanoseconds of Run's last loop

	clock *ClockGate // nil: the clock is trusted (clockgate.go)
}

type seriesKey struct {
	meter meter.MeterID
	obis  meter.OBIS
}

// series is the in-memory state of one quantity of one meter.
type series struct {
	latest meter.Reading // newest live sample
	w      window        // the open averaging window
	closed time.Time     // samples before this belong to stored windows
}

// window accumulates the samples of one resolution window: the sum of
// their mantissas at a common exponent (the finest of the samples).
type window struct {
	start   time.Time
	n       int64
	sum     int64
	exp     int8
	unit    meter.Unit
	source  meter.Source
	quality meter.Quality
}

// NewIngest returns a pipeline into st.
func NewIngest(st ingestStore, opts *IngestOptions) *Ingest {
	if opts == nil {
		opts = &IngestOptions{}
	}
	in := &Ingest{
		st:     st,
		res:    max(opts.Resolution, 0),
		latest: opts.Latest,
		onSeen: opts.OnSeen,
		now:    opts.Now,
		tick:   opts.Tick,
		retry:  100 * time.Millisecond,
		log:    opts.Log,
		clock:  opts.Clock,
		series: make(map[seriesKey]*series),
		seen:   make(map[meter.MeterID]bool, len(opts.Seen)),
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.tick <= 0 {
		in.tick = time.Second
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	for _, id := range opts.Seen {
		in.seen[id] = true
	}
	in.progress.Store(in.now().UnixNano())
	return in
}

// Append stores rs durably (store.Append) and returns when they are on
// disk. A failure that may pass (an I/O error) is retried, with backoff,
// until ctx ends: the meter waits rather than loses readings, and if the
// store does not recover the watchdog notices the stalled meter. Invalid
// readings and a closed store fail at once.
func (in *Ingest) Append(ctx context.Context, rs ...meter.Reading) error {
	if rs = in.clock.apply(rs); len(rs) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := in.st.Append(ctx, rs...)
		if err == nil {
			if attempt > 0 {
				in.log.Info("ingest: storing readings works again", "attempts", attempt+1)
			}
			break
		}
		if ctx.Err() != nil || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrClosed) ||
			errors.Is(err, store.ErrReadOnly) {
			return err
		}
		if attempt == 0 {
			in.log.Warn("ingest: storing readings failed; retrying", "meter", rs[0].Meter, "readings", len(rs), "err", err)
		}
		t := time.NewTimer(min(in.retry<<min(attempt, 10), 5*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
	in.rate.add(in.now(), len(rs))
	if in.onSeen == nil {
		return nil
	}
	var fresh []meter.MeterID
	in.mu.Lock()
	prev := meter.MeterID("")
	for i := range rs {
		id := rs[i].Meter
		if id == prev {
			continue
		}
		prev = id
		if !in.seen[id] {
			in.seen[id] = true
			fresh = append(fresh, id)
		}
	}
	in.mu.Unlock()
	for _, id := range fresh {
		in.onSeen(ctx, id)
	}
	return nil
}

// Live takes samples that are not billing data: it keeps the newest per
// quantity and averages instantaneous ones into the store. It does not
// block on the disk.
func (in *Ingest) Live(rs ...meter.Reading) {
	if rs = in.clock.apply(rs); len(rs) == 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		k := seriesKey{r.Meter, r.OBIS}
		s := in.series[k]
		if s == nil {
			s = in.newSeries(k)
		}
		if !r.Time.Before(s.latest.Time) {
			s.latest = *r
		}
		if !r.OBIS.Instantaneous() {
			continue
		}
		if in.res == 0 {
			in.out = append(in.out, *r)
			continue
		}
		in.sample(s, r)
	}
	in.storeClosed()
}

func (in *Ingest) newSeries(k seriesKey) *series {
	s := &series{}
	if in.latest != nil && in.res > 0 && k.obis.Instantaneous() {
		if r, ok := in.latest(k.meter, k.obis); ok {
			s.closed = r.Time.Truncate(in.res).Add(in.res)
		}
	}
	in.series[k] = s
	return s
}

// sample adds r to its series' window, closing the open window first when
// r belongs to a later one.
func (in *Ingest) sample(s *series, r *meter.Reading) {
	ws := r.Time.Truncate(in.res)
	if ws.Before(s.closed) || (s.w.n > 0 && ws.Before(s.w.start)) {
		in.late++
		return
	}
	if s.w.n > 0 && ws.After(s.w.start) {
		in.closeWindow(s, r.Meter, r.OBIS)
	}
	if s.w.n == 0 {
		s.w = window{start: ws}
	}
	if !s.w.add(r.Value) {
		// The sum would overflow (or the exponents are too far apart):
		// store what there is and start over with this sample.
		in.log.Warn("ingest: live values too large to average; storing a partial mean",
			"meter", r.Meter, "obis", r.OBIS, "window", ws)
		in.closeWindow(s, r.Meter, r.OBIS)
		s.closed = time.Time{}
		s.w = window{start: ws}
		s.w.add(r.Value)
	}
	s.w.unit, s.w.source = r.Unit, r.Source
	s.w.quality |= r.Quality
}

// closeWindow queues the mean of s's open window for storing.
func (in *Ingest) closeWindow(s *series, id meter.MeterID, o meter.OBIS) {
	if s.w.n == 0 {
		return
	}
	in.out = append(in.out, meter.Reading{
		Meter:   id,
		OBIS:    o,
		Time:    s.w.start,
		Value:   meanValue(s.w.sum, s.w.n, s.w.exp),
		Unit:    s.w.unit,
		Quality: s.w.quality | meter.QualityAggregated,
		Source:  s.w.source,
	})
	s.closed = s.w.start.Add(in.res)
	s.w = window{}
}

// storeClosed hands the queued means to the store. Called with mu held.
func (in *Ingest) storeClosed() {
	if len(in.out) == 0 {
		return
	}
	err := in.st.AppendDeferred(in.out...)
	now := in.now()
	if err != nil {
		in.deferErrs++
		if now.Sub(in.lastErrLog) >= time.Minute {
			in.lastErrLog = now
			in.log.Warn("ingest: storing live means failed", "readings", len(in.out), "err", err,
				"failures", in.deferErrs)
		}
	} else {
		in.rate.add(now, len(in.out))
		if in.onSeen != nil {
			for i := range in.out {
				if id := in.out[i].Meter; !in.seen[id] {
					in.seen[id] = true
					in.pendingSeen = append(in.pendingSeen, id)
				}
			}
		}
	}
	clear(in.out) // drop references to meter ids
	in.out = in.out[:0]
}

// closeDue closes every window that ended before now less a grace period
// for samples still on their way.
func (in *Ingest) closeDue(now time.Time) []meter.MeterID {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.res > 0 {
		grace := min(in.res/2, 2*time.Second)
		for k, s := range in.series {
			if s.w.n > 0 && !s.w.start.Add(in.res+grace).After(now) {
				in.closeWindow(s, k.meter, k.obis)
			}
		}
		in.storeClosed()
	}
	seen := in.pendingSeen
	in.pendingSeen = nil
	return seen
}

// FlushWindows stores the means of every open window, complete or not. The
// app calls it at shutdown, before the store flushes; samples of those
// windows arriving after a restart are dropped (see IngestOptions.Latest).
func (in *Ingest) FlushWindows() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, s := range in.series {
		in.closeWindow(s, k.meter, k.obis)
	}
	in.storeClosed()
}

// Run closes windows as their time passes and reports meters seen by Live.
// It returns nil when ctx is cancelled.
func (in *Ingest) Run(ctx context.Context) error {
	t := time.NewTicker(in.tick)
	defer t.Stop()
	for {
		now := in.now()
		in.progress.Store(now.UnixNano())
		for _, id := range in.closeDue(now) {
			in.onSeen(ctx, id)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Progress is when Run last completed a loop (the watchdog probe).
func (in *Ingest) Progress() time.Time { return time.Unix(0, in.progress.Load()) }

// ReadingsLastMinute counts the readings stored (durably or deferred) in
// the last 60 seconds.
func (in *Ingest) ReadingsLastMinute() uint64 { return in.rate.lastMinute(in.now()) }

// MetersSeen is the number of meters with stored readings.
func (in *Ingest) MetersSeen() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.seen)
}

// LiveValues returns the newest live sample of every quantity, ordered by
// meter and OBIS code.
func (in *Ingest) LiveValues() []meter.Reading {
	in.mu.Lock()
	out := make([]meter.Reading, 0, len(in.series))
	for _, s := range in.series {
		if !s.latest.Time.IsZero() {
			out = append(out, s.latest)
		}
	}
	in.mu.Unlock()
	slices.SortFunc(out, func(a, b meter.Reading) int {
		if c := cmp.Compare(a.Meter, b.Meter); c != 0 {
			return c
		}
		return slices.Compare(a.OBIS[:], b.OBIS[:])
	})
	return out
}

// add adds v to the window; false if the sum would overflow.
func (w *window) add(v meter.Value) bool {
	if w.n == 0 {
		w.sum, w.exp, w.n = v.M, v.E, 1
		return true
	}
	switch {
	case v.E < w.exp:
		s, err := meter.V(w.sum, w.exp).Rescale(v.E)
		if err != nil {
			return false
		}
		w.sum, w.exp = s.M, v.E
	case v.E > w.exp:
		x, err := v.Rescale(w.exp)
		if err != nil {
			return false
		}
		v = x
	}
	s := w.sum + v.M
	if (s > w.sum) != (v.M > 0) && v.M != 0 {
		return false
	}
	w.sum = s
	w.n++
	return true
}

// meanValue is sum/n × 10^e rounded half away from zero to exponent e: the
// quotient truncated at one more digit, then rounded with Value.Round
// (exact, since a truncated digit cannot move a value across the half).
func meanValue(sum, n int64, e int8) meter.Value {
	if n == 1 {
		return meter.V(sum, e)
	}
	if e > math.MinInt8 && sum <= math.MaxInt64/10 && sum >= math.MinInt64/10 {
		if v, err := meter.V(sum*10/n, e-1).Round(e); err == nil {
			return v
		}
	}
	q, r := sum/n, sum%n
	if r < 0 {
		r = -r
	}
	if uint64(r)*2 >= uint64(n) {
		if sum < 0 {
			q--
		} else {
			q++
		}
	}
	return meter.V(q, e)
}

// rateCounter counts events per second over the last minute.
type rateCounter struct {
	mu   sync.Mutex
	secs [60]int64
	n    [60]uint64
}

func (c *rateCounter) add(now time.Time, n int) {
	sec := now.Unix()
	i := int(uint64(sec) % 60)
	c.mu.Lock()
	if c.secs[i] != sec {
		c.secs[i], c.n[i] = sec, 0
	}
	c.n[i] += uint64(n)
	c.mu.Unlock()
}

func (c *rateCounter) lastMinute(now time.Time) uint64 {
	sec := now.Unix()
	var total uint64
	c.mu.Lock()
	for i := range c.secs {
		if d := sec - c.secs[i]; d >= 0 && d < 60 {
			total += c.n[i]
		}
	}
	c.mu.Unlock()
	return total
}

var _ ingestStore = (*store.Store)(nil)
