package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	"github.com/smgw/smgw/internal/meter"
	mb "github.com/smgw/smgw/internal/proto/modbus"
	"github.com/smgw/smgw/internal/testutil/ptypace"
)

// fakeMeters answers RTU requests on a port from an image, as fast as it
// can: the benchmark's far end (the line's pace comes from the relay).
type fakeMeters struct {
	port serial.Port
	img  image
	wg   sync.WaitGroup
}

func startFakeMeters(port serial.Port, img image) *fakeMeters {
	f := &fakeMeters{port: port, img: img}
	f.wg.Add(1)
	go f.run()
	return f
}

func (f *fakeMeters) run() {
	defer f.wg.Done()
	var buf []byte
	rx := make([]byte, 512)
	for {
		f.port.SetReadDeadline(time.Time{})
		n, err := f.port.Read(rx)
		if err != nil {
			if errors.Is(err, serial.ErrClosed) {
				return
			}
			continue
		}
		buf = append(buf, rx[:n]...)
		for len(buf) > 0 {
			k, err := mb.SplitRTURequest(buf)
			if err != nil {
				buf = buf[:0]
				break
			}
			if k == 0 {
				break
			}
			unit, pdu, _ := mb.ParseRTU(buf[:k])
			buf = append(buf[:0], buf[k:]...)
			req, err := mb.ParseRequest(pdu)
			tables, ok := f.img[unit]
			if err != nil || !ok {
				continue
			}
			var out []byte
			table := tables["holding"]
			if req.Function == mb.FuncReadInput {
				table = tables["input"]
			}
			data := make([]byte, 0, 2*req.Quantity)
			for a := int(req.Address); a < int(req.Address)+int(req.Quantity); a++ {
				data = binary.BigEndian.AppendUint16(data, table[strconv.Itoa(a)])
			}
			resp, err := mb.AppendResponse(nil, mb.Response{Function: req.Function, Data: data})
			if err != nil {
				resp = mb.AppendException(nil, req.Function, mb.ExIllegalDataAddress)
			}
			out = mb.AppendRTU(out, unit, resp)
			f.port.Write(out)
		}
	}
}

func (f *fakeMeters) close() { f.port.Close(); f.wg.Wait() }

// benchPollCycle polls 8 meters of profile p at 9600 baud with bits per
// character (10: 8N1, 11: 8E1) over a line of ptys paced to the line
// rate (internal/testutil/ptypace), and reports the cycle time against
// the physical limit: the bytes on the wire at bits each (ratio), and that
// plus the t3.5 silence before every request (ratio-gaps).
func benchPollCycle(b *testing.B, p *profile.Profile, bits int) {
	const baud = 9600
	line := ptypace.New(b, mb.CharTime(baud, bits))
	img := image{}
	for u := byte(1); u <= 8; u++ {
		img.Fill(b, u, p, int(u))
	}
	parity := serial.ParityEven
	if bits == 10 {
		parity = serial.ParityNone
	}
	open := func(name string) *serial.SerialPort {
		port, err := serial.Open(&serial.Config{Name: name, Baud: baud, Parity: parity})
		if err != nil {
			b.Fatal(err)
		}
		return port
	}
	fm := startFakeMeters(open(line.Peer), img)
	defer fm.close()
	port := open(line.Driver)
	defer port.Close()
	c, err := NewClient(port, &ClientOptions{Baud: baud, CharBits: bits, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	bus, _ := NewBus(c, nil)
	sink := &discardSink{}
	for u := byte(1); u <= 8; u++ {
		if err := bus.AddMeter(MeterOptions{ID: meter.MeterID("m" + strconv.Itoa(int(u))), Unit: u, Profile: p, Sink: sink}); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := bus.PollOnce(ctx); err != nil { // warm up
		b.Fatal(err)
	}
	tx0, rx0 := c.WireBytes()
	var elapsed time.Duration
	cycles := 0
	for b.Loop() {
		start := time.Now()
		if err := bus.PollOnce(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		cycles++
	}
	tx, rx := c.WireBytes()
	faults := uint64(0)
	for _, s := range bus.Stats() {
		if s.Requests != s.Responses {
			// A starved machine can stall the relay past the timeout:
			// reported, not fatal (the figure is then not a line figure).
			b.Logf("faults during the benchmark: %s", fmtStats(s))
			faults += s.Requests - s.Responses
		}
	}
	requests := 0
	for _, n := range bus.Batches() {
		requests += n
	}
	bytesPerCycle := float64(tx-tx0+rx-rx0) / float64(cycles)
	limit := float64(mb.WireTime(int(bytesPerCycle), baud, bits))
	gaps := float64(requests) * float64(mb.InterFrameDelay(baud, bits))
	perCycle := float64(elapsed) / float64(cycles)
	b.ReportMetric(perCycle/1e6, "ms/cycle")
	b.ReportMetric(limit/1e6, "limit-ms")
	b.ReportMetric(perCycle/limit, "ratio")
	b.ReportMetric(perCycle/(limit+gaps), "ratio-gaps")
	b.ReportMetric(bytesPerCycle, "bytes/cycle")
	b.ReportMetric(float64(requests), "requests/cycle")
	b.ReportMetric(float64(faults)/float64(cycles), "faults/cycle")
}

type discardSink struct{}

func (discardSink) Append(context.Context, ...meter.Reading) error { return nil }
func (discardSink) Live(...meter.Reading)                          {}

// BenchmarkPollCycle8SDM630 polls 8 SDM630 (shipped profile: 9 requests
// each, contiguous registers only), at 8E1 (the SDM630's default) and
// 8N1.
func BenchmarkPollCycle8SDM630(b *testing.B) {
	b.Run("8E1", func(b *testing.B) { benchPollCycle(b, mustProfile(b, "sdm630"), 11) })
	b.Run("8N1", func(b *testing.B) { benchPollCycle(b, mustProfile(b, "sdm630"), 10) })
}

// BenchmarkPollCycle8SDM630Gap16 polls 8 SDM630 with max_gap = 16 (3
// requests each: one of 80 registers).
func BenchmarkPollCycle8SDM630Gap16(b *testing.B) {
	p := *mustProfile(b, "sdm630")
	p.MaxGap = 16
	b.Run("8E1", func(b *testing.B) { benchPollCycle(b, &p, 11) })
	b.Run("8N1", func(b *testing.B) { benchPollCycle(b, &p, 10) })
}

// BenchmarkDecodeBatch decodes one 80-register SDM630 response into
// readings (the driver's per-response CPU cost).
func BenchmarkDecodeBatch(b *testing.B) {
	p := *mustProfile(b, "sdm630")
	bt := Plan(p.Registers, 125, 16)[0]
	data := make([]byte, 2*bt.Count)
	m := &busMeter{opts: MeterOptions{ID: "m", Profile: &p}, stats: Stats{}}
	var rs []meter.Reading
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		rs = m.decode(bt, mb.Response{Function: 4, Data: data}, at, rs[:0])
	}
}
