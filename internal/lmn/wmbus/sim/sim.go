package sim

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Kind is what a simulated meter measures.
type Kind string

// Kinds.
const (
	Water Kind = "water"
	Heat  Kind = "heat"
)

// Device types (EN 13757-3) of the kinds.
const (
	deviceWater = 0x07
	deviceHeat  = 0x04
)

// Meter is a simulated wM-Bus meter. Its methods are safe for concurrent
// use.
type Meter struct {
	man     uint16
	id      uint32 // BCD as sent
	version byte
	device  byte
	kind    Kind
	block   cipher.Block // nil: unencrypted (mode 0)
	loc     *time.Location

	mu  sync.Mutex
	acc byte
}

// Options describe a simulated meter.
type Options struct {
	Kind         Kind
	Manufacturer string // three letters
	Address      string // 8 digits
	Key          []byte // 16 bytes; nil sends unencrypted telegrams
	// Access is the first access number.
	Access byte
	// Location is the zone of the meter's clock; nil is time.Local.
	Location *time.Location
}

// ErrOptions is returned (wrapped) by New for invalid options.
var ErrOptions = errors.New("sim: invalid options")

// New returns a simulated meter.
func New(o Options) (*Meter, error) {
	m := &Meter{kind: o.Kind, version: 0x01, acc: o.Access, loc: o.Location}
	switch o.Kind {
	case Water:
		m.device = deviceWater
	case Heat:
		m.device = deviceHeat
	default:
		return nil, fmt.Errorf("%w: kind %q (known: water, heat)", ErrOptions, o.Kind)
	}
	if m.loc == nil {
		m.loc = time.Local
	}
	if len(o.Manufacturer) != 3 {
		return nil, fmt.Errorf("%w: manufacturer %q is not three letters", ErrOptions, o.Manufacturer)
	}
	for _, c := range strings.ToUpper(o.Manufacturer) {
		if c < 'A' || c > 'Z' {
			return nil, fmt.Errorf("%w: manufacturer %q is not three letters", ErrOptions, o.Manufacturer)
		}
		m.man = m.man<<5 | uint16(c-64)
	}
	if len(o.Address) != 8 {
		return nil, fmt.Errorf("%w: address %q is not 8 digits", ErrOptions, o.Address)
	}
	for _, c := range o.Address {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: address %q is not 8 digits", ErrOptions, o.Address)
		}
		m.id = m.id<<4 | uint32(c-'0')
	}
	if o.Key != nil {
		b, err := aes.NewCipher(o.Key)
		if err != nil || len(o.Key) != 16 {
			return nil, fmt.Errorf("%w: key of %d bytes, want 16", ErrOptions, len(o.Key))
		}
		m.block = b
	}
	return m, nil
}

// epoch is where the simulated registers start.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Values returns the meter's register values at t, as the telegram
// carries them: water: volume in litres, flow in l/h; heat: energy in kWh,
// volume in 10 l, power in W, flow and return temperature in 0.1 °C.
func (m *Meter) Values(t time.Time) []int64 {
	s := t.Sub(epoch).Seconds()
	if s < 0 {
		s = 0
	}
	hour := float64(t.In(m.loc).Hour()) + float64(t.In(m.loc).Minute())/60
	switch m.kind {
	case Water:
		// About 150 l a day, more in the morning and evening.
		vol := 100000 + int64(s*150/86400)
		flow := int64(0)
		if (hour >= 6.5 && hour < 8) || (hour >= 18 && hour < 21) {
			flow = 180 + int64(t.Unix()%60)
		}
		return []int64{vol, flow}
	default:
		// About 40 kWh a day.
		energy := 8000 + int64(s*40/86400)
		vol := 40000 + int64(s*60/86400)
		power := 1200 + int64(t.Unix()%300)
		return []int64{energy, vol, power, 552 + t.Unix()%20, 401 + t.Unix()%15}
	}
}

// Telegram returns the meter's next telegram at t: a format-A frame with
// its block CRCs, L-field first. Each call advances the access number.
func (m *Meter) Telegram(t time.Time) []byte {
	m.mu.Lock()
	acc := m.acc
	m.acc++
	m.mu.Unlock()
	return m.TelegramACC(t, acc)
}

