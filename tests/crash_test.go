package tests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// The workload of `smgw stress`: producer p, batch b, reading i in 0..K-1
// is meter "stress-<p>", OBIS 1-0:1.8.<i>*255, time stressEpoch + b seconds,
// value b*K+i Wh.
var stressEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	crashRounds    = 24 // the issue asks for at least 20
	crashProducers = 4
	crashBatch     = 8  // K: readings per batch
	crashEvents    = 16 // producer 0 logs an event every this many batches
)

// batchID is one acknowledged batch: producer p, batch b.
type batchID struct{ p, b int }

// acks is what the stress runs acknowledged: the batches and event
// sequence numbers whose append returned.
type acks struct {
	batches map[batchID]bool
	events  map[uint64]bool
}

// crashRound runs `smgw stress` on dir, kills it with SIGKILL after delay,
// and adds what it acknowledged to a. It fails the test if the process
// ended before it was killed (it cannot open the store, say).
func crashRound(t *testing.T, dir string, delay time.Duration, a *acks) (batches, events int) {
	t.Helper()
	args := []string{"stress", "--data", dir,
		"--producers", strconv.Itoa(crashProducers), "--batch", strconv.Itoa(crashBatch),
		"--batches", "0", "--events-every", strconv.Itoa(crashEvents)}
	cmd := exec.Command(binary(t), args...)
	cmd.Env = testEnv()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	type line struct {
		text string
		err  error
	}
	lines := make(chan line, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(stdout)
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				// A fragment without its newline was cut by the kill; the
				// line is not complete, so it acknowledges nothing.
				if !errors.Is(err, io.EOF) {
					lines <- line{err: err}
				}
				return
			}
			lines <- line{text: strings.TrimSuffix(s, "\n")}
		}
	}()

	timer := time.NewTimer(delay)
	defer timer.Stop()
	killed := false
	var roundBatches []batchID
	var roundEvents []uint64
	for lines != nil {
		select {
		case <-timer.C:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v", err)
			}
			killed = true
		case l, ok := <-lines:
			if !ok {
				lines = nil
				break
			}
			if l.err != nil {
				t.Fatalf("reading stress output: %v", l.err)
			}
			f := strings.Fields(l.text)
			switch {
			case len(f) == 3 && f[0] == "ack":
				p, err1 := strconv.Atoi(f[1])
				b, err2 := strconv.Atoi(f[2])
				if err1 != nil || err2 != nil || p < 0 || p >= crashProducers || b < 0 {
					t.Fatalf("stress printed a malformed ack line %q", l.text)
				}
				roundBatches = append(roundBatches, batchID{p, b})
			case len(f) == 2 && f[0] == "event":
				seq, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatalf("stress printed a malformed event line %q", l.text)
				}
				roundEvents = append(roundEvents, seq)
			}
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("smgw %s ended by itself before it was killed (%v) after %d acks\nstderr:\n%s",
			strings.Join(args, " "), err, len(roundBatches), clip(stderr.String()))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("smgw stress: wait: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("smgw stress ended with %v, not by the SIGKILL\nstderr:\n%s", err, clip(stderr.String()))
	}
	for _, id := range roundBatches {
		a.batches[id] = true
	}
	for _, seq := range roundEvents {
		a.events[seq] = true
	}
	return len(roundBatches), len(roundEvents)
}

