package tariff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smgw/smgw/internal/meter"
)

// Units a price may be given per.
var priceUnits = []string{"kWh", "MWh", "m3", "l"}

// Schedule is a price schedule: the time-of-use tiers and when each
// applies, consumption blocks, in one currency per one unit. It takes
// effect at Effective and stays until a later schedule takes over.
//
// The JSON (and CBOR) field names are the wire names of the "tariff"
// command.
type Schedule struct {
	ID        string    `json:"id"`
	Effective time.Time `json:"effective"`
	Currency  string    `json:"currency"` // ISO 4217, e.g. "EUR"
	Unit      string    `json:"unit"`     // kWh, MWh, m3 or l
	// TimeZone (IANA, e.g. "Europe/Berlin") is where the periods' wall
	// clock runs; "" is UTC.
	TimeZone string `json:"tz,omitempty"`
	// Tiers are the price levels (Zigbee SE "tiers" 1…15), each once.
	Tiers []Tier `json:"tiers"`
	// DefaultTier applies when no period does.
	DefaultTier int `json:"default_tier"`
	// Periods say when a tier other than the default applies: on the
	// listed weekdays from Start to End local time. Periods of one day
	// must not overlap.
	Periods []Period `json:"periods,omitempty"`
	// Blocks add to the price once the month's consumption reaches a
	// threshold; thresholds strictly increasing.
	Blocks []Block `json:"blocks,omitempty"`

	loc   *time.Location
	tiers map[int]Tier
}

// Tier is a price level.
type Tier struct {
	ID    int         `json:"id"` // 1…15
	Label string      `json:"label"`
	Price meter.Value `json:"price"` // per the schedule's Unit; may be negative
}

// Period is a time-of-use window.
type Period struct {
	Tier  int      `json:"tier"`
	Days  []string `json:"days"`  // mon tue wed thu fri sat sun
	Start string   `json:"start"` // "HH:MM", 00:00…23:59
	End   string   `json:"end"`   // "HH:MM" after Start, up to "24:00"

	days       [7]bool // by time.Weekday
	start, end int     // minutes of the day
}

// Block is a consumption block.
type Block struct {
	From  meter.Value `json:"from"`  // consumption this billing month (calendar month, local), in Unit
	Adder meter.Value `json:"adder"` // added to the tier's price from there on
}

// DynamicInterval is the length of a dynamic price's interval.
const DynamicInterval = 15 * time.Minute

