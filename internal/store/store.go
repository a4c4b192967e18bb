package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// Bucket names and meta keys: the layout at rest (see docs/storage.md).
// These are persisted; never renumber or rename them.
var (
	bucketMeta     = []byte("meta")
	bucketReadings = []byte("readings") // readings/<meter>/ OBIS(6)|start(8) → sealed block
	bucketJournal  = []byte("journal")  // journal/ seq(8)|part(2) → sealed batch in chunks, until compaction
	bucketOutbox   = []byte("outbox")   // outbox/<channel>/ first seq(8) → count | sealed items
	bucketLog      = []byte("log")      // log/<name>/ seq(8) → entry

	metaSchema   = []byte("schema")
	metaKeyCheck = []byte("keycheck")
	metaCreated  = []byte("created")
)

const (
	metaOutboxAcked = "outbox.acked." // + channel: uint64 BE
	metaLogHead     = "log.head."     // + name: seq(8) | hash(32)
	metaLogAnchor   = "log.anchor."   // + name: seq(8) | hash(32) of the last retired entry
)

// SchemaVersion is the layout version this program writes.
const SchemaVersion = 1

// migration upgrades a database from version from to from+1, inside the
// transaction that also records the new version. None exist yet; the first
// layout change adds one here and a test that opens a database of the old
// version (kept in testdata).
type migration struct {
	from uint32
	run  func(tx *bolt.Tx) error
}

var migrations []migration

var keyCheckPlain = []byte("smgw store key check v1")

// Store is the gateway's durable store. All methods are safe for
// concurrent use. Open starts the single writer goroutine (the one owner of
// write transactions) unless the store is read-only; Close stops it.
type Store struct {
	path string
	db   *bolt.DB
	kr   *keys.Keyring
	opts Options
	log  *slog.Logger
	now  func() time.Time

	// mu guards the in-memory view: series (tails, latest) and the
	// channels' and logs' heads. Readers take it to snapshot a series'
	// tail together with the start of their read transaction.
	mu     sync.RWMutex
	series map[seriesKey]*series
	meters map[meter.MeterID][]meter.OBIS // sorted OBIS per meter

	reqs     chan *request
	sendMu   sync.RWMutex // held (read) while sending on reqs; Close takes it to stop senders
	deferred deferredBuf
	quit     chan struct{}
	done     chan struct{}
	closing  atomic.Bool
	closeErr error
	closeMu  sync.Mutex

	subsMu sync.Mutex
	subs   map[*Subscription]struct{}

	// Writer-only state (no lock: only the writer goroutine touches it).
	w writerState

	stats struct {
		appended, commits, compactions  atomic.Uint64
		journalBytes                    atomic.Int64
		lastCommit, lastTook, progress  atomic.Int64
		lastCompactTook, maxCompactStep atomic.Int64
	}
}

type series struct {
	tail    []point // uncompacted points, sorted by time, unique times
	first   int64   // oldest stored time (ms)
	latest  point
	hasData bool
}

