package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/app"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// stressEpoch is the time of batch 0 of the stress tool's readings.
var stressEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// stressReading is reading i of batch b of producer p: what the crash
// test expects to find for every acknowledged batch.
func stressReading(p, b, i, k int) meter.Reading {
	return meter.Reading{
		Meter:  meter.MeterID("stress-" + strconv.Itoa(p)),
		OBIS:   meter.OBIS{1, 0, 1, 8, byte(i), 255},
		Time:   stressEpoch.Add(time.Duration(b) * time.Second),
		Value:  meter.V(int64(b*k+i), 0),
		Unit:   meter.UnitWattHour,
		Source: meter.SourceSim,
	}
}

// lineWriter writes whole lines, one Write each, never interleaved.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (l *lineWriter) printf(format string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = fmt.Appendf(l.buf[:0], format, args...)
	_, err := l.w.Write(l.buf)
	return err
}

func (c *cli) cmdStress(ctx context.Context, args []string) int {
	fs := c.flagSet("stress")
	data := fs.String("data", "", "the `directory` of the store (required)")
	producers := fs.Int("producers", 4, "`P` goroutines appending concurrently")
	batch := fs.Int("batch", 16, "`K` readings per append (1…64)")
	batches := fs.Int("batches", 0, "`N` batches per producer; 0 appends until SIGTERM")
	eventsEvery := fs.Int("events-every", 10, "producer 0 logs a system event every `E` batches; 0 for none")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	switch {
	case len(pos) > 0:
		return c.usageErr("stress", "unexpected argument %q", pos[0])
	case *data == "":
		return c.usageErr("stress", "--data DIR is required")
	case *producers < 1:
		return c.usageErr("stress", "--producers %d: want at least 1", *producers)
	case *batch < 1 || *batch > 64:
		return c.usageErr("stress", "--batch %d: want 1…64", *batch)
	case *batches < 0:
		return c.usageErr("stress", "--batches %d: want 0 (forever) or more", *batches)
	case *eventsEvery < 0:
		return c.usageErr("stress", "--events-every %d: want 0 (none) or more", *eventsEvery)
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		return c.fail("stress", err)
	}
	st, err := store.Open(app.DBPath(dir), &store.Options{
		Keys: keys.NewDev(filepath.Join(dir, config.DevKeyFileName), nil),
	})
	if err != nil {
		return c.fail("stress", err)
	}
	err = stress(ctx, st, &lineWriter{w: c.stdout}, *producers, *batch, *batches, *eventsEvery)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return c.fail("stress", err)
	}
	return exitOK
}

// stress runs the producers until they are done or ctx ends (nil then).
func stress(ctx context.Context, st *store.Store, out *lineWriter, producers, k, n, every int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			if err := stressProducer(ctx, st, out, p, k, n, every); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

func stressProducer(ctx context.Context, st *store.Store, out *lineWriter, p, k, n, every int) error {
	rs := make([]meter.Reading, k)
	for b := 0; n == 0 || b < n; b++ {
		if ctx.Err() != nil {
			return nil
		}
		for i := range rs {
			rs[i] = stressReading(p, b, i, k)
		}
		if err := st.Append(ctx, rs...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("producer %d batch %d: %w", p, b, err)
		}
		if err := out.printf("ack %d %d\n", p, b); err != nil {
			return err
		}
		if p == 0 && every > 0 && b%every == every-1 {
			ev, err := st.Log(ctx, store.LogSystem, store.Event{
				Time: time.Now(), Kind: "stress", Message: "batch " + strconv.Itoa(b),
			})
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, context.Canceled) {
					return nil
				}
				return fmt.Errorf("event after batch %d: %w", b, err)
			}
			if err := out.printf("event %d\n", ev.Seq); err != nil {
				return err
			}
		}
	}
	return nil
}