// DynamicPrice is the price of one 15-minute interval; it overrides the
// time-of-use tier (in the currency and unit of the schedule in effect).
type DynamicPrice struct {
	Start time.Time   `json:"start"` // on a 15-minute boundary
	Price meter.Value `json:"price"`
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func validID(what, id string) error {
	if id == "" || len(id) > 64 {
		return invalid("%s id %q: must be 1…64 bytes", what, id)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e || id[i] == '/' {
			return invalid("%s id %q: byte %d is not a printable ASCII character other than /", what, id, i)
		}
	}
	return nil
}

// compile validates s and prepares its lookups.
func (s *Schedule) compile() error {
	if err := validID("schedule", s.ID); err != nil {
		return err
	}
	where := "schedule " + s.ID
	if s.Effective.IsZero() || s.Effective.Year() < 2000 {
		return invalid("%s: effective: a time after 2000 is required", where)
	}
	s.Effective = s.Effective.UTC()
	if len(s.Currency) != 3 || strings.ToUpper(s.Currency) != s.Currency || strings.IndexFunc(s.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return invalid("%s: currency %q: want an ISO 4217 code such as \"EUR\"", where, s.Currency)
	}
	if !slices.Contains(priceUnits, s.Unit) {
		return invalid("%s: unit %q: unknown; known: %s", where, s.Unit, strings.Join(priceUnits, ", "))
	}
	s.loc = time.UTC
	if s.TimeZone != "" {
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil || strings.HasPrefix(s.TimeZone, "/") || s.TimeZone == "Local" {
			return invalid("%s: tz %q: not a known IANA time zone", where, s.TimeZone)
		}
		s.loc = loc
	}
	if len(s.Tiers) == 0 || len(s.Tiers) > 15 {
		return invalid("%s: tiers: 1…15 tiers are required, got %d", where, len(s.Tiers))
	}
	s.tiers = make(map[int]Tier, len(s.Tiers))
	for i, t := range s.Tiers {
		if t.ID < 1 || t.ID > 15 {
			return invalid("%s: tiers[%d]: id %d is not 1…15", where, i, t.ID)
		}
		if _, dup := s.tiers[t.ID]; dup {
			return invalid("%s: tiers[%d]: tier %d is listed twice", where, i, t.ID)
		}
		if len(t.Label) > 32 {
			return invalid("%s: tiers[%d]: label over 32 bytes", where, i)
		}
		s.tiers[t.ID] = t
	}
	if _, ok := s.tiers[s.DefaultTier]; !ok {
		return invalid("%s: default_tier %d is not one of the tiers", where, s.DefaultTier)
	}
	if len(s.Periods) > 64 {
		return invalid("%s: periods: %d, at most 64", where, len(s.Periods))
	}
	for i := range s.Periods {
		p := &s.Periods[i]
		pw := fmt.Sprintf("%s: periods[%d]", where, i)
		if _, ok := s.tiers[p.Tier]; !ok {
			return invalid("%s: tier %d is not one of the tiers", pw, p.Tier)
		}
		if len(p.Days) == 0 {
			return invalid("%s: days: at least one of %s", pw, strings.Join(dayNames, " "))
		}
		p.days = [7]bool{}
		for _, d := range p.Days {
			k := slices.Index(dayNames, d)
			if k < 0 {
				return invalid("%s: day %q: unknown; known: %s", pw, d, strings.Join(dayNames, " "))
			}
			if p.days[k] {
				return invalid("%s: day %q listed twice", pw, d)
			}
			p.days[k] = true
		}
		var err error
		if p.start, err = parseClock(p.Start, false); err != nil {
			return invalid("%s: start: %v", pw, err)
		}
		if p.end, err = parseClock(p.End, true); err != nil {
			return invalid("%s: end: %v", pw, err)
		}
		if p.end <= p.start {
			return invalid("%s: ends (%s) at or before it starts (%s); split a period over midnight in two", pw, p.End, p.Start)
		}
		for j := range i {
			q := &s.Periods[j]
			for d := range 7 {
				if p.days[d] && q.days[d] && p.start < q.end && q.start < p.end {
					return invalid("%s overlaps periods[%d] on %s (%s–%s and %s–%s)", pw, j, dayNames[d], p.Start, p.End, q.Start, q.End)
				}
			}
		}
	}
	if len(s.Blocks) > 16 {
		return invalid("%s: blocks: %d, at most 16", where, len(s.Blocks))
	}
	for i, b := range s.Blocks {
		if b.From.Cmp(meter.Value{}) < 0 {
			return invalid("%s: blocks[%d]: from %s is negative", where, i, b.From)
		}
		if i > 0 && b.From.Cmp(s.Blocks[i-1].From) <= 0 {
			return invalid("%s: blocks[%d]: from %s is not above blocks[%d]'s %s", where, i, b.From, i-1, s.Blocks[i-1].From)
		}
	}
	return nil
}

// parseClock reads "HH:MM" into minutes of the day; "24:00" only if end.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	switch {
	case err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59:
		return 0, fmt.Errorf("%q is not HH:MM", s)
	case hh == 24 && mm == 0 && end:
		return 24 * 60, nil
	case hh > 23:
		return 0, fmt.Errorf("%q: hour %d is not 00…23", s, hh)
	}
	return hh*60 + mm, nil
}

