package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// event is one live-stream event, encoded once for every client.
type event struct {
	meter meter.MeterID
	wire  []byte // "id: …\nevent: …\ndata: …\n\n"
}

// wireReading is a reading in the API's JSON.
type wireReading struct {
	Meter   meter.MeterID `json:"meter"`
	OBIS    string        `json:"obis"`
	Time    time.Time     `json:"time"`
	Value   string        `json:"value"`
	Unit    string        `json:"unit"`
	Quality string        `json:"quality"`
	Kind    string        `json:"kind"` // register or instantaneous
}

func toWire(r meter.Reading) wireReading {
	return wireReading{Meter: r.Meter, OBIS: r.OBIS.String(), Time: r.Time.UTC(), Value: r.Value.String(),
		Unit: r.Unit.Symbol(), Quality: r.Quality.String(), Kind: kindOf(r.OBIS)}
}

func kindOf(o meter.OBIS) string {
	if o.Instantaneous() {
		return "instantaneous"
	}
	return "register"
}

// encodeEvent renders a reading as an SSE event: kind "reading" (stored;
// its id, the time in Unix milliseconds, lets a client resume) or "live"
// (a sample not stored as such; no id).
func encodeEvent(kind string, r meter.Reading) *event {
	b := make([]byte, 0, 256)
	if kind == "reading" {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, r.Time.UnixMilli(), 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	j, _ := json.Marshal(toWire(r)) // a wireReading always encodes
	b = append(b, j...)
	b = append(b, "\n\n"...)
	return &event{meter: r.Meter, wire: b}
}

// hub fans events out to the open streams. A stream whose buffer is full
// is dropped (the client reconnects and resumes) rather than slowing the
// others.
type hub struct {
	mu      sync.Mutex
	streams map[*stream]struct{}
	dropped uint64
}

type stream struct {
	p    *principal
	c    chan *event
	gone chan struct{} // closed when dropped
	once sync.Once
}

func (st *stream) drop() { st.once.Do(func() { close(st.gone) }) }

func newHub() *hub { return &hub{streams: map[*stream]struct{}{}} }

func (h *hub) add(p *principal, buf int) *stream {
	st := &stream{p: p, c: make(chan *event, buf), gone: make(chan struct{})}
	h.mu.Lock()
	h.streams[st] = struct{}{}
	h.mu.Unlock()
	return st
}

func (h *hub) remove(st *stream) {
	h.mu.Lock()
	delete(h.streams, st)
	h.mu.Unlock()
	st.drop()
}

func (h *hub) publish(ev *event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		if !st.p.sees(ev.meter) {
			continue
		}
		select {
		case st.c <- ev:
		default:
			h.dropped++
			delete(h.streams, st)
			st.drop()
		}
	}
}

// dropClient ends the streams of a revoked client.
func (h *hub) dropClient(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		if st.p.client.ID == id {
			delete(h.streams, st)
			st.drop()
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		delete(h.streams, st)
		st.drop()
	}
}

// feedStore publishes readings as the store makes them durable.
func (s *Service) feedStore(ctx context.Context, sub *store.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-sub.C():
			if !ok {
				return
			}
			s.hub.publish(encodeEvent("reading", r))
		}
	}
}

// feedLive publishes new live samples.
func (s *Service) feedLive(ctx context.Context) {
	if s.opts.Live == nil {
		return
	}
	type key struct {
		m meter.MeterID
		o meter.OBIS
	}
	last := map[key]time.Time{}
	t := time.NewTicker(s.opts.LiveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, r := range s.opts.Live() {
			k := key{r.Meter, r.OBIS}
			if !r.Time.After(last[k]) {
				continue
			}
			last[k] = r.Time
			s.hub.publish(encodeEvent("live", r))
		}
	}
}

// maxResume bounds how far back a reconnecting stream is replayed from
// the store (Last-Event-ID), and how many readings.
const (
	maxResume         = time.Hour
	maxResumeReadings = 5000
)

// apiLive serves the live stream (Server-Sent Events).
func (s *Service) apiLive(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	var only meter.MeterID
	if m := r.URL.Query().Get("meter"); m != "" {
		only = meter.MeterID(m)
		if only.Validate() != nil || !p.sees(only) {
			notFound(w)
			return
		}
	}
	st := s.hub.add(p, s.opts.StreamBuffer)
	defer s.hub.remove(st)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // the server's ReadTimeout would end the stream
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 3000\n: smgw live stream\n\n"))
	fl.Flush()

	// Resume: replay what the store made durable after the last event
	// the client saw (at least once: an event may come twice).
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = r.URL.Query().Get("last_event_id")
	}
	if ms, err := strconv.ParseInt(lastID, 10, 64); err == nil && lastID != "" {
		from := time.UnixMilli(ms + 1)
		if now := s.now(); now.Sub(from) > maxResume {
			from = now.Add(-maxResume)
		}
		var errStop = context.Canceled
		_ = s.st.Query(r.Context(), store.Query{Meter: only, From: from, Limit: maxResumeReadings}, func(rd meter.Reading) error {
			if !p.sees(rd.Meter) {
				return nil
			}
			if _, err := w.Write(encodeEvent("reading", rd).wire); err != nil {
				return errStop
			}
			return nil
		})
		fl.Flush()
	}

	hb := time.NewTicker(s.opts.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-st.gone:
			return // too slow, revoked, or the service stops
		case <-hb.C:
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return
			}
			fl.Flush()
		case ev := <-st.c:
			if only != "" && ev.meter != only {
				continue
			}
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write(ev.wire); err != nil {
				return
			}
			// Write what is queued too before one flush.
			for more := true; more; {
				select {
				case ev := <-st.c:
					if only == "" || ev.meter == only {
						if _, err := w.Write(ev.wire); err != nil {
							return
						}
					}
				default:
					more = false
				}
			}
			fl.Flush()
		}
	}
}
