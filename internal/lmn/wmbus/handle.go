package wmbus

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
	pwmbus "github.com/smgw/smgw/internal/proto/wmbus"
)

// keyRetry is how often a missing or failing key is fetched again.
const keyRetry = time.Minute

// accessWindowFactor: an access number that went back is a replay only
// while fewer than this many telegrams can have been sent since the last
// accepted one (the 8-bit counter cannot have wrapped).
const accessWindowFactor = 100

// Handle processes one frame: it identifies the meter, drops repeats and
// replays, decodes, and returns the register readings to store (valid
// until the next call; the instantaneous ones went to Sink.Live). It is
// what the receiver's callback calls; it must not be called concurrently.
func (s *Service) Handle(f halwmbus.Frame) []meter.Reading {
	now := s.o.Now()
	s.progress.Store(now.UnixNano())
	if f.Time.IsZero() {
		f.Time = now
	}
	format := 0
	if f.CRC == halwmbus.CRCStripped {
		format = 1
	}
	dec := s.decs[0][format]
	h := &s.tg.Header
	if err := dec.Header(f.Data, h); err != nil {
		s.mu.Lock()
		s.stats.Frames++
		s.stats.Unreadable++
		s.mu.Unlock()
		s.badTelegram(f, "", reason(err), err)
		return nil
	}
	ms := s.meters[addrKey(h.Meter)]
	if ms == nil && h.Meter != h.Link {
		// Behind a radio converter or with a long transport header: the
		// link address, or (as some tools print it) the link's
		// manufacturer with the meter's identification number.
		if ms = s.meters[addrKey(h.Link)]; ms == nil {
			ms = s.meters[uint64(h.Link.Manufacturer&0x7FFF)<<32|uint64(h.Meter.ID)]
		}
	}
	s.mu.Lock()
	s.stats.Frames++
	if ms == nil {
		s.stats.Unknown++
		s.seenNearby(h, f)
		s.mu.Unlock()
		return nil
	}
	mh := &ms.h
	mh.Telegrams++
	mh.LastSeen = f.Time
	if f.HasRSSI {
		mh.RSSI, mh.HasRSSI = f.RSSI, true
	}
	s.mu.Unlock()

	// Repeats: the same access number and payload within the window.
	fp := fingerprint(s.seed, f.Data)
	acc := h.AccessNumber
	for i := range ms.recent {
		e := &ms.recent[i]
		if e.fp == fp && e.acc == acc && !e.at.IsZero() && f.Time.Sub(e.at) < s.o.DupWindow && f.Time.Sub(e.at) >= -s.o.DupWindow {
			s.mu.Lock()
			mh.Duplicates++
			s.stats.Dropped++
			s.mu.Unlock()
			return nil
		}
	}

	// Replays, from the header (before spending a decryption on them).
	if why := s.replayHeader(ms, h, f.Time); why != "" {
		s.reject(ms, f, "replay", errors.New(why), true)
		return nil
	}

	dec = s.decs[ms.shard][format]
	key, err := s.meterKey(ms, now)
	if err != nil {
		s.reject(ms, f, "key", err, false)
		return nil
	}
	if err := dec.Decode(f.Data, key, &s.tg); err != nil {
		if errors.Is(err, pwmbus.ErrNoKey) || errors.Is(err, pwmbus.ErrDecrypt) || errors.Is(err, pwmbus.ErrMAC) {
			ms.keyStale = true // fetch the key again (at most every keyRetry)
		}
		s.reject(ms, f, reason(err), err, false)
		return nil
	}
	tg := &s.tg

	// Replays, from the meter's clock (CVE-2021-34572).
	if skew := s.skewLimit(ms); skew > 0 && !tg.MeterTime.IsZero() {
		if d := clockDiff(tg.MeterTime, f.Time, s.o.Location); d > skew {
			s.reject(ms, f, "replay", fmt.Errorf("the meter's clock %s is %s from the gateway's (more than %s): an old telegram replayed, or the meter's clock is wrong",
				tg.MeterTime.Format("2006-01-02 15:04:05"), d.Round(time.Second), skew), true)
			return nil
		}
	}

	// Accepted: commit the replay state.
	s.commit(ms, tg, f.Time, fp)

	// Readings.
	q := meter.Quality(0)
	if st := tg.Status; tg.TPL != pwmbus.TPLNone && (st&0x03 >= 2 || st&0x18 != 0) {
		q |= meter.QualityMeterError
	}
	s.regs, s.live = s.regs[:0], s.live[:0]
	for i := range tg.Records {
		r := &tg.Records[i]
		if r.Kind != mbus.KindNumber || r.Storage != 0 || r.OBIS == (meter.OBIS{}) {
			continue
		}
		o := r.OBIS
		if ms.medium != 0 && o[0] != 0 {
			o[0] = ms.medium
		}
		rq := q
		if r.Function == mbus.ValueDuringError || r.Modifiers&mbus.ModErrorCode != 0 {
			rq |= meter.QualityMeterError
		}
		rd := meter.Reading{Meter: ms.cfg.ID, OBIS: o, Time: f.Time, Value: r.Value, Unit: r.Unit,
			Quality: rq, Source: meter.SourceWMBus}
		if dupOBIS(s.regs, o) || dupOBIS(s.live, o) {
			continue
		}
		if o.Instantaneous() {
			s.live = append(s.live, rd)
		} else {
			s.regs = append(s.regs, rd)
		}
	}
	if len(s.live) > 0 {
		s.o.Sink.Live(s.live...)
	}
	s.mu.Lock()
	mh.Stored++
	mh.Readings += uint64(len(s.regs) + len(s.live))
	s.stats.Stored++
	s.stats.Readings += uint64(len(s.regs) + len(s.live))
	s.mu.Unlock()
	return s.regs
}

