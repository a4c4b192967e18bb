package dlms

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

// Sink takes the readings (the gateway's ingest pipeline).
type Sink interface {
	// Append stores register and profile readings durably.
	Append(ctx context.Context, rs ...meter.Reading) error
	// Live takes instantaneous values (OBIS D = 7); it never blocks.
	Live(rs ...meter.Reading)
}

// Records is where the driver keeps its state across restarts: frame
// counters (kind "dlms-fc") and the last load profile entry read (kind
// "dlms-lp"). *store.Store implements it.
type Records interface {
	Record(kind, name string) ([]byte, error)
	PutRecord(ctx context.Context, kind, name string, value []byte) error
}

// EventLog records what the driver changes on a meter (clock
// corrections, disconnects) in the metrology log.
type EventLog func(ctx context.Context, kind, msg string, attrs map[string]string)

// Record kinds of the driver.
const (
	RecordFrameCounter = "dlms-fc"
	RecordProfile      = "dlms-lp"
)

// Job names of a meter's poll plan.
const (
	JobRegisters = "registers"
	JobProfile   = "profile"
	JobClock     = "clock"
)

// Register is a register to read: class 3 (register), 4 (extended
// register) or 1 (data, an integer value with no scaler).
type Register struct {
	OBIS  meter.OBIS
	Class uint16
}

// Clock correction modes.
const (
	ClockSet   = "set"   // SET the clock's time (attribute 2)
	ClockShift = "shift" // ACTION shift_time (method 6), ±900 s, else set
	ClockOff   = "off"   // only report the drift
)

// MeterOptions describe one DLMS meter on a line.
type MeterOptions struct {
	ID meter.MeterID
	// SAP is the client SAP (default 16, the public client; 1
	// management).
	SAP uint8
	// Server is the meter's HDLC address (default logical 1, physical
	// 16: hdlc.ServerAddress(1, 16)); for the wrapper only Server.Upper
	// (the logical device's wPort) counts.
	Server hdlc.Address
	// Assoc is the association's authentication.
	Assoc ClientOptions
	// MaxInfo and Window are what SNRM proposes (default 2030 and 7).
	MaxInfo uint32
	Window  uint32
	// Silence and Retries: see HDLCOptions.
	Silence time.Duration
	Retries int

	Registers     []Register
	RegisterEvery time.Duration // default 15 min
	// Profile is the load profile to read (zero: none), every
	// ProfileEvery (default 15 min, aligned to the quarter plus 20 s).
	Profile      meter.OBIS
	ProfileEvery time.Duration
	// MaxBackfill bounds how far back a first read (or one after a long
	// outage) goes; default 10 days.
	MaxBackfill time.Duration
	// ClockEvery (default 24 h) checks the clock; a drift beyond
	// ClockLimit (default 10 s) is corrected by ClockMode (default set).
	ClockEvery time.Duration
	ClockLimit time.Duration
	ClockMode  string

	Sink    Sink
	Records Records
	Events  EventLog
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// LineOptions configure a line.
type LineOptions struct {
	// Wrapper: the port is a TCP connection carrying the IEC 62056-47
	// wrapper (else HDLC).
	Wrapper bool
	Bus     *bus.Options
	Log     *slog.Logger
}

// Line is one serial line (or TCP link) with its DLMS meters and the bus
// runner that shares it between them.
type Line struct {
	port   serial.Port
	o      LineOptions
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
	return &Line{port: port, o: lo, runner: bus.NewRunner(lo.Bus, lo.Log), log: lo.Log, meters: map[meter.MeterID]*Meter{}}
}

// Run serves the line until ctx ends.
func (l *Line) Run(ctx context.Context) error { return l.runner.Run(ctx) }

// Health returns the meters' counters.
func (l *Line) Health() []bus.Health { return l.runner.Health() }

// Occupancy returns how busy the line is.
func (l *Line) Occupancy() bus.Occupancy { return l.runner.Occupancy() }

// Ticks counts finished jobs (for a watchdog).
func (l *Line) Ticks() uint64 { return l.runner.Ticks() }

// Meter returns a meter of the line.
func (l *Line) Meter(id meter.MeterID) *Meter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.meters[id]
}

// Meter is one DLMS meter: its poll plan's jobs, and the disconnect
// control as commands.
type Meter struct {
	l    *Line
	o    MeterOptions
	log  *slog.Logger
	mu   sync.Mutex
	fc   fcState
	cols []column // the profile's capture objects, once read
	per  time.Duration
	sus  map[meter.OBIS]dlms.ScalerUnit
	// noList: the meter does not do GET with-list.
	noList bool
	// LastDrift is the clock drift found by the last clock check.
	LastDrift time.Duration
}

type column struct {
	obj  dlms.CaptureObject
	su   dlms.ScalerUnit
	keep bool // a value column to store
	time bool // the clock column
}

