package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/meter"
)

type reqKind uint8

const (
	reqAppend reqKind = iota + 1
	reqEnqueue
	reqAck
	reqLog
	reqFlush
	reqCompact  // fold the journal into blocks now
	reqMaintain // apply retention now
)

func (k reqKind) data() bool { return k != reqCompact && k != reqMaintain }

// request is one call waiting for the writer. Its result fields are set by
// the writer before done is closed.
type request struct {
	kind     reqKind
	readings []meter.Reading
	channel  string
	payloads [][]byte
	through  uint64
	logName  LogName
	event    Event

	seq    uint64
	ev     Event
	err    error
	doneAt time.Time // when the outcome was known (for latency figures)
	done   chan struct{}
}

// Pending is an append in flight (see AppendAsync).
type Pending struct{ r *request }

// Wait returns when the readings are durable (nil) or the append failed.
// A cancelled ctx stops the wait, not the append.
func (p *Pending) Wait(ctx context.Context) error {
	select {
	case <-p.r.done:
		return p.r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the append is durable or failed; Wait then returns
// at once with the outcome.
func (p *Pending) Done() <-chan struct{} { return p.r.done }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// submit hands r to the writer.
func (s *Store) submit(r *request) *request {
	r.done = make(chan struct{})
	if s.opts.ReadOnly {
		r.err, r.done = ErrReadOnly, closedChan
		return r
	}
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.closing.Load() {
		r.err, r.done = ErrClosed, closedChan
		return r
	}
	s.reqs <- r
	return r
}

func (s *Store) call(ctx context.Context, r *request) (*request, error) {
	r = s.submit(r)
	select {
	case <-r.done:
		return r, r.err
	case <-ctx.Done():
		return r, ctx.Err()
	}
}

func validate(rs []meter.Reading) error {
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return fmt.Errorf("%w %d of %d: %v", ErrInvalid, i+1, len(rs), err)
		}
	}
	return nil
}

// Append stores readings durably: it returns nil only after the
// transaction holding them is fsynced. Concurrent calls share one commit
// (group commit). If any reading is invalid, none is stored. A reading for
// a (meter, OBIS, time) already stored replaces it. Times are kept to the
// millisecond.
func (s *Store) Append(ctx context.Context, rs ...meter.Reading) error {
	if err := validate(rs); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	_, err := s.call(ctx, &request{kind: reqAppend, readings: rs})
	return err
}

// AppendAsync is Append without the wait, so that one producer can keep
// several appends in flight; the caller must not modify rs until the
// Pending is done.
func (s *Store) AppendAsync(rs ...meter.Reading) *Pending {
	if err := validate(rs); err != nil {
		return &Pending{&request{err: err, done: closedChan}}
	}
	return &Pending{s.submit(&request{kind: reqAppend, readings: rs})}
}

// AppendDeferred accepts readings that need not be durable at once (the
// reduced-resolution live values): they are written with the next commit,
// and at the latest Options.DeferredFlush after the first of them arrived,
// or at Close. A power cut may lose up to that much of them; the
// documentation of the store says which readings take this path.
func (s *Store) AppendDeferred(rs ...meter.Reading) error {
	if err := validate(rs); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if s.closing.Load() {
		return ErrClosed
	}
	s.deferred.add(rs, s.opts.DeferredFlush)
	return nil
}

// Flush makes deferred readings durable now.
func (s *Store) Flush(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqFlush})
	return err
}

// deferredBuf holds AppendDeferred readings until a commit takes them.
type deferredBuf struct {
	mu  sync.Mutex
	rs  []meter.Reading
	due time.Time
}

func (d *deferredBuf) add(rs []meter.Reading, within time.Duration) {
	d.mu.Lock()
	if len(d.rs) == 0 {
		d.due = time.Now().Add(within)
	}
	d.rs = append(d.rs, rs...)
	d.mu.Unlock()
}

func (d *deferredBuf) take() []meter.Reading {
	d.mu.Lock()
	rs := d.rs
	d.rs = nil
	d.mu.Unlock()
	return rs
}

func (d *deferredBuf) putBack(rs []meter.Reading) {
	d.mu.Lock()
	d.rs = append(rs, d.rs...)
	d.due = time.Now()
	d.mu.Unlock()
}

