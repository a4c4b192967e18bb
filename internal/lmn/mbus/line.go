package mbus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// Sink takes the readings (the gateway's ingest pipeline; the same
// interface as the DLMS and Modbus drivers').
type Sink interface {
	// Append stores register readings durably.
	Append(ctx context.Context, rs ...meter.Reading) error
	// Live takes instantaneous values (OBIS D = 7); it never blocks.
	Live(rs ...meter.Reading)
}

// JobRegisters is the name of a meter's one job.
const JobRegisters = "registers"

// MeterOptions describe one meter on a line.
type MeterOptions struct {
	ID meter.MeterID
	// Primary is the meter's primary address, 0…250, used when
	// Secondary is nil.
	Primary byte
	// Secondary, when not nil, addresses the meter by secondary address:
	// it is selected (SND_UD to 253, CI 0x52) before each read. Its
	// identification number must have no wildcards; manufacturer, version
	// and medium may (then any meter with that number is read).
	Secondary *pmbus.SecondaryAddress
	// Medium overrides the device type of the OBIS mapping; 0xFF (the
	// default, set by AddMeter for 0) takes the meter's header.
	Medium pmbus.DeviceType
	// Interval is the read period (default 15 min).
	Interval time.Duration
	Sink     Sink
	// Now is the clock of the readings' time (default time.Now).
	Now func() time.Time
}

// LineOptions configure a line.
type LineOptions struct {
	Master MasterOptions
	Bus    *bus.Options
	Log    *slog.Logger
}

// Line is one M-Bus line (or TCP converter) with its meters and the bus
// runner that shares it between them.
type Line struct {
	port   serial.Port
	master *Master
	runner *bus.Runner
	log    *slog.Logger
	mu     sync.Mutex
	meters map[meter.MeterID]*Meter
}

// NewLine returns a line over an open port. It starts nothing.
func NewLine(port serial.Port, o *LineOptions) *Line {
	var lo LineOptions
	if o != nil {
		lo = *o
	}
	if lo.Log == nil {
		lo.Log = slog.New(slog.DiscardHandler)
	}
	return &Line{port: port, master: NewMaster(port, &lo.Master), runner: bus.NewRunner(lo.Bus, lo.Log), log: lo.Log,
		meters: map[meter.MeterID]*Meter{}}
}

// Run serves the line until ctx ends; it returns nil then.
func (l *Line) Run(ctx context.Context) error { return l.runner.Run(ctx) }

// Health returns the meters' counters.
func (l *Line) Health() []bus.Health { return l.runner.Health() }

// Occupancy returns how busy the line is (the runner's share of time
// on the line).
func (l *Line) Occupancy() bus.Occupancy { return l.runner.Occupancy() }

// Ticks counts finished jobs (for a watchdog).
func (l *Line) Ticks() uint64 { return l.runner.Ticks() }

// Master returns the line's master (for the benchmarks' byte counts).
func (l *Line) Master() *Master { return l.master }

// Meter returns a meter of the line, or nil.
func (l *Line) Meter(id meter.MeterID) *Meter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.meters[id]
}

// Meter is one M-Bus meter on a line.
type Meter struct {
	l      *Line
	o      MeterOptions
	mu     sync.Mutex
	inited bool // SND_NKE answered since the last failure
	fcb    bool // the next REQ_UD2's frame count bit
	// last read, for status
	lastHeader pmbus.Header
}