func dupOBIS(rs []meter.Reading, o meter.OBIS) bool {
	for i := range rs {
		if rs[i].OBIS == o {
			return true
		}
	}
	return false
}

// fingerprint hashes a frame's bytes after its link-layer header (L, C,
// manufacturer, address): what a repeater or a re-send leaves unchanged.
func fingerprint(seed maphash.Seed, data []byte) uint64 {
	if len(data) > 10 {
		data = data[10:]
	}
	return maphash.Bytes(seed, data)
}

// meterKey returns the meter's key: configured, or from the key source.
// A key from the source is fetched once, and again (at most every
// keyRetry) while there is none or after it failed to decrypt: a key
// imported or replaced while the gateway runs is used within a minute.
func (s *Service) meterKey(ms *meterState, now time.Time) ([]byte, error) {
	if ms.cfg.Key != nil || s.o.Keys == nil {
		return ms.cfg.Key, nil
	}
	if ms.key != nil && !ms.keyStale {
		return ms.key, nil
	}
	if !ms.keyAt.IsZero() && now.Sub(ms.keyAt) < keyRetry {
		return ms.key, ms.keyErr
	}
	ms.keyAt, ms.keyStale = now, false
	k, err := s.o.Keys.MeterKey(ms.cfg.ID)
	switch {
	case errors.Is(err, ErrNoKey), err == nil && k == nil:
		ms.key, ms.keyErr = nil, nil
	case err != nil:
		ms.keyErr = fmt.Errorf("wmbus: meter %s: reading its key: %w", ms.cfg.ID, err)
	case len(k) != 16:
		ms.keyErr = fmt.Errorf("wmbus: meter %s: its key has %d bytes, want 16", ms.cfg.ID, len(k))
	default:
		ms.key, ms.keyErr = k, nil
	}
	return ms.key, ms.keyErr
}

