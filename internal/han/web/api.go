package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/tariff"
)

// Routes lists the routes the service serves, as ServeMux patterns
// (tested against docs/han-openapi.yaml).
var Routes = []string{
	"GET /{$}",
	"GET /static/{file}",
	"POST /api/v1/pair",
	"GET /api/v1/status",
	"GET /api/v1/meters",
	"GET /api/v1/readings/latest",
	"GET /api/v1/history",
	"GET /api/v1/totals",
	"GET /api/v1/live",
	"GET /api/v1/price",
	"GET /api/v1/messages",
	"POST /api/v1/messages/{id}/ack",
	"GET /api/v1/events",
	"POST /api/v1/events/{id}/opt-out",
}

func (s *Service) routes() {
	h := map[string]http.HandlerFunc{
		"GET /{$}":                         s.page,
		"GET /static/{file}":               s.static,
		"POST /api/v1/pair":                s.apiPair,
		"GET /api/v1/status":               s.apiStatus,
		"GET /api/v1/meters":               s.apiMeters,
		"GET /api/v1/readings/latest":      s.apiLatest,
		"GET /api/v1/history":              s.apiHistory,
		"GET /api/v1/totals":               s.apiTotals,
		"GET /api/v1/live":                 s.apiLive,
		"GET /api/v1/price":                s.apiPrice,
		"GET /api/v1/messages":             s.apiMessages,
		"POST /api/v1/messages/{id}/ack":   s.apiAck,
		"GET /api/v1/events":               s.apiEvents,
		"POST /api/v1/events/{id}/opt-out": s.apiOptOut,
	}
	s.mux = http.NewServeMux()
	for _, pat := range Routes {
		s.mux.HandleFunc(pat, h[pat])
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, apiError{Error: msg})
}

// notFound is the answer for an unknown path, meter, message or event,
// and for a meter the client may not see: the same, so that nothing tells
// them apart.
func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
}

const maxBody = 4 << 10

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxBody {
		return errors.New("request body too large")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ---- pairing ----

type pairRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type pairResponse struct {
	Token  string          `json:"token"`
	Client string          `json:"client"`
	Meters []meter.MeterID `json:"meters,omitempty"`
}

func (s *Service) apiPair(w http.ResponseWriter, r *http.Request) {
	if s.opts.Demo {
		writeJSON(w, http.StatusOK, pairResponse{Client: "demo"})
		return
	}
	var req pairRequest
	if err := readJSON(r, &req); err != nil {
		badRequest(w, "body: want {\"code\": \"1234-5678\", \"name\": \"kitchen display\"}")
		return
	}
	fp := ""
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		fp = Fingerprint(r.TLS.PeerCertificates[0].Raw)
	}
	tok, c, err := s.cl.Pair(r.Context(), req.Code, req.Name, fp)
	switch {
	case errors.Is(err, ErrBadCode):
		s.log.Warn("HAN pairing refused: bad code", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="smgw-han"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	case errors.Is(err, ErrFull):
		writeJSON(w, http.StatusConflict, apiError{Error: "too many displays are paired; revoke one with smgw han clients revoke ID"})
		return
	case err != nil:
		s.log.Error("HAN pairing failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "pairing failed"})
		return
	}
	s.log.Info("HAN client paired", "client", c.ID, "name", c.Name, "remote", r.RemoteAddr, "certificate", fp != "")
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: 10 * 365 * 24 * 3600})
	writeJSON(w, http.StatusOK, pairResponse{Token: tok, Client: c.ID, Meters: c.Meters})
}

// ---- status and meters ----

type statusResponse struct {
	Gateway string    `json:"gateway"`
	Version string    `json:"version"`
	Time    time.Time `json:"time"`
	Started time.Time `json:"started,omitzero"`
	TZ      string    `json:"tz"`
	Demo    bool      `json:"demo"`
	Client  string    `json:"client"`
	Meters  int       `json:"meters"`
}

func (s *Service) apiStatus(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	n := 0
	for _, m := range s.st.Meters() {
		if p.sees(m.ID) {
			n++
		}
	}
	writeJSON(w, http.StatusOK, statusResponse{Gateway: s.opts.GatewayID, Version: s.opts.Version, Time: s.now().UTC(),
		Started: s.opts.Started, TZ: s.loc.String(), Demo: s.opts.Demo, Client: p.client.ID, Meters: n})
}

