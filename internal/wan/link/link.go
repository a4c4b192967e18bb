package link

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smgw/smgw/hal/modem"
)

// Kind names an uplink.
type Kind string

// Uplinks.
const (
	None     Kind = "none"
	Ethernet Kind = "ethernet"
	LTE      Kind = "lte"
	// Other: neither configured interface is usable, but another one holds
	// the default route (a development machine, a misnamed interface).
	// Treated like Ethernet: no budget.
	Other Kind = "other"
)

// Modem is what the monitor asks the LTE modem (*modem.Modem).
type Modem interface {
	Status(ctx context.Context) (modem.Status, error)
}

// Records is where the day's counters are kept (store.Store implements it).
type Records interface {
	PutRecord(ctx context.Context, kind, name string, value []byte) error
	Record(kind, name string) ([]byte, error)
}

// Options configure a Monitor. The zero value is usable: no uplink
// interfaces (so none is ever active), the kernel's view, no modem, no
// budget.
type Options struct {
	Ethernet string // wired interface; "" for none
	LTE      string // LTE interface; "" for none
	// DailyBudget is the bulk bytes a day allowed on LTE; 0 is unlimited.
	DailyBudget int64
	// Probe looks at the interfaces; nil is SysProbe("", "").
	Probe Probe
	// Routes finds a default route on another interface (Kind Other);
	// nil is SysRoutes("") when Probe is nil too, and none otherwise.
	Routes Routes
	// Modem is the LTE modem; nil for none.
	Modem Modem
	// Every is the probe period of Run; 0 is 10 s.
	Every time.Duration
	// Records keeps the day's counters across restarts; nil keeps them in
	// memory only.
	Records Records
	// Now is the clock; its Location decides where a day starts. nil is
	// time.Now (local time).
	Now func() time.Time
	Log *slog.Logger
}

// RecordKind and recordName locate the day's counters in the store.
const (
	RecordKind = "wan"
	recordName = "link/sent"
)

// Status describes the uplink.
type Status struct {
	Active   Kind          `json:"active"`
	Other    string        `json:"other,omitempty"` // the interface when Active is other
	Ethernet IfState       `json:"ethernet"`
	LTE      IfState       `json:"lte"`
	Modem    *modem.Status `json:"modem,omitempty"` // nil without a modem or before it answered
	ModemErr string        `json:"modem_error,omitempty"`
	Day      string        `json:"day"`             // the local day the counters are for, YYYY-MM-DD
	Sent     int64         `json:"sent_today"`      // bytes sent today on any uplink
	SentLTE  int64         `json:"sent_today_lte"`  // of those, on LTE
	Budget   int64         `json:"daily_budget"`    // LTE bulk budget, 0 unlimited
	Left     int64         `json:"budget_left"`     // −1 when unlimited
	Throttle int64         `json:"throttled_today"` // bulk sends refused today
	Probed   time.Time     `json:"probed"`
}

// Monitor tracks the active uplink and the day's traffic. New → Run.
// Its methods are safe for concurrent use.
type Monitor struct {
	o Options

	mu       sync.Mutex
	st       Status
	dirty    bool
	lastSave time.Time
}

// counters is the stored form of the day's counters.
type counters struct {
	Day      string `json:"day"`
	Sent     int64  `json:"sent"`
	SentLTE  int64  `json:"sent_lte"`
	Throttle int64  `json:"throttled"`
}

// New returns a monitor, with the day's counters loaded from Records. It
// probes nothing until Probe or Run.
func New(opts *Options) (*Monitor, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Probe == nil {
		o.Probe = SysProbe("", "")
		if o.Routes == nil {
			o.Routes = SysRoutes("")
		}
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DailyBudget < 0 {
		return nil, fmt.Errorf("link: negative daily budget %d", o.DailyBudget)
	}
	m := &Monitor{o: o}
	m.st = Status{Active: None, Ethernet: IfState{Name: o.Ethernet}, LTE: IfState{Name: o.LTE},
		Budget: o.DailyBudget, Day: day(o.Now())}
	if o.Records != nil {
		b, err := o.Records.Record(RecordKind, recordName)
		if err == nil {
			var c counters
			if err := json.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("link: stored counters: %w", err)
			}
			if c.Day == m.st.Day {
				m.st.Sent, m.st.SentLTE, m.st.Throttle = c.Sent, c.SentLTE, c.Throttle
			}
		} // a missing record is a fresh start; any other error shows at the first save
	}
	return m, nil
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

// rollLocked starts a new day's counters when the day has changed.
func (m *Monitor) rollLocked(now time.Time) {
	if d := day(now); d != m.st.Day {
		m.st.Day, m.st.Sent, m.st.SentLTE, m.st.Throttle = d, 0, 0, 0
		m.dirty = true
	}
}

// Allow implements the uplink's Link: whether n bytes may be sent now.
// Bulk uploads on LTE are refused once the day's budget would be
// exceeded; everything else is allowed (on no known uplink too: the
// connection itself will tell).
func (m *Monitor) Allow(bulk bool, n int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rollLocked(m.o.Now())
	if !bulk || m.st.Active != LTE || m.o.DailyBudget == 0 {
		return true
	}
	if m.st.SentLTE+int64(n) <= m.o.DailyBudget {
		return true
	}
	m.st.Throttle++
	m.dirty = true
	return false
}

// Sent implements the uplink's Link: n bytes went out on the active uplink.
func (m *Monitor) Sent(n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rollLocked(m.o.Now())
	m.st.Sent += int64(n)
	if m.st.Active == LTE {
		m.st.SentLTE += int64(n)
	}
	m.dirty = true
}

// Status returns the last probed state and the day's counters.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rollLocked(m.o.Now())
	s := m.st
	if s.Modem != nil {
		ms := *s.Modem
		s.Modem = &ms
	}
	s.Left = -1
	if s.Budget > 0 {
		s.Left = max(s.Budget-s.SentLTE, 0)
	}
	return s
}

