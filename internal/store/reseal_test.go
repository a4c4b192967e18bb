package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/meter"
)

// TestResealAfterRotation fills every area that holds sealed values,
// rotates the data key, re-seals while appends go on, retires the old key
// and reopens the store with the new key alone: everything is there.
func TestResealAfterRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dev := keys.NewDev(filepath.Join(dir, "dev-data-key"), nil)
	path := filepath.Join(dir, "smgw.db")
	opts := &Options{Keys: dev, OutboxChannels: []string{"hes"}, NoSync: true}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	// 3 meters × 120 days: 360 blocks, more than one re-seal step.
	var rs []meter.Reading
	for m := range 3 {
		for d := range 120 {
			rs = append(rs, rd(fmt.Sprintf("m%d", m), "1-0:1.8.0*255", t0.Add(time.Duration(d)*24*time.Hour), int64(d), 0, meter.UnitWattHour))
		}
	}
	if err := s.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// Journal entries, outbox items, records, log entries.
	if err := s.Append(ctx, rd("m0", "1-0:2.8.0*255", t0, 7, 0, meter.UnitWattHour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, "other", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord(ctx, KindSecret, "wmbus/12345678", []byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	use, err := s.KeyUsage(ctx)
	if err != nil || len(use) != 1 || use[1] == 0 {
		t.Fatalf("usage before rotation: %v, %v", use, err)
	}

	id, err := dev.Rotate(ctx, s.Keyring())
	if err != nil || id != 2 {
		t.Fatalf("rotate: %d, %v", id, err)
	}
	// Appends keep going while the pass runs.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Append(ctx, rd("live", "1-0:1.8.0*255", t0.Add(time.Duration(i)*time.Minute), int64(i), 0, meter.UnitWattHour)); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 49 { // compaction rewrites blocks and deletes journal entries meanwhile
				if err := s.Compact(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var steps int
	retired, err := s.ResealAndRetire(ctx, dev, func(p ResealProgress) { steps++ })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(retired, []uint32{1}) {
		t.Fatalf("retired %v, want [1]", retired)
	}
	use, err = s.KeyUsage(ctx)
	if err != nil || len(use) != 1 || use[2] == 0 {
		t.Fatalf("usage after re-seal: %v, %v", use, err)
	}
	want := len(collect(t, s, Query{}))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkConsistency(t, path)

	// The key file now holds key 2 alone; everything opens with it.
	s, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ids := s.Keyring().IDs(); !slices.Equal(ids, []uint32{2}) {
		t.Fatalf("keyring after reopen: %v", ids)
	}
	if got := len(collect(t, s, Query{})); got != want || got < 361 {
		t.Errorf("%d readings after reopen, want %d (≥ 361)", got, want)
	}
	if v, err := s.Record(KindSecret, "wmbus/12345678"); err != nil || string(v) != "0123456789abcdef" {
		t.Errorf("record after re-seal: %q, %v", v, err)
	}
	if items, err := s.Outbox("other", 0, 10); err != nil || len(items) != 1 {
		t.Errorf("outbox after re-seal: %v, %v", items, err)
	}
}

// TestResealNothingToDo: with one key, a pass looks at every value and
// re-seals none.
func TestResealNothingToDo(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	if err := s.Append(ctx, rd("m", "1-0:1.8.0*255", t0, 1, 0, meter.UnitWattHour)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Reseal(ctx, nil)
	if err != nil || !p.Done || p.Resealed != 0 || p.Scanned == 0 {
		t.Fatalf("re-seal with one key: %+v, %v", p, err)
	}
}

func TestCheckpoint(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	if _, ok, err := s.LastCheckpoint(LogSystem); ok || err != nil {
		t.Fatalf("checkpoint of a new store: %v %v", ok, err)
	}
	ev, err := s.Log(ctx, LogSystem, Event{Kind: "start", Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	seq, hash := s.LogHead(LogSystem)
	if seq != ev.Seq || hash != ev.Hash {
		t.Fatalf("head %d %x, want %d %x", seq, hash, ev.Seq, ev.Hash)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := Checkpoint{Log: LogSystem, Seq: seq, Hash: hash, Time: time.Unix(0, 12345).UTC()}
	c.Sig, _ = ecdsa.SignASN1(rand.Reader, k, c.Digest())
	if err := s.PutCheckpoint(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LastCheckpoint(LogSystem)
	if err != nil || !ok || got.Seq != seq || got.Hash != hash || !got.Time.Equal(c.Time) {
		t.Fatalf("LastCheckpoint = %+v %v %v", got, ok, err)
	}
	if err := got.Verify(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	got.Seq++
	if err := got.Verify(&k.PublicKey); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("altered checkpoint: %v, want ErrCheckpoint", err)
	}
}
