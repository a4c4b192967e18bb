package dlms

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

// charTime8N1 is one character at 9600 baud, 8N1 (10 bits), as HDLC
// lines run (IEC 62056-46 over an RS-485 or optical port in mode E).
const charTime8N1 = time.Second * 10 / 9600

// BenchmarkProfileDay reads one day of the 4-channel 15-minute load
// profile (96 rows) at 9600 baud over a pty pair paced to the line rate,
// with the largest window and information field (2030 bytes, window 7)
// (and the simulator's largest PDU, 65535, or 1024 with block transfer)
// and with 128-byte frames and window 1, and reports the time per read
// against the physical limit of the bytes on the wire (ratio). The
// "fulltime" cases send every row's date-time (no null-data compression);
// the "turnaround20ms" cases make the meter wait 20 ms before each answer,
// as real meters do, which is where window 1 and small frames cost.
func BenchmarkProfileDay(b *testing.B) {
	for _, c := range []struct {
		name          string
		info, window  uint32
		noCompression bool
		maxPDU        uint16
		turnaround    time.Duration // the meter's reply delay per frame
	}{
		{"info2030-win7-pdu65535", 2030, 7, false, 0xFFFF, 0},
		{"info2030-win7-pdu1024", 2030, 7, false, 1024, 0},
		{"info128-win1-pdu1024", 128, 1, false, 1024, 0},
		{"info2030-win7-pdu65535-fulltime", 2030, 7, true, 0xFFFF, 0},
		{"info128-win1-pdu1024-fulltime", 128, 1, true, 1024, 0},
		{"info2030-win7-pdu65535-turnaround20ms", 2030, 7, false, 0xFFFF, 20 * time.Millisecond},
		{"info128-win1-pdu1024-turnaround20ms", 128, 1, false, 1024, 20 * time.Millisecond},
	} {
		b.Run(c.name, func(b *testing.B) {
			clk := newClock(t0)
			sim := newSim(b, clk, dlmssim.Options{NoCompression: c.noCompression, MaxPDU: c.maxPDU})
			sim.SetDelay(c.turnaround)
			port, relay := pacedLine(b, charTime8N1, sim)
			rec := newRecords()
			m, err := NewLine(port, nil).AddMeter(MeterOptions{ID: "bench", Profile: dlmssim.OBISProfile1, MaxBackfill: 24 * time.Hour,
				MaxInfo: c.info, Window: c.window, Sink: &sink{}, Records: rec, Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// Capture objects, capture period and scalers once (as the
			// driver keeps them).
			if n, err := m.ReadProfile(ctx); err != nil || n != 96 {
				b.Fatalf("%d rows, %v", n, err)
			}
			tx0, rx0 := relay.Bytes()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				rec.mu.Lock()
				rec.m = map[string][]byte{}
				rec.mu.Unlock()
				n, err := m.ReadProfile(ctx)
				if err != nil || n != 96 {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
			el := time.Since(start)
			b.StopTimer()
			tx, rx := relay.Bytes()
			bytes := float64(tx-tx0+rx-rx0) / float64(b.N)
			limit := bytes * charTime8N1.Seconds()
			per := el.Seconds() / float64(b.N)
			b.ReportMetric(per, "s/day")
			b.ReportMetric(bytes, "wirebytes/day")
			b.ReportMetric(limit, "limit-s/day")
			b.ReportMetric(per/limit, "ratio")
		})
	}
}

// BenchmarkPollCycle8 reads the registers (1.8.0, 2.8.0, 1.8.1, 1.8.2,
// power) of 8 meters on one line at 9600 baud 8N1 over a paced pty: one
// full poll cycle per iteration.
func BenchmarkPollCycle8(b *testing.B) {
	clk := newClock(t0)
	var sims []*dlmssim.Meter
	for i := 0; i < 8; i++ {
		sims = append(sims, newSim(b, clk, dlmssim.Options{Server: hdlc.ServerAddress(1, uint16(17+i))}))
	}
	port, relay := pacedLine(b, charTime8N1, sims...)
	l := NewLine(port, nil)
	var ms []*Meter
	regs := []Register{{dlmssim.OBISImport, 3}, {dlmssim.OBISExport, 3}, {dlmssim.OBISImportT1, 3}, {dlmssim.OBISImportT2, 3}, {dlmssim.OBISPower, 3}}
	for i, s := range sims {
		m, err := l.AddMeter(MeterOptions{ID: meter.MeterID(fmt.Sprintf("m%d", i)), Server: s.Address(), Registers: regs, Sink: &sink{}, Now: clk.Now})
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
	}
	ctx := context.Background()
	for _, m := range ms { // scalers once
		if _, err := m.ReadRegisters(ctx); err != nil {
			b.Fatal(err)
		}
	}
	tx0, rx0 := relay.Bytes()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for _, m := range ms {
			if rs, err := m.ReadRegisters(ctx); err != nil || len(rs) != len(regs) {
				b.Fatalf("%v %v", rs, err)
			}
		}
	}
	el := time.Since(start)
	b.StopTimer()
	tx, rx := relay.Bytes()
	bytes := float64(tx-tx0+rx-rx0) / float64(b.N)
	limit := bytes * charTime8N1.Seconds()
	per := el.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/cycle")
	b.ReportMetric(bytes, "wirebytes/cycle")
	b.ReportMetric(limit, "limit-s/cycle")
	b.ReportMetric(per/limit, "ratio")
}
