package zigbee

import (
	"time"

	"github.com/smgw/smgw/internal/proto/zcl"
)

// The Time cluster: the ESI is the network's time master (ZCL 3.12). The
// time zone and daylight-saving rules come from Options.Location; DstStart
// and DstEnd are this calendar year's transitions, 0xffffffff when the
// zone keeps no daylight-saving time.

// dstRules returns the standard offset, the DST shift and this year's
// transitions into and out of DST (zero times without DST).
func dstRules(loc *time.Location, year int) (std, shift int, start, end time.Time) {
	jan := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	jul := time.Date(year, 7, 1, 0, 0, 0, 0, loc)
	_, oj := jan.Zone()
	_, ol := jul.Zone()
	std, shift = min(oj, ol), max(oj, ol)-min(oj, ol)
	if shift == 0 {
		return std, 0, time.Time{}, time.Time{}
	}
	// Walk the year a day at a time, then bisect to the second.
	for d := jan; d.Year() == year; d = d.Add(24 * time.Hour) {
		n := d.Add(24 * time.Hour)
		_, a := d.Zone()
		_, b := n.Zone()
		if a == b {
			continue
		}
		lo, hi := d, n
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2)
			if _, m := mid.Zone(); m == a {
				lo = mid
			} else {
				hi = mid
			}
		}
		if b > a {
			start = hi.Truncate(time.Second)
		} else {
			end = hi.Truncate(time.Second)
		}
	}
	return std, shift, start, end
}

func (s *Service) timeAttr(id uint16) (zcl.Value, bool) {
	now := s.o.Now()
	std, shift, start, end := dstRules(s.loc, now.In(s.loc).Year())
	_, off := now.In(s.loc).Zone()
	utc := zcl.UTCTime(now)
	switch id {
	case zcl.TimeTime:
		return zcl.Uint(zcl.TypeUTC, uint64(utc)), true
	case zcl.TimeStatus:
		st := zcl.TimeStatusMaster | zcl.TimeStatusMasterZone
		if s.o.Synced() {
			st |= zcl.TimeStatusSynced
		}
		return zcl.Uint(zcl.TypeBitmap8, uint64(st)), true
	case zcl.TimeZone:
		return zcl.Int(zcl.TypeInt32, int64(std)), true
	case zcl.TimeDstStart:
		if start.IsZero() {
			return zcl.Invalid(zcl.TypeUint32), true
		}
		return zcl.Uint(zcl.TypeUint32, uint64(zcl.UTCTime(start))), true
	case zcl.TimeDstEnd:
		if end.IsZero() {
			return zcl.Invalid(zcl.TypeUint32), true
		}
		return zcl.Uint(zcl.TypeUint32, uint64(zcl.UTCTime(end))), true
	case zcl.TimeDstShift:
		return zcl.Int(zcl.TypeInt32, int64(shift)), true
	case zcl.TimeStandardTime:
		return zcl.Uint(zcl.TypeUint32, uint64(int64(utc)+int64(std))), true
	case zcl.TimeLocalTime:
		return zcl.Uint(zcl.TypeUint32, uint64(int64(utc)+int64(off))), true
	case zcl.TimeLastSetTime, zcl.TimeValidUntil:
		return zcl.Invalid(zcl.TypeUTC), true
	}
	return zcl.Value{}, false
}
