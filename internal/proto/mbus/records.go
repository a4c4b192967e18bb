package mbus

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Special DIFs (EN 13757-3, table 6).
const (
	DIFMfctData     = 0x0F // manufacturer-specific data follow to the end
	DIFMfctDataMore = 0x1F // as 0x0F, and more records follow in the next telegram
	DIFIdleFiller   = 0x2F // idle filler: skip
	DIFGlobalRead   = 0x7F // global readout request (master to slave)
)

const (
	maxDIFE = 10
	maxVIFE = 10
)

// AppendRecords decodes the variable data structure data (the application
// data after the fixed or TPL header, decrypted) and appends its records
// to dst. dev is the meter's device type; it selects the OBIS medium.
// Idle fillers (0x2F) are skipped; manufacturer-specific data (DIF 0x0F or
// 0x1F) ends the records and is appended as one record of
// QuantityMfctData with KindBytes. On an error the records decoded before
// it are returned with it.
//
// res, when not nil, is offered every record after its DIB and VIB are
// read and before its data is: it may name records the standard leaves to
// the manufacturer (VIF 0x7F/0xFF) or reserves, or correct a meter's known
// deviation. A reserved VIF code that res does not resolve is an error
// (ErrUnknownVIF).
func AppendRecords(dst []Record, data []byte, dev DeviceType, res Resolver) ([]Record, error) {
	medium := dev.ObisMedium()
	i := 0
	for i < len(data) {
		start := i
		dif := data[i]
		i++
		switch dif {
		case DIFIdleFiller:
			continue
		case DIFMfctData, DIFMfctDataMore:
			dst = append(dst, Record{
				Quantity: QuantityMfctData, Kind: KindBytes, Table: TableNone, Coding: Special,
				Offset: start, Header: data[start:i], Data: data[i:],
			})
			return dst, nil
		case DIFGlobalRead:
			return dst, errAt(start, ErrDIF, "DIF 0x7F (global readout request) in data from a meter")
		}
		if dif&0x0F == 0x0F {
			return dst, errAt(start, ErrDIF, "reserved special function DIF 0x%02X", dif)
		}
		// Decode in place in dst's next slot: no copy, no escape.
		n := len(dst)
		dst = append(dst, Record{
			Offset:   start,
			Function: Function(dif >> 4 & 3),
			Coding:   Coding(dif & 0x0F),
			Storage:  uint64(dif >> 6 & 1),
		})
		r := &dst[n]
		ext := dif&0x80 != 0
		for k := 0; ext; k++ {
			if k == maxDIFE {
				return dst[:n], errAt(i, ErrDIF, "more than %d DIFEs", maxDIFE)
			}
			if i >= len(data) {
				return dst[:n], errAt(i, ErrTruncated, "DIFE expected")
			}
			dife := data[i]
			i++
			r.Storage |= uint64(dife&0x0F) << (1 + 4*k)
			r.Tariff |= uint32(dife>>4&3) << (2 * k)
			r.Subunit |= uint16(dife>>6&1) << k
			ext = dife&0x80 != 0
		}
		if i >= len(data) {
			return dst[:n], errAt(i, ErrTruncated, "VIF expected after DIF 0x%02X", dif)
		}
		var err error
		vibAt := i
		if i, err = parseVIB(r, data, i); err != nil {
			return dst[:n], err
		}
		r.Header = data[start:i]
		if res != nil && res.Resolve(r, data[vibAt:i]) {
			r.reserved = false
		}
		if r.reserved {
			return dst[:n], errAt(vibAt, ErrUnknownVIF, "%s code 0x%02X is reserved (VIB %X)", r.Table, r.VIFCode, data[vibAt:i])
		}
		if i, err = parseData(r, data, i); err != nil {
			return dst[:n], err
		}
		if r.OBIS == (meter.OBIS{}) {
			r.OBIS = obisFor(r, medium)
		}
	}
	return dst, nil
}

