package wmbus

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
)

// AppendJSON appends the decode JSON of a telegram (docs/wmbus.md, the
// contract of `smgw decode --format json`) to dst: one object, no
// newline. err is the error Decode returned for it (nil when fine); t may
// hold only a header then, or nothing.
//
//	{"meter":{"manufacturer":"KAM","id":"12345678","version":"1b","type":"16","medium":"cold water"},
//	 "security":{"mode":5,"decrypted":true,"access_number":42},
//	 "records":[{"obis":"8-0:1.0.0*255","quantity":"volume","value":"1.174","unit":"m3",
//	             "storage":0,"tariff":0,"subunit":0,"function":"instantaneous","dif_vif":"0c13"}]}
func AppendJSON(dst []byte, t *Telegram, err error) []byte {
	m := t.Meter
	dst = append(dst, `{"meter":{"manufacturer":`...)
	dst = appendString(dst, m.Manufacturer.String())
	dst = append(dst, `,"id":"`...)
	dst = m.AppendID(dst)
	dst = append(dst, `","version":"`...)
	dst = appendHexByte(dst, m.Version)
	dst = append(dst, `","type":"`...)
	dst = appendHexByte(dst, byte(m.Device))
	dst = append(dst, `","medium":`...)
	dst = appendString(dst, m.Device.String())
	dst = append(dst, `},"security":{"mode":`...)
	dst = strconv.AppendInt(dst, int64(t.Mode), 10)
	dst = append(dst, `,"decrypted":`...)
	dst = strconv.AppendBool(dst, t.Security.Decrypted)
	dst = append(dst, `,"access_number":`...)
	dst = strconv.AppendInt(dst, int64(t.AccessNumber), 10)
	if t.AFL.HasCounter {
		dst = append(dst, `,"message_counter":`...)
		dst = strconv.AppendUint(dst, uint64(t.AFL.MessageCounter), 10)
	}
	if t.Security.Authenticated {
		dst = append(dst, `,"authenticated":true`...)
	}
	if t.Security.Plaintext {
		dst = append(dst, `,"plaintext":true`...)
	}
	dst = append(dst, '}')
	if err != nil {
		dst = append(dst, `,"error":`...)
		dst = appendString(dst, err.Error())
	}
	if t.Profile != "" {
		dst = append(dst, `,"profile":`...)
		dst = appendString(dst, t.Profile)
	}
	dst = append(dst, `,"records":[`...)
	if err == nil {
		for i := range t.Records {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendRecordJSON(dst, &t.Records[i])
		}
	}
	return append(dst, "]}"...)
}

// AppendRecordJSON appends one record's object of the decode JSON.
func AppendRecordJSON(dst []byte, r *mbus.Record) []byte {
	dst = append(dst, '{')
	if r.OBIS != (meter.OBIS{}) {
		dst = append(dst, `"obis":"`...)
		dst = r.OBIS.Append(dst)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"quantity":`...)
	dst = appendString(dst, string(r.Quantity))
	switch r.Kind {
	case mbus.KindNumber:
		dst = append(dst, `,"value":"`...)
		dst = r.Value.Append(dst)
		dst = append(dst, '"')
		if u := UnitName(r.Unit); u != "" {
			dst = append(dst, `,"unit":`...)
			dst = appendString(dst, u)
		}
	case mbus.KindDate:
		dst = append(dst, `,"value":"`...)
		dst = r.Time.AppendFormat(dst, "2006-01-02")
		dst = append(dst, '"')
	case mbus.KindDateTime:
		dst = append(dst, `,"value":"`...)
		dst = r.Time.AppendFormat(dst, "2006-01-02T15:04:05")
		dst = append(dst, '"')
	case mbus.KindTime:
		dst = append(dst, `,"value":"`...)
		dst = r.Time.AppendFormat(dst, "15:04:05")
		dst = append(dst, '"')
	case mbus.KindText:
		var buf [64]byte
		dst = append(dst, `,"value":`...)
		dst = appendString(dst, string(r.AppendText(buf[:0])))
	case mbus.KindBytes:
		dst = append(dst, `,"value":"`...)
		dst = hex.AppendEncode(dst, r.Data)
		dst = append(dst, `","unit":"hex"`...)
	}
	if len(r.UnitText) > 0 {
		var buf [64]byte
		dst = append(dst, `,"unit_text":`...)
		dst = appendString(dst, string(r.AppendUnitText(buf[:0])))
	}
	dst = append(dst, `,"storage":`...)
	dst = strconv.AppendUint(dst, r.Storage, 10)
	dst = append(dst, `,"tariff":`...)
	dst = strconv.AppendUint(dst, uint64(r.Tariff), 10)
	dst = append(dst, `,"subunit":`...)
	dst = strconv.AppendUint(dst, uint64(r.Subunit), 10)
	dst = append(dst, `,"function":"`...)
	dst = append(dst, r.Function.String()...)
	dst = append(dst, `","dif_vif":"`...)
	dst = hex.AppendEncode(dst, r.Header)
	return append(dst, `"}`...)
}

// UnitName is the unit's name in the decode JSON: the DLMS symbol with
// ASCII digits for powers ("m3", "m3/h", "Wh", "°C"), "count" for a
// count, "other" for units outside the DLMS table (m³·°C, °F, kg/h), ""
// for none.
func UnitName(u meter.Unit) string {
	switch u {
	case meter.UnitCubicMetre, meter.UnitCubicMetreCor:
		return "m3"
	case meter.UnitCubicMetreH, meter.UnitCubicMetreHC:
		return "m3/h"
	case meter.UnitCubicMetreD, meter.UnitCubicMetreDC:
		return "m3/d"
	case meter.UnitCount:
		return "count"
	case meter.UnitNone:
		return ""
	}
	return u.Symbol()
}

func appendHexByte(dst []byte, b byte) []byte {
	const hexd = "0123456789abcdef"
	return append(dst, hexd[b>>4], hexd[b&15])
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20 || c == 0x7F:
				dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
