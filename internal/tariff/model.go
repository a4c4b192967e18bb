package tariff

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Errors of this package; the wrapping error names the field or id.
var (
	// ErrInvalid is returned (wrapped) for an input that fails validation.
	ErrInvalid = errors.New("tariff: invalid")
	// ErrNotFound is returned (wrapped) for an unknown event or message id.
	ErrNotFound = errors.New("tariff: not found")
)

// Records is the part of the store the model is kept in (store.Store
// implements it). Record returns an error wrapping notFound for a missing
// name (see Open).
type Records interface {
	PutRecord(ctx context.Context, kind, name string, value []byte) error
	Record(kind, name string) ([]byte, error)
}

// RecordKind is the store record kind of the model.
const RecordKind = "tariff"

// Record names.
const (
	recSchedules = "schedules"
	recDynamic   = "dynamic"
	recEvents    = "events"
	recMessages  = "messages"
)

// Bounds of what the model keeps.
const (
	MaxSchedules = 8       // installed schedules (the one in effect and those to come)
	MaxDynamic   = 14 * 96 // dynamic prices (two weeks of 15-minute prices)
	MaxEvents    = 64      // demand-response events
	MaxMessages  = 32      // display messages
	// KeepEnded is how long ended events and messages, and past dynamic
	// prices, are kept (for the HAN's history).
	KeepEnded = 7 * 24 * time.Hour
)

// Model is the household's tariff model. It is safe for concurrent use.
type Model struct {
	recs     Records
	notFound error
	now      func() time.Time

	mu        sync.RWMutex
	schedules []Schedule     // by Effective
	dynamic   []DynamicPrice // by Start
	events    []Event        // by Start
	messages  []Message      // by Start
	changed   chan struct{}  // closed and replaced on every change
}

// Options configure Open.
type Options struct {
	// NotFound is the error (matched with errors.Is) Records.Record
	// returns for a missing name: store.ErrNotFound.
	NotFound error
	// Now is the clock (pruning of ended entries); nil is time.Now.
	Now func() time.Time
}

// Open loads the model from recs.
func Open(recs Records, opts *Options) (*Model, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Model{recs: recs, notFound: o.NotFound, now: o.Now, changed: make(chan struct{})}
	for _, r := range []struct {
		name string
		v    any
	}{{recSchedules, &m.schedules}, {recDynamic, &m.dynamic}, {recEvents, &m.events}, {recMessages, &m.messages}} {
		b, err := recs.Record(RecordKind, r.name)
		if err != nil {
			if m.notFound != nil && errors.Is(err, m.notFound) {
				continue
			}
			return nil, fmt.Errorf("tariff: load %s: %w", r.name, err)
		}
		if err := json.Unmarshal(b, r.v); err != nil {
			return nil, fmt.Errorf("tariff: load %s: %w", r.name, err)
		}
	}
	for i := range m.schedules {
		if err := m.schedules[i].compile(); err != nil {
			return nil, fmt.Errorf("tariff: load schedule %s: %w", m.schedules[i].ID, err)
		}
	}
	return m, nil
}

// Changed returns a channel closed at the next change of the model (for
// the HAN's live views).
func (m *Model) Changed() <-chan struct{} {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.changed
}

// save writes one record; called with mu held for writing.
func (m *Model) save(ctx context.Context, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tariff: encode %s: %w", name, err)
	}
	if err := m.recs.PutRecord(ctx, RecordKind, name, b); err != nil {
		return fmt.Errorf("tariff: store %s: %w", name, err)
	}
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ---- Prices ----

