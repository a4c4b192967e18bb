package store

import (
	"sync"
	"sync/atomic"

	"github.com/smgw/smgw/internal/meter"
)

// Subscription delivers readings as they become durable (after their
// commit), for live displays. A subscriber that does not keep up loses
// readings (counted by Dropped) rather than slowing the store.
type Subscription struct {
	s       *Store
	c       chan meter.Reading
	dropped atomic.Uint64
	once    sync.Once
}

// Subscribe returns a subscription with a buffer of buf readings (at least 1).
func (s *Store) Subscribe(buf int) *Subscription {
	sub := &Subscription{s: s, c: make(chan meter.Reading, max(buf, 1))}
	s.subsMu.Lock()
	if s.closing.Load() {
		sub.close()
	} else {
		s.subs[sub] = struct{}{}
	}
	s.subsMu.Unlock()
	return sub
}

// C delivers the readings; it is closed by Close or when the store closes.
func (sub *Subscription) C() <-chan meter.Reading { return sub.c }

// Dropped counts readings not delivered because C was full.
func (sub *Subscription) Dropped() uint64 { return sub.dropped.Load() }

// Close ends the subscription. It is idempotent.
func (sub *Subscription) Close() {
	sub.s.subsMu.Lock()
	delete(sub.s.subs, sub)
	sub.close()
	sub.s.subsMu.Unlock()
}

func (sub *Subscription) close() { sub.once.Do(func() { close(sub.c) }) }

func (s *Store) publish(adds []added) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for sub := range s.subs {
		for _, a := range adds {
			select {
			case sub.c <- a.p.reading(a.k.meter, a.k.obis):
			default:
				sub.dropped.Add(1)
			}
		}
	}
}