// fcState is the frame counter record.
type fcState struct {
	TX       uint32 `json:"tx"`       // the client's last used invocation counter
	Reserved uint32 `json:"reserved"` // persisted bound: never reuse below it
	RX       uint32 `json:"rx"`       // the meter's last accepted counter
	HaveRX   bool   `json:"have_rx"`
	loaded   bool
	server   dlms.FrameCounter
}

// AddMeter adds a meter and its poll plan to the line.
func (l *Line) AddMeter(o MeterOptions) (*Meter, error) {
	if err := o.ID.Validate(); err != nil {
		return nil, fmt.Errorf("dlms: %w", err)
	}
	if o.Server.Size == 0 {
		o.Server = hdlc.ServerAddress(1, 16)
	}
	if o.Assoc.Auth == "" {
		o.Assoc.Auth = AuthNone
	}
	if o.RegisterEvery <= 0 {
		o.RegisterEvery = 15 * time.Minute
	}
	if o.ProfileEvery <= 0 {
		o.ProfileEvery = 15 * time.Minute
	}
	if o.MaxBackfill <= 0 {
		o.MaxBackfill = 10 * 24 * time.Hour
	}
	if o.ClockEvery <= 0 {
		o.ClockEvery = 24 * time.Hour
	}
	if o.ClockLimit <= 0 {
		o.ClockLimit = 10 * time.Second
	}
	if o.ClockMode == "" {
		o.ClockMode = ClockSet
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sink == nil {
		return nil, fmt.Errorf("dlms: meter %s: no sink", o.ID)
	}
	for _, r := range o.Registers {
		if r.Class != 1 && r.Class != 3 && r.Class != 4 {
			return nil, fmt.Errorf("dlms: meter %s: register %v: class %d (1, 3 or 4)", o.ID, r.OBIS, r.Class)
		}
	}
	m := &Meter{l: l, o: o, log: l.log.With("meter", string(o.ID)), sus: map[meter.OBIS]dlms.ScalerUnit{}}
	var plan []bus.Job
	if len(o.Registers) > 0 {
		plan = append(plan, bus.Job{Name: JobRegisters, Every: o.RegisterEvery})
	}
	if o.Profile != (meter.OBIS{}) {
		plan = append(plan, bus.Job{Name: JobProfile, Every: o.ProfileEvery, Align: true, Offset: 20 * time.Second})
	}
	plan = append(plan, bus.Job{Name: JobClock, Every: o.ClockEvery})
	if err := l.runner.Add(string(o.ID), plan, m.run); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.meters[o.ID] = m
	l.mu.Unlock()
	return m, nil
}

// ID returns the meter's id.
func (m *Meter) ID() meter.MeterID { return m.o.ID }

func (m *Meter) run(ctx context.Context, job string) error {
	var err error
	switch job {
	case JobRegisters:
		_, err = m.ReadRegisters(ctx)
	case JobProfile:
		_, err = m.ReadProfile(ctx)
	case JobClock:
		_, err = m.CheckClock(ctx)
	default:
		err = fmt.Errorf("dlms: %w: unknown job %q", bus.ErrPermanent, job)
	}
	return err
}

// Session opens the link and the association, runs fn and closes them.
// Callers outside the line's runner must not use it while the line runs.
func (m *Meter) Session(ctx context.Context, fn func(c *Client) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var tr Transport
	if m.l.o.Wrapper {
		tr = NewWrapper(m.l.port, uint16(m.o.ClientSAP()), m.o.Server.Upper, m.o.Silence*time.Duration(max(1, m.o.Retries)))
	} else {
		h, err := NewHDLC(m.l.port, HDLCOptions{
			Client: hdlc.ClientAddress(m.o.ClientSAP()), Server: m.o.Server,
			Params:  hdlc.Params{MaxInfoTx: m.o.MaxInfo, MaxInfoRx: m.o.MaxInfo, WindowTx: m.o.Window, WindowRx: m.o.Window},
			Silence: m.o.Silence, Retries: m.o.Retries,
			Note: func(kind string) { m.l.runner.Note(string(m.o.ID), kind) },
		})
		if err != nil {
			return err
		}
		tr = h
	}
	co := m.o.Assoc
	if co.Auth == AuthHigh {
		if err := m.loadFC(); err != nil {
			return err
		}
		sec := *co.Security
		sec.NextIC = func() (uint32, error) { return m.nextIC(ctx) }
		sec.Server = &m.fc.server
		co.Security = &sec
	}
	c, err := NewClient(tr, co)
	if err != nil {
		return err
	}
	err = c.Connect(ctx)
	if err == nil {
		err = fn(c)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	c.Release(rctx)
	cancel()
	if co.Auth == AuthHigh {
		if perr := m.saveFC(ctx, false); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// ClientSAP returns the client SAP (default 16).
func (o MeterOptions) ClientSAP() uint8 {
	if o.SAP == 0 {
		return 16
	}
	return o.SAP
}