// Open opens the database at path, creating it (and its directory) when it
// does not exist unless opts.ReadOnly. It refuses a damaged or truncated
// file, a file of an unknown schema and a data key that does not match,
// and changes nothing in those cases.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Keys == nil {
		return nil, errors.New("store: no key provider")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 500 * time.Millisecond
	}
	if o.DeferredFlush <= 0 {
		o.DeferredFlush = 15 * time.Minute
	}
	if o.CompactEvery <= 0 {
		o.CompactEvery = time.Hour
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = 4 << 20
	}
	if o.stepPoints <= 0 {
		o.stepPoints = compactStepPoints
	}
	if o.CommitWindow == 0 {
		o.CommitWindow = 10 * time.Millisecond
	}
	for _, ch := range o.OutboxChannels {
		if err := validChannel(ch); err != nil {
			return nil, err
		}
	}

	fi, err := os.Stat(path)
	switch {
	case err == nil:
		if err := checkFile(path, fi.Size()); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist) && o.ReadOnly:
		return nil, fmt.Errorf("store: no database at %s: %w", path, err)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	default:
		return nil, fmt.Errorf("store: %w", err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        o.LockTimeout,
		ReadOnly:       o.ReadOnly,
		NoFreelistSync: true, // the freelist is rebuilt at open: one page less per commit
		FreelistType:   bolt.FreelistMapType,
		NoSync:         o.NoSync,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (is the daemon running? the CLI reaches it through its control socket)", ErrLocked, path)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	s := &Store{
		path:   path,
		db:     db,
		opts:   o,
		log:    o.Log,
		now:    o.Now,
		series: make(map[seriesKey]*series),
		meters: make(map[meter.MeterID][]meter.OBIS),
		subs:   make(map[*Subscription]struct{}),
	}
	if err := s.open(); err != nil {
		db.Close()
		return nil, err
	}
	s.stats.progress.Store(time.Now().UnixNano())
	if !o.ReadOnly {
		s.reqs = make(chan *request, 4096)
		s.quit = make(chan struct{})
		s.done = make(chan struct{})
		go s.writer()
	}
	return s, nil
}

func validChannel(ch string) error {
	if ch == "" || len(ch) > 64 {
		return fmt.Errorf("store: outbox channel %q: must be 1…64 bytes", ch)
	}
	for _, c := range []byte(ch) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("store: outbox channel %q: letters, digits, . _ - only", ch)
		}
	}
	return nil
}

// guard turns a panic inside a bbolt transaction (bbolt panics on some
// kinds of page corruption) into ErrCorrupt, so a damaged file becomes an
// error naming it instead of a crash.
func (s *Store) guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, r)
	}
}

func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	defer s.guard(&err)
	return s.db.View(fn)
}

func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer s.guard(&err)
	return s.db.Update(fn)
}

// open checks schema and key, then loads the in-memory view.
func (s *Store) open() error {
	ctx := context.Background()
	kr, err := s.opts.Keys.Keyring(ctx)
	if err != nil {
		return fmt.Errorf("store: data key from %s: %w", s.opts.Keys.Name(), err)
	}
	s.kr = kr
	check := func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			if s.opts.ReadOnly {
				return fmt.Errorf("%w: %s has no smgw metadata", ErrCorrupt, s.path)
			}
			return s.initialise(tx)
		}
		v := m.Get(metaSchema)
		if len(v) != 4 {
			return fmt.Errorf("%w: %s: schema version missing", ErrCorrupt, s.path)
		}
		ver := binary.BigEndian.Uint32(v)
		if ver > SchemaVersion {
			return fmt.Errorf("%w: %s is schema %d, this program knows up to %d (made by a newer smgw)", ErrSchema, s.path, ver, SchemaVersion)
		}
		if _, err := s.kr.Open(nil, m.Get(metaKeyCheck), metaKeyCheck); err != nil {
			return fmt.Errorf("%w: %s was sealed with another key than the one from %s (%v)", ErrWrongKey, s.path, s.opts.Keys.Name(), err)
		}
		if ver < SchemaVersion {
			if s.opts.ReadOnly {
				return fmt.Errorf("%w: %s is schema %d and needs migrating to %d: start the daemon once", ErrSchema, s.path, ver, SchemaVersion)
			}
			return s.migrate(tx, m, ver, SchemaVersion, migrations)
		}
		return nil
	}
	if s.opts.ReadOnly {
		err = s.view(check)
	} else {
		err = s.update(check)
	}
	if err != nil {
		return err
	}
	return s.view(s.load)
}

func (s *Store) initialise(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketMeta, bucketReadings, bucketJournal, bucketOutbox, bucketLog} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	m := tx.Bucket(bucketMeta)
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], SchemaVersion)
	if err := m.Put(metaSchema, v[:]); err != nil {
		return err
	}
	if err := m.Put(metaKeyCheck, s.kr.Seal(nil, keyCheckPlain, metaKeyCheck)); err != nil {
		return err
	}
	s.log.Info("store: created database", "path", s.path, "schema", SchemaVersion)
	return m.Put(metaCreated, []byte(s.now().UTC().Format(time.RFC3339)))
}