// parseVIB reads the VIF, its VIFEs and a plain-text unit at data[i:]
// into r and returns the position after them.
func parseVIB(r *Record, data []byte, i int) (int, error) {
	vifPos := i
	vif := data[i]
	i++
	ext := vif&0x80 != 0
	code := vif & 0x7F
	nvife := 0
	next := func() (byte, error) {
		if nvife == maxVIFE {
			return 0, errAt(i, ErrDIF, "more than %d VIFEs", maxVIFE)
		}
		if i >= len(data) {
			return 0, errAt(i, ErrTruncated, "VIFE expected")
		}
		b := data[i]
		i++
		nvife++
		return b, nil
	}
	switch code {
	case 0x7B, 0x7D: // extension tables FB, FD
		if !ext {
			return i, errAt(vifPos, ErrUnknownVIF, "VIF 0x%02X without its extension byte", vif)
		}
		e, err := next()
		if err != nil {
			return i, err
		}
		if code == 0x7B {
			r.Table = TableFB
		} else {
			r.Table = TableFD
		}
		r.VIFCode = e & 0x7F
		ext = e&0x80 != 0
		applyVIF(r)
	case 0x7C:
		r.Table = TablePlainText
		r.Quantity = QuantityPlainText
		r.Unit = meter.UnitOther
	case 0x7E:
		r.Table = TableAny
		r.Quantity = QuantityAnyVIF
	case 0x7F:
		r.Table = TableMfct
		r.Quantity = QuantityMfct
		r.VIFCode = 0x7F
	default:
		r.Table = TablePrimary
		r.VIFCode = code
		applyVIF(r)
	}
	mfct := r.Table == TableMfct
	for ext {
		e, err := next()
		if err != nil {
			return i, err
		}
		ext = e&0x80 != 0
		if mfct {
			continue // manufacturer-specific VIFEs: meaning unknown here
		}
		c := e & 0x7F
		switch {
		case c <= 0x1F:
			if c != 0 { // 0: "none", no error
				r.Modifiers |= ModErrorCode
				r.ErrorCode = c
			}
		case c <= 0x26:
			r.Modifiers |= ModPerSecond << (c - 0x20)
		case c == 0x27:
			r.Modifiers |= ModPerRevolution
		case c <= 0x2B:
			r.Modifiers |= ModPerPulse
		case c <= 0x38:
			r.Modifiers |= ModPerUnit
		case c == 0x39:
			r.Modifiers |= ModStartDate
		case c == 0x3A:
			r.Modifiers |= ModUncorrected
		case c == 0x3B:
			r.Modifiers |= ModForward
		case c == 0x3C:
			r.Modifiers |= ModBackward
		case c == 0x3D, c == 0x3F: // alternate unit system, OBIS declaration
		case c == 0x3E:
			r.Modifiers |= ModBaseConditions
		case c == 0x40:
			r.Modifiers |= ModLowerLimit
		case c == 0x48:
			r.Modifiers |= ModUpperLimit
		case c == 0x41 || c == 0x49:
			r.Modifiers |= ModLimitExceeds
		case c < 0x50:
			r.Modifiers |= ModLimitDate
		case c < 0x70:
			r.Modifiers |= ModLimitDuration
		case c <= 0x77: // multiplicative correction factor 10^(nnn-6)
			r.Modifiers |= ModCorrection
			r.Value.E += int8(c&7) - 6
		case c <= 0x7B: // additive correction constant
			r.Modifiers |= ModCorrection
		case c == 0x7C: // extension of combinable VIFEs (FC table): one more byte
			r.Modifiers |= ModPhase
			e2, err := next()
			if err != nil {
				return i, err
			}
			ext = e2&0x80 != 0
		case c == 0x7D: // multiplicative correction factor 10^3
			r.Modifiers |= ModCorrection
			r.Value.E += 3
		case c == 0x7E:
			r.Modifiers |= ModFuture
		case c == 0x7F:
			r.Modifiers |= ModMfct
			mfct = true
		}
	}
	if r.Table == TablePlainText {
		if i >= len(data) {
			return i, errAt(i, ErrTruncated, "plain-text VIF length expected")
		}
		n := int(data[i])
		i++
		if len(data)-i < n {
			return i, errAt(i, ErrTruncated, "plain-text VIF of %d characters, %d bytes left", n, len(data)-i)
		}
		r.UnitText = data[i : i+n]
		i += n
	}
	return i, nil
}