// SetSchedule installs a price schedule from its Effective time on,
// replacing one with the same id or the same Effective time. Schedules
// that a newer one has superseded for longer than KeepEnded are dropped.
func (m *Model) SetSchedule(ctx context.Context, s Schedule) error {
	if err := s.compile(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(m.schedules), func(x Schedule) bool {
		return x.ID == s.ID || x.Effective.Equal(s.Effective)
	})
	next = append(next, s)
	slices.SortFunc(next, func(a, b Schedule) int { return a.Effective.Compare(b.Effective) })
	now := m.now()
	// Drop those superseded before now − KeepEnded.
	for len(next) > 1 && !next[1].Effective.After(now.Add(-KeepEnded)) {
		next = next[1:]
	}
	if len(next) > MaxSchedules {
		return invalid("schedule %s: %d schedules would be installed, at most %d", s.ID, len(next), MaxSchedules)
	}
	if err := m.save(ctx, recSchedules, next); err != nil {
		return err
	}
	m.schedules = next
	return nil
}

// Schedules returns the installed schedules, by effective time.
func (m *Model) Schedules() []Schedule {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.schedules)
}

// ScheduleAt returns the schedule in effect at t.
func (m *Model) ScheduleAt(t time.Time) (Schedule, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := m.scheduleAt(t)
	if s == nil {
		return Schedule{}, false
	}
	return *s, true
}

func (m *Model) scheduleAt(t time.Time) *Schedule {
	var s *Schedule
	for i := range m.schedules {
		if m.schedules[i].Effective.After(t) {
			break
		}
		s = &m.schedules[i]
	}
	return s
}

// SetPrices merges dynamic 15-minute prices into the model: each replaces
// what was there for its interval. Prices ended more than KeepEnded ago
// are dropped.
func (m *Model) SetPrices(ctx context.Context, ps []DynamicPrice) error {
	if err := validPrices(ps); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byStart := make(map[int64]DynamicPrice, len(m.dynamic)+len(ps))
	for _, p := range m.dynamic {
		byStart[p.Start.Unix()] = p
	}
	for _, p := range ps {
		byStart[p.Start.Unix()] = DynamicPrice{Start: p.Start.UTC(), Price: p.Price}
	}
	cut := m.now().Add(-KeepEnded)
	next := make([]DynamicPrice, 0, len(byStart))
	for _, p := range byStart {
		if p.Start.Add(DynamicInterval).After(cut) {
			next = append(next, p)
		}
	}
	slices.SortFunc(next, func(a, b DynamicPrice) int { return a.Start.Compare(b.Start) })
	if len(next) > MaxDynamic {
		return invalid("prices: %d dynamic prices would be kept, at most %d", len(next), MaxDynamic)
	}
	if err := m.save(ctx, recDynamic, next); err != nil {
		return err
	}
	m.dynamic = next
	return nil
}

// DynamicPrices returns the dynamic prices whose interval ends after from
// and starts before to.
func (m *Model) DynamicPrices(from, to time.Time) []DynamicPrice {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []DynamicPrice
	for _, p := range m.dynamic {
		if p.Start.Add(DynamicInterval).After(from) && p.Start.Before(to) {
			out = append(out, p)
		}
	}
	return out
}

// Price is the price at an instant.
type Price struct {
	Price    meter.Value `json:"price"`    // per Unit, in Currency
	Currency string      `json:"currency"` // ISO 4217
	Unit     string      `json:"unit"`     // what the price is per: kWh, MWh, m3
	Tier     int         `json:"tier"`     // the time-of-use tier (0 for a dynamic price)
	Label    string      `json:"label"`    // the tier's label, "dynamic" for a dynamic price
	Schedule string      `json:"schedule"` // the schedule's id
	Dynamic  bool        `json:"dynamic"`  // from the dynamic 15-minute prices
	// Blocks of the schedule: a consumer's price is Price plus the Adder
	// of the highest block whose threshold its consumption in the billing
	// month has reached (BlockAdder).
	Blocks []Block `json:"blocks,omitempty"`
}

// PriceAt returns the price at t: the dynamic price of t's 15-minute
// interval if there is one, else the time-of-use tier of the schedule in
// effect. ok is false when no schedule is in effect.
func (m *Model) PriceAt(t time.Time) (Price, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.priceAt(t)
}

