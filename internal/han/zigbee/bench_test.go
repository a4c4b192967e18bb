package zigbee

import (
	"context"
	"slices"
	"testing"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
)

// reportWatcher returns a device handler that passes the value of every
// reported CurrentSummationDelivered to c.
func reportWatcher(c chan<- uint64) func(hal.Frame) [][]byte {
	return func(in hal.Frame) [][]byte {
		f, err := zcl.ParseFrame(in.Payload)
		if err != nil || f.Command != zcl.CmdReportAttributes || f.Type != zcl.FrameGlobal {
			return nil
		}
		recs, _ := zcl.ParseAttrValues(f.Payload)
		for _, r := range recs {
			if r.ID == zcl.MeterCurrentSummationDelivered {
				select {
				case c <- r.Value.U:
				default:
				}
			}
		}
		return nil
	}
}

// measure appends b.N register readings and reports the latency from
// the Append call to the report's arrival (p50, p99).
func measure(b *testing.B, appendReading func(v int64), got <-chan uint64) {
	lat := make([]time.Duration, 0, b.N)
	v := int64(20_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v += 10
		start := time.Now()
		appendReading(v)
		for w := range got {
			if w == uint64(v) {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkReportLatencyNCP: store Append → Report Attributes frame
// handed to the NCP interface (an in-memory NCP).
func BenchmarkReportLatencyNCP(b *testing.B) {
	st := openStore(b)
	ncp := newFakeNCP()
	svc, err := New(st, &Options{NCP: ncp, Network: testNet, Meters: []Meter{{ID: elec}}, Tick: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done; svc.Close(); ncp.Close() }()
	got := make(chan uint64, 16)
	ncp.join(ihdEUI, ihdNWK, reportWatcher(got))
	cfg, _ := zcl.AppendConfigureReporting(nil, []zcl.ReportingConfig{{ID: zcl.MeterCurrentSummationDelivered, Type: zcl.TypeUint48, MaxInterval: 3600, Change: zcl.Uint(zcl.TypeUint48, 1)}})
	ncp.deliver(ihdNWK, 1, 1, zcl.ClusterMetering, zcl.AppendFrame(nil, zcl.Frame{Header: zcl.Header{Seq: 1, Command: zcl.CmdConfigureReporting}, Payload: cfg}))
	<-got // the first report (no value yet: invalid)
	at := time.Now()
	measure(b, func(v int64) {
		at = at.Add(time.Second)
		if err := st.Append(context.Background(), meter.Reading{Meter: elec, OBIS: meter.MustOBIS("1-0:1.8.0"), Time: at, Value: meter.V(v, 0), Unit: meter.UnitWattHour}); err != nil {
			b.Fatal(err)
		}
	}, got)
}

// BenchmarkReportLatencySim: store Append → Report Attributes frame at
// the simulated display, through the ZNP driver, the pty and the
// simulated co-processor (AF_DATA_REQUEST, AF_DATA_CONFIRM, delivery).
func BenchmarkReportLatencySim(b *testing.B) {
	r := startSimRig(b, nil)
	got := make(chan uint64, 16)
	code := testInstallCode()
	if err := r.svc.Permit(context.Background(), ihdEUI, code, time.Minute); err != nil {
		b.Fatal(err)
	}
	if err := r.sim.AddDevice(ihdEUI, code, 1, reportWatcher(got)); err != nil {
		b.Fatal(err)
	}
	for i := 0; len(r.svc.Devices()) == 0; i++ {
		if i > 1000 {
			b.Fatal("the device did not join")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cfg, _ := zcl.AppendConfigureReporting(nil, []zcl.ReportingConfig{{ID: zcl.MeterCurrentSummationDelivered, Type: zcl.TypeUint48, MaxInterval: 3600, Change: zcl.Uint(zcl.TypeUint48, 1)}})
	if err := r.sim.Deliver(ihdEUI, 1, 1, zcl.ClusterMetering, zcl.AppendFrame(nil, zcl.Frame{Header: zcl.Header{Seq: 1, Command: zcl.CmdConfigureReporting}, Payload: cfg})); err != nil {
		b.Fatal(err)
	}
	<-got
	at := t0
	measure(b, func(v int64) {
		at = at.Add(time.Second)
		if err := r.st.Append(context.Background(), meter.Reading{Meter: elec, OBIS: meter.MustOBIS("1-0:1.8.0"), Time: at, Value: meter.V(v, 0), Unit: meter.UnitWattHour}); err != nil {
			b.Fatal(err)
		}
	}, got)
}