// String is the status in a line: "ethernet eth0, 1.2 MiB sent today" or
// "lte wwan0 (Telekom.de, -73 dBm), 3.0 MiB sent today, 47.0 MiB of 50.0 MiB budget left".
func (m *Monitor) String() string {
	s := m.Status()
	var b strings.Builder
	switch s.Active {
	case Ethernet:
		fmt.Fprintf(&b, "ethernet %s", s.Ethernet.Name)
	case Other:
		fmt.Fprintf(&b, "other %s (not the configured ethernet or lte interface)", s.Other)
	case LTE:
		fmt.Fprintf(&b, "lte %s", s.LTE.Name)
		if s.Modem != nil {
			fmt.Fprintf(&b, " (%s, %d dBm)", cmpOr(s.Modem.Operator, "no operator"), s.Modem.RSSI)
		}
	default:
		b.WriteString("none")
		if s.Modem != nil && !s.Modem.Registration.Registered() {
			fmt.Fprintf(&b, " (modem %s)", s.Modem.Registration)
		}
	}
	fmt.Fprintf(&b, ", %s sent today", mib(s.Sent))
	if s.Budget > 0 {
		fmt.Fprintf(&b, ", %s of %s LTE budget left", mib(s.Left), mib(s.Budget))
	}
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ProbeNow looks at the interfaces and the modem once and decides the
// active uplink: Ethernet when usable, else LTE when usable (and, with a
// modem, registered), else none.
func (m *Monitor) ProbeNow(ctx context.Context) error {
	ifs, err := m.o.Probe(m.o.Ethernet, m.o.LTE)
	if err == nil && len(ifs) != 2 {
		err = errors.New("link: probe returned the wrong number of interfaces")
	}
	var other string
	if m.o.Routes != nil && err == nil {
		routes, rerr := m.o.Routes()
		if rerr == nil {
			var names []string
			for name := range routes {
				if name != m.o.Ethernet && name != m.o.LTE && name != "lo" {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			if len(names) > 0 {
				other = names[0]
			}
		}
	}
	var ms *modem.Status
	var merr error
	if m.o.Modem != nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s, e := m.o.Modem.Status(cctx)
		cancel()
		if e == nil {
			ms = &s
		}
		merr = e
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rollLocked(now)
	m.st.Probed = now
	m.st.Modem, m.st.ModemErr = ms, ""
	if merr != nil {
		m.st.ModemErr = merr.Error()
	}
	if err != nil {
		m.st.Active = None
		return err
	}
	m.st.Ethernet, m.st.LTE = ifs[0], ifs[1]
	prev := m.st.Active
	m.st.Other = ""
	switch {
	case m.o.Ethernet != "" && ifs[0].Usable():
		m.st.Active = Ethernet
	case m.o.LTE != "" && ifs[1].Usable() && (m.o.Modem == nil || ms != nil && ms.Registration.Registered()):
		m.st.Active = LTE
	case other != "":
		m.st.Active, m.st.Other = Other, other
	default:
		m.st.Active = None
	}
	if prev != m.st.Active {
		m.o.Log.Info("uplink changed", "from", prev, "to", m.st.Active)
	}
	return nil
}

// Run probes every Options.Every and saves the day's counters (at most
// once a minute, and when ctx ends) until ctx ends; it returns nil then.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.o.Every)
	defer t.Stop()
	failing := false
	for {
		if err := m.ProbeNow(ctx); err != nil && ctx.Err() == nil {
			if !failing {
				m.o.Log.Warn("link probe failed", "err", err)
			}
			failing = true
		} else {
			failing = false
		}
		m.save(ctx, false)
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			m.save(sctx, true)
			cancel()
			return nil
		case <-t.C:
		}
	}
}

// save writes the counters if they changed (and, unless force, a minute
// has passed since the last write).
func (m *Monitor) save(ctx context.Context, force bool) {
	if m.o.Records == nil {
		return
	}
	m.mu.Lock()
	now := m.o.Now()
	if !m.dirty || !force && now.Sub(m.lastSave) < time.Minute {
		m.mu.Unlock()
		return
	}
	b, _ := json.Marshal(counters{Day: m.st.Day, Sent: m.st.Sent, SentLTE: m.st.SentLTE, Throttle: m.st.Throttle})
	m.dirty = false
	m.lastSave = now
	m.mu.Unlock()
	if err := m.o.Records.PutRecord(ctx, RecordKind, recordName, b); err != nil {
		m.o.Log.Warn("cannot save the link counters", "err", err)
		m.mu.Lock()
		m.dirty = true
		m.mu.Unlock()
	}
}
