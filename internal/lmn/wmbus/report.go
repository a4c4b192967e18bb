package wmbus

import (
	"cmp"
	"maps"
	"slices"
)

// Health returns every configured meter's health, in configuration order.
func (s *Service) Health() []Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Health, len(s.list))
	for i, ms := range s.list {
		h := ms.h
		h.Errors = maps.Clone(h.Errors)
		h.Flags = slices.Clone(h.Flags)
		out[i] = h
	}
	return out
}

// Nearby returns the unknown meters heard, the most recently heard first.
func (s *Service) Nearby() []Nearby {
	s.mu.Lock()
	out := make([]Nearby, 0, len(s.nearby))
	for _, n := range s.nearby {
		out = append(out, *n)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Nearby) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.Manufacturer+a.ID, b.Manufacturer+b.ID)
	})
	return out
}

// BadTelegrams returns the bad telegrams kept, oldest first.
func (s *Service) BadTelegrams() []BadTelegram {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BadTelegram, 0, len(s.bad))
	out = append(out, s.bad[s.badNext:]...)
	return append(out, s.bad[:s.badNext]...)
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