// AddMeter adds a meter and its poll plan to the line.
func (l *Line) AddMeter(o MeterOptions) (*Meter, error) {
	if err := o.ID.Validate(); err != nil {
		return nil, fmt.Errorf("mbus: %w", err)
	}
	if o.Sink == nil {
		return nil, fmt.Errorf("mbus: meter %s: no sink", o.ID)
	}
	if o.Secondary == nil && o.Primary > pmbus.AddrMaxPrimary {
		return nil, fmt.Errorf("mbus: meter %s: primary address %d is not 0…250", o.ID, o.Primary)
	}
	if o.Secondary != nil {
		for i := 0; i < 8; i++ {
			if o.Secondary.ID>>(4*i)&0xF == 0xF {
				return nil, fmt.Errorf("mbus: meter %s: secondary address %v has wildcards in the identification number", o.ID, *o.Secondary)
			}
		}
	}
	if o.Medium == 0 {
		o.Medium = 0xFF
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Meter{l: l, o: o}
	if err := l.runner.Add(string(o.ID), []bus.Job{{Name: JobRegisters, Every: o.Interval}}, m.run); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.meters[o.ID] = m
	l.mu.Unlock()
	return m, nil
}

// ID returns the meter's id.
func (m *Meter) ID() meter.MeterID { return m.o.ID }

// Address describes how the meter is addressed: "primary 5" or
// "secondary 12345678…".
func (m *Meter) Address() string {
	if m.o.Secondary != nil {
		return "secondary " + m.o.Secondary.String()
	}
	return fmt.Sprintf("primary %d", m.o.Primary)
}

func (m *Meter) run(ctx context.Context, job string) error {
	if job != JobRegisters {
		return fmt.Errorf("mbus: %w: unknown job %q", bus.ErrPermanent, job)
	}
	_, err := m.Read(ctx)
	return err
}

// Read reads the meter once and hands the readings to the sink; it
// returns them. Callers outside the line's runner must not use it while
// the line runs.
func (m *Meter) Read(ctx context.Context) ([]meter.Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.l.master
	ms.Note = func(kind string) { m.l.runner.Note(string(m.o.ID), kind) }
	defer func() { ms.Note = nil }()
	rd, err := m.read(ctx, ms)
	if err != nil {
		m.inited = false
		return nil, err
	}
	m.lastHeader = rd.Header
	if m.o.Secondary != nil && rd.Header.Long && !m.o.Secondary.Matches(rd.Header.Address) {
		m.inited = false
		return nil, &bus.ProtocolError{Kind: "wrong-meter", Err: fmt.Errorf("mbus: meter %s: selected %v, answered %v", m.o.ID, *m.o.Secondary, rd.Header.Address)}
	}
	regs, live := Readings(m.o.ID, rd, m.o.Now().UTC().Truncate(time.Millisecond))
	if len(live) > 0 {
		m.o.Sink.Live(live...)
	}
	if len(regs) > 0 {
		if err := m.o.Sink.Append(ctx, regs...); err != nil {
			return nil, fmt.Errorf("mbus: meter %s: store: %w", m.o.ID, err)
		}
	}
	return append(regs, live...), nil
}

func (m *Meter) read(ctx context.Context, ms *Master) (Read, error) {
	addr := m.o.Primary
	if m.o.Secondary != nil {
		addr = pmbus.AddrNetwork
		if err := ms.Select(ctx, *m.o.Secondary); err != nil {
			return Read{}, fmt.Errorf("mbus: meter %s: select: %w", m.o.ID, err)
		}
		m.fcb = true // the selection (FCB 0) counts: the next request has FCB 1
	} else if !m.inited {
		if err := ms.SndNKE(ctx, addr); err != nil {
			return Read{}, fmt.Errorf("mbus: meter %s: SND_NKE: %w", m.o.ID, err)
		}
		m.inited, m.fcb = true, true // after SND_NKE the first FCB is 1
	}
	rd, err := ms.ReadAll(ctx, addr, &m.fcb, m.o.Medium)
	if err != nil {
		return rd, fmt.Errorf("mbus: meter %s: %w", m.o.ID, err)
	}
	return rd, nil
}

// Readings turns a read's records into readings at time t: the current
// values (storage 0) with a number and an OBIS code, each OBIS once (the
// first record wins); instantaneous ones (OBIS D = 7) in live. A record
// marked "value during error" or with an error VIFE, and every record of a
// meter whose status reports an application error, carries
// QualityMeterError.
func Readings(id meter.MeterID, rd Read, t time.Time) (regs, live []meter.Reading) {
	q := meter.Quality(0)
	if rd.Header.Status&(pmbus.StatusApplication|pmbus.StatusPermanent|pmbus.StatusTemporary) >= 2 {
		q |= meter.QualityMeterError
	}
	seen := map[meter.OBIS]bool{}
	for i := range rd.Records {
		r := &rd.Records[i]
		if r.Kind != pmbus.KindNumber || r.Storage != 0 || r.OBIS == (meter.OBIS{}) || seen[r.OBIS] {
			continue
		}
		seen[r.OBIS] = true
		rq := q
		if r.Function == pmbus.ValueDuringError || r.Modifiers&pmbus.ModErrorCode != 0 {
			rq |= meter.QualityMeterError
		}
		rd := meter.Reading{Meter: id, OBIS: r.OBIS, Time: t, Value: r.Value, Unit: r.Unit, Quality: rq, Source: meter.SourceMBus}
		if r.OBIS.Instantaneous() {
			live = append(live, rd)
		} else {
			regs = append(regs, rd)
		}
	}
	return regs, live
}

// LastHeader returns the header of the meter's last good read.
func (m *Meter) LastHeader() pmbus.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastHeader
}

// MediumByName returns the device type of a medium name of the
// configuration (the names of the wmbus driver: electricity, gas, heat,
// cooling, water, cold water, warm water, hot water, heat cost
// allocator), for MeterOptions.Medium.
func MediumByName(s string) (pmbus.DeviceType, bool) {
	switch strings.ToLower(s) {
	case "electricity":
		return pmbus.DevElectricity, true
	case "gas":
		return pmbus.DevGas, true
	case "heat":
		return pmbus.DevHeatOutlet, true
	case "cooling":
		return pmbus.DevCoolingOutlet, true
	case "water", "cold water":
		return pmbus.DevWater, true
	case "warm water":
		return pmbus.DevWarmWater, true
	case "hot water":
		return pmbus.DevHotWater, true
	case "heat cost allocator":
		return pmbus.DevHCA, true
	}
	return 0, false
}
