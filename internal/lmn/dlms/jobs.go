package dlms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// fcStep is how far ahead the client's invocation counter is reserved in
// the store, so that a restart never reuses one and most requests cost
// no write.
const fcStep = 256

func (m *Meter) fcName() string { return string(m.o.ID) }

func (m *Meter) loadFC() error {
	if m.fc.loaded {
		return nil
	}
	if m.o.Records != nil {
		b, err := m.o.Records.Record(RecordFrameCounter, m.fcName())
		if err == nil {
			var st fcState
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("dlms: meter %s: frame counter record: %w: %w", m.o.ID, bus.ErrPermanent, err)
			}
			m.fc = st
			// Everything below the reserved bound may have been used.
			m.fc.TX = st.Reserved
		}
	}
	if m.fc.HaveRX {
		m.fc.server = dlms.NewFrameCounter(m.fc.RX)
	}
	m.fc.loaded = true
	return nil
}

func (m *Meter) saveFC(ctx context.Context, reserve bool) error {
	if last, ok := m.fc.server.Last(); ok {
		m.fc.RX, m.fc.HaveRX = last, true
	}
	if reserve {
		m.fc.Reserved = m.fc.TX + fcStep
	}
	if m.o.Records == nil {
		return nil
	}
	b, _ := json.Marshal(m.fc)
	if err := m.o.Records.PutRecord(context.WithoutCancel(ctx), RecordFrameCounter, m.fcName(), b); err != nil {
		return fmt.Errorf("dlms: meter %s: frame counters not stored: %w", m.o.ID, err)
	}
	return nil
}

func (m *Meter) nextIC(ctx context.Context) (uint32, error) {
	if m.fc.TX == ^uint32(0) {
		return 0, fmt.Errorf("dlms: meter %s: %w: invocation counter exhausted: a new key is needed", m.o.ID, bus.ErrPermanent)
	}
	m.fc.TX++
	if m.fc.TX >= m.fc.Reserved {
		if err := m.saveFC(ctx, true); err != nil {
			return 0, err
		}
	}
	return m.fc.TX, nil
}

func attr(class uint16, o meter.OBIS, a int8) dlms.AttributeDescriptor {
	return dlms.AttributeDescriptor{Class: class, Instance: o, Attribute: a}
}

// scaler returns a register's scaler_unit (read once per meter).
func (m *Meter) scaler(ctx context.Context, c *Client, class uint16, o meter.OBIS) (dlms.ScalerUnit, error) {
	if class == 1 {
		return dlms.ScalerUnit{}, nil
	}
	if su, ok := m.sus[o]; ok {
		return su, nil
	}
	d, err := c.Get(ctx, attr(class, o, 3), nil)
	if err != nil {
		return dlms.ScalerUnit{}, err
	}
	su, err := dlms.ParseScalerUnit(d)
	if err != nil {
		return su, protoErr("scaler-unit", fmt.Errorf("dlms: %v scaler_unit %v: %w", o, d, err))
	}
	m.sus[o] = su
	return su, nil
}

