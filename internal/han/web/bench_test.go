package web

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// durableStore opens a store that fsyncs, as the gateway's does.
func durableStore(b *testing.B) *store.Store {
	st, err := store.Open(filepath.Join(b.TempDir(), "smgw.db"), &store.Options{Keys: keys.Static{Key: testKey}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// streamTimes opens a live stream and sends the arrival time of every
// "reading" event, by its id (the reading's Unix milliseconds).
func streamTimes(b *testing.B, ctx context.Context, url, token string, out chan<- [2]int64) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				n, _ := strconv.ParseInt(id, 10, 64)
				select {
				case out <- [2]int64{n, time.Now().UnixNano()}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkAppendToEvent measures the latency from store.Append (durable,
// fsynced) to the event's arrival at a client of the live stream over
// loopback TCP: the HAN live latency budget (p99 < 50 ms).
func BenchmarkAppendToEvent(b *testing.B) {
	st := durableStore(b)
	e := start(b, st, func(o *Options) { o.Now = time.Now })
	tok := e.pair()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan [2]int64, 16)
	streamTimes(b, ctx, e.base+"/api/v1/live", tok, got)
	time.Sleep(100 * time.Millisecond) // the stream is open
	base := time.Now().Truncate(time.Second)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		at := base.Add(time.Duration(i) * time.Millisecond)
		t0 := time.Now()
		if err := st.Append(ctx, reading("m1", meter.OBISActivePowerImport, at, int64(i), meter.UnitWatt)); err != nil {
			b.Fatal(err)
		}
		for ev := range got {
			if ev[0] == at.UnixMilli() {
				lat = append(lat, time.Duration(ev[1]-t0.UnixNano()))
				break
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

func rssKiB(b *testing.B) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// Benchmark100Streams holds 100 live streams open (clients in the same
// process) and delivers each appended reading to all of them: the RSS
// growth of the process (server and clients) for the 100 streams, and the
// latency from Append to the last of the 100 arrivals.
func Benchmark100Streams(b *testing.B) {
	const clients = 100
	st := durableStore(b)
	e := start(b, st, func(o *Options) { o.Now = time.Now; o.RatePerMinute, o.Burst = 60000, 10000 })
	tok := e.pair()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := rssKiB(b)
	chans := make([]chan [2]int64, clients)
	for i := range chans {
		chans[i] = make(chan [2]int64, 16)
		streamTimes(b, ctx, e.base+"/api/v1/live", tok, chans[i])
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		e.svc.hub.mu.Lock()
		n := len(e.svc.hub.streams)
		e.svc.hub.mu.Unlock()
		if n == clients {
			break
		}
	}
	open := rssKiB(b)
	base := time.Now().Truncate(time.Second)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		at := base.Add(time.Duration(i) * time.Millisecond)
		t0 := time.Now()
		if err := st.Append(ctx, reading("m1", meter.OBISActivePowerImport, at, int64(i), meter.UnitWatt)); err != nil {
			b.Fatal(err)
		}
		var last int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, ch := range chans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ev := range ch {
					if ev[0] == at.UnixMilli() {
						mu.Lock()
						last = max(last, ev[1])
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		lat = append(lat, time.Duration(last-t0.UnixNano()))
	}
	b.StopTimer()
	after := rssKiB(b)
	b.ReportMetric(float64(open-before), "rss-KiB-for-100-streams")
	b.ReportMetric(float64(after-before), "rss-KiB-growth-total")
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-all-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-all-ms")
}

// BenchmarkPageWeight reports the page's weight (HTML, script,
// stylesheet, icon), raw and gzipped.
func BenchmarkPageWeight(b *testing.B) {
	var raw, gz int
	for range b.N {
		raw, gz = PageWeight()
	}
	b.ReportMetric(float64(raw), "raw-bytes")
	b.ReportMetric(float64(gz), "gzip-bytes")
}

// BenchmarkFirstRender loads the page in headless chromium (the demo
// mode, over a store with a day of readings) and reports the browser's
// first contentful paint and the time until live power is shown.
func BenchmarkFirstRender(b *testing.B) {
	e := start(b, nil, func(o *Options) { o.Demo = true })
	now := time.Now().UTC().Truncate(time.Minute)
	e.clk.Add(now.Sub(e.clk.Now()))
	seed(b, e.st, now.Add(-26*time.Hour), now, "elec-1")
	ctx, cancel := newBrowser(b, 5*time.Minute, 800, 480)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	var fcp, power []float64
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.base+"/"),
			chromedp.Poll[chromedp.Void](`document.getElementById("power").textContent === "400"`, chromedp.WithPollingTimeout(30*time.Second)),
		); err != nil {
			b.Fatal(err)
		}
		power = append(power, float64(time.Since(t0).Microseconds())/1000)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime`))
		if err != nil {
			b.Fatal(err)
		}
		fcp = append(fcp, v)
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	med := func(xs []float64) float64 { s := slices.Clone(xs); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(fcp), "fcp-ms")
	b.ReportMetric(med(power), "live-power-shown-ms")
}