// parseData reads the data field at data[i:] and sets r's value.
func parseData(r *Record, data []byte, i int) (int, error) {
	n := 0
	switch r.Coding {
	case NoData, SelectionRead:
		r.Kind = KindNone
		r.Data = data[i:i]
		return i, nil
	case Int8, BCD2:
		n = 1
	case Int16, BCD4:
		n = 2
	case Int24, BCD6:
		n = 3
	case Int32, Real32, BCD8:
		n = 4
	case Int48, BCD12:
		n = 6
	case Int64:
		n = 8
	case Variable:
		if i >= len(data) {
			return i, errAt(i, ErrTruncated, "LVAR expected")
		}
		lvar := data[i]
		i++
		switch {
		case lvar <= 0xBF:
			n = int(lvar)
		case lvar >= 0xC0 && lvar <= 0xC9, lvar >= 0xD0 && lvar <= 0xD9:
			n = int(lvar & 0x0F)
		case lvar >= 0xE0 && lvar <= 0xEF:
			n = int(lvar - 0xE0)
		case lvar >= 0xF0 && lvar <= 0xF4:
			n = 4 * int(lvar-0xEC)
		case lvar == 0xF5:
			n = 48
		case lvar == 0xF6:
			n = 64
		default:
			return i, errAt(i-1, ErrData, "reserved LVAR 0x%02X", lvar)
		}
		if len(data)-i < n {
			return i, errAt(i, ErrTruncated, "variable-length data of %d bytes, %d left", n, len(data)-i)
		}
		r.Data = data[i : i+n]
		i += n
		switch {
		case lvar <= 0xBF:
			r.Kind = KindText
		case lvar <= 0xD9:
			setBCD(r, r.Data, lvar >= 0xD0)
		case lvar <= 0xE8:
			setInt(r, r.Data)
		default:
			r.Kind = KindBytes
		}
		return i, nil
	}
	if len(data)-i < n {
		return i, errAt(i, ErrTruncated, "data field of %d bytes (DIF coding 0x%X), %d left", n, uint8(r.Coding), len(data)-i)
	}
	d := data[i : i+n]
	r.Data = d
	i += n
	switch r.Quantity {
	case QuantityDate, QuantityDateTime, QuantityTariffStart, QuantityBatteryChangeDate:
		if !setTime(r, d) {
			r.Kind = KindBytes
		}
		return i, nil
	}
	switch r.Coding {
	case BCD2, BCD4, BCD6, BCD8, BCD12:
		setBCD(r, d, false)
	case Real32:
		setReal(r, math.Float32frombits(binary.LittleEndian.Uint32(d)))
	default:
		setInt(r, d)
	}
	return i, nil
}

// setInt sets r's value from a little-endian integer: signed (type B),
// except for quantities that are codes, flags or identifiers, read
// unsigned. Heat cost allocator units are a measured value, signed like
// every other (EN 13757-3, annex A: integer data is type B).
func setInt(r *Record, d []byte) {
	var u uint64
	for k := len(d) - 1; k >= 0; k-- {
		u = u<<8 | uint64(d[k])
	}
	if r.Kind == 0 {
		r.Kind = KindNumber
	}
	if r.Kind != KindNumber {
		return
	}
	var m int64
	switch {
	case r.Unitless && r.Quantity != QuantityHCA || r.Table == TableMfct || len(d) == 0:
		if u > math.MaxInt64 {
			r.Kind = KindBytes
			return
		}
		m = int64(u)
	default:
		shift := 64 - 8*uint(len(d))
		m = int64(u<<shift) >> shift
	}
	scale(r, m)
}

// setBCD sets r's value from little-endian BCD; a most significant digit
// 0xF marks a negative number. Other non-decimal digits make the record
// KindBytes (meters send them for "no value" and error displays).
func setBCD(r *Record, d []byte, neg bool) {
	var m int64
	for k := len(d) - 1; k >= 0; k-- {
		hi, lo := d[k]>>4, d[k]&0x0F
		switch {
		case k == len(d)-1 && hi == 0xF:
			neg = true
		case hi > 9:
			r.Kind = KindBytes
			return
		default:
			m = m*10 + int64(hi)
		}
		if lo > 9 {
			r.Kind = KindBytes
			return
		}
		m = m*10 + int64(lo)
	}
	if neg {
		m = -m
	}
	if r.Kind == 0 {
		r.Kind = KindNumber
	}
	scale(r, m)
}