type wireSeries struct {
	OBIS   string      `json:"obis"`
	Unit   string      `json:"unit"`
	Kind   string      `json:"kind"`
	First  time.Time   `json:"first"`
	Latest wireReading `json:"latest"`
}

type wireMeter struct {
	ID     meter.MeterID `json:"id"`
	Series []wireSeries  `json:"series"`
}

func (s *Service) apiMeters(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	out := []wireMeter{}
	for _, m := range s.st.Meters() {
		if !p.sees(m.ID) {
			continue
		}
		wm := wireMeter{ID: m.ID, Series: []wireSeries{}}
		for _, sr := range m.Series {
			wm.Series = append(wm.Series, wireSeries{OBIS: sr.OBIS.String(), Unit: sr.Unit.Symbol(), Kind: kindOf(sr.OBIS),
				First: sr.First, Latest: toWire(sr.Latest)})
		}
		out = append(out, wm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"meters": out})
}

// meterParam reads ?meter=; ok is false (and 404 answered) for one the
// client may not see, which is answered like one that does not exist.
func meterParam(w http.ResponseWriter, r *http.Request, required bool) (meter.MeterID, bool) {
	v := r.URL.Query().Get("meter")
	if v == "" {
		if required {
			badRequest(w, "parameter meter is required")
			return "", false
		}
		return "", true
	}
	id := meter.MeterID(v)
	if id.Validate() != nil || !principalOf(r).sees(id) {
		notFound(w)
		return "", false
	}
	return id, true
}

func (s *Service) apiLatest(w http.ResponseWriter, r *http.Request) {
	only, ok := meterParam(w, r, false)
	if !ok {
		return
	}
	p := principalOf(r)
	type key struct {
		m meter.MeterID
		o meter.OBIS
	}
	latest := map[key]meter.Reading{}
	var found bool
	for _, m := range s.st.Meters() {
		if !p.sees(m.ID) || only != "" && m.ID != only {
			continue
		}
		found = true
		for _, sr := range m.Series {
			latest[key{m.ID, sr.OBIS}] = sr.Latest
		}
	}
	if s.opts.Live != nil {
		for _, lr := range s.opts.Live() {
			if !p.sees(lr.Meter) || only != "" && lr.Meter != only {
				continue
			}
			found = true
			k := key{lr.Meter, lr.OBIS}
			if cur, ok := latest[k]; !ok || lr.Time.After(cur.Time) {
				latest[k] = lr
			}
		}
	}
	if only != "" && !found {
		notFound(w)
		return
	}
	out := make([]wireReading, 0, len(latest))
	for _, rd := range latest {
		out = append(out, toWire(rd))
	}
	slices.SortFunc(out, func(a, b wireReading) int {
		if c := strings.Compare(string(a.Meter), string(b.Meter)); c != 0 {
			return c
		}
		return strings.Compare(a.OBIS, b.OBIS)
	})
	writeJSON(w, http.StatusOK, map[string]any{"readings": out})
}

// ---- tariff: price, messages, events ----

type wirePrice struct {
	Price    string `json:"price"`
	Currency string `json:"currency"`
	Unit     string `json:"unit"`
	Tier     int    `json:"tier"`
	Label    string `json:"label"`
	Dynamic  bool   `json:"dynamic"`
	Schedule string `json:"schedule"`
}

func toWirePrice(p tariff.Price) *wirePrice {
	return &wirePrice{Price: p.Price.String(), Currency: p.Currency, Unit: p.Unit, Tier: p.Tier, Label: p.Label,
		Dynamic: p.Dynamic, Schedule: p.Schedule}
}

type priceResponse struct {
	Time    time.Time  `json:"time"`
	Current *wirePrice `json:"current"`           // null when no schedule is in effect
	NextAt  *time.Time `json:"next_at,omitempty"` // when the price changes next, within 8 days
	Next    *wirePrice `json:"next,omitempty"`
}

