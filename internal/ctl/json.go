package ctl

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// JSON forms of the other wire types. Field names are snake_case; times are
// RFC 3339 in UTC and omitted when zero; durations are seconds (a JSON
// number, millisecond precision); hashes are hex; readings have the form of
// EncodeReadingJSON.

// wireReading gives meter.Reading the JSON form of EncodeReadingJSON.
type wireReading meter.Reading

func (r wireReading) MarshalJSON() ([]byte, error) {
	return EncodeReadingJSON(nil, meter.Reading(r)), nil
}

func (r *wireReading) UnmarshalJSON(p []byte) error {
	x, err := DecodeReadingJSON(p)
	if err != nil {
		return err
	}
	*r = wireReading(x)
	return nil
}

// wireTime is a time in RFC 3339 UTC, "" when zero.
type wireTime string

func fmtTime(t time.Time) wireTime {
	if t.IsZero() {
		return ""
	}
	return wireTime(t.UTC().Format(time.RFC3339Nano))
}

func (w wireTime) time(field string) (time.Time, error) {
	if w == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(w))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrSyntax, field, err)
	}
	return t.UTC(), nil
}

func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e3) / 1e3
}

func fromSeconds(f float64) time.Duration {
	return time.Duration(math.Round(f*1e3)) * time.Millisecond
}

type wireStatus struct {
	GatewayID          string              `json:"gateway_id"`
	Version            string              `json:"version"`
	Started            wireTime            `json:"started,omitempty"`
	UptimeSeconds      float64             `json:"uptime_seconds"`
	KeyProvider        string              `json:"key_provider"`
	Insecure           bool                `json:"insecure"`
	MetersSeen         int                 `json:"meters_seen"`
	ReadingsLastMinute uint64              `json:"readings_last_minute"`
	WAN                string              `json:"wan"`
	Store              wireStats           `json:"store"`
	Services           []wireServiceStatus `json:"services"`
	Live               []wireReading       `json:"live"`
	Uplink             *UplinkStatus       `json:"uplink,omitempty"`
	Link               *LinkStatus         `json:"link,omitempty"`
	LMN                *LMNStatus          `json:"lmn,omitempty"`
}

type wireStats struct {
	Appended              uint64   `json:"appended"`
	Deferred              uint64   `json:"deferred"`
	Commits               uint64   `json:"commits"`
	Compactions           uint64   `json:"compactions"`
	JournalBytes          int      `json:"journal_bytes"`
	LastCommit            wireTime `json:"last_commit,omitempty"`
	LastCommitTookSeconds float64  `json:"last_commit_took_seconds"`
	LastCompactionSeconds float64  `json:"last_compaction_took_seconds"`
	MaxCompactionStepSecs float64  `json:"max_compaction_step_seconds"`
	Meters                int      `json:"meters"`
	Series                int      `json:"series"`
	FileBytes             int64    `json:"file_bytes"`
}

type wireServiceStatus struct {
	Name         string   `json:"name"`
	LastProgress wireTime `json:"last_progress,omitempty"`
	Healthy      bool     `json:"healthy"`
	Err          string   `json:"error,omitempty"`
}

