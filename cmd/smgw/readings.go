package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// readingsQuery builds the store query from the readings flags.
func readingsQuery(meterID, obis, from, to string, limit int, now time.Time, loc *time.Location) (store.Query, error) {
	var q store.Query
	if meterID != "" {
		id := meter.MeterID(meterID)
		if err := id.Validate(); err != nil {
			return q, fmt.Errorf("--meter: %w", err)
		}
		q.Meter = id
	}
	if obis != "" {
		o, err := meter.ParseOBIS(obis)
		if err != nil {
			return q, fmt.Errorf("--obis: %w", err)
		}
		q.OBIS = o
	}
	var err error
	if from != "" {
		if q.From, err = parseTime(from, now, loc); err != nil {
			return q, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if q.To, err = parseTime(to, now, loc); err != nil {
			return q, fmt.Errorf("--to: %w", err)
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, fmt.Errorf("--to %s is not after --from %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	if limit < 0 {
		return q, fmt.Errorf("--limit %d: want 0 (no limit) or more", limit)
	}
	q.Limit = limit
	return q, nil
}

func (c *cli) cmdReadings(ctx context.Context, args []string) int {
	fs := c.flagSet("readings")
	var sf storeFlags
	sf.register(fs)
	meterID := fs.String("meter", "", "only the meter with this `id`")
	obis := fs.String("obis", "", "only this quantity (`OBIS` code, e.g. 1-0:1.8.0)")
	from := fs.String("from", "", "readings from this `time` on (inclusive): RFC 3339, a date 2026-11-21, or relative -24h, -7d")
	to := fs.String("to", "", "readings before this `time` (exclusive), as --from")
	limit := fs.Int("limit", 0, "print at most `N` readings (0: all)")
	format := fs.String("format", "table", "output `format`: table, json (one object per line) or csv")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr("readings", "unexpected argument %q", pos[0])
	}
	if !checkFormat(*format, "table", "json", "csv") {
		return c.usageErr("readings", "--format %q: want table, json or csv", *format)
	}
	q, err := readingsQuery(*meterID, *obis, *from, *to, *limit, c.now(), time.Local)
	if err != nil {
		return c.usageErr("readings", "%v", err)
	}
	loc, err := sf.locate()
	if err != nil {
		return c.storeErr("readings", err)
	}
	r, closeFn, err := loc.open(ctx)
	if err != nil {
		return c.storeErr("readings", err)
	}
	defer closeFn()

	w := bufio.NewWriterSize(c.stdout, 64<<10)
	var rw readingWriter
	switch *format {
	case "json":
		rw = &jsonReadings{w: w}
	case "csv":
		rw = newCSVReadings(w)
	default:
		ms, err := r.Meters(ctx)
		if err != nil {
			return c.fail("readings", err)
		}
		rw = newTableReadings(w, ms)
	}
	err = r.Query(ctx, q, rw.write)
	if ferr := rw.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return c.fail("readings", err)
	}
	return exitOK
}

// readingWriter prints readings one at a time, as the query streams them.
type readingWriter interface {
	write(meter.Reading) error
	flush() error
}

type jsonReadings struct {
	w   *bufio.Writer
	buf []byte
}

func (j *jsonReadings) write(r meter.Reading) error {
	j.buf = ctl.EncodeReadingJSON(j.buf[:0], r)
	j.buf = append(j.buf, '\n')
	_, err := j.w.Write(j.buf)
	return err
}

func (j *jsonReadings) flush() error { return j.w.Flush() }

type csvReadings struct {
	w      *bufio.Writer
	cw     *csv.Writer
	rec    []string
	header bool
}

func newCSVReadings(w *bufio.Writer) *csvReadings {
	return &csvReadings{w: w, cw: csv.NewWriter(w), rec: make([]string, 7)}
}

func (c *csvReadings) write(r meter.Reading) error {
	if !c.header {
		c.header = true
		if err := c.cw.Write([]string{"meter", "obis", "time", "value", "unit", "quality", "source"}); err != nil {
			return err
		}
	}
	c.rec[0] = string(r.Meter)
	c.rec[1] = r.OBIS.String()
	c.rec[2] = r.Time.UTC().Format(time.RFC3339Nano)
	c.rec[3] = r.Value.String()
	c.rec[4] = r.Unit.Symbol()
	c.rec[5] = r.Quality.String()
	c.rec[6] = r.Source.String()
	return c.cw.Write(c.rec)
}

func (c *csvReadings) flush() error {
	if !c.header { // the header even for no readings
		c.header = true
		c.cw.Write([]string{"meter", "obis", "time", "value", "unit", "quality", "source"})
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.w.Flush()
}

// tableReadings prints aligned columns without buffering the readings:
// the widths of the meter, OBIS and value columns come from the meter list
// (a wider value than any latest one shifts its line, nothing more).
type tableReadings struct {
	w                   *bufio.Writer
	wMeter, wOBIS, wVal int
	buf                 []byte
	n                   int
}

func newTableReadings(w *bufio.Writer, ms []store.MeterInfo) *tableReadings {
	t := &tableReadings{w: w, wMeter: len("METER"), wOBIS: len("OBIS"), wVal: 12}
	for _, m := range ms {
		t.wMeter = max(t.wMeter, len(m.ID))
		for _, s := range m.Series {
			t.wOBIS = max(t.wOBIS, len(s.OBIS.String()))
			t.wVal = max(t.wVal, len(s.Latest.Value.String())+2)
		}
	}
	return t
}

func pad(dst []byte, s string, width int, right bool) []byte {
	n := width - len([]rune(s))
	if right {
		for ; n > 0; n-- {
			dst = append(dst, ' ')
		}
		return append(dst, s...)
	}
	dst = append(dst, s...)
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	return dst
}

func (t *tableReadings) line(meterID, obis, tm, val, unit, quality, source string) error {
	b := t.buf[:0]
	b = pad(b, meterID, t.wMeter, false)
	b = append(b, "  "...)
	b = pad(b, obis, t.wOBIS, false)
	b = append(b, "  "...)
	b = pad(b, tm, len(time.RFC3339)-5, false) // "2006-01-02T15:04:05Z"
	b = append(b, "  "...)
	b = pad(b, val, t.wVal, true)
	b = append(b, ' ')
	b = pad(b, unit, 5, false)
	b = append(b, "  "...)
	b = pad(b, quality, 10, false)
	b = append(b, "  "...)
	b = append(b, source...)
	b = append(b, '\n')
	t.buf = b
	_, err := t.w.Write(b)
	return err
}

func (t *tableReadings) write(r meter.Reading) error {
	if t.n == 0 {
		if err := t.line("METER", "OBIS", "TIME", "VALUE", "UNIT", "QUALITY", "SOURCE"); err != nil {
			return err
		}
	}
	t.n++
	return t.line(string(r.Meter), r.OBIS.String(), fmtTableTime(r.Time), r.Value.String(),
		r.Unit.Symbol(), r.Quality.String(), r.Source.String())
}

func (t *tableReadings) flush() error {
	if t.n == 0 {
		fmt.Fprintln(t.w, "no readings")
	}
	return t.w.Flush()
}

// fmtTableTime is RFC 3339 in UTC, with fractions only when there are any.
func fmtTableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
