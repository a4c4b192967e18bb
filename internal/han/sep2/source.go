package sep2

import (
	"context"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

// Source is what the handler serves: the household's meters and
// readings (the store) and its tariff, messages and demand-response
// events (the tariff model). NewSource builds one from the gateway's
// store and model; tests may implement it directly.
type Source interface {
	// Meters lists the meters and their quantities (store.Store.Meters).
	Meters() []store.MeterInfo
	// Query calls fn for the readings q selects, oldest first per
	// quantity (store.Store.Query).
	Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error
	// Latest returns the newest reading of one quantity (store.Store.Latest).
	Latest(id meter.MeterID, o meter.OBIS) (meter.Reading, bool)
	// Schedules lists the installed price schedules, by Effective.
	Schedules() []tariff.Schedule
	// PriceAt and NextChange are tariff.Model's: the price in effect at
	// t, and the next instant it changes.
	PriceAt(t time.Time) (tariff.Price, bool)
	NextChange(t time.Time) (time.Time, tariff.Price, bool)
	// Events lists the demand-response events, by Start.
	Events() []tariff.Event
	// Messages lists the display messages, by Start.
	Messages() []tariff.Message
	// OptOut records that device opted out of event id (tariff.Model.OptOut).
	OptOut(ctx context.Context, id, device string) error
	// Confirm records the confirmation of message id by device
	// (tariff.Model.Confirm).
	Confirm(ctx context.Context, id, device string, at time.Time) error
}

// NewSource returns the Source over the gateway's store and tariff
// model. tm may be nil (no pricing, messages or events then).
func NewSource(st *store.Store, tm *tariff.Model) Source { return &storeSource{st: st, tm: tm} }

type storeSource struct {
	st *store.Store
	tm *tariff.Model
}

func (s *storeSource) Meters() []store.MeterInfo { return s.st.Meters() }

func (s *storeSource) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	return s.st.Query(ctx, q, fn)
}

func (s *storeSource) Latest(id meter.MeterID, o meter.OBIS) (meter.Reading, bool) {
	return s.st.Latest(id, o)
}

func (s *storeSource) Schedules() []tariff.Schedule {
	if s.tm == nil {
		return nil
	}
	return s.tm.Schedules()
}

func (s *storeSource) PriceAt(t time.Time) (tariff.Price, bool) {
	if s.tm == nil {
		return tariff.Price{}, false
	}
	return s.tm.PriceAt(t)
}

func (s *storeSource) NextChange(t time.Time) (time.Time, tariff.Price, bool) {
	if s.tm == nil {
		return time.Time{}, tariff.Price{}, false
	}
	return s.tm.NextChange(t)
}

func (s *storeSource) Events() []tariff.Event {
	if s.tm == nil {
		return nil
	}
	return s.tm.AllEvents()
}

func (s *storeSource) Messages() []tariff.Message {
	if s.tm == nil {
		return nil
	}
	return s.tm.AllMessages()
}

func (s *storeSource) OptOut(ctx context.Context, id, device string) error {
	if s.tm == nil {
		return fmt.Errorf("sep2: opt out of %s: %w (no tariff model)", id, tariff.ErrNotFound)
	}
	return s.tm.OptOut(ctx, id, device)
}

func (s *storeSource) Confirm(ctx context.Context, id, device string, at time.Time) error {
	if s.tm == nil {
		return fmt.Errorf("sep2: confirm %s: %w (no tariff model)", id, tariff.ErrNotFound)
	}
	return s.tm.Confirm(ctx, id, device, at)
}