// TelegramACC is Telegram with a given access number (tests use it to
// replay and wrap).
func (m *Meter) TelegramACC(t time.Time, acc byte) []byte {
	v := m.Values(t)
	// Application data: 2F2F (the decryption check), then the records.
	apdu := []byte{0x2F, 0x2F}
	switch m.kind {
	case Water:
		apdu = append(apdu, 0x04, 0x13) // volume, 10^-3 m³, 32-bit integer
		apdu = binary.LittleEndian.AppendUint32(apdu, uint32(v[0]))
		apdu = append(apdu, 0x02, 0x3B) // volume flow, 10^-3 m³/h, 16-bit
		apdu = binary.LittleEndian.AppendUint16(apdu, uint16(v[1]))
	default:
		apdu = append(apdu, 0x04, 0x06) // energy, kWh, 32-bit
		apdu = binary.LittleEndian.AppendUint32(apdu, uint32(v[0]))
		apdu = append(apdu, 0x04, 0x14) // volume, 10^-2 m³, 32-bit
		apdu = binary.LittleEndian.AppendUint32(apdu, uint32(v[1]))
		apdu = append(apdu, 0x02, 0x2B) // power, W, 16-bit
		apdu = binary.LittleEndian.AppendUint16(apdu, uint16(v[2]))
		apdu = append(apdu, 0x02, 0x5A) // flow temperature, 0.1 °C
		apdu = binary.LittleEndian.AppendUint16(apdu, uint16(v[3]))
		apdu = append(apdu, 0x02, 0x5E) // return temperature, 0.1 °C
		apdu = binary.LittleEndian.AppendUint16(apdu, uint16(v[4]))
	}
	apdu = append(apdu, 0x04, 0x6D) // date and time, type F
	apdu = binary.LittleEndian.AppendUint32(apdu, typeF(t.In(m.loc)))

	addr := [8]byte{byte(m.man), byte(m.man >> 8), byte(m.id), byte(m.id >> 8), byte(m.id >> 16), byte(m.id >> 24), m.version, m.device}
	var cw uint16
	if m.block != nil {
		for len(apdu)%16 != 0 {
			apdu = append(apdu, 0x2F) // idle filler
		}
		n := len(apdu) / 16
		cw = 5<<8 | uint16(n)<<4
		var iv [16]byte
		copy(iv[:], addr[:])
		for i := 8; i < 16; i++ {
			iv[i] = acc
		}
		cipher.NewCBCEncrypter(m.block, iv[:]).CryptBlocks(apdu, apdu)
	}
	// Link layer and short TPL header, without CRCs.
	body := []byte{0, 0x44}
	body = append(body, addr[:]...)
	body = append(body, 0x7A, acc, 0x00, byte(cw), byte(cw>>8))
	body = append(body, apdu...)
	body[0] = byte(len(body) - 1)
	return formatA(body)
}

// formatA inserts the EN 13757-4 format-A block CRCs: after the first 10
// bytes and after every 16 bytes that follow (the last block may be
// shorter).
func formatA(p []byte) []byte {
	out := make([]byte, 0, len(p)+2*(len(p)/16+2))
	for i := 0; i < len(p); {
		n := 16
		if i == 0 {
			n = 10
		}
		n = min(n, len(p)-i)
		out = append(out, p[i:i+n]...)
		out = binary.BigEndian.AppendUint16(out, crc13757(p[i:i+n]))
		i += n
	}
	return out
}

// crc13757 is the EN 13757-4 CRC: polynomial 0x3D65, initial 0, the
// result complemented.
func crc13757(p []byte) uint16 {
	var crc uint16
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x3D65
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}

// typeF encodes t as the M-Bus date-time type F (CP32).
func typeF(t time.Time) uint32 {
	y := uint32(t.Year() % 100)
	return uint32(t.Minute()) | uint32(t.Hour())<<8 | uint32(t.Day())<<16 | (y&7)<<21 |
		uint32(t.Month())<<24 | (y>>3)<<28
}

// Run writes a telegram of every meter, as a hex line, to w at once and
// then every interval, until ctx ends (nil) or a write fails.
func Run(ctx context.Context, w io.Writer, meters []*Meter, interval time.Duration, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	if interval <= 0 {
		return fmt.Errorf("%w: interval %s", ErrOptions, interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	line := make([]byte, 0, 256)
	for {
		for _, m := range meters {
			f := m.Telegram(now())
			line = hex.AppendEncode(line[:0], f)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("sim: write a telegram: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