// replayHeader returns why the header shows a replay, or "".
func (s *Service) replayHeader(ms *meterState, h *pwmbus.Header, at time.Time) string {
	if h.AFL.Present && h.AFL.HasCounter && ms.haveMC {
		mc := h.AFL.MessageCounter
		wrapped := ms.lastMC > 0xFFFF0000 && mc < 0x10000
		if mc <= ms.lastMC && !wrapped {
			return fmt.Sprintf("AFL message counter %d is not after the last accepted %d", mc, ms.lastMC)
		}
	}
	if !ms.accepted || ms.interval <= 0 {
		return ""
	}
	back := ms.lastACC - h.AccessNumber // how far it went back, mod 256
	if back == 0 || back >= 128 {
		return "" // the same (some meters never count) or forward
	}
	elapsed := at.Sub(ms.lastAt)
	if elapsed < 0 {
		return "" // the gateway's clock went back (or is not set yet): no basis to judge
	}
	if elapsed < accessWindowFactor*ms.interval {
		return fmt.Sprintf("access number %d is %d behind the last accepted %d, %s ago (the meter sends every %s, so it cannot have wrapped)",
			h.AccessNumber, back, ms.lastACC, elapsed.Round(time.Second), ms.interval.Round(time.Second))
	}
	return ""
}

func (s *Service) skewLimit(ms *meterState) time.Duration {
	if ms.cfg.MaxClockSkew != 0 {
		return ms.cfg.MaxClockSkew
	}
	return s.o.MaxClockSkew
}

// clockDiff is how far the meter's wall clock (carried as UTC) is from the
// gateway's time, read as UTC or as wall clock in loc, whichever is
// nearer.
func clockDiff(meterWall, now time.Time, loc *time.Location) time.Duration {
	abs := func(d time.Duration) time.Duration {
		if d < 0 {
			return -d
		}
		return d
	}
	u := abs(meterWall.Sub(now.UTC()))
	y, mo, d := now.In(loc).Date()
	hh, mm, ss := now.In(loc).Clock()
	wall := time.Date(y, mo, d, hh, mm, ss, now.Nanosecond(), time.UTC)
	return min(u, abs(meterWall.Sub(wall)))
}