// setReal sets r's value from a 32-bit float: the shortest decimal that
// reads back as the same float32.
func setReal(r *Record, f float32) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		r.Kind = KindBytes
		return
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], float64(f), 'e', -1, 32)
	// b is [-]d[.ddd]e±xx
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
	}
	var m int64
	e := 0
	k := 0
	frac := 0
	seenDot := false
	for ; k < len(b) && b[k] != 'e'; k++ {
		if b[k] == '.' {
			seenDot = true
			continue
		}
		m = m*10 + int64(b[k]-'0')
		if seenDot {
			frac++
		}
	}
	x, _ := strconv.Atoi(string(b[k+1:]))
	e = x - frac
	if neg {
		m = -m
	}
	if r.Kind == 0 {
		r.Kind = KindNumber
	}
	if e < -100 || e > 100 {
		r.Kind = KindBytes
		return
	}
	r.Value.E += int8(e)
	scale(r, m)
}

// scale sets r.Value to m × 10^(the VIF's exponent) × the VIF's factor.
func scale(r *Record, m int64) {
	r.Value.M = m
	if r.factor > 1 {
		v, err := r.Value.MulInt(r.factor)
		if err != nil {
			r.Kind = KindBytes
			return
		}
		r.Value = v
	}
}

// setTime decodes a date (type G), date-time (F, I) or time (J) field.
func setTime(r *Record, d []byte) bool {
	switch len(d) {
	case 2: // G
		day, mon, year := int(d[0]&0x1F), int(d[1]&0x0F), int(d[0]>>5|(d[1]&0xF0)>>1)
		if d[0] == 0xFF && d[1] == 0xFF || day == 0 || mon == 0 || mon > 12 {
			return false
		}
		r.Kind = KindDate
		r.Time = time.Date(fullYear(year), time.Month(mon), day, 0, 0, 0, 0, time.UTC)
		return true
	case 3: // J
		sec, min, hour := int(d[0]&0x3F), int(d[1]&0x3F), int(d[2]&0x1F)
		if sec > 59 || min > 59 || hour > 23 {
			return false
		}
		r.Kind = KindTime
		r.Time = time.Date(1, 1, 1, hour, min, sec, 0, time.UTC)
		return true
	case 4: // F
		if d[0]&0x80 != 0 { // IV: invalid
			return false
		}
		min, hour := int(d[0]&0x3F), int(d[1]&0x1F)
		day, mon, year := int(d[2]&0x1F), int(d[3]&0x0F), int(d[2]>>5|(d[3]&0xF0)>>1)
		if min > 59 || hour > 23 || day == 0 || mon == 0 || mon > 12 {
			return false
		}
		r.Kind = KindDateTime
		r.Time = time.Date(fullYear(year), time.Month(mon), day, hour, min, 0, 0, time.UTC)
		return true
	case 6: // I
		if d[1]&0x80 != 0 {
			return false
		}
		sec, min, hour := int(d[0]&0x3F), int(d[1]&0x3F), int(d[2]&0x1F)
		day, mon, year := int(d[3]&0x1F), int(d[4]&0x0F), int(d[3]>>5|(d[4]&0xF0)>>1)
		if sec > 59 || min > 59 || hour > 23 || day == 0 || mon == 0 || mon > 12 {
			return false
		}
		r.Kind = KindDateTime
		r.Time = time.Date(fullYear(year), time.Month(mon), day, hour, min, sec, 0, time.UTC)
		return true
	}
	return false
}

// fullYear maps the 7-bit year of types F, G and I: 0–80 is 2000–2080,
// 81–99 is 1981–1999 (EN 13757-3, annex A), 100–127 is 2100–2127.
func fullYear(y int) int {
	switch {
	case y <= 80:
		return 2000 + y
	case y <= 99:
		return 1900 + y
	}
	return 2000 + y
}
