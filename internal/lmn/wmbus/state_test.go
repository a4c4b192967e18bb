package wmbus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	halwmbus "github.com/smgw/smgw/hal/wmbus"
	"github.com/smgw/smgw/internal/testutil"
)

// memState is an in-memory StateStore.
type memState struct {
	mu   sync.Mutex
	recs map[string][]byte
	puts int
}

var errNotFound = errors.New("no such record")

func (m *memState) Record(kind, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.recs[kind+"/"+name]
	if !ok {
		return nil, errNotFound
	}
	return append([]byte(nil), b...), nil
}

func (m *memState) PutRecord(ctx context.Context, kind, name string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string][]byte{}
	}
	m.recs[kind+"/"+name] = append([]byte(nil), v...)
	m.puts++
	return nil
}

// framesReceiver delivers frames, then waits for the end.
type framesReceiver struct{ frames []halwmbus.Frame }

func (r framesReceiver) Run(ctx context.Context, fn func(halwmbus.Frame)) error {
	for _, f := range r.frames {
		fn(f)
	}
	<-ctx.Done()
	return nil
}

// TestStateSurvivesRestart: a telegram recorded before a restart is a
// replay after it.
func TestStateSurvivesRestart(t *testing.T) {
	testutil.CheckGoroutines(t)
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	w, _ := testMeters(t)
	var frames []halwmbus.Frame
	var old halwmbus.Frame
	for i := range 5 {
		f := frame(w.Telegram(c.t), c.t)
		if i == 2 {
			old = f
		}
		frames = append(frames, f)
		c.t = c.t.Add(30 * time.Second)
	}
	state := &memState{}
	run := func(frames []halwmbus.Frame) *Service {
		s, err := New(&Options{Receiver: framesReceiver{frames}, Sink: &memSink{}, State: state, Now: c.now, Location: time.UTC,
			Meters: []MeterConfig{{ID: "water-w", Manufacturer: "SMG", Address: "10000001", Key: waterKey}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Frames < uint64(len(frames)) {
			if time.Now().After(deadline) {
				t.Fatalf("frames not handled: %+v", s.Stats())
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := run(frames); s.Stats().Stored != 5 {
		t.Fatalf("first run: %+v", s.Stats())
	}
	if state.puts == 0 {
		t.Fatal("the replay state was not saved")
	}
	c.t = c.t.Add(5 * time.Minute) // restarted 5 minutes later
	old.Time = c.t
	s := run([]halwmbus.Frame{old})
	h := s.Health()[0]
	if s.Stats().Stored != 0 || h.Replays != 1 || !strings.Contains(h.LastError, "access number") || h.AccessNumber != int(frames[4].Data[13]) {
		t.Errorf("after the restart: stats %+v, health %+v", s.Stats(), h)
	}
}

func TestDecodeStateMalformed(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(t, c, &memSink{}, nil)
	w, _ := testMeters(t)
	s.Handle(frame(w.Telegram(c.t), c.t))
	b := s.encodeState()
	s2 := newTestService(t, c, &memSink{}, nil)
	if n, err := s2.decodeState(b); n != 1 || err != nil {
		t.Fatalf("decodeState = %d, %v", n, err)
	}
	if !s2.list[0].accepted || s2.list[0].lastACC != s.list[0].lastACC || !s2.list[0].lastAt.Equal(c.t) {
		t.Errorf("restored %+v", s2.list[0])
	}
	for i := range len(b) {
		if _, err := s2.decodeState(b[:i]); i > 1 && !errors.Is(err, errState) {
			t.Errorf("cut at %d: %v", i, err)
		}
	}
	if _, err := s2.decodeState([]byte{9}); !errors.Is(err, errState) {
		t.Errorf("unknown version: %v", err)
	}
}

func FuzzDecodeState(f *testing.F) {
	c := &clock{time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)}
	s := newTestService(f, c, &memSink{}, nil)
	w, _ := testMeters(f)
	s.Handle(frame(w.Telegram(c.t), c.t))
	f.Add(s.encodeState())
	f.Add([]byte{stateVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newTestService(t, c, &memSink{}, nil)
		s.decodeState(b) // must not panic
	})
}