func (m *Model) priceAt(t time.Time) (Price, bool) {
	s := m.scheduleAt(t)
	if s == nil {
		return Price{}, false
	}
	p := Price{Currency: s.Currency, Unit: s.Unit, Schedule: s.ID, Blocks: s.Blocks}
	if i, ok := slices.BinarySearchFunc(m.dynamic, t.Truncate(DynamicInterval), func(d DynamicPrice, t time.Time) int {
		return d.Start.Compare(t)
	}); ok {
		p.Price, p.Dynamic, p.Label = m.dynamic[i].Price, true, "dynamic"
		return p, true
	}
	tier := s.tierAt(t)
	p.Tier, p.Label, p.Price = tier.ID, tier.Label, tier.Price
	return p, true
}

// NextChange returns the first instant after t at which the price differs
// from the price at t, and that price; ok is false when none is known
// within the next 8 days (a flat tariff).
func (m *Model) NextChange(t time.Time) (time.Time, Price, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	cur, _ := m.priceAt(t)
	horizon := t.Add(8 * 24 * time.Hour)
	var cands []time.Time
	for _, s := range m.schedules {
		if s.Effective.After(t) && s.Effective.Before(horizon) {
			cands = append(cands, s.Effective)
		}
	}
	for _, d := range m.dynamic {
		for _, c := range []time.Time{d.Start, d.Start.Add(DynamicInterval)} {
			if c.After(t) && c.Before(horizon) {
				cands = append(cands, c)
			}
		}
	}
	for i := range m.schedules {
		cands = m.schedules[i].boundaries(cands, t, horizon)
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	for _, c := range slices.CompactFunc(cands, time.Time.Equal) {
		p, ok := m.priceAt(c)
		if ok && !samePrice(p, cur) {
			return c, p, true
		}
	}
	return time.Time{}, Price{}, false
}

func samePrice(a, b Price) bool {
	return a.Price.Cmp(b.Price) == 0 && a.Currency == b.Currency && a.Unit == b.Unit &&
		a.Tier == b.Tier && a.Dynamic == b.Dynamic && a.Schedule == b.Schedule
}

// BlockAdder returns the adder of the highest block of p's schedule whose
// threshold consumed (this billing month, in p.Unit) has reached, and the
// block's index; -1 if no block applies.
func (p Price) BlockAdder(consumed meter.Value) (meter.Value, int) {
	adder, idx := meter.Value{}, -1
	for i, b := range p.Blocks {
		if consumed.Cmp(b.From) >= 0 {
			adder, idx = b.Adder, i
		}
	}
	return adder, idx
}

// ---- Demand response ----

// StartEvent schedules a demand-response event (or replaces a pending one
// with the same id).
func (m *Model) StartEvent(ctx context.Context, ev Event) error {
	if err := ev.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	next := make([]Event, 0, len(m.events)+1)
	for _, x := range m.events {
		if x.ID == ev.ID {
			if x.Cancelled != nil || !now.Before(x.Start) {
				return invalid("event %s: already started or cancelled; use a new id", ev.ID)
			}
			continue
		}
		if x.End().Add(KeepEnded).Before(now) {
			continue
		}
		next = append(next, x)
	}
	ev.Start = ev.Start.UTC()
	ev.OptOuts = nil
	ev.Cancelled = nil
	next = append(next, ev)
	slices.SortFunc(next, func(a, b Event) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID)) })
	if len(next) > MaxEvents {
		return invalid("event %s: %d events would be kept, at most %d", ev.ID, len(next), MaxEvents)
	}
	if err := m.save(ctx, recEvents, next); err != nil {
		return err
	}
	m.events = next
	return nil
}

// CancelEvent cancels an event at at: a pending one never starts, an
// active one ends then.
func (m *Model) CancelEvent(ctx context.Context, id string, at time.Time) error {
	return m.updateEvent(ctx, id, func(ev *Event) error {
		if ev.Cancelled != nil {
			return invalid("event %s: already cancelled", id)
		}
		if !at.Before(ev.End()) {
			return invalid("event %s: already ended", id)
		}
		t := at.UTC()
		ev.Cancelled = &t
		return nil
	})
}

