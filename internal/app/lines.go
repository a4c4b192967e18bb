package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// lineProgress is an RS-485 line service's progress clock, the Last of
// its watchdog probe: the service's loop ticks it, and so does every
// reading its meters deliver (lineSink).
type lineProgress struct {
	now      func() time.Time
	progress atomic.Int64
}

func (p *lineProgress) tick() { p.progress.Store(p.now().UnixNano()) }

// Progress is when the line last made progress.
func (p *lineProgress) Progress() time.Time { return time.Unix(0, p.progress.Load()) }

// lineSink hands a line's readings to the ingest pipeline and ticks the
// line's progress.
type lineSink struct {
	in *Ingest
	p  *lineProgress
}

func (d lineSink) Append(ctx context.Context, rs ...meter.Reading) error {
	err := d.in.Append(ctx, rs...)
	d.p.tick()
	return err
}

func (d lineSink) Live(rs ...meter.Reading) {
	d.in.Live(rs...)
	d.p.tick()
}
