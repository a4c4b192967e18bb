package wmbus

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
	pwmbus "github.com/smgw/smgw/internal/proto/wmbus"
	wmbusprofiles "github.com/smgw/smgw/profiles/meters/wmbus"
)

// Sink receives the readings (the gateway's ingest; sim.Sink is the same
// interface).
type Sink interface {
	// Append stores register readings durably.
	Append(ctx context.Context, rs ...meter.Reading) error
	// Live takes instantaneous values; it never blocks.
	Live(rs ...meter.Reading)
}

// KeySource gives a meter's AES-128 key. The gateway's implementation
// reads the sealed secret "wmbus/<id>" of the store. A meter without a key
// returns (nil, nil) or an error wrapping ErrNoKey.
type KeySource interface {
	MeterKey(id meter.MeterID) ([]byte, error)
}

// ErrNoKey is what a KeySource returns (wrapped) for a meter without a key.
var ErrNoKey = errors.New("wmbus: no key for the meter")

// ErrOptions is returned (wrapped) by New for invalid options. Permanent.
var ErrOptions = errors.New("wmbus: invalid options")

// MeterConfig is one configured meter.
type MeterConfig struct {
	// ID is the gateway's name for the meter (its readings' meter id).
	ID meter.MeterID
	// Manufacturer is the three-letter manufacturer code (e.g. "KAM").
	Manufacturer string
	// Address is the 8-digit identification number as printed on the
	// meter (and sent in its telegrams).
	Address string
	// Key is the meter's AES key when the configuration gives it (a
	// development convenience); nil takes it from Options.Keys.
	Key []byte
	// Medium, when set, overrides the medium the meter announces for the
	// OBIS mapping: electricity, gas, heat, water, warm water, hot water,
	// cooling, heat cost allocator.
	Medium string
	// MaxClockSkew overrides Options.MaxClockSkew for this meter; 0 keeps
	// it, negative disables the check.
	MaxClockSkew time.Duration
}

