package dlms

import (
	"context"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// ObjectInfo is one entry of an association's object list.
type ObjectInfo struct {
	Class   uint16
	Version uint8
	OBIS    meter.OBIS
}

// ReadObjectList reads the association's object_list (class 15,
// attribute 2) in an open association.
func ReadObjectList(ctx context.Context, c *Client) ([]ObjectInfo, error) {
	d, err := c.Get(ctx, attr(15, OBISAssociation, 2), nil)
	if err != nil {
		return nil, err
	}
	var out []ObjectInfo
	for i, it := range d.Items() {
		f := it.Items()
		if len(f) < 3 {
			return nil, protoErr("object-list", fmt.Errorf("dlms: object list entry %d: %v", i+1, it))
		}
		class, ok1 := f[0].Uint()
		ver, ok2 := f[1].Uint()
		ln := f[2].Bytes()
		if !ok1 || !ok2 || len(ln) != 6 || class > 0xFFFF || ver > 0xFF {
			return nil, protoErr("object-list", fmt.Errorf("dlms: object list entry %d: %v", i+1, it))
		}
		var o meter.OBIS
		copy(o[:], ln)
		out = append(out, ObjectInfo{Class: uint16(class), Version: uint8(ver), OBIS: o})
	}
	return out, nil
}

// helper returns a Meter that is not on a line, to use the register and
// profile reading in an association opened by the caller.
func helper(id meter.MeterID, profile meter.OBIS) *Meter {
	if id == "" {
		id = "probe"
	}
	return &Meter{o: MeterOptions{ID: id, Profile: profile, Now: time.Now}, sus: map[meter.OBIS]dlms.ScalerUnit{},
		l: &Line{runner: bus.NewRunner(nil, nil)}}
}

// ReadRegister reads one register (value and scaler_unit) in an open
// association.
func ReadRegister(ctx context.Context, c *Client, id meter.MeterID, r Register) (meter.Reading, error) {
	return helper(id, meter.OBIS{}).readRegister(ctx, c, r)
}

// ProfileRange is what ReadProfileRange read.
type ProfileRange struct {
	Columns  []dlms.CaptureObject
	Period   time.Duration
	Entries  int
	Readings []meter.Reading
}

// ReadProfileRange reads a profile's capture objects, capture period and
// the entries from…to (range selective access) in an open association.
func ReadProfileRange(ctx context.Context, c *Client, id meter.MeterID, profile meter.OBIS, from, to time.Time) (ProfileRange, error) {
	m := helper(id, profile)
	var pr ProfileRange
	if err := m.profileColumns(ctx, c); err != nil {
		return pr, err
	}
	for _, col := range m.cols {
		pr.Columns = append(pr.Columns, col.obj)
	}
	pr.Period = m.per
	rd := dlms.RangeDescriptor{
		Restricting: dlms.CaptureObject{Class: 8, Instance: OBISClock, Attribute: 2},
		From:        dlms.DateTimeOf(from.UTC(), false).Octets(),
		To:          dlms.DateTimeOf(to.UTC(), false).Octets(),
	}
	d, err := c.Get(ctx, attr(7, profile, 2), rd.Access())
	if err != nil {
		return pr, err
	}
	rs, _, n, err := m.profileReadings(d.Items(), time.Time{})
	pr.Readings, pr.Entries = rs, n
	return pr, err
}
