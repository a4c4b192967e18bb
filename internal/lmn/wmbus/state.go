package wmbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// StateStore keeps the replay state (each meter's last accepted access
// number, message counter and time) across restarts, so that a telegram
// recorded before a restart cannot be replayed after it. *store.Store
// implements it with its sealed records.
type StateStore interface {
	Record(kind, name string) ([]byte, error)
	PutRecord(ctx context.Context, kind, name string, value []byte) error
}

// The record the replay state is kept in.
const (
	stateKind = "wmbus"
	stateName = "replay-state"
)

// stateVersion is the first byte of the encoded state.
const stateVersion = 1

// encodeState encodes the replay state of every meter that has one:
// version, then per meter: id length, id, flags (1 accepted, 2 has
// counter), access number, counter (4), last accepted time (8, Unix
// nanoseconds), interval (8, nanoseconds), all big-endian.
func (s *Service) encodeState() []byte {
	b := []byte{stateVersion}
	for _, ms := range s.list {
		if !ms.accepted && !ms.haveMC {
			continue
		}
		var flags byte
		if ms.accepted {
			flags |= 1
		}
		if ms.haveMC {
			flags |= 2
		}
		b = append(b, byte(len(ms.cfg.ID)))
		b = append(b, ms.cfg.ID...)
		b = append(b, flags, ms.lastACC)
		b = binary.BigEndian.AppendUint32(b, ms.lastMC)
		b = binary.BigEndian.AppendUint64(b, uint64(ms.lastAt.UnixNano()))
		b = binary.BigEndian.AppendUint64(b, uint64(ms.interval))
	}
	return b
}

// errState is returned (wrapped) for a state record that cannot be read.
var errState = errors.New("wmbus: malformed replay state")

// decodeState applies an encoded state to the configured meters; meters
// no longer configured are skipped. It returns how many were restored.
func (s *Service) decodeState(b []byte) (int, error) {
	if len(b) == 0 || b[0] != stateVersion {
		return 0, fmt.Errorf("%w: unknown version", errState)
	}
	byID := make(map[meter.MeterID]*meterState, len(s.list))
	for _, ms := range s.list {
		byID[ms.cfg.ID] = ms
	}
	n := 0
	for i := 1; i < len(b); {
		l := int(b[i])
		if i+1+l+22 > len(b) {
			return n, fmt.Errorf("%w: truncated at byte %d", errState, i)
		}
		id := meter.MeterID(b[i+1 : i+1+l])
		p := b[i+1+l:]
		i += 1 + l + 22
		ms := byID[id]
		if ms == nil {
			continue
		}
		ms.accepted = p[0]&1 != 0
		ms.haveMC = p[0]&2 != 0
		ms.lastACC = p[1]
		ms.lastMC = binary.BigEndian.Uint32(p[2:])
		ms.lastAt = time.Unix(0, int64(binary.BigEndian.Uint64(p[6:])))
		ms.interval = time.Duration(binary.BigEndian.Uint64(p[14:]))
		n++
	}
	return n, nil
}

// loadState restores the replay state saved by an earlier run.
func (s *Service) loadState() {
	if s.o.State == nil {
		return
	}
	b, err := s.o.State.Record(stateKind, stateName)
	if err != nil {
		// Nothing saved yet is the common case; anything else is worth a line.
		s.o.Log.Debug("wmbus: no replay state restored", "err", err)
		return
	}
	n, err := s.decodeState(b)
	if err != nil {
		s.o.Log.Warn("wmbus: replay state partly unreadable", "err", err, "restored", n)
	}
	s.mu.Lock()
	for _, ms := range s.list {
		if ms.accepted {
			ms.h.AccessNumber = int(ms.lastACC)
		}
		ms.h.Counter = ms.lastMC
	}
	s.mu.Unlock()
	s.o.Log.Info("wmbus: replay state restored", "meters", n)
}

// saveState stores the replay state if it changed since the last save.
func (s *Service) saveState(ctx context.Context, b []byte) {
	if s.o.State == nil || b == nil {
		return
	}
	if err := s.o.State.PutRecord(ctx, stateKind, stateName, b); err != nil {
		s.o.Log.Warn("wmbus: saving the replay state failed", "err", err)
	}
}