// Options configure a Service. Receiver and Sink are required.
type Options struct {
	Receiver halwmbus.Receiver
	Meters   []MeterConfig
	Keys     KeySource // nil: only configured keys
	Sink     Sink
	// DupWindow is how long a telegram counts as a repeat of an earlier
	// one with the same access number and payload; 0 is 2 minutes.
	DupWindow time.Duration
	// MaxClockSkew is the largest difference between the meter's clock and
	// the gateway's accepted; 0 is 1 hour, negative disables the check.
	// The meter's wall clock is compared with the gateway's in UTC and in
	// Location, and the nearer counts (M-Bus carries no zone).
	MaxClockSkew time.Duration
	// Location is the meters' local time zone; nil is time.Local.
	Location *time.Location
	// MaxNearby bounds the unknown meters remembered; 0 is 1000.
	MaxNearby int
	// MaxBad bounds the bad telegrams kept for diagnosis; 0 is 64.
	MaxBad int
	// Restart is the pause before a failed receiver is run again; 0 is 5 s.
	Restart time.Duration
	// State keeps the replay state across restarts; nil keeps it in
	// memory only.
	State StateStore
	// SaveEvery is how often a changed replay state is saved; 0 is 5
	// minutes. It is saved when Run ends too.
	SaveEvery time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

// Service runs the meters of one receiver. New → Run; the reporting
// methods are safe for concurrent use while it runs.
type Service struct {
	o      Options
	meters map[uint64]*meterState // by manufacturer<<32 | id
	list   []*meterState          // in configuration order
	seed   maphash.Seed

	// decs are the decoders, by shard of meters and frame format: a
	// decoder caches the AES key schedules of at most a few thousand
	// keys, so each shard of keysPerShard meters has its own, and a
	// telegram's decryption never re-expands its key however many meters
	// are configured. [0] takes frames that may carry CRCs (the format is
	// detected), [1] frames whose CRCs the receiver removed.
	decs [][2]*pwmbus.Decoder
	tg   pwmbus.Telegram
	regs []meter.Reading // scratch
	live []meter.Reading // scratch

	batches chan []meter.Reading
	saves   chan []byte // encoded replay states to save

	// Replay state persistence, owned by the receiving goroutine.
	stateDirty bool
	lastSave   time.Time

	mu       sync.Mutex // guards what the reporting methods read
	nearby   map[uint64]*Nearby
	bad      []BadTelegram // ring
	badNext  int
	stats    Stats
	lastLog  time.Time
	muted    int
	progress atomic.Int64
}

// meterState is one configured meter's state. Its fields are written by
// the receiving goroutine under Service.mu.
type meterState struct {
	cfg      MeterConfig
	key      []byte    // from Options.Keys
	keyErr   error     // of the last fetch
	keyAt    time.Time // when the key was last fetched from Options.Keys
	keyStale bool      // the key failed: fetch it again
	h        Health
	medium   byte // OBIS group A override; 0 for none

	// replay state, committed only after a telegram decoded
	accepted   bool
	lastACC    byte
	lastAt     time.Time
	interval   time.Duration // smoothed interval between accepted telegrams
	haveMC     bool
	lastMC     uint32
	recent     [8]dupEntry
	recentNext int
	accFP      *[256]uint16 // mode 5: a 16-bit fingerprint of what each access number carried last; 0 unset
	secKey     secKey       // of Health.Security
	shard      int          // index into Service.decs
}

type dupEntry struct {
	acc byte
	fp  uint64
	at  time.Time
}

// Health is a configured meter's state for `smgw meters --nearby` and
// the status page.
type Health struct {
	ID           meter.MeterID
	Manufacturer string
	Address      string
	Medium       string // as announced (device type), or configured
	LastSeen     time.Time
	RSSI         int
	HasRSSI      bool
	Telegrams    uint64            // received, duplicates included
	Stored       uint64            // decoded and stored
	Readings     uint64            // readings handed to the store
	Duplicates   uint64            // repeats dropped
	Replays      uint64            // rejected as replays
	Errors       map[string]uint64 // decode errors by reason
	LastError    string
	AccessNumber int    // the last accepted; -1 before the first
	Counter      uint32 // the last accepted AFL message counter
	Security     string // "none", "mode 5", "mode 7", "mode 5, ELL", …
	MeterTime    time.Time
	// IVReuse counts mode-5 telegrams whose access number came round
	// again with a different ciphertext: the same AES-CBC IV for different
	// data (CVE-2021-34576). SameCiphertext counts those that came round
	// with identical ciphertext, which a receiver cannot tell from a
	// replay.
	IVReuse        uint64
	SameCiphertext uint64
	Flags          []string // human-readable warnings
}

// Nearby is a meter heard that is not configured.
type Nearby struct {
	Manufacturer string
	ID           string
	Version      uint8
	DeviceType   uint8
	Medium       string
	Encrypted    bool
	RSSI         int
	HasRSSI      bool
	FirstSeen    time.Time
	LastSeen     time.Time
	Count        uint64
}

// BadTelegram is a telegram dropped as bad, kept for diagnosis.
type BadTelegram struct {
	Time   time.Time
	Meter  string // configured id, or MFR-ID, or "" when the header was unreadable
	Reason string // a short class: crc, truncated, decrypt, replay, …
	Err    string
	Hex    string
}

// Stats counts what the service saw.
type Stats struct {
	Frames     uint64 // frames from the receiver
	Unreadable uint64 // frames whose header could not be read
	Unknown    uint64 // frames of meters not configured
	Stored     uint64 // telegrams stored
	Readings   uint64
	Dropped    uint64 // telegrams of configured meters not stored (errors, duplicates, replays)
	AppendErrs uint64 // failures to store
	Receiver   string // the receiver's state: "running", "restarting: …", "ended"
}

// New validates opts and builds the meter table. It starts nothing.
func New(opts *Options) (*Service, error) {
	if opts == nil || opts.Receiver == nil || opts.Sink == nil {
		return nil, fmt.Errorf("%w: a receiver and a sink are required", ErrOptions)
	}
	o := *opts
	if o.DupWindow <= 0 {
		o.DupWindow = 2 * time.Minute
	}
	if o.MaxClockSkew == 0 {
		o.MaxClockSkew = time.Hour
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxNearby <= 0 {
		o.MaxNearby = 1000
	}
	if o.MaxBad <= 0 {
		o.MaxBad = 64
	}
	if o.Restart <= 0 {
		o.Restart = 5 * time.Second
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		o:       o,
		meters:  make(map[uint64]*meterState, len(o.Meters)),
		seed:    maphash.MakeSeed(),
		batches: make(chan []meter.Reading, 1024),
		saves:   make(chan []byte, 1),
		nearby:  make(map[uint64]*Nearby),
	}
	ids := map[meter.MeterID]bool{}
	for i, mc := range o.Meters {
		if err := mc.ID.Validate(); err != nil {
			return nil, fmt.Errorf("%w: meter %d: %w", ErrOptions, i, err)
		}
		if ids[mc.ID] {
			return nil, fmt.Errorf("%w: meter %s is configured twice", ErrOptions, mc.ID)
		}
		ids[mc.ID] = true
		k, err := MeterKey(mc.Manufacturer, mc.Address)
		if err != nil {
			return nil, fmt.Errorf("%w: meter %s: %w", ErrOptions, mc.ID, err)
		}
		if other, dup := s.meters[k]; dup {
			return nil, fmt.Errorf("%w: meters %s and %s have the same manufacturer and address %s-%s",
				ErrOptions, other.cfg.ID, mc.ID, strings.ToUpper(mc.Manufacturer), mc.Address)
		}
		if mc.Key != nil && len(mc.Key) != 16 {
			return nil, fmt.Errorf("%w: meter %s: key of %d bytes, want 16 (AES-128)", ErrOptions, mc.ID, len(mc.Key))
		}
		med, err := mediumCode(mc.Medium)
		if err != nil {
			return nil, fmt.Errorf("%w: meter %s: %w", ErrOptions, mc.ID, err)
		}
		ms := &meterState{cfg: mc, medium: med, shard: i / keysPerShard}
		ms.h = Health{ID: mc.ID, Manufacturer: strings.ToUpper(mc.Manufacturer), Address: mc.Address,
			Medium: mc.Medium, AccessNumber: -1, Errors: map[string]uint64{}}
		s.meters[k] = ms
		s.list = append(s.list, ms)
	}
	profs, err := shippedProfiles()
	if err != nil {
		return nil, fmt.Errorf("%w: manufacturer profiles: %w", ErrOptions, err)
	}
	for range max(1, (len(o.Meters)+keysPerShard-1)/keysPerShard) {
		s.decs = append(s.decs, [2]*pwmbus.Decoder{
			pwmbus.NewDecoder(&pwmbus.Options{Format: pwmbus.FormatAuto, Profiles: profs}),
			pwmbus.NewDecoder(&pwmbus.Options{Format: pwmbus.FormatNoCRC, Profiles: profs}),
		})
	}
	s.progress.Store(o.Now().UnixNano())
	return s, nil
}

// shippedProfiles parses the embedded manufacturer profiles once: without
// them Kamstrup compact frames, Diehl IZAR, Apator and Techem meters decode
// less or not at all.
var shippedProfiles = sync.OnceValues(wmbusprofiles.Load)

// keysPerShard is how many meters share a decoder (and its key cache).
const keysPerShard = 2048

// MeterKey returns the lookup key of a manufacturer code ("KAM") and an
// 8-digit identification number ("12345678").
func MeterKey(manufacturer, address string) (uint64, error) {
	m, err := mbus.ParseManufacturer(strings.ToUpper(manufacturer))
	if err != nil {
		return 0, fmt.Errorf("manufacturer %q: %w", manufacturer, err)
	}
	if len(address) != 8 {
		return 0, fmt.Errorf("address %q is not 8 digits", address)
	}
	var id uint32
	for i := 0; i < 8; i++ {
		c := address[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, fmt.Errorf("address %q: %q is not a digit", address, c)
		}
		id = id<<4 | uint32(d)
	}
	return uint64(m&0x7FFF)<<32 | uint64(id), nil
}

// addrKey is the lookup key of a telegram's address. Bit 15 of the
// manufacturer field is not part of the three letters (some meters set
// it), so it is masked on both sides.
func addrKey(a pwmbus.Address) uint64 { return uint64(a.Manufacturer&0x7FFF)<<32 | uint64(a.ID) }

// mediumCode maps a configured medium to OBIS value group A.
func mediumCode(s string) (byte, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return 0, nil
	case "electricity":
		return 1, nil
	case "heat cost allocator", "hca":
		return 4, nil
	case "cooling":
		return 5, nil
	case "heat":
		return 6, nil
	case "gas":
		return 7, nil
	case "water", "cold water":
		return 8, nil
	case "warm water", "hot water":
		return 9, nil
	}
	return 0, fmt.Errorf("unknown medium %q (known: electricity, gas, heat, cooling, water, warm water, hot water, heat cost allocator)", s)
}

// Progress is when the service last handled a frame or its receiver
// loop last turned (the watchdog probe).
func (s *Service) Progress() time.Time { return time.Unix(0, s.progress.Load()) }

// Run runs the receiver and stores readings until ctx ends; it returns
// nil then. Call it once. A failing receiver is run again after Options.Restart; one
// whose source ended (a file read to its end) is not.
func (s *Service) Run(ctx context.Context) error {
	// The writer outlives ctx by up to stopGrace to store what was
	// received before the stop.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	stopLater := context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, stopWriter) })
	defer stopLater()
	var wg sync.WaitGroup
	s.loadState()
	wg.Add(3)
	go func() {
		defer wg.Done()
		s.writer(wctx)
	}()
	go func() {
		defer wg.Done()
		for b := range s.saves {
			s.saveState(wctx, b)
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.progress.Store(s.o.Now().UnixNano())
			}
		}
	}()
	defer func() {
		close(s.batches)
		close(s.saves)
		wg.Wait()
		if s.stateDirty {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
			s.saveState(sctx, s.encodeState())
			cancel()
		}
	}()
	for {
		s.setReceiver("running")
		err := s.o.Receiver.Run(ctx, s.handleFrame(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, halwmbus.ErrEnd) {
			s.setReceiver("ended: the source has no more telegrams")
			s.o.Log.Info("wmbus: the receiver's source ended")
			<-ctx.Done()
			return nil
		}
		if err == nil {
			err = errors.New("the receiver stopped")
		}
		s.setReceiver("restarting: " + err.Error())
		s.o.Log.Warn("wmbus: receiver failed; restarting", "err", err, "in", s.o.Restart)
		t := time.NewTimer(s.o.Restart)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) setReceiver(state string) {
	s.mu.Lock()
	s.stats.Receiver = state
	s.mu.Unlock()
}

// stopGrace bounds how long Run goes on storing received readings after
// its context ended.
const stopGrace = 5 * time.Second

// writer stores the batches of register readings.
func (s *Service) writer(ctx context.Context) {
	var all []meter.Reading
	for b := range s.batches {
		all = append(all[:0], b...)
		// Take what else is waiting: one Append (one commit) for all.
	more:
		for len(all) < 16384 {
			select {
			case b, ok := <-s.batches:
				if !ok {
					break more
				}
				all = append(all, b...)
			default:
				break more
			}
		}
		if err := s.o.Sink.Append(ctx, all...); err != nil {
			s.mu.Lock()
			s.stats.AppendErrs++
			s.mu.Unlock()
			s.o.Log.Warn("wmbus: storing readings failed", "readings", len(all), "err", err)
		}
	}
}

// handleFrame returns the receiver callback.
func (s *Service) handleFrame(ctx context.Context) func(halwmbus.Frame) {
	return func(f halwmbus.Frame) {
		rs := s.Handle(f)
		if s.stateDirty && s.o.State != nil {
			if now := s.o.Now(); now.Sub(s.lastSave) >= s.o.SaveEvery {
				select {
				case s.saves <- s.encodeState():
					s.stateDirty, s.lastSave = false, now
				default: // the last save is still going on
				}
			}
		}
		if len(rs) > 0 {
			batch := append([]meter.Reading(nil), rs...)
			select {
			case s.batches <- batch:
			case <-ctx.Done():
				// Stopping: the deferred close drains what is queued;
				// this one still goes in if there is room.
				select {
				case s.batches <- batch:
				default:
					s.o.Log.Warn("wmbus: readings received while stopping were not stored", "readings", len(batch))
				}
			}
		}
	}
}