// commit records an accepted telegram's counters.
func (s *Service) commit(ms *meterState, tg *pwmbus.Telegram, at time.Time, fp uint64) {
	acc := tg.AccessNumber
	ms.recent[ms.recentNext] = dupEntry{acc: acc, fp: fp, at: at}
	ms.recentNext = (ms.recentNext + 1) % len(ms.recent)
	var flag string
	if tg.Mode == pwmbus.Mode5 {
		if ms.accFP == nil {
			ms.accFP = new([256]uint16)
		}
		fp16 := uint16(fp) | 1 // never 0, which is "unset"
		if old := ms.accFP[acc]; old != 0 {
			// The access number came round again (or never changes):
			// the same IV for this telegram as for an earlier one. A
			// repeat within the window was dropped before.
			s.mu.Lock()
			if old == fp16 {
				ms.h.SameCiphertext++
			} else {
				ms.h.IVReuse++
			}
			s.mu.Unlock()
			flag = "CVE-2021-34576: mode 5 with an 8-bit access number that came round again (AES-CBC IV reused); prefer mode 7 for this meter"
		}
		ms.accFP[acc] = fp16
	}
	if ms.accepted {
		if d := at.Sub(ms.lastAt); d > 0 {
			if ms.interval == 0 {
				ms.interval = d
			} else {
				ms.interval = (ms.interval*7 + d) / 8
			}
		}
	}
	ms.accepted, ms.lastACC, ms.lastAt = true, acc, at
	s.stateDirty = true
	if tg.AFL.Present && tg.AFL.HasCounter {
		ms.haveMC, ms.lastMC = true, tg.AFL.MessageCounter
	}
	s.mu.Lock()
	ms.h.AccessNumber = int(acc)
	ms.h.Counter = ms.lastMC
	ms.h.MeterTime = tg.MeterTime
	if sk := (secKey{tg.Security.Mode, tg.Security.ELL, tg.Security.Plaintext}); sk != ms.secKey || ms.h.Security == "" {
		ms.secKey, ms.h.Security = sk, securityName(tg)
	}
	if ms.cfg.Medium == "" {
		ms.h.Medium = tg.Meter.Device.String()
	}
	if flag != "" && !contains(ms.h.Flags, flag) {
		ms.h.Flags = append(ms.h.Flags, flag)
	}
	s.mu.Unlock()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secKey is what securityName depends on.
type secKey struct {
	mode      pwmbus.SecurityMode
	ell       bool
	plaintext bool
}

func securityName(tg *pwmbus.Telegram) string {
	var n string
	switch tg.Security.Mode {
	case pwmbus.ModeNone:
		n = "none"
	default:
		n = fmt.Sprintf("mode %d", tg.Security.Mode)
	}
	if tg.Security.ELL {
		n += ", ELL"
	}
	if tg.Security.Plaintext {
		n += " (decrypted by the receiver)"
	}
	return n
}

// reject counts a telegram of a configured meter that is not stored.
func (s *Service) reject(ms *meterState, f halwmbus.Frame, why string, err error, replay bool) {
	s.mu.Lock()
	if replay {
		ms.h.Replays++
	}
	ms.h.Errors[why]++
	ms.h.LastError = err.Error()
	s.stats.Dropped++
	s.mu.Unlock()
	s.badTelegram(f, string(ms.cfg.ID), why, err)
}

// reason classifies a decode error.
func reason(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{pwmbus.ErrCRC, "crc"}, {pwmbus.ErrTruncated, "truncated"}, {pwmbus.ErrLength, "length"},
		{pwmbus.ErrDecrypt, "decrypt"}, {pwmbus.ErrMAC, "mac"}, {pwmbus.ErrNoKey, "no-key"},
		{pwmbus.ErrKey, "key"}, {pwmbus.ErrUnknownCI, "unknown-ci"}, {pwmbus.ErrUnknownVIF, "unknown-vif"},
		{pwmbus.ErrUnsupported, "unsupported"}, {pwmbus.ErrFormat, "format"},
		{mbus.ErrTruncated, "truncated"}, {mbus.ErrDIF, "dif"}, {mbus.ErrData, "data"}, {mbus.ErrFrame, "frame"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// badTelegram keeps a bad telegram for diagnosis and logs it (at most one
// warning a second; the rest at debug level).
func (s *Service) badTelegram(f halwmbus.Frame, who, why string, err error) {
	n := min(len(f.Data), 300)
	bt := BadTelegram{Time: f.Time, Meter: who, Reason: why, Err: err.Error(), Hex: hex.EncodeToString(f.Data[:n])}
	s.mu.Lock()
	if len(s.bad) < s.o.MaxBad {
		s.bad = append(s.bad, bt)
	} else {
		s.bad[s.badNext] = bt
		s.badNext = (s.badNext + 1) % len(s.bad)
	}
	loud := f.Time.Sub(s.lastLog) >= time.Second
	muted := s.muted
	if loud {
		s.lastLog, s.muted = f.Time, 0
	} else {
		s.muted++
	}
	s.mu.Unlock()
	if loud {
		s.o.Log.Warn("wmbus: telegram dropped", "meter", who, "reason", why, "err", err, "hex", bt.Hex, "similar_unlogged", muted)
	} else {
		s.o.Log.Debug("wmbus: telegram dropped", "meter", who, "reason", why, "err", err, "hex", bt.Hex)
	}
}

// seenNearby records an unknown meter. Called with s.mu held.
func (s *Service) seenNearby(h *pwmbus.Header, f halwmbus.Frame) {
	k := addrKey(h.Meter)
	n := s.nearby[k]
	if n == nil {
		if len(s.nearby) >= s.o.MaxNearby {
			var oldK uint64
			var old *Nearby
			for k2, n2 := range s.nearby {
				if old == nil || n2.LastSeen.Before(old.LastSeen) {
					oldK, old = k2, n2
				}
			}
			delete(s.nearby, oldK)
		}
		n = &Nearby{Manufacturer: h.Meter.Manufacturer.String(), ID: h.Meter.IDString(), Version: h.Meter.Version,
			DeviceType: uint8(h.Meter.Device), Medium: h.Meter.Device.String(), FirstSeen: f.Time}
		s.nearby[k] = n
	}
	n.Count++
	n.LastSeen = f.Time
	n.Encrypted = h.Encrypted()
	if f.HasRSSI {
		n.RSSI, n.HasRSSI = f.RSSI, true
	}
}