func (d *deferredBuf) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.rs)
}

func (d *deferredBuf) isDue(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.rs) > 0 && !now.Before(d.due)
}

// writerState is owned by the writer goroutine (and by Open before it).
type writerState struct {
	enc             batchEncoder
	buf, sealed     []byte
	outbox          map[string]*channelState // guarded by Store.mu for readers
	logs            map[LogName]*logHead     // guarded by Store.mu for readers
	lastCompact     time.Time
	lastMaint       time.Time
	lastCommitStart time.Time
	journalSeq      uint64      // the journal's last sequence number
	comp            *compaction // the compaction in progress, if any
}

type channelState struct {
	next  uint64 // sequence number the next item gets
	acked uint64 // every item ≤ acked is acknowledged
}

type logHead struct {
	seq  uint64
	hash [32]byte
}

const (
	maxBatchReadings = 200_000
	idleWake         = 2 * time.Second
	maintainEvery    = time.Hour
)

func (s *Store) writer() {
	defer close(s.done)
	tick := time.NewTicker(idleWake)
	defer tick.Stop()
	s.w.lastCompact = time.Now()
	s.maintain()
	batch := make([]*request, 0, 256)
	for {
		s.stats.progress.Store(time.Now().UnixNano())
		// Compaction proceeds a step at a time between commits, and
		// without pause while nothing else waits.
		if s.w.comp != nil {
			s.compactStep()
			if s.w.comp != nil && len(s.reqs) == 0 {
				continue
			}
		}
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
			batch = s.gather(batch)
			s.commit(batch)
			s.runChores(batch)
		case <-tick.C:
			now := time.Now()
			if s.deferred.isDue(now) {
				s.commit(nil)
			}
			if s.stats.journalBytes.Load() > 0 && now.Sub(s.w.lastCompact) >= s.opts.CompactEvery {
				s.startCompaction()
			}
			if now.Sub(s.w.lastMaint) >= maintainEvery && s.w.comp == nil {
				s.maintain()
			}
		case <-s.quit:
			if s.w.comp != nil {
				s.log.Info("store: closing with a compaction under way; it resumes after the next start")
			}
			// Senders are excluded (sendMu) before quit closes: what is
			// queued now is all there will be.
			batch = s.drain(batch[:0], true)
			s.commit(batch)
			s.runChores(batch)
			return
		}
	}
}

// gather collects the group of requests for the next commit. Under load
// (the previous commit began less than CommitWindow ago) it waits out the
// rest of the window for more requests, so that commits, each of which
// costs an fsync and tens of kilobytes written whatever its size, come at
// most every CommitWindow. An append arriving after a quiet spell commits
// at once.
func (s *Store) gather(batch []*request) []*request {
	batch = s.drain(batch, false)
	wait := s.opts.CommitWindow - time.Since(s.w.lastCommitStart)
	if wait <= 0 || !batch[0].kind.data() {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	n := 0
	for _, r := range batch {
		n += len(r.readings)
	}
	for n < maxBatchReadings {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
			n += len(r.readings)
		case <-t.C:
			return s.drain(batch, false)
		case <-s.quit:
			if s.w.comp != nil {
				s.log.Info("store: closing with a compaction under way; it resumes after the next start")
			}
			return batch
		}
	}
	return batch
}

func (s *Store) drain(batch []*request, all bool) []*request {
	n := 0
	for _, r := range batch {
		n += len(r.readings)
	}
	for all || n < maxBatchReadings {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
			n += len(r.readings)
		default:
			return batch
		}
	}
	return batch
}

type added struct {
	k seriesKey
	p point
}

// runChores carries out the compaction and maintenance requests of a
// batch, after its commit, and answers them.
func (s *Store) runChores(batch []*request) {
	compact, maintain := false, false
	steps := uint64(0) // 0: all of them
	for _, r := range batch {
		if r.kind == reqCompact {
			compact, steps = true, r.through
		}
		maintain = maintain || r.kind == reqMaintain
	}
	if compact {
		s.startCompaction()
		for n := uint64(0); s.w.comp != nil && (steps == 0 || n < steps); n++ {
			s.compactStep()
		}
	}
	if maintain {
		for s.w.comp != nil {
			s.compactStep()
		}
		s.maintain()
	}
	for _, r := range batch {
		if !r.kind.data() {
			close(r.done)
		}
	}
}