// migrate runs the migrations from version ver up to version to, in the
// open transaction, and records the new version.
func (s *Store) migrate(tx *bolt.Tx, m *bolt.Bucket, ver, to uint32, migrations []migration) error {
	for ver < to {
		i := slices.IndexFunc(migrations, func(mg migration) bool { return mg.from == ver })
		if i < 0 {
			return fmt.Errorf("%w: no migration from schema %d", ErrSchema, ver)
		}
		if err := migrations[i].run(tx); err != nil {
			return fmt.Errorf("store: migrating %s from schema %d: %w", s.path, ver, err)
		}
		ver++
		s.log.Info("store: migrated database", "path", s.path, "schema", ver)
	}
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], ver)
	return m.Put(metaSchema, v[:])
}

// load builds the in-memory view: each series' first and latest points
// from its blocks, then the journal replayed into the tails.
func (s *Store) load(tx *bolt.Tx) error {
	rb := tx.Bucket(bucketReadings)
	err := rb.ForEachBucket(func(name []byte) error {
		id := meter.MeterID(name)
		mb := rb.Bucket(name)
		c := mb.Cursor()
		k, _ := c.First()
		for k != nil {
			if len(k) != blockKeyLen {
				return fmt.Errorf("%w: %s: meter %s: bad block key %x", ErrCorrupt, s.path, id, k)
			}
			o := meter.OBIS(k[:6])
			first := keyTime(k)
			// The last block of this OBIS: seek past it and step back.
			next, ok := nextOBIS(o)
			var lk, lv []byte
			if ok {
				nk, _ := c.Seek(next[:])
				if nk == nil {
					lk, lv = c.Last()
				} else {
					lk, lv = c.Prev()
				}
			} else {
				lk, lv = c.Last()
			}
			pts, err := s.openBlock(nil, id, lk, lv)
			if err != nil {
				return err
			}
			sr := s.seriesFor(seriesKey{id, o})
			sr.first, sr.latest, sr.hasData = first, pts[len(pts)-1], true
			if !ok {
				break
			}
			k, _ = c.Seek(next[:])
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Replay the journal.
	var jbytes int64
	err = forEachChunked(tx.Bucket(bucketJournal), func(k, v []byte) error {
		plain, err := s.kr.Open(nil, v, journalAAD(k))
		if err != nil {
			return fmt.Errorf("%w: %s: journal entry %x: %v", ErrCorrupt, s.path, k, err)
		}
		jbytes += int64(len(v))
		err = decodeBatch(plain, func(sk seriesKey, p point) {
			s.seriesFor(sk).insert(p)
		})
		if err != nil {
			return fmt.Errorf("%w: %s: journal entry %x: %v", ErrCorrupt, s.path, k, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.stats.journalBytes.Store(jbytes)
	s.w.journalSeq = tx.Bucket(bucketJournal).Sequence()
	return s.loadWriterState(tx)
}

// seriesFor returns the series, creating it. Callers hold mu for writing
// (or are in Open, before the store is shared).
func (s *Store) seriesFor(k seriesKey) *series {
	sr := s.series[k]
	if sr == nil {
		sr = &series{}
		s.series[k] = sr
		obs := s.meters[k.meter]
		i, _ := slices.BinarySearchFunc(obs, k.obis, cmpOBIS)
		s.meters[k.meter] = slices.Insert(obs, i, k.obis)
	}
	return sr
}

func cmpOBIS(a, b meter.OBIS) int { return bytes.Compare(a[:], b[:]) }

// byTime orders points by time, for binary searches.
func byTime(p point, t int64) int { return cmp.Compare(p.t, t) }

// insert adds p to the tail (replacing a point of the same time) and
// updates first/latest.
func (sr *series) insert(p point) {
	n := len(sr.tail)
	switch {
	case n == 0 || sr.tail[n-1].t < p.t:
		sr.tail = append(sr.tail, p)
	default:
		i, found := slices.BinarySearchFunc(sr.tail, p.t, byTime)
		if found {
			sr.tail[i] = p
		} else {
			sr.tail = slices.Insert(sr.tail, i, p)
		}
	}
	if !sr.hasData || p.t < sr.first {
		sr.first = p.t
	}
	if !sr.hasData || p.t >= sr.latest.t {
		sr.latest = p
	}
	sr.hasData = true
}

// Block keys: OBIS (6) | start time (8, ms, big-endian with the sign bit
// flipped so that times sort as signed numbers).
const blockKeyLen = 14

func blockKey(dst []byte, o meter.OBIS, t int64) []byte {
	dst = append(dst, o[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func keyTime(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[6:14]) ^ (1 << 63)) }

func nextOBIS(o meter.OBIS) (meter.OBIS, bool) {
	for i := 5; i >= 0; i-- {
		if o[i] < 255 {
			o[i]++
			return o, true
		}
		o[i] = 0
	}
	return o, false
}

func readingAAD(id meter.MeterID, k []byte) []byte {
	a := make([]byte, 0, 2+len(id)+len(k))
	a = append(a, 'r')
	a = append(a, id...)
	a = append(a, 0)
	return append(a, k...)
}

func journalAAD(k []byte) []byte { return append([]byte{'j'}, k...) }

func outboxAAD(ch string, k []byte) []byte {
	a := append([]byte{'o'}, ch...)
	a = append(a, 0)
	return append(a, k...)
}

// openBlock unseals and decodes one block, appending its points to dst.
func (s *Store) openBlock(dst []point, id meter.MeterID, k, v []byte) ([]point, error) {
	plain, err := s.kr.Open(nil, v, readingAAD(id, k))
	if err != nil {
		return dst, fmt.Errorf("%w: %s: meter %s block %s@%d: %v", ErrCorrupt, s.path, id, meter.OBIS(k[:6]), keyTime(k), err)
	}
	dst, err = decodeBlock(dst, plain)
	if err != nil {
		return dst, fmt.Errorf("%w: %s: meter %s block %s@%d: %v", ErrCorrupt, s.path, id, meter.OBIS(k[:6]), keyTime(k), err)
	}
	return dst, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Appended:           s.stats.appended.Load(),
		Deferred:           uint64(s.deferred.len()),
		Commits:            s.stats.commits.Load(),
		Compactions:        s.stats.compactions.Load(),
		JournalBytes:       int(s.stats.journalBytes.Load()),
		LastCommitTook:     time.Duration(s.stats.lastTook.Load()),
		LastCompactionTook: time.Duration(s.stats.lastCompactTook.Load()),
		MaxCompactionStep:  time.Duration(s.stats.maxCompactStep.Load()),
	}
	if t := s.stats.lastCommit.Load(); t != 0 {
		st.LastCommit = time.Unix(0, t)
	}
	s.mu.RLock()
	st.Meters, st.Series = len(s.meters), len(s.series)
	s.mu.RUnlock()
	if fi, err := os.Stat(s.path); err == nil {
		st.FileBytes = fi.Size()
	}
	return st
}

// Progress returns when the writer last completed a loop (it wakes at
// least every few seconds when idle). A time that stops advancing means a
// hung writer: the daemon's watchdog stops pinging systemd.
func (s *Store) Progress() time.Time {
	if s.opts.ReadOnly {
		return time.Now()
	}
	return time.Unix(0, s.stats.progress.Load())
}

// Close makes deferred readings durable, stops the writer and closes the
// database. It is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.sendMu.Lock()
	already := s.closing.Swap(true)
	s.sendMu.Unlock()
	if already {
		return s.closeErr
	}
	if s.quit != nil {
		close(s.quit)
		<-s.done
	}
	s.subsMu.Lock()
	for sub := range s.subs {
		sub.close()
	}
	s.subsMu.Unlock()
	if err := s.db.Close(); err != nil && s.closeErr == nil {
		s.closeErr = fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return s.closeErr
}
