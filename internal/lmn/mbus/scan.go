package mbus

import (
	"context"
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/lmn/bus"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// Found is a meter a scan found.
type Found struct {
	// Primary is the primary address it answered at (ScanPrimary), or
	// -1 (ScanSecondary).
	Primary int `json:"primary"`
	// Secondary is its secondary address from the RSP_UD's long header;
	// for a collision the selection that still collided.
	Secondary pmbus.SecondaryAddress `json:"-"`
	// Header is the first RSP_UD's header; zero if the meter answered
	// SND_NKE but its data could not be read.
	Header pmbus.Header `json:"-"`
	// Collision is set when several meters answered and could not be
	// told apart (the same primary address; or, in a secondary scan,
	// the same identification number with every digit fixed).
	Collision bool `json:"collision,omitempty"`
	// Err is why its data could not be read, if so.
	Err error `json:"-"`
}

// ScanPrimary looks for meters at the primary addresses first…last
// (0…250): SND_NKE to each, and for those that answer E5 a REQ_UD2 for
// the header (identification, manufacturer, medium). A garbled answer to
// SND_NKE is two meters at one address (Collision). progress, when not
// nil, is called before each address.
func ScanPrimary(ctx context.Context, m *Master, first, last int, progress func(addr int)) ([]Found, error) {
	if first < 0 || last > int(pmbus.AddrMaxPrimary) || first > last {
		return nil, fmt.Errorf("mbus: scan %d…%d: primary addresses are 0…250", first, last)
	}
	var out []Found
	for a := first; a <= last; a++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if progress != nil {
			progress(a)
		}
		addr := byte(a)
		err := m.SndNKE(ctx, addr)
		switch {
		case err == nil:
		case errors.Is(err, bus.ErrTimeout):
			continue
		case errors.Is(err, bus.ErrFrame):
			out = append(out, Found{Primary: a, Collision: true, Err: err})
			continue
		default:
			return out, err
		}
		fcb := true
		rd, err := m.ReadAll(ctx, addr, &fcb, 0xFF)
		f := Found{Primary: a, Header: rd.Header, Secondary: rd.Header.Address, Err: err}
		// The same E5 from two meters overlaps cleanly; their RSP_UDs do not.
		f.Collision = err != nil && errors.Is(err, bus.ErrFrame)
		out = append(out, f)
	}
	return out, nil
}

// probeResult is what a selection found.
type probeResult int

const (
	probeNothing probeResult = iota
	probeSingle
	probeCollision
)

// probe selects sel and reads at 253: nothing answered the selection, one
// meter answered a good RSP_UD, or several collided.
func probe(ctx context.Context, m *Master, sel pmbus.SecondaryAddress) (probeResult, Read, error) {
	err := m.Select(ctx, sel)
	switch {
	case err == nil:
	case errors.Is(err, bus.ErrTimeout):
		return probeNothing, Read{}, nil
	case errors.Is(err, bus.ErrFrame):
		// Several E5 that did not overlap cleanly: read anyway, the
		// REQ_UD2 tells.
	default:
		return probeNothing, Read{}, err
	}
	fcb := true
	rd, err := m.ReadAll(ctx, pmbus.AddrNetwork, &fcb, 0xFF)
	switch {
	case err == nil && rd.Header.Long:
		return probeSingle, rd, nil
	case err == nil:
		// A good answer without a long header: one meter, but its
		// secondary address is unknown; treat as found with sel.
		rd.Header.Address = sel
		return probeSingle, rd, nil
	case errors.Is(err, bus.ErrFrame), errors.Is(err, bus.ErrTimeout):
		return probeCollision, rd, nil
	default:
		var pe *bus.ProtocolError
		if errors.As(err, &pe) {
			return probeCollision, rd, nil
		}
		return probeNothing, rd, err
	}
}

// ScanSecondary finds the meters whose secondary address matches start
// (pmbus.Wildcard for all) by the wildcard search of EN 13757-3: a
// selection that several meters answer is narrowed one identification
// digit at a time (most significant first, 0…9) until each answers
// alone. A collision with every digit fixed is reported as such.
// progress, when not nil, is called with each selection tried.
func ScanSecondary(ctx context.Context, m *Master, start pmbus.SecondaryAddress, progress func(sel pmbus.SecondaryAddress)) ([]Found, error) {
	var out []Found
	var walk func(sel pmbus.SecondaryAddress, pos int) error
	walk = func(sel pmbus.SecondaryAddress, pos int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if progress != nil {
			progress(sel)
		}
		res, rd, err := probe(ctx, m, sel)
		if err != nil {
			return err
		}
		switch res {
		case probeNothing:
			return nil
		case probeSingle:
			out = append(out, Found{Primary: -1, Secondary: rd.Header.Address, Header: rd.Header})
			return nil
		}
		// Collision: fix the next wildcard digit.
		for ; pos < 8; pos++ {
			if sh := uint(4 * (7 - pos)); sel.ID>>sh&0xF == 0xF {
				break
			}
		}
		if pos == 8 {
			out = append(out, Found{Primary: -1, Secondary: sel, Collision: true})
			return nil
		}
		sh := uint(4 * (7 - pos))
		for d := uint32(0); d <= 9; d++ {
			next := sel
			next.ID = sel.ID&^(0xF<<sh) | d<<sh
			if err := walk(next, pos+1); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(start, 0)
	// Leave no meter selected.
	if serr := m.SndNKE(ctx, pmbus.AddrNetwork); serr != nil && err == nil && !errors.Is(serr, bus.ErrTimeout) && !errors.Is(serr, bus.ErrFrame) {
		err = serr
	}
	return out, err
}
