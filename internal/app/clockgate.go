package app

import (
	"sync/atomic"

	"github.com/smgw/smgw/internal/meter"
)

// ClockGate applies the [clock] untrusted policy to readings on their way
// into the store: while Trusted reports false they are flagged
// meter.QualityClockUnsynced, or, with Hold, not stored at all (their
// timestamps cannot be relied on; drivers that read a meter's own profile
// fetch them again once the clock is trusted). A nil *ClockGate passes
// everything through.
type ClockGate struct {
	Trusted func() bool
	Hold    bool
	held    atomic.Uint64
}

// Held is the number of readings not stored because the clock was not
// trusted.
func (g *ClockGate) Held() uint64 {
	if g == nil {
		return 0
	}
	return g.held.Load()
}

// apply returns rs as they may be stored now: unchanged, flagged (in a
// copy: the caller's slice is not modified), or none.
func (g *ClockGate) apply(rs []meter.Reading) []meter.Reading {
	if g == nil || len(rs) == 0 || g.Trusted() {
		return rs
	}
	if g.Hold {
		g.held.Add(uint64(len(rs)))
		return nil
	}
	out := make([]meter.Reading, len(rs))
	copy(out, rs)
	for i := range out {
		out[i].Quality |= meter.QualityClockUnsynced
	}
	return out
}