// ReadRegisters reads the configured registers in one session and hands
// them to the sink (instantaneous values, OBIS D = 7, as live values).
// A register the meter refuses is skipped (and counted); the job fails
// only when none could be read.
func (m *Meter) ReadRegisters(ctx context.Context) ([]meter.Reading, error) {
	var out []meter.Reading
	var firstErr error
	err := m.Session(ctx, func(c *Client) error {
		rs, ok, err := m.readRegisterList(ctx, c)
		if err != nil {
			return err
		}
		if ok {
			out = rs
			return nil
		}
		for _, r := range m.o.Registers {
			rd, err := m.readRegister(ctx, c, r)
			if err != nil {
				var pe *bus.ProtocolError
				if !errors.As(err, &pe) {
					return err // the line: stop the session
				}
				m.l.runner.Note(string(m.o.ID), bus.Classify(err))
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			out = append(out, rd)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	var stored, live []meter.Reading
	for _, r := range out {
		if r.OBIS[3] == 7 {
			live = append(live, r)
		} else {
			stored = append(stored, r)
		}
	}
	if len(live) > 0 {
		m.o.Sink.Live(live...)
	}
	if len(stored) > 0 {
		if err := m.o.Sink.Append(ctx, stored...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listChunk bounds the attributes of one GET with-list.
const listChunk = 10

// readRegisterList reads the registers' values with GET with-list once
// every scaler is known (read one by one the first time). ok is false
// when the meter does not do it or refused the request (counted): the
// caller reads one by one then. A line error ends the session.
func (m *Meter) readRegisterList(ctx context.Context, c *Client) ([]meter.Reading, bool, error) {
	if m.noList || len(m.o.Registers) < 2 {
		return nil, false, nil
	}
	for _, r := range m.o.Registers {
		if _, ok := m.sus[r.OBIS]; !ok && r.Class != 1 {
			return nil, false, nil
		}
	}
	now := m.o.Now().UTC().Truncate(time.Millisecond)
	var out []meter.Reading
	for i := 0; i < len(m.o.Registers); i += listChunk {
		regs := m.o.Registers[i:min(i+listChunk, len(m.o.Registers))]
		attrs := make([]dlms.AttributeDescriptor, len(regs))
		for j, r := range regs {
			attrs[j] = attr(r.Class, r.OBIS, 2)
		}
		res, err := c.GetList(ctx, attrs)
		var pe *bus.ProtocolError
		switch {
		case errors.Is(err, ErrNoList):
			m.noList = true
			return nil, false, nil
		case errors.As(err, &pe):
			m.l.runner.Note(string(m.o.ID), bus.Classify(err))
			return nil, false, nil
		case err != nil:
			return nil, false, err
		}
		for j, r := range regs {
			if !res[j].IsData {
				m.l.runner.Note(string(m.o.ID), "protocol:access:"+res[j].Result.String())
				continue
			}
			su := m.sus[r.OBIS]
			v, err := su.Value(res[j].Data)
			if err != nil {
				m.l.runner.Note(string(m.o.ID), "protocol:value")
				continue
			}
			out = append(out, meter.Reading{Meter: m.o.ID, OBIS: r.OBIS, Time: now, Value: v, Unit: su.Unit, Source: meter.SourceDLMS})
		}
	}
	return out, len(out) > 0, nil
}

func (m *Meter) readRegister(ctx context.Context, c *Client, r Register) (meter.Reading, error) {
	su, err := m.scaler(ctx, c, r.Class, r.OBIS)
	if err != nil {
		return meter.Reading{}, err
	}
	d, err := c.Get(ctx, attr(r.Class, r.OBIS, 2), nil)
	if err != nil {
		return meter.Reading{}, err
	}
	v, err := su.Value(d)
	if err != nil {
		return meter.Reading{}, protoErr("value", fmt.Errorf("dlms: %v value %v: %w", r.OBIS, d, err))
	}
	return meter.Reading{Meter: m.o.ID, OBIS: r.OBIS, Time: m.o.Now().UTC().Truncate(time.Millisecond), Value: v, Unit: su.Unit, Source: meter.SourceDLMS}, nil
}

func (m *Meter) profileName() string { return string(m.o.ID) + "/" + m.o.Profile.String() }

// lastEntry returns the time of the last profile entry stored.
func (m *Meter) lastEntry() (time.Time, bool) {
	if m.o.Records == nil {
		return time.Time{}, false
	}
	b, err := m.o.Records.Record(RecordProfile, m.profileName())
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, string(b))
	return t, err == nil
}

// profileColumns reads the capture objects (attribute 3), the capture
// period (attribute 4) and the value columns' scalers, once.
func (m *Meter) profileColumns(ctx context.Context, c *Client) error {
	if m.cols != nil {
		return nil
	}
	d, err := c.Get(ctx, attr(7, m.o.Profile, 3), nil)
	if err != nil {
		return err
	}
	var cols []column
	for i, it := range d.Items() {
		co, err := dlms.ParseCaptureObject(it)
		if err != nil {
			return protoErr("capture-objects", fmt.Errorf("dlms: profile %v capture object %d: %w", m.o.Profile, i+1, err))
		}
		col := column{obj: co}
		switch {
		case co.Class == 8 && co.Attribute == 2:
			col.time = true
		case (co.Class == 3 || co.Class == 4) && co.Attribute == 2:
			su, err := m.scaler(ctx, c, co.Class, co.Instance)
			if err != nil {
				return err
			}
			col.su, col.keep = su, true
		case co.Class == 1 && co.Attribute == 2:
			col.keep = true
		}
		cols = append(cols, col)
	}
	pd, err := c.Get(ctx, attr(7, m.o.Profile, 4), nil)
	if err != nil {
		return err
	}
	sec, ok := pd.Uint()
	if !ok {
		return protoErr("capture-period", fmt.Errorf("dlms: profile %v capture_period %v", m.o.Profile, pd))
	}
	m.cols, m.per = cols, time.Duration(sec)*time.Second
	return nil
}

// ReadProfile reads the load profile from the entry after the last one
// stored up to now (range selective access), so an outage of the line or
// of the gateway leaves no gap, and returns the number of entries read.
func (m *Meter) ReadProfile(ctx context.Context) (int, error) {
	now := m.o.Now().UTC()
	from := now.Add(-m.o.MaxBackfill)
	if last, ok := m.lastEntry(); ok && last.After(from) {
		from = last.Add(time.Second)
	}
	var rows []dlms.Data
	err := m.Session(ctx, func(c *Client) error {
		if err := m.profileColumns(ctx, c); err != nil {
			return err
		}
		rd := dlms.RangeDescriptor{
			Restricting: dlms.CaptureObject{Class: 8, Instance: OBISClock, Attribute: 2},
			From:        dlms.DateTimeOf(from, false).Octets(),
			To:          dlms.DateTimeOf(now, false).Octets(),
		}
		d, err := c.Get(ctx, attr(7, m.o.Profile, 2), rd.Access())
		if err != nil {
			return err
		}
		rows = d.Items()
		return nil
	})
	if err != nil {
		return 0, err
	}
	rs, last, n, err := m.profileReadings(rows, from)
	if err != nil {
		return 0, err
	}
	if len(rs) > 0 {
		if err := m.o.Sink.Append(ctx, rs...); err != nil {
			return 0, err
		}
	}
	if !last.IsZero() && m.o.Records != nil {
		if err := m.o.Records.PutRecord(context.WithoutCancel(ctx), RecordProfile, m.profileName(), []byte(last.Format(time.RFC3339))); err != nil {
			return 0, fmt.Errorf("dlms: meter %s: profile position not stored: %w", m.o.ID, err)
		}
	}
	return n, nil
}

// ProfileRows turns the rows of a profile into readings (columns as read
// by ReadProfile); a null time is the previous row's plus the capture
// period (IEC 62056-6-2 profile compression). Entries not after `after`
// are dropped. It returns the time of the last entry.
func (m *Meter) profileReadings(rows []dlms.Data, after time.Time) (out []meter.Reading, last time.Time, n int, err error) {
	var prev time.Time
	for i, row := range rows {
		items := row.Items()
		if len(items) != len(m.cols) {
			nc := len(m.cols)
			m.cols = nil // read them again next time
			return nil, time.Time{}, 0, protoErr("profile-row", fmt.Errorf("dlms: profile %v row %d has %d columns, capture_objects %d", m.o.Profile, i+1, len(items), nc))
		}
		var t time.Time
		for j, col := range m.cols {
			if !col.time {
				continue
			}
			it := items[j]
			if it.IsNull() {
				if prev.IsZero() || m.per <= 0 {
					return nil, time.Time{}, 0, protoErr("profile-row", fmt.Errorf("dlms: profile %v row %d: no time and no previous row", m.o.Profile, i+1))
				}
				t = prev.Add(m.per)
			} else {
				dt, ok := it.DateTime()
				if !ok {
					return nil, time.Time{}, 0, protoErr("profile-row", fmt.Errorf("dlms: profile %v row %d: time %v", m.o.Profile, i+1, it))
				}
				tt, err := dt.Time()
				if err != nil {
					return nil, time.Time{}, 0, protoErr("profile-row", fmt.Errorf("dlms: profile %v row %d: %w", m.o.Profile, i+1, err))
				}
				t = tt.UTC()
			}
		}
		if t.IsZero() {
			return nil, time.Time{}, 0, protoErr("profile-row", fmt.Errorf("dlms: profile %v has no clock column", m.o.Profile))
		}
		prev = t
		if t.Before(after) {
			continue
		}
		last = t
		n++
		for j, col := range m.cols {
			if !col.keep || items[j].IsNull() {
				continue
			}
			v, err := col.su.Value(items[j])
			if err != nil {
				return nil, time.Time{}, 0, protoErr("value", fmt.Errorf("dlms: profile %v row %d column %d (%v): %w", m.o.Profile, i+1, j+1, col.obj.Instance, err))
			}
			out = append(out, meter.Reading{Meter: m.o.ID, OBIS: col.obj.Instance, Time: t, Value: v, Unit: col.su.Unit, Source: meter.SourceDLMS})
		}
	}
	return out, last, n, nil
}

// CheckClock reads the meter's clock and corrects a drift beyond the
// limit (ClockMode), logging the correction. It returns the drift found
// (meter time − gateway time).
func (m *Meter) CheckClock(ctx context.Context) (time.Duration, error) {
	var drift time.Duration
	var action string
	err := m.Session(ctx, func(c *Client) error {
		d, err := c.Get(ctx, attr(8, OBISClock, 2), nil)
		if err != nil {
			return err
		}
		dt, ok := d.DateTime()
		if !ok {
			return protoErr("clock", fmt.Errorf("dlms: clock time %v", d))
		}
		mt, err := dt.Time()
		if err != nil {
			return protoErr("clock", fmt.Errorf("dlms: clock time %v: %w", dt, err))
		}
		now := m.o.Now()
		drift = mt.Sub(now).Truncate(time.Second)
		if drift.Abs() <= m.o.ClockLimit || m.o.ClockMode == ClockOff {
			return nil
		}
		if m.o.ClockMode == ClockShift && drift.Abs() <= 900*time.Second {
			secs := int16(-drift / time.Second)
			if _, err := c.Action(ctx, dlms.MethodDescriptor{Class: 8, Instance: OBISClock, Method: 6}, ptr(dlms.Int16(secs))); err != nil {
				return err
			}
			action = "shift_time " + strconv.Itoa(int(secs)) + " s"
			return nil
		}
		if err := c.Set(ctx, attr(8, OBISClock, 2), dlms.DateTimeOf(m.o.Now().UTC(), false).Octets()); err != nil {
			return err
		}
		action = "set"
		return nil
	})
	m.LastDrift = drift
	if err != nil {
		return drift, err
	}
	if action != "" {
		m.log.Info("dlms: meter clock corrected", "drift", drift, "by", action)
		if m.o.Events != nil {
			m.o.Events(ctx, "meter-clock-corrected", fmt.Sprintf("meter %s clock was %v off; corrected (%s)", m.o.ID, drift, action),
				map[string]string{"meter": string(m.o.ID), "drift": drift.String(), "method": action})
		}
	}
	return drift, nil
}

// Disconnect opens the meter's breaker (class 70 remote_disconnect) as a
// command: before the line's next poll.
func (m *Meter) Disconnect(ctx context.Context) error { return m.control(ctx, 1, "disconnect") }

// Reconnect closes it again (class 70 remote_reconnect).
func (m *Meter) Reconnect(ctx context.Context) error { return m.control(ctx, 2, "reconnect") }

func (m *Meter) control(ctx context.Context, method int8, what string) error {
	err := m.l.runner.Do(ctx, string(m.o.ID), func(ctx context.Context) error {
		return m.Session(ctx, func(c *Client) error {
			_, err := c.Action(ctx, dlms.MethodDescriptor{Class: 70, Instance: OBISDisconnect, Method: method}, ptr(dlms.Int8(0)))
			return err
		})
	})
	if err == nil && m.o.Events != nil {
		m.o.Events(ctx, "meter-"+what, fmt.Sprintf("meter %s: remote %s", m.o.ID, what), map[string]string{"meter": string(m.o.ID)})
	}
	return err
}

// Connected reads the disconnector's output_state (attribute 2).
func (m *Meter) Connected(ctx context.Context) (bool, error) {
	var on bool
	err := m.l.runner.Do(ctx, string(m.o.ID), func(ctx context.Context) error {
		return m.Session(ctx, func(c *Client) error {
			d, err := c.Get(ctx, attr(70, OBISDisconnect, 2), nil)
			if err != nil {
				return err
			}
			var ok bool
			if on, ok = d.Bool(); !ok {
				return protoErr("value", fmt.Errorf("dlms: output_state %v", d))
			}
			return nil
		})
	})
	return on, err
}