// Compact folds the commit journal into reading blocks now (it also
// happens by itself, see Options.CompactEvery).
func (s *Store) Compact(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqCompact})
	return err
}

// commit writes one group of requests (plus any deferred readings) in one
// transaction, then publishes the result and answers every request.
func (s *Store) commit(batch []*request) {
	deferred := s.deferred.take()
	start := time.Now()
	s.w.lastCommitStart = start

	// Decide what each request will do before the transaction, so that one
	// bad request fails alone and a failed transaction changes no state.
	s.mu.RLock()
	for _, r := range batch {
		switch r.kind {
		case reqEnqueue:
			if err := validChannel(r.channel); err != nil {
				r.err = err
			}
		case reqAck:
			cs := s.w.outbox[r.channel]
			switch {
			case cs == nil:
				r.err = fmt.Errorf("store: ack on unknown outbox channel %q", r.channel)
			case r.through >= cs.next:
				r.err = fmt.Errorf("store: ack of %s through %d, but the last item queued is %d", r.channel, r.through, cs.next-1)
			}
		case reqLog:
			if s.w.logs[r.logName] == nil {
				r.err = fmt.Errorf("store: no event log %q", r.logName)
			}
		}
	}
	s.mu.RUnlock()

	var adds []added
	outboxAfter := map[string]channelState{}
	logsAfter := map[LogName]logHead{}
	var jlen int
	jseq := s.w.journalSeq
	err := s.update(func(tx *bolt.Tx) error {
		adds = adds[:0]
		clear(outboxAfter)
		clear(logsAfter)
		enc := &s.w.enc
		enc.reset()
		addReading := func(r meter.Reading) {
			k, p := seriesKey{r.Meter, r.OBIS}, pointOf(r)
			enc.add(k, p)
			adds = append(adds, added{k, p})
		}
		chState := func(ch string) channelState {
			if st, ok := outboxAfter[ch]; ok {
				return st
			}
			if cs := s.w.outbox[ch]; cs != nil {
				return *cs
			}
			return channelState{next: 1}
		}
		enqueue := func(ch string, items [][]byte) (uint64, error) {
			st := chState(ch)
			first := st.next
			if err := s.putOutbox(tx, ch, first, items); err != nil {
				return 0, err
			}
			st.next += uint64(len(items))
			outboxAfter[ch] = st
			return first, nil
		}
		for _, r := range batch {
			if r.err != nil {
				continue
			}
			switch r.kind {
			case reqAppend:
				for _, rd := range r.readings {
					addReading(rd)
				}
			case reqEnqueue:
				seq, err := enqueue(r.channel, r.payloads)
				if err != nil {
					return err
				}
				r.seq = seq
			case reqAck:
				st := chState(r.channel)
				if r.through > st.acked {
					if err := s.ackOutbox(tx, r.channel, r.through); err != nil {
						return err
					}
					st.acked = r.through
					outboxAfter[r.channel] = st
				}
			case reqLog:
				h, ok := logsAfter[r.logName]
				if !ok {
					h = *s.w.logs[r.logName]
				}
				ev, err := s.appendLog(tx, r.logName, &h, r.event)
				if err != nil {
					return err
				}
				r.ev = ev
				logsAfter[r.logName] = h
			}
		}
		for _, rd := range deferred {
			addReading(rd)
		}
		if enc.n == 0 {
			return nil
		}
		j := tx.Bucket(bucketJournal)
		j.FillPercent = 1
		seq, err := j.NextSequence()
		if err != nil {
			return err
		}
		jseq = seq
		key := binary.BigEndian.AppendUint64(nil, seq)
		s.w.buf = enc.appendTo(s.w.buf[:0])
		s.w.sealed = s.kr.Seal(s.w.sealed[:0], s.w.buf, journalAAD(key))
		jlen = len(s.w.sealed)
		if err := putChunked(j, key, s.w.sealed); err != nil {
			return err
		}
		if len(s.opts.OutboxChannels) > 0 {
			items := make([][]byte, len(adds))
			for i, a := range adds {
				items[i] = EncodeReading(nil, a.p.reading(a.k.meter, a.k.obis))
			}
			for _, ch := range s.opts.OutboxChannels {
				if _, err := enqueue(ch, items); err != nil {
					return err
				}
			}
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		err = fmt.Errorf("store: commit to %s: %w", s.path, err)
		s.log.Error("store: commit failed", "err", err)
		if len(deferred) > 0 {
			s.deferred.putBack(deferred)
		}
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			if r.kind.data() {
				close(r.done)
			}
		}
		return
	}

	s.w.journalSeq = jseq
	s.mu.Lock()
	for _, a := range adds {
		s.seriesFor(a.k).insert(a.p)
	}
	for ch, st := range outboxAfter {
		cs := s.w.outbox[ch]
		if cs == nil {
			cs = &channelState{}
			s.w.outbox[ch] = cs
		}
		*cs = st
	}
	for name, h := range logsAfter {
		*s.w.logs[name] = h
	}
	s.mu.Unlock()

	s.stats.appended.Add(uint64(len(adds)))
	s.stats.commits.Add(1)
	s.stats.journalBytes.Add(int64(jlen))
	s.stats.lastCommit.Store(time.Now().UnixNano())
	s.stats.lastTook.Store(int64(took))
	now := time.Now()
	for _, r := range batch {
		if r.kind.data() {
			r.doneAt = now
			close(r.done)
		}
	}
	if len(adds) > 0 {
		s.publish(adds)
	}
	if s.stats.journalBytes.Load() >= int64(s.opts.CompactBytes) {
		s.startCompaction()
	}
}

// Compaction folds the journal into reading blocks without stalling
// ingest. It starts by freezing the journal at its current sequence number
// and snapshotting every series' tail; then each step merges a bounded
// number of snapshotted points into blocks in its own transaction, between
// the commits of appends; the last step also deletes the frozen journal
// entries. After each step the merged points leave the tails (a point that
// was replaced since the snapshot stays). A crash mid-way replays the whole
// frozen journal into the tails: those points are merged again, which
// changes nothing (points are unique by time), and queries drop the
// duplicates by time meanwhile.
type compaction struct {
	freeze  []byte // journal keys below this are covered
	todo    []seriesKey
	snap    map[seriesKey][]point
	bytes   int64 // journal bytes frozen
	started time.Time
	maxStep time.Duration
}

// compactStepPoints bounds one compaction step, and so the longest an
// append waits behind one (Options.stepPoints overrides it in tests).
const compactStepPoints = 20_000

// startCompaction begins a compaction unless one is running or there is
// nothing to fold.
func (s *Store) startCompaction() {
	s.w.lastCompact = time.Now()
	if s.w.comp != nil {
		return
	}
	c := &compaction{snap: map[seriesKey][]point{}, started: time.Now()}
	for k, sr := range s.series {
		if len(sr.tail) > 0 {
			c.snap[k] = slices.Clone(sr.tail)
			c.todo = append(c.todo, k)
		}
	}
	if len(c.todo) == 0 && s.stats.journalBytes.Load() == 0 {
		return
	}
	c.freeze = binary.BigEndian.AppendUint64(nil, s.w.journalSeq+1)
	c.bytes = s.stats.journalBytes.Load()
	s.w.comp = c
}

// compactStep runs one step of the compaction in progress.
func (s *Store) compactStep() {
	c := s.w.comp
	start := time.Now()
	var done []seriesKey
	last := false
	err := s.update(func(tx *bolt.Tx) error {
		done = done[:0]
		rb := tx.Bucket(bucketReadings)
		n := 0
		for _, k := range c.todo {
			if n >= s.opts.stepPoints {
				break
			}
			mb, err := rb.CreateBucketIfNotExists([]byte(k.meter))
			if err != nil {
				return err
			}
			mb.FillPercent = 0.9
			if err := s.mergeTail(mb, k, c.snap[k]); err != nil {
				return err
			}
			n += len(c.snap[k])
			done = append(done, k)
		}
		last = len(done) == len(c.todo)
		if !last {
			return nil
		}
		// Every frozen journal entry is now in blocks.
		j := tx.Bucket(bucketJournal)
		jc := j.Cursor()
		var del [][]byte
		for k, _ := jc.First(); k != nil && bytes.Compare(k, c.freeze) < 0; k, _ = jc.Next() {
			del = append(del, bytes.Clone(k))
		}
		for _, k := range del {
			if err := j.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("store: compaction failed; the journal keeps the readings", "err", err)
		s.w.comp = nil
		return
	}
	s.mu.Lock()
	for _, k := range done {
		if sr := s.series[k]; sr != nil {
			sr.tail = removeSame(sr.tail, c.snap[k])
		}
		delete(c.snap, k)
	}
	s.mu.Unlock()
	c.todo = c.todo[len(done):]
	c.maxStep = max(c.maxStep, time.Since(start))
	if last {
		s.w.comp = nil
		s.stats.journalBytes.Add(-c.bytes)
		s.stats.compactions.Add(1)
		s.stats.lastCompactTook.Store(int64(time.Since(c.started)))
		s.stats.maxCompactStep.Store(int64(c.maxStep))
	}
}

// removeSame returns tail without the points of snap (both sorted by time)
// that are still there unchanged. It reuses tail's memory, or drops it when
// the tail empties and had grown large.
func removeSame(tail, snap []point) []point {
	out := tail[:0]
	j := 0
	for _, p := range tail {
		for j < len(snap) && snap[j].t < p.t {
			j++
		}
		if j < len(snap) && snap[j] == p {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 && cap(out) > 256 {
		return nil
	}
	return out
}

// mergeTail merges the sorted points pts into the series' blocks, day by
// day: the blocks from the one holding the day's earliest new point to the
// end of that day are read, merged (new points win on equal times) and
// written again as runs of at most maxBlockPoints of one unit and exponent.
func (s *Store) mergeTail(mb *bolt.Bucket, k seriesKey, pts []point) error {
	var old, merged []point
	var keyBuf []byte
	for len(pts) > 0 {
		day := dayOf(pts[0].t)
		n := 1
		for n < len(pts) && pts[n].t < day+dayMillis {
			n++
		}
		dayPts := pts[:n]
		pts = pts[n:]

		c := mb.Cursor()
		keyBuf = blockKey(keyBuf[:0], k.obis, dayPts[0].t)
		ck, cv := c.Seek(keyBuf)
		if ck == nil || !bytes.Equal(ck, keyBuf) {
			// The day's block holding the first new point starts before it.
			var pk, pv []byte
			if ck == nil {
				pk, pv = c.Last()
			} else {
				pk, pv = c.Prev()
			}
			if len(pk) == blockKeyLen && meter.OBIS(pk[:6]) == k.obis && keyTime(pk) >= day {
				ck, cv = pk, pv
			} else {
				ck, cv = c.Seek(keyBuf)
			}
		}
		old = old[:0]
		var del [][]byte
		for kk, v := ck, cv; kk != nil; kk, v = c.Next() {
			if len(kk) != blockKeyLen || meter.OBIS(kk[:6]) != k.obis || keyTime(kk) >= day+dayMillis {
				break
			}
			var err error
			if old, err = s.openBlock(old, k.meter, kk, v); err != nil {
				return err
			}
			del = append(del, bytes.Clone(kk))
		}
		for _, dk := range del {
			if err := mb.Delete(dk); err != nil {
				return err
			}
		}
		merged = mergePoints(merged[:0], old, dayPts)
		for len(merged) > 0 {
			n := 1
			for n < len(merged) && n < maxBlockPoints && merged[n].unit == merged[0].unit && merged[n].e == merged[0].e {
				n++
			}
			key := blockKey(nil, k.obis, merged[0].t)
			s.w.buf = appendBlock(s.w.buf[:0], merged[:n])
			sealed := s.kr.Seal(nil, s.w.buf, readingAAD(k.meter, key))
			if err := mb.Put(key, sealed); err != nil {
				return err
			}
			merged = merged[n:]
		}
	}
	return nil
}

// mergePoints merges two sorted point lists; b wins on equal times.
func mergePoints(dst, a, b []point) []point {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].t < b[j].t:
			dst = append(dst, a[i])
			i++
		case a[i].t > b[j].t:
			dst = append(dst, b[j])
			j++
		default:
			dst = append(dst, b[j])
			i++
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// maintain applies retention by age and by size.
func (s *Store) maintain() {
	s.w.lastMaint = time.Now()
	if s.opts.MaxAge > 0 {
		cutoff := s.now().Add(-s.opts.MaxAge).UnixMilli()
		if n, err := s.dropBefore(dayOf(cutoff)); err != nil {
			s.log.Error("store: retention by age failed", "err", err)
		} else if n > 0 {
			s.log.Info("store: retention dropped reading blocks older than the retention period", "blocks", n, "before", time.UnixMilli(dayOf(cutoff)).UTC())
		}
	}
	if s.opts.MaxBytes > 0 {
		for range 1000 {
			live := s.liveBytes()
			if live <= s.opts.MaxBytes {
				break
			}
			oldest, ok := s.oldestDay()
			today := dayOf(s.now().UnixMilli())
			if !ok || oldest >= today-dayMillis {
				s.log.Warn("store: over its size bound but holds nothing older than yesterday to drop", "live_bytes", live, "max_bytes", s.opts.MaxBytes)
				break
			}
			n, err := s.dropBefore(oldest + dayMillis)
			if err != nil {
				s.log.Error("store: retention by size failed", "err", err)
				break
			}
			s.log.Info("store: retention dropped the oldest day to stay under the size bound",
				"day", time.UnixMilli(oldest).UTC().Format(time.DateOnly), "blocks", n, "live_bytes", live)
		}
	}
}

func (s *Store) liveBytes() int64 {
	var size int64
	s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	st := s.db.Stats()
	return size - int64(st.FreePageN+st.PendingPageN)*int64(s.db.Info().PageSize)
}

func (s *Store) oldestDay() (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var oldest int64
	found := false
	for _, sr := range s.series {
		if sr.hasData && (!found || sr.first < oldest) {
			oldest, found = sr.first, true
		}
	}
	return dayOf(oldest), found
}

// dropBefore deletes every block (and tail point) of days before day.
func (s *Store) dropBefore(day int64) (int, error) {
	dropped := 0
	firsts := map[seriesKey]int64{}
	emptied := map[seriesKey]bool{}
	s.mu.RLock()
	keysNow := make([]seriesKey, 0, len(s.series))
	for k, sr := range s.series {
		if sr.hasData && sr.first < day {
			keysNow = append(keysNow, k)
		}
	}
	s.mu.RUnlock()
	if len(keysNow) == 0 {
		return 0, nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		dropped = 0
		rb := tx.Bucket(bucketReadings)
		for _, k := range keysNow {
			mb := rb.Bucket([]byte(k.meter))
			first := int64(-1)
			if mb != nil {
				c := mb.Cursor()
				var del [][]byte
				for kk, _ := c.Seek(blockKey(nil, k.obis, math.MinInt64)); kk != nil; kk, _ = c.Next() {
					if meter.OBIS(kk[:6]) != k.obis {
						break
					}
					if keyTime(kk) >= day {
						first = keyTime(kk)
						break
					}
					del = append(del, bytes.Clone(kk))
				}
				for _, dk := range del {
					if err := mb.Delete(dk); err != nil {
						return err
					}
				}
				dropped += len(del)
			}
			firsts[k] = first
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	for k, first := range firsts {
		sr := s.series[k]
		i := 0
		for i < len(sr.tail) && sr.tail[i].t < day {
			i++
		}
		sr.tail = sr.tail[i:]
		switch {
		case first >= 0 && (len(sr.tail) == 0 || first < sr.tail[0].t):
			sr.first = first
		case len(sr.tail) > 0:
			sr.first = sr.tail[0].t
		default:
			emptied[k] = true
		}
	}
	for k := range emptied {
		s.removeSeries(k)
	}
	s.mu.Unlock()
	return dropped, nil
}

// removeSeries forgets a series that retention emptied. Caller holds mu.
func (s *Store) removeSeries(k seriesKey) {
	delete(s.series, k)
	obs := s.meters[k.meter]
	if i := slices.Index(obs, k.obis); i >= 0 {
		obs = slices.Delete(obs, i, i+1)
	}
	if len(obs) == 0 {
		delete(s.meters, k.meter)
	} else {
		s.meters[k.meter] = obs
	}
}