// tierAt returns the tier in effect at t (s compiled).
func (s *Schedule) tierAt(t time.Time) Tier {
	lt := t.In(s.loc)
	min := lt.Hour()*60 + lt.Minute()
	wd := lt.Weekday()
	for _, p := range s.Periods {
		if p.days[wd] && p.start <= min && min < p.end {
			return s.tiers[p.Tier]
		}
	}
	return s.tiers[s.DefaultTier]
}

// boundaries appends the period starts and ends in (t, horizon) to dst.
func (s *Schedule) boundaries(dst []time.Time, t, horizon time.Time) []time.Time {
	lt := t.In(s.loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, s.loc)
	for ; day.Before(horizon); day = day.AddDate(0, 0, 1) {
		for _, p := range s.Periods {
			if !p.days[day.Weekday()] {
				continue
			}
			for _, mn := range []int{p.start, p.end} {
				c := time.Date(day.Year(), day.Month(), day.Day(), mn/60, mn%60, 0, 0, s.loc)
				if c.After(t) && c.Before(horizon) {
					dst = append(dst, c)
				}
			}
		}
	}
	return dst
}

func validPrices(ps []DynamicPrice) error {
	if len(ps) == 0 {
		return invalid("prices: none given")
	}
	if len(ps) > MaxDynamic {
		return invalid("prices: %d given, at most %d", len(ps), MaxDynamic)
	}
	for i, p := range ps {
		if p.Start.Year() < 2000 {
			return invalid("prices[%d]: start: a time after 2000 is required", i)
		}
		if !p.Start.Truncate(DynamicInterval).Equal(p.Start) {
			return invalid("prices[%d]: start %s is not on a 15-minute boundary", i, p.Start.UTC().Format(time.RFC3339Nano))
		}
		if i > 0 && !p.Start.After(ps[i-1].Start) {
			return invalid("prices[%d]: start %s is not after prices[%d]'s", i, p.Start.UTC().Format(time.RFC3339), i-1)
		}
	}
	return nil
}

// Device classes of demand-response events (after Zigbee SE's device
// class field and IEEE 2030.5's).
var DeviceClasses = []string{"hvac", "heat-pump", "water-heater", "pool-pump", "smart-appliance",
	"ev-charger", "battery", "lighting", "load-control", "generation"}

// Event is a demand-response event: devices of the classes listed reduce
// their load from Start for the duration, unless they opt out.
type Event struct {
	ID      string    `json:"id"`
	Start   time.Time `json:"start"`
	Minutes int       `json:"minutes"` // duration, 1…1440
	// Criticality is 1 (green, voluntary) … 9 (emergency), Zigbee SE's
	// levels.
	Criticality   int      `json:"criticality"`
	DeviceClasses []string `json:"device_classes"`
	// LoadReduction is the asked reduction in percent, 0 for none given.
	LoadReduction int `json:"load_reduction,omitempty"`
	// OptOutAllowed: whether the household may opt out (false at
	// criticality 9 is typical).
	OptOutAllowed bool `json:"opt_out_allowed"`

	OptOuts   []string   `json:"opt_outs,omitempty"`  // set by OptOut
	Cancelled *time.Time `json:"cancelled,omitempty"` // set by CancelEvent
}

// End returns when the event ends: at Start + Minutes, or when cancelled.
func (ev Event) End() time.Time {
	end := ev.Start.Add(time.Duration(ev.Minutes) * time.Minute)
	if ev.Cancelled != nil && ev.Cancelled.Before(end) {
		if ev.Cancelled.Before(ev.Start) {
			return ev.Start
		}
		return *ev.Cancelled
	}
	return end
}

// ActiveAt reports whether the event runs at t.
func (ev Event) ActiveAt(t time.Time) bool { return !t.Before(ev.Start) && t.Before(ev.End()) }

// OptedOut reports whether device opted out.
func (ev Event) OptedOut(device string) bool { return slices.Contains(ev.OptOuts, device) }