func (s *Service) apiPrice(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	resp := priceResponse{Time: now.UTC()}
	if m := s.opts.Tariff; m != nil {
		if p, ok := m.PriceAt(now); ok {
			resp.Current = toWirePrice(p)
			if at, np, ok := m.NextChange(now); ok {
				at = at.UTC()
				resp.NextAt, resp.Next = &at, toWirePrice(np)
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

type wireMessage struct {
	ID                   string     `json:"id"`
	Text                 string     `json:"text"`
	Priority             string     `json:"priority"`
	Start                time.Time  `json:"start"`
	End                  *time.Time `json:"end,omitempty"`
	ConfirmationRequired bool       `json:"confirmation_required"`
	Confirmed            *time.Time `json:"confirmed,omitempty"`
}

func (s *Service) apiMessages(w http.ResponseWriter, r *http.Request) {
	out := []wireMessage{}
	if m := s.opts.Tariff; m != nil {
		for _, msg := range m.Messages(s.now()) {
			wm := wireMessage{ID: msg.ID, Text: msg.Text, Priority: msg.Priority, Start: msg.Start.UTC(),
				ConfirmationRequired: msg.ConfirmationRequired, Confirmed: msg.Confirmed}
			if end, ok := msg.End(); ok {
				end = end.UTC()
				wm.End = &end
			}
			out = append(out, wm)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// device names the client in the tariff model (confirmations, opt-outs).
func device(p *principal) string {
	if p.demo {
		return "han-demo"
	}
	return "han:" + p.client.ID
}

func (s *Service) apiAck(w http.ResponseWriter, r *http.Request) {
	m := s.opts.Tariff
	if m == nil {
		notFound(w)
		return
	}
	id := r.PathValue("id")
	var body struct{}
	if err := readJSON(r, &body); err != nil {
		badRequest(w, "body: want {} or nothing")
		return
	}
	now := s.now()
	shown := slices.ContainsFunc(m.Messages(now), func(x tariff.Message) bool { return x.ID == id })
	if !shown {
		notFound(w)
		return
	}
	if err := m.Confirm(r.Context(), id, device(principalOf(r)), now); err != nil {
		if errors.Is(err, tariff.ErrNotFound) {
			notFound(w)
			return
		}
		s.log.Error("HAN message confirmation failed", "message", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "confirmation failed"})
		return
	}
	s.log.Info("HAN message confirmed", "message", id, "client", principalOf(r).client.ID)
	writeJSON(w, http.StatusOK, map[string]any{"confirmed": id})
}

type wireEvent struct {
	ID            string    `json:"id"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Criticality   int       `json:"criticality"`
	DeviceClasses []string  `json:"device_classes"`
	LoadReduction int       `json:"load_reduction,omitempty"`
	OptOutAllowed bool      `json:"opt_out_allowed"`
	OptedOut      bool      `json:"opted_out"` // by this client
	Active        bool      `json:"active"`
}

func (s *Service) apiEvents(w http.ResponseWriter, r *http.Request) {
	resp := map[string][]wireEvent{"active": {}, "pending": {}}
	if m := s.opts.Tariff; m != nil {
		dev := device(principalOf(r))
		active, pending := m.Events(s.now())
		for _, l := range []struct {
			name string
			evs  []tariff.Event
		}{{"active", active}, {"pending", pending}} {
			for _, ev := range l.evs {
				resp[l.name] = append(resp[l.name], wireEvent{ID: ev.ID, Start: ev.Start.UTC(), End: ev.End().UTC(),
					Criticality: ev.Criticality, DeviceClasses: ev.DeviceClasses, LoadReduction: ev.LoadReduction,
					OptOutAllowed: ev.OptOutAllowed, OptedOut: ev.OptedOut(dev), Active: l.name == "active"})
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Service) apiOptOut(w http.ResponseWriter, r *http.Request) {
	m := s.opts.Tariff
	if m == nil {
		notFound(w)
		return
	}
	id := r.PathValue("id")
	var body struct{}
	if err := readJSON(r, &body); err != nil {
		badRequest(w, "body: want {} or nothing")
		return
	}
	active, pending := m.Events(s.now())
	i := slices.IndexFunc(append(active, pending...), func(ev tariff.Event) bool { return ev.ID == id })
	if i < 0 {
		notFound(w)
		return
	}
	if ev := append(active, pending...)[i]; !ev.OptOutAllowed {
		writeJSON(w, http.StatusConflict, apiError{Error: "this event does not allow opting out"})
		return
	}
	if err := m.OptOut(r.Context(), id, device(principalOf(r))); err != nil {
		if errors.Is(err, tariff.ErrNotFound) {
			notFound(w)
			return
		}
		s.log.Error("HAN opt-out failed", "event", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "opt-out failed"})
		return
	}
	s.log.Info("HAN client opted out of a demand-response event", "event", id, "client", principalOf(r).client.ID)
	writeJSON(w, http.StatusOK, map[string]any{"opted_out": id})
}

// etag is a strong validator of a body.
func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + strings.ToLower(hexString(s[:8])) + `"`
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