// OptOut records that device (a HAN client or device id) opts out of the
// event; opting out twice is not an error.
func (m *Model) OptOut(ctx context.Context, id, device string) error {
	if device == "" || len(device) > 64 {
		return invalid("opt-out of event %s: device id must be 1…64 bytes", id)
	}
	return m.updateEvent(ctx, id, func(ev *Event) error {
		if slices.Contains(ev.OptOuts, device) {
			return errUnchanged
		}
		if len(ev.OptOuts) >= 256 {
			return invalid("event %s: too many opt-outs", id)
		}
		ev.OptOuts = append(ev.OptOuts, device)
		return nil
	})
}

var errUnchanged = errors.New("unchanged")

func (m *Model) updateEvent(ctx context.Context, id string, fn func(*Event) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.events, func(e Event) bool { return e.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: demand-response event %q", ErrNotFound, id)
	}
	next := slices.Clone(m.events)
	next[i].OptOuts = slices.Clone(next[i].OptOuts)
	if err := fn(&next[i]); err != nil {
		if err == errUnchanged {
			return nil
		}
		return err
	}
	if err := m.save(ctx, recEvents, next); err != nil {
		return err
	}
	m.events = next
	return nil
}

// Events returns the events active at t and those pending (starting
// after t, not cancelled), each by start.
func (m *Model) Events(t time.Time) (active, pending []Event) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, ev := range m.events {
		switch {
		case ev.ActiveAt(t):
			active = append(active, ev)
		case ev.Start.After(t) && ev.Cancelled == nil:
			pending = append(pending, ev)
		}
	}
	return active, pending
}

// AllEvents returns every kept event (ended ones too), by start.
func (m *Model) AllEvents() []Event {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.events)
}

// ---- Messages ----

// PostMessage adds a display message (or replaces one with the same id).
func (m *Model) PostMessage(ctx context.Context, msg Message) error {
	if err := msg.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	next := make([]Message, 0, len(m.messages)+1)
	for _, x := range m.messages {
		if x.ID == msg.ID {
			continue
		}
		if end, ok := x.End(); ok && end.Add(KeepEnded).Before(now) {
			continue
		}
		next = append(next, x)
	}
	msg.Start = msg.Start.UTC()
	msg.Confirmed = nil
	msg.ConfirmedBy = ""
	next = append(next, msg)
	slices.SortFunc(next, func(a, b Message) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID)) })
	if len(next) > MaxMessages {
		next = next[len(next)-MaxMessages:] // the oldest go first
	}
	if err := m.save(ctx, recMessages, next); err != nil {
		return err
	}
	m.messages = next
	return nil
}

// Confirm records the household's confirmation of a message.
// Confirming twice is not an error (the first confirmation is kept).
func (m *Model) Confirm(ctx context.Context, id, by string, at time.Time) error {
	if len(by) > 64 {
		return invalid("confirmation of message %s: confirmer id over 64 bytes", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.messages, func(x Message) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: message %q", ErrNotFound, id)
	}
	if m.messages[i].Confirmed != nil {
		return nil
	}
	next := slices.Clone(m.messages)
	t := at.UTC()
	next[i].Confirmed, next[i].ConfirmedBy = &t, by
	if err := m.save(ctx, recMessages, next); err != nil {
		return err
	}
	m.messages = next
	return nil
}

// CancelMessage ends a message now.
func (m *Model) CancelMessage(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.messages, func(x Message) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: message %q", ErrNotFound, id)
	}
	next := slices.Clone(m.messages)
	t := at.UTC()
	next[i].Cancelled = &t
	if err := m.save(ctx, recMessages, next); err != nil {
		return err
	}
	m.messages = next
	return nil
}

// Messages returns the messages to show at t, by start.
func (m *Model) Messages(t time.Time) []Message {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Message
	for _, x := range m.messages {
		if x.ActiveAt(t) {
			out = append(out, x)
		}
	}
	return out
}

// AllMessages returns every kept message, by start.
func (m *Model) AllMessages() []Message {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.messages)
}