func (ev *Event) validate() error {
	if err := validID("event", ev.ID); err != nil {
		return err
	}
	w := "event " + ev.ID
	switch {
	case ev.Start.Year() < 2000:
		return invalid("%s: start: a time after 2000 is required", w)
	case ev.Minutes <= 0:
		return invalid("%s: minutes %d: the duration must be positive", w, ev.Minutes)
	case ev.Minutes > 1440:
		return invalid("%s: minutes %d: at most 1440 (a day)", w, ev.Minutes)
	case ev.Criticality < 1 || ev.Criticality > 9:
		return invalid("%s: criticality %d is not 1…9", w, ev.Criticality)
	case ev.LoadReduction < 0 || ev.LoadReduction > 100:
		return invalid("%s: load_reduction %d is not 0…100 %%", w, ev.LoadReduction)
	case len(ev.DeviceClasses) == 0:
		return invalid("%s: device_classes: at least one of %s", w, strings.Join(DeviceClasses, ", "))
	}
	for i, c := range ev.DeviceClasses {
		if !slices.Contains(DeviceClasses, c) {
			return invalid("%s: device_classes[%d] %q: unknown; known: %s", w, i, c, strings.Join(DeviceClasses, ", "))
		}
		if slices.Index(ev.DeviceClasses, c) != i {
			return invalid("%s: device_classes[%d] %q listed twice", w, i, c)
		}
	}
	return nil
}

// Message priorities.
var priorities = []string{"low", "medium", "high", "critical"}

// Message is a text for the in-home display.
type Message struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"` // UTF-8, 1…500 bytes
	Priority string    `json:"priority"`
	Start    time.Time `json:"start"`
	// Minutes is how long it is shown; 0 until cancelled (or, if it
	// needs confirmation, until confirmed).
	Minutes              int  `json:"minutes,omitempty"`
	ConfirmationRequired bool `json:"confirmation_required,omitempty"`

	Confirmed   *time.Time `json:"confirmed,omitempty"` // set by Confirm
	ConfirmedBy string     `json:"confirmed_by,omitempty"`
	Cancelled   *time.Time `json:"cancelled,omitempty"`
}

// End returns when the message stops being shown; ok is false for a
// message shown until further notice.
func (msg Message) End() (time.Time, bool) {
	var ends []time.Time
	if msg.Minutes > 0 {
		ends = append(ends, msg.Start.Add(time.Duration(msg.Minutes)*time.Minute))
	}
	if msg.Cancelled != nil {
		ends = append(ends, *msg.Cancelled)
	}
	if msg.ConfirmationRequired && msg.Confirmed != nil {
		ends = append(ends, *msg.Confirmed)
	}
	if len(ends) == 0 {
		return time.Time{}, false
	}
	return slices.MinFunc(ends, time.Time.Compare), true
}

// ActiveAt reports whether the message is shown at t.
func (msg Message) ActiveAt(t time.Time) bool {
	if t.Before(msg.Start) {
		return false
	}
	end, ok := msg.End()
	return !ok || t.Before(end)
}

func (msg *Message) validate() error {
	if err := validID("message", msg.ID); err != nil {
		return err
	}
	w := "message " + msg.ID
	switch {
	case msg.Text == "" || len(msg.Text) > 500:
		return invalid("%s: text must be 1…500 bytes, got %d", w, len(msg.Text))
	case strings.ContainsRune(msg.Text, 0) || !utf8.ValidString(msg.Text):
		return invalid("%s: text is not valid UTF-8 without NUL", w)
	case !slices.Contains(priorities, msg.Priority):
		return invalid("%s: priority %q: unknown; known: %s", w, msg.Priority, strings.Join(priorities, ", "))
	case msg.Start.Year() < 2000:
		return invalid("%s: start: a time after 2000 is required", w)
	case msg.Minutes < 0:
		return invalid("%s: minutes %d: the duration must not be negative", w, msg.Minutes)
	case msg.Minutes > 60*24*366:
		return invalid("%s: minutes %d: at most a year", w, msg.Minutes)
	}
	return nil
}
