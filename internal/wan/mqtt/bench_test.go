package mqtt

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/wan/mqtt/mqtttest"
)

var drainN = flag.Int("drain.n", 100_000, "readings queued for BenchmarkBacklogDrain (the issue's figure: 1000000)")

// BenchmarkBacklogDrain queues -drain.n readings (50 meters, one register
// each, a reading a minute) and measures how fast the uplink drains them
// to the local mosquitto over TLS: from Run until the last PUBACK is
// acknowledged in the store. It reports readings/s and the bytes of the
// PUBLISH packets per reading.
func BenchmarkBacklogDrain(b *testing.B) {
	br := mqtttest.Start(b)
	key := testKey(b)
	for range b.N {
		b.StopTimer()
		st := openStore(b)
		for i := 0; i < *drainN; i += 10_000 {
			appendReadings(b, st, 50, i, min(10_000, *drainN-i))
		}
		u, err := New(st, &Options{URL: br.TLSURL(), GatewayID: "gw-bench", TLS: br.ClientTLS(key, "gw-bench"), Signer: key,
			BatchSize: 1000, MaxDelay: 10 * time.Millisecond, Poll: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- u.Run(ctx) }()
		for {
			if _, acked := st.OutboxState("mqtt"); acked == uint64(*drainN) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		s := u.Status()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(*drainN)/took.Seconds(), "readings/s")
		b.ReportMetric(float64(s.BytesTotal)/float64(s.Readings), "wire-bytes/reading")
		b.ReportMetric(float64(s.Published), "messages")
		st.Close()
	}
}

// BenchmarkReconnect measures the time from the broker listening again
// after a restart to the first PUBACK of a reading queued during the
// outage, with a reconnection backoff of 100…200 ms.
func BenchmarkReconnect(b *testing.B) {
	br := mqtttest.Start(b)
	key := testKey(b)
	st := openStore(b)
	u, err := New(st, &Options{URL: br.PlainURL(), GatewayID: "gw-rc", Signer: key, BatchSize: 1,
		MaxDelay: time.Millisecond, Poll: time.Millisecond, BackoffMin: 100 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var total time.Duration
	n := 0
	for range b.N {
		b.StopTimer()
		br.Stop()
		for u.Status().Connected {
			time.Sleep(time.Millisecond)
		}
		appendReadings(b, st, 1, n, 1)
		n++
		br.Start()
		start := time.Now()
		for u.Status().Pending > 0 {
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-to-first-puback")
}
