package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// The electricity profile has a breaker (a remote disconnect switch, as
// smart meters have): Disconnect opens it, Reconnect closes it. While it
// is open the household draws nothing and exports nothing: the energy
// registers stand still and the live powers read 0 (the voltage, measured
// on the grid side, goes on). The spans it was open (outages) are part of
// the meter's state; Options.Outages restores them after a restart, so
// the registers continue where they stood.

// Errors of the breaker.
var (
	// ErrNoBreaker is returned by Disconnect and Reconnect for a profile
	// without a breaker (water and heat).
	ErrNoBreaker = errors.New("sim: this meter has no breaker")
	// ErrTooManyOutages is returned by Disconnect when the meter already
	// keeps MaxOutages outages.
	ErrTooManyOutages = errors.New("sim: too many outages recorded")
)

// MaxOutages bounds the outages a meter keeps.
const MaxOutages = 256

// Outage is a span the breaker was open: [From, To), To zero while it is
// still open.
type Outage struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
}

// Disconnect opens the breaker now. Opening an open breaker is not an
// error.
func (m *Meter) Disconnect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.profile != Electricity {
		return fmt.Errorf("%w: meter %s (%s)", ErrNoBreaker, m.id, m.profile)
	}
	now := m.now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.outages); n > 0 && m.outages[n-1].To.IsZero() {
		return nil
	}
	if len(m.outages) >= MaxOutages {
		return fmt.Errorf("%w: meter %s keeps %d", ErrTooManyOutages, m.id, MaxOutages)
	}
	m.outages = append(m.outages, Outage{From: now})
	m.log.Info("sim: breaker opened")
	return nil
}

// Reconnect closes the breaker now. Closing a closed breaker is not an
// error.
func (m *Meter) Reconnect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.profile != Electricity {
		return fmt.Errorf("%w: meter %s (%s)", ErrNoBreaker, m.id, m.profile)
	}
	now := m.now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.outages)
	if n == 0 || !m.outages[n-1].To.IsZero() {
		return nil
	}
	if now.Before(m.outages[n-1].From) {
		now = m.outages[n-1].From
	}
	m.outages[n-1].To = now
	m.log.Info("sim: breaker closed")
	return nil
}

// Connected reports whether the breaker is closed (always true for a
// profile without one).
func (m *Meter) Connected() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.outages)
	return n == 0 || !m.outages[n-1].To.IsZero()
}

// Outages returns the spans the breaker was open, oldest first.
func (m *Meter) Outages() []Outage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.outages)
}

// validOutages checks restored outages: ordered, not overlapping, only
// the last one open.
func validOutages(id meter.MeterID, os []Outage) error {
	if len(os) > MaxOutages {
		return fmt.Errorf("%w: meter %s: %d outages, at most %d", ErrOptions, id, len(os), MaxOutages)
	}
	for i, o := range os {
		switch {
		case o.To.IsZero() && i != len(os)-1:
			return fmt.Errorf("%w: meter %s: outage %d is open but not the last", ErrOptions, id, i)
		case !o.To.IsZero() && o.To.Before(o.From):
			return fmt.Errorf("%w: meter %s: outage %d ends before it starts", ErrOptions, id, i)
		case i > 0 && o.From.Before(os[i-1].To):
			return fmt.Errorf("%w: meter %s: outage %d starts before outage %d ends", ErrOptions, id, i, i-1)
		}
	}
	return nil
}

// cumAt returns the model's cumulative channels at t. Called with mu held.
func (m *Meter) cumAt(t time.Time) [maxCh]int64 {
	rel := t.Sub(epoch)
	c, _ := m.it.at(int64(rel/slotDur), rel%slotDur)
	return c
}

// subtractOutages removes from cum (the channels at t) what the model
// accumulated while the breaker was open before t. Called with mu held.
func (m *Meter) subtractOutages(cum *[maxCh]int64, t time.Time) {
	for _, o := range m.outages {
		if !o.From.Before(t) {
			break
		}
		end := o.To
		if end.IsZero() || end.After(t) {
			end = t
		}
		if m.inRange(o.From) != nil || m.inRange(end) != nil {
			continue
		}
		a, b := m.cumAt(o.From), m.cumAt(end)
		for i := range cum {
			cum[i] -= b[i] - a[i]
		}
	}
}

// openAt reports whether the breaker was open at t. Called with mu held.
func (m *Meter) openAt(t time.Time) bool {
	for _, o := range m.outages {
		if !t.Before(o.From) && (o.To.IsZero() || t.Before(o.To)) {
			return true
		}
	}
	return false
}
