package mbussim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/hal/serial"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

// Options configure a simulated meter. The zero value is a heat meter
// at primary address 1, identification number 00000001.
type Options struct {
	// Primary is the primary address (0…250).
	Primary byte
	// ID is the identification number as 8 BCD digits in hex digits
	// (0x12345678 is 12345678); default 1.
	ID uint32
	// Manufacturer defaults to "SMG"; Version to 1.
	Manufacturer pmbus.Manufacturer
	Version      byte
	// Medium is the device type: DevElectricity, DevWater (or cold/warm
	// water) or DevHeatOutlet (default), which decide the records.
	Medium pmbus.DeviceType
	// History adds that many monthly storage records (storage 1…n) of the
	// main register; with PerTelegram they make a multi-telegram answer.
	History int
	// PerTelegram is how many records go in one telegram before "more
	// records follow" (0: as many as fit).
	PerTelegram int
	// CI is the response's CI: 0x72 (default), 0x76 (mode 2, MSB
	// first), 0x7A (short header) or 0x78 (none).
	CI byte
	// Since is when the registers started counting (default: an hour
	// before the simulator's first answer). Now is the clock (default
	// time.Now).
	Since time.Time
	Now   func() time.Time
}

// Meter is one simulated meter.
type Meter struct {
	o Options

	silent    atomic.Bool
	vanishTil atomic.Int64 // unix ns of the meter's clock; 0 none
	delay     atomic.Int64
	drop      atomic.Int32
	garble    atomic.Int32
	fail      atomic.Int32

	mu       sync.Mutex
	selected bool
	haveFCB  bool // a frame count bit was received since the last reset
	lastFCB  bool
	last     []byte   // the last RSP_UD sent
	pending  [][]byte // the telegrams after last of the read in progress
	access   byte
	requests atomic.Uint64
}