// MarshalJSON gives Status its wire form (snake_case, uptime in seconds,
// readings as EncodeReadingJSON writes them).
func (s Status) MarshalJSON() ([]byte, error) {
	w := wireStatus{
		GatewayID: s.GatewayID, Version: s.Version, Started: fmtTime(s.Started),
		UptimeSeconds: seconds(s.Uptime), KeyProvider: s.KeyProvider, Insecure: s.Insecure,
		MetersSeen: s.MetersSeen, ReadingsLastMinute: s.ReadingsLastMinute, WAN: s.WAN,
		Store: wireStats{
			Appended: s.Store.Appended, Deferred: s.Store.Deferred, Commits: s.Store.Commits,
			Compactions: s.Store.Compactions, JournalBytes: s.Store.JournalBytes,
			LastCommit: fmtTime(s.Store.LastCommit), LastCommitTookSeconds: seconds(s.Store.LastCommitTook),
			LastCompactionSeconds: seconds(s.Store.LastCompactionTook), MaxCompactionStepSecs: seconds(s.Store.MaxCompactionStep),
			Meters: s.Store.Meters, Series: s.Store.Series, FileBytes: s.Store.FileBytes,
		},
		Services: make([]wireServiceStatus, len(s.Services)),
		Live:     make([]wireReading, len(s.Live)),
		Uplink:   s.Uplink,
		Link:     s.Link,
		LMN:      s.LMN,
	}
	for i, sv := range s.Services {
		w.Services[i] = wireServiceStatus{Name: sv.Name, LastProgress: fmtTime(sv.LastProgress), Healthy: sv.Healthy, Err: sv.Err}
	}
	for i, r := range s.Live {
		w.Live[i] = wireReading(r)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (s *Status) UnmarshalJSON(p []byte) error {
	var w wireStatus
	if err := json.Unmarshal(p, &w); err != nil {
		return fmt.Errorf("%w: status: %w", ErrSyntax, err)
	}
	var x Status
	var err error
	if x.Started, err = w.Started.time("started"); err != nil {
		return err
	}
	if x.Store.LastCommit, err = w.Store.LastCommit.time("store.last_commit"); err != nil {
		return err
	}
	x.GatewayID, x.Version, x.KeyProvider, x.Insecure = w.GatewayID, w.Version, w.KeyProvider, w.Insecure
	x.Uptime = fromSeconds(w.UptimeSeconds)
	x.MetersSeen, x.ReadingsLastMinute, x.WAN = w.MetersSeen, w.ReadingsLastMinute, w.WAN
	x.Uplink = w.Uplink
	x.Link = w.Link
	x.LMN = w.LMN
	x.Store.Appended, x.Store.Deferred, x.Store.Commits = w.Store.Appended, w.Store.Deferred, w.Store.Commits
	x.Store.Compactions, x.Store.JournalBytes = w.Store.Compactions, w.Store.JournalBytes
	x.Store.LastCommitTook = fromSeconds(w.Store.LastCommitTookSeconds)
	x.Store.LastCompactionTook = fromSeconds(w.Store.LastCompactionSeconds)
	x.Store.MaxCompactionStep = fromSeconds(w.Store.MaxCompactionStepSecs)
	x.Store.Meters, x.Store.Series, x.Store.FileBytes = w.Store.Meters, w.Store.Series, w.Store.FileBytes
	for _, sv := range w.Services {
		t, err := sv.LastProgress.time("services.last_progress")
		if err != nil {
			return err
		}
		x.Services = append(x.Services, ServiceStatus{Name: sv.Name, LastProgress: t, Healthy: sv.Healthy, Err: sv.Err})
	}
	for _, r := range w.Live {
		x.Live = append(x.Live, meter.Reading(r))
	}
	*s = x
	return nil
}

type wireMeter struct {
	ID     string       `json:"id"`
	Series []wireSeries `json:"series"`
}

type wireSeries struct {
	OBIS     meter.OBIS   `json:"obis"`
	Unit     string       `json:"unit"`
	UnitCode uint8        `json:"unit_code"`
	First    wireTime     `json:"first,omitempty"`
	Latest   *wireReading `json:"latest,omitempty"`
}

// MarshalMeters returns the JSON form of a meter list:
//
//	[{"id":"elec-1","series":[{"obis":"1-0:1.8.0*255","unit":"Wh","unit_code":30,
//	  "first":"…","latest":{reading}}]}]
func MarshalMeters(ms []store.MeterInfo) ([]byte, error) {
	w := make([]wireMeter, len(ms))
	for i, m := range ms {
		w[i] = wireMeter{ID: string(m.ID), Series: make([]wireSeries, len(m.Series))}
		for j, s := range m.Series {
			ws := wireSeries{OBIS: s.OBIS, Unit: s.Unit.Symbol(), UnitCode: uint8(s.Unit), First: fmtTime(s.First)}
			if s.Latest != (meter.Reading{}) {
				l := wireReading(s.Latest)
				ws.Latest = &l
			}
			w[i].Series[j] = ws
		}
	}
	return json.Marshal(w)
}

// UnmarshalMeters reads the form MarshalMeters writes.
func UnmarshalMeters(p []byte) ([]store.MeterInfo, error) {
	var w []wireMeter
	if err := json.Unmarshal(p, &w); err != nil {
		return nil, fmt.Errorf("%w: meters: %w", ErrSyntax, err)
	}
	ms := make([]store.MeterInfo, len(w))
	for i, m := range w {
		ms[i] = store.MeterInfo{ID: meter.MeterID(m.ID), Series: make([]store.SeriesInfo, len(m.Series))}
		for j, s := range m.Series {
			first, err := s.First.time("first")
			if err != nil {
				return nil, err
			}
			si := store.SeriesInfo{OBIS: s.OBIS, Unit: meter.Unit(s.UnitCode), First: first}
			if s.Latest != nil {
				si.Latest = meter.Reading(*s.Latest)
			}
			ms[i].Series[j] = si
		}
	}
	return ms, nil
}

type wireEvent struct {
	Seq     uint64            `json:"seq"`
	Time    wireTime          `json:"time"`
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Prev    string            `json:"prev"`
	Hash    string            `json:"hash"`
}

// EncodeEventJSON appends the JSON form of an event to dst (no newline):
//
//	{"seq":1,"time":"…","kind":"start","message":"…","attrs":{…},"prev":"<hex>","hash":"<hex>"}
func EncodeEventJSON(dst []byte, ev store.Event) []byte {
	b, err := json.Marshal(wireEvent{
		Seq: ev.Seq, Time: fmtTime(ev.Time), Kind: ev.Kind, Message: ev.Message, Attrs: ev.Attrs,
		Prev: hex.EncodeToString(ev.Prev[:]), Hash: hex.EncodeToString(ev.Hash[:]),
	})
	if err != nil { // not reached: every field is a string, number or map of strings
		return append(dst, `{}`...)
	}
	return append(dst, b...)
}

// DecodeEventJSON reads the form EncodeEventJSON writes.
func DecodeEventJSON(p []byte) (store.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(p, &w); err != nil {
		return store.Event{}, fmt.Errorf("%w: event: %w", ErrSyntax, err)
	}
	t, err := w.Time.time("time")
	if err != nil {
		return store.Event{}, err
	}
	ev := store.Event{Seq: w.Seq, Time: t, Kind: w.Kind, Message: w.Message, Attrs: w.Attrs}
	if err := decodeHash(&ev.Prev, w.Prev, "prev"); err != nil {
		return store.Event{}, err
	}
	if err := decodeHash(&ev.Hash, w.Hash, "hash"); err != nil {
		return store.Event{}, err
	}
	return ev, nil
}

func decodeHash(dst *[32]byte, s, field string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%w: %s: want %d hex digits, have %d", ErrSyntax, field, 2*len(dst), len(s))
	}
	if _, err := hex.Decode(dst[:], []byte(s)); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSyntax, field, err)
	}
	return nil
}

type wireLogReport struct {
	Name    string `json:"name"`
	Entries uint64 `json:"entries"`
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Head    string `json:"head"`
}

func toWireReport(r store.LogReport) wireLogReport {
	return wireLogReport{Name: string(r.Name), Entries: r.Entries, First: r.First, Last: r.Last, Head: hex.EncodeToString(r.Head[:])}
}

func (w wireLogReport) report() (store.LogReport, error) {
	r := store.LogReport{Name: store.LogName(w.Name), Entries: w.Entries, First: w.First, Last: w.Last}
	if err := decodeHash(&r.Head, w.Head, "head"); err != nil {
		return store.LogReport{}, err
	}
	return r, nil
}

// wireError is the body of every error answer.
type wireError struct {
	Error  string         `json:"error"`
	Code   string         `json:"code"`
	Report *wireLogReport `json:"report,omitempty"` // what verify found before the break
}