// verifyAcks checks with the real binary that every acknowledged batch and
// event is in the store of dir, that every stress reading there has the
// value its position implies (no torn or misplaced data), and that the
// system log's chain verifies.
func verifyAcks(t *testing.T, dir string, a *acks) {
	t.Helper()
	r := mustSmgw(t, 60*time.Second, "readings", "--data", dir, "--format", "json")
	type key struct {
		meter string
		obis  meter.OBIS
		t     int64
	}
	got := map[key]meter.Value{}
	present := map[batchID]int{} // readings seen per batch
	for _, rd := range parseReadings(t, r.stdout) {
		got[key{rd.Meter, rd.OBIS, rd.Time.Unix()}] = rd.Value
		ps, ok := strings.CutPrefix(rd.Meter, "stress-")
		if !ok {
			continue
		}
		p, err := strconv.Atoi(ps)
		off := rd.Time.Sub(stressEpoch)
		i := int(rd.OBIS[4])
		wantOBIS := meter.MustOBIS(fmt.Sprintf("1-0:1.8.%d*255", i))
		if err != nil || p < 0 || p >= crashProducers || off < 0 || off%time.Second != 0 || rd.OBIS != wantOBIS || i >= crashBatch {
			t.Errorf("store holds a reading the stress workload never wrote: %s %s %s %s",
				rd.Meter, rd.OBIS, rd.Time.Format(time.RFC3339Nano), rd.Value)
			continue
		}
		b := int(off / time.Second)
		if want := meter.V(int64(b*crashBatch+i), 0); rd.Value.Cmp(want) != 0 {
			t.Errorf("%s %s at %s: value %s, want %s", rd.Meter, rd.OBIS, rd.Time.Format(time.RFC3339), rd.Value, want)
		}
		if rd.Unit != "" && rd.Unit != "Wh" {
			t.Errorf("%s %s at %s: unit %q, want Wh", rd.Meter, rd.OBIS, rd.Time.Format(time.RFC3339), rd.Unit)
		}
		present[batchID{p, b}]++
	}

	ids := make([]batchID, 0, len(a.batches))
	for id := range a.batches {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y batchID) int {
		if x.p != y.p {
			return x.p - y.p
		}
		return x.b - y.b
	})
	missing := 0
	for _, id := range ids {
		for i := range crashBatch {
			k := key{fmt.Sprintf("stress-%d", id.p), meter.MustOBIS(fmt.Sprintf("1-0:1.8.%d*255", i)),
				stressEpoch.Add(time.Duration(id.b) * time.Second).Unix()}
			if _, ok := got[k]; !ok {
				missing++
				if missing <= 10 {
					t.Errorf("acknowledged reading lost: producer %d batch %d reading %d (%s %s %s)",
						id.p, id.b, i, k.meter, k.obis, time.Unix(k.t, 0).UTC().Format(time.RFC3339))
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged readings lost of %d", missing, len(ids)*crashBatch)
	}
	// A batch is one Append: after a crash it is there whole or not at all.
	for id, n := range present {
		if n != crashBatch {
			t.Errorf("producer %d batch %d is torn: %d of %d readings stored", id.p, id.b, n, crashBatch)
		}
	}

	mustSmgw(t, 60*time.Second, "log", "system", "--verify", "--data", dir)
	lr := mustSmgw(t, 60*time.Second, "log", "system", "--format", "json", "--data", dir)
	seqs := eventSeqs(t, lr.stdout)
	var lost []uint64
	for seq := range a.events {
		if !seqs[seq] {
			lost = append(lost, seq)
		}
	}
	slices.Sort(lost)
	if len(lost) > 0 {
		t.Errorf("acknowledged system-log events lost: seq %v", lost)
	}
	t.Logf("verified: %d acknowledged batches (%d readings, %d in the store), %d acknowledged events",
		len(a.batches), len(a.batches)*crashBatch, len(got), len(a.events))
}

// TestCrashKill9 is the store's crash test: kill -9 at any moment loses no
// reading whose Append returned, and the database opens cleanly afterwards
// (each round's stress run opens it after the previous round's kill; the
// CLI opens it read-only to verify). The kill points are drawn from a
// seeded PRNG; set SMGW_CRASH_SEED to repeat a run's delays.
func TestCrashKill9(t *testing.T) {
	binary(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SMGW_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SMGW_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (SMGW_CRASH_SEED=%d repeats these kill delays)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x736d6777))

	dir := t.TempDir()
	a := &acks{batches: map[batchID]bool{}, events: map[uint64]bool{}}
	start := time.Now()
	for round := 1; round <= crashRounds; round++ {
		// One round in five is killed very early, while the binary starts
		// and opens (or recovers) the database.
		var delay time.Duration
		if rng.IntN(5) == 0 {
			delay = time.Duration(1+rng.IntN(50)) * time.Millisecond
		} else {
			delay = time.Duration(50+rng.IntN(751)) * time.Millisecond
		}
		nb, ne := crashRound(t, dir, delay, a)
		t.Logf("round %2d: killed after %3d ms: %4d batches, %2d events acknowledged", round, delay.Milliseconds(), nb, ne)
		if round%8 == 0 && round < crashRounds {
			verifyAcks(t, dir, a)
		}
		if t.Failed() {
			return
		}
	}
	verifyAcks(t, dir, a)
	if len(a.batches) == 0 {
		t.Errorf("no batch was acknowledged in %d rounds: the test tested nothing", crashRounds)
	}
	t.Logf("%d rounds in %v", crashRounds, time.Since(start).Round(time.Millisecond))
}

// lockedBuffer is a bytes.Buffer safe for the exec package's copying
// goroutine and the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	const max = 1 << 20 // keep the first MiB; enough to say what went wrong
	if l.b.Len() < max {
		l.b.Write(p[:min(len(p), max-l.b.Len())])
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