// New returns a simulated meter.
func New(o *Options) (*Meter, error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Primary > pmbus.AddrMaxPrimary {
		return nil, fmt.Errorf("mbussim: primary address %d is not 0…250", opt.Primary)
	}
	if opt.ID == 0 {
		opt.ID = 1
	}
	for i := 0; i < 8; i++ {
		if opt.ID>>(4*i)&0xF > 9 {
			return nil, fmt.Errorf("mbussim: identification number %08X is not 8 BCD digits", opt.ID)
		}
	}
	if opt.Manufacturer == 0 {
		opt.Manufacturer, _ = pmbus.ParseManufacturer("SMG")
	}
	if opt.Version == 0 {
		opt.Version = 1
	}
	if opt.Medium == 0 {
		opt.Medium = pmbus.DevHeatOutlet
	}
	switch opt.CI {
	case 0:
		opt.CI = pmbus.CIRspLong
	case pmbus.CIRspLong, pmbus.CIRspLongMSB, pmbus.CIRspShort, pmbus.CIRspNoHeader:
	default:
		return nil, fmt.Errorf("mbussim: CI 0x%02X is no variable data response", opt.CI)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Since.IsZero() {
		opt.Since = opt.Now().Add(-time.Hour)
	}
	return &Meter{o: opt}, nil
}

// Address returns the meter's secondary address.
func (m *Meter) Address() pmbus.SecondaryAddress {
	return pmbus.SecondaryAddress{ID: m.o.ID, Manufacturer: m.o.Manufacturer, Version: m.o.Version, Medium: m.o.Medium}
}

// Primary returns the meter's primary address.
func (m *Meter) Primary() byte { return m.o.Primary }

// SetSilent makes the meter stop answering (true) or come back.
func (m *Meter) SetSilent(v bool) { m.silent.Store(v) }

// VanishFor makes the meter silent until its clock has moved d on.
func (m *Meter) VanishFor(d time.Duration) { m.vanishTil.Store(m.o.Now().Add(d).UnixNano()) }

// SetDelay makes every answer wait d first.
func (m *Meter) SetDelay(d time.Duration) { m.delay.Store(int64(d)) }

// DropNext drops one byte (in the middle) of each of the next n answers.
func (m *Meter) DropNext(n int) { m.drop.Store(int32(n)) }

// GarbleNext flips a bit of one byte of each of the next n answers.
func (m *Meter) GarbleNext(n int) { m.garble.Store(int32(n)) }

// FailNext answers the next n REQ_UD2 with an application error (CI
// 0x70, "application busy").
func (m *Meter) FailNext(n int) { m.fail.Store(int32(n)) }

// Requests counts the telegrams the meter took as addressed to it.
func (m *Meter) Requests() uint64 { return m.requests.Load() }

func (m *Meter) away() bool {
	if m.silent.Load() {
		return true
	}
	v := m.vanishTil.Load()
	return v != 0 && m.o.Now().UnixNano() < v
}

// secs is how long the registers have been counting at t.
func (m *Meter) secs(t time.Time) int64 {
	s := int64(t.Sub(m.o.Since) / time.Second)
	return max(s, 0)
}

// The registers as functions of the meter's clock: a test computes what
// a read at t must give.

// EnergyWh is the energy register: electricity 1.8.0 in Wh, heat in kWh
// (the record's unit).
func (m *Meter) EnergyWh(t time.Time) int64 { return 1_234_000 + 3*m.secs(t) }

// VolumeL is the volume register in litres (water and heat meters).
func (m *Meter) VolumeL(t time.Time) int64 { return 56_789 + m.secs(t)/2 }

// PowerW is the instantaneous power in W.
func (m *Meter) PowerW(t time.Time) int64 { return 1000 + t.Unix()%17 }

// HistoryValue is storage n's value of the main register (month-end
// readings, counting down from the current one).
func (m *Meter) HistoryValue(n int) int64 { return 1_000_000 - int64(n)*1000 }

func bcd(dst []byte, v int64, n int) []byte {
	for i := 0; i < n; i++ {
		lo := v % 10
		v /= 10
		hi := v % 10
		v /= 10
		dst = append(dst, byte(hi<<4|lo))
	}
	return dst
}

func le(dst []byte, v int64, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// dateTime encodes t as type F (minute, hour, day, month, year).
func dateTime(dst []byte, t time.Time) []byte {
	y := t.Year() - 2000
	return append(dst, byte(t.Minute()), byte(t.Hour()), byte(t.Day())|byte(y&7)<<5, byte(t.Month())|byte(y>>3)<<4)
}

// records returns the meter's records at t, one []byte each.
func (m *Meter) records(t time.Time) [][]byte {
	var rs [][]byte
	add := func(b ...byte) { rs = append(rs, b) }
	switch m.o.Medium {
	case pmbus.DevElectricity:
		add(le([]byte{0x04, 0x03}, m.EnergyWh(t), 4)...)           // energy Wh, int32 → 1-0:1.8.0
		add(le([]byte{0x84, 0x10, 0x03}, m.EnergyWh(t)*2/3, 4)...) // tariff 1 → 1-0:1.8.1
		add(le([]byte{0x84, 0x20, 0x03}, m.EnergyWh(t)/3, 4)...)   // tariff 2 → 1-0:1.8.2
		add(le([]byte{0x02, 0x2B}, m.PowerW(t), 2)...)             // power W → 1-0:1.7.0 (live)
	case pmbus.DevWater, pmbus.DevColdWater, pmbus.DevWarmWater, pmbus.DevHotWater:
		add(bcd([]byte{0x0C, 0x13}, m.VolumeL(t), 4)...) // volume 0.001 m³, BCD8
		add(0x02, 0x3B, 0x7B, 0x00)                      // volume flow 0.123 m³/h
		add(0x02, 0x5A, 0xD2, 0x00)                      // flow temperature 21.0 °C
	default: // heat
		add(le([]byte{0x04, 0x06}, m.EnergyWh(t), 4)...) // energy kWh, int32
		add(le([]byte{0x04, 0x13}, m.VolumeL(t), 4)...)  // volume 0.001 m³
		add(le([]byte{0x02, 0x2B}, m.PowerW(t), 2)...)   // power W
		add(0x02, 0x5A, 0x8E, 0x02)                      // flow temperature 65.4 °C
		add(0x02, 0x5E, 0xBA, 0x01)                      // return temperature 44.2 °C
	}
	add(dateTime([]byte{0x04, 0x6D}, t.UTC())...)
	for n := 1; n <= m.o.History; n++ {
		// DIF 0x44 (storage bit) with DIFEs for storage numbers above 1.
		st := uint64(n)
		dif := []byte{0x04 | byte(st&1)<<6}
		st >>= 1
		for st != 0 {
			dif[len(dif)-1] |= 0x80
			dif = append(dif, byte(st&0x0F))
			st >>= 4
		}
		vif := byte(0x13)
		if m.o.Medium == pmbus.DevElectricity {
			vif = 0x03
		}
		add(le(append(dif, vif), m.HistoryValue(n), 4)...)
	}
	return rs
}

// telegrams builds the RSP_UD telegrams of one read at t.
func (m *Meter) telegrams(t time.Time) [][]byte {
	recs := m.records(t)
	room := pmbus.MaxRecordBytes(m.o.CI) - 1 // one byte for 0x1F
	var out [][]byte
	var body []byte
	n := 0
	flush := func(more bool) {
		if more {
			body = append(body, pmbus.DIFMfctDataMore)
		}
		out = append(out, m.frame(body))
		body, n = nil, 0
	}
	for _, r := range recs {
		r = m.order(r)
		if len(body)+len(r) > room || m.o.PerTelegram > 0 && n == m.o.PerTelegram {
			flush(true)
		}
		body = append(body, r...)
		n++
	}
	flush(false)
	return out
}

// order reverses a record's data field for mode 2 (the simulator's
// records have 1-byte DIF/VIF except DIFEs, no plain text).
func (m *Meter) order(r []byte) []byte {
	if m.o.CI != pmbus.CIRspLongMSB {
		return r
	}
	h := 1
	for h < len(r) && r[h-1]&0x80 != 0 {
		h++
	}
	h++ // VIF
	out := append([]byte(nil), r...)
	d := out[h:]
	for i, j := 0, len(d)-1; i < j; i, j = i+1, j-1 {
		d[i], d[j] = d[j], d[i]
	}
	return out
}

func (m *Meter) frame(body []byte) []byte {
	m.access++
	h := pmbus.Header{CI: m.o.CI, Long: true, Address: m.Address(), Access: m.access}
	a := m.o.Primary
	if m.selected {
		a = pmbus.AddrNetwork
	}
	return pmbus.AppendResponse(nil, pmbus.CRspUD, a, h, body)
}

// handle returns the meter's answer to a telegram (nil: none).
func (m *Meter) handle(t pmbus.Telegram) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Selection: every meter looks at it, matching or not.
	if t.Kind == pmbus.KindLong && t.A == pmbus.AddrNetwork && t.FromMaster() && t.Function() == pmbus.CSndUD&0x0F {
		switch t.CI {
		case pmbus.CISelect:
			sel, _, _, err := pmbus.ParseSelection(t.Data)
			m.selected = err == nil && sel.Matches(m.Address())
			if m.selected {
				m.requests.Add(1)
				m.haveFCB, m.pending = false, nil
				m.lastFCB = false
				_, valid := t.FCB()
				if valid { // the selection's own FCB counts
					m.haveFCB, m.lastFCB = true, t.C&pmbus.CBitFCB != 0
				}
				return []byte{pmbus.Ack}
			}
			return nil
		case pmbus.CISelectMSB:
			m.selected = false
			return nil
		}
	}
	mine := t.A == m.o.Primary || t.A == pmbus.AddrBroadcastReply || t.A == pmbus.AddrBroadcast || t.A == pmbus.AddrNetwork && m.selected
	if !mine || !t.FromMaster() {
		return nil
	}
	m.requests.Add(1)
	reply := func(b []byte) []byte {
		if t.A == pmbus.AddrBroadcast {
			return nil
		}
		return b
	}
	switch {
	case t.Kind == pmbus.KindShort && t.C == pmbus.CSndNKE:
		m.haveFCB, m.pending, m.last = false, nil, nil
		if t.A == pmbus.AddrNetwork {
			m.selected = false
		}
		return reply([]byte{pmbus.Ack})
	case t.Kind == pmbus.KindShort && t.Function() == pmbus.CReqUD2&0x0F:
		fcb, valid := t.FCB()
		if f := m.fail.Load(); f > 0 {
			m.fail.Add(-1)
			return pmbus.AppendFrame(nil, pmbus.Frame{C: pmbus.CRspUD, A: m.o.Primary, CI: pmbus.CIRspError, Data: []byte{8}})
		}
		switch {
		case valid && m.haveFCB && fcb == m.lastFCB && m.last != nil:
			// The master did not get the last answer: repeat it.
		case valid && m.haveFCB && fcb != m.lastFCB && len(m.pending) > 0:
			m.last, m.pending = m.pending[0], m.pending[1:]
		default:
			tg := m.telegrams(m.o.Now())
			m.last, m.pending = tg[0], tg[1:]
		}
		if valid {
			m.haveFCB, m.lastFCB = true, fcb
		}
		return reply(m.last)
	case t.Kind == pmbus.KindShort && t.Function() == pmbus.CReqUD1&0x0F:
		return reply([]byte{pmbus.Ack}) // no alarm
	case (t.Kind == pmbus.KindLong || t.Kind == pmbus.KindControl) && t.Function() == pmbus.CSndUD&0x0F:
		if fcb, valid := t.FCB(); valid {
			m.haveFCB, m.lastFCB = true, fcb
		}
		return reply([]byte{pmbus.Ack}) // application reset, data send, baud rate: acknowledged
	}
	return nil
}

// fault applies the armed faults to an answer.
func (m *Meter) fault(b []byte) []byte {
	if m.drop.Load() > 0 && len(b) > 0 {
		m.drop.Add(-1)
		i := len(b) / 2
		b = append(append([]byte(nil), b[:i]...), b[i+1:]...)
	}
	if m.garble.Load() > 0 && len(b) > 0 {
		m.garble.Add(-1)
		b = append([]byte(nil), b...)
		b[len(b)*2/3] ^= 0x08
	}
	return b
}

// collide overlaps the answers of several meters as on the wire: a 0
// bit (current) wins, so identical answers stay intact. Where they
// differ, the slaves' bit timing is not synchronous and the master's
// UART samples edges: those bytes come out garbled (the AND of the
// bytes with bits flipped), so that the checksum fails as it does on a
// real line.
func collide(answers [][]byte) []byte {
	var out []byte
	var differ []bool
	for k, a := range answers {
		for i, c := range a {
			if i < len(out) {
				if out[i] != c {
					differ[i] = true
				}
				out[i] &= c
			} else {
				out = append(out, c)
				differ = append(differ, k > 0)
			}
		}
		for i := len(a); i < len(out); i++ {
			differ[i] = true
		}
	}
	for i := range out {
		if differ[i] {
			out[i] ^= 0x5A
		}
	}
	return out
}

// ServeLine answers on port for the meters (all on one line) until ctx
// ends or the port is closed; it returns nil then. Garbled requests are
// dropped (the master repeats them).
func ServeLine(ctx context.Context, port serial.Port, meters ...*Meter) error {
	var rx []byte
	buf := make([]byte, 512)
	for {
		n, err := serial.ReadContext(ctx, port, buf)
		if ctx.Err() != nil || errors.Is(err, serial.ErrClosed) {
			return nil
		}
		if err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				continue
			}
			return err
		}
		rx = append(rx, buf[:n]...)
		for len(rx) > 0 {
			k, err := pmbus.Next(rx)
			if err != nil {
				rx = rx[:0] // garbage: wait for the next request
				break
			}
			if k == 0 {
				break
			}
			t, _ := pmbus.ParseTelegram(rx[:k])
			var answers [][]byte
			var delay time.Duration
			for _, m := range meters {
				if m.away() {
					continue
				}
				a := m.handle(t)
				if a == nil {
					continue
				}
				answers = append(answers, m.fault(a))
				delay = max(delay, time.Duration(m.delay.Load()))
			}
			rx = append(rx[:0], rx[k:]...)
			if len(answers) == 0 {
				continue
			}
			if delay > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(delay):
				}
			}
			if _, err := port.Write(collide(answers)); err != nil {
				if errors.Is(err, serial.ErrClosed) || ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// connPort is a serial.Port over a TCP connection's far end.
type connPort struct{ net.Conn }

func (c connPort) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && n == 0 {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("mbussim: %w", serial.ErrTimeout)
		}
		return 0, fmt.Errorf("mbussim: %w: %w", serial.ErrClosed, err)
	}
	return n, nil
}
func (c connPort) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }
func (c connPort) Flush() error                      { return nil }
func (c connPort) Name() string                      { return "mbussim-tcp" }

// ServeTCP answers for the meters on each connection ln accepts (a
// serial-to-Ethernet converter with the line behind it), one connection
// at a time, until ctx ends.
func ServeTCP(ctx context.Context, ln net.Listener, meters ...*Meter) error {
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			select {
			case <-cctx.Done():
				c.Close()
			case <-done:
			}
		}()
		ServeLine(cctx, connPort{c}, meters...)
		close(done)
		cancel()
		c.Close()
	}
}
