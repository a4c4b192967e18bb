package sep2

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Options configure NewHandler. The zero value (or nil) serves every
// meter of the Source to every request, under /sep2.
type Options struct {
	// Prefix is the path the handler is mounted at, without a trailing
	// slash; every href starts with it. "" is "/sep2". The handler itself
	// sees paths with the prefix stripped (http.StripPrefix).
	Prefix string
	// Meters restricts the usage points to these meters (the
	// household's); none is every meter of the Source.
	Meters []meter.MeterID
	// Visible reports whether the client making r may see meter id (its
	// pairing binds it to some meters); nil lets every client see every
	// meter (of Meters). Another meter answers 404, as one that does not exist.
	Visible func(r *http.Request, id meter.MeterID) bool
	// Device names the client making r for opt-outs recorded in the
	// tariff model (e.g. "han:<client id>"); nil or "" uses
	// "sep2:<endDeviceLFDI>" from the response.
	Device func(r *http.Request) string
	// Location is the local time zone: the Time resource's tzOffset and
	// daylight-saving rule, and the days reading sets span. nil is time.Local.
	Location *time.Location
	// Synced reports whether the gateway's clock is synchronised (Time
	// quality 3, from an authoritative source such as NTP, else 7,
	// uncoordinated). nil means synchronised.
	Synced func() bool
	// Locale is the messaging program's locale (RFC 4646); "" is "en".
	Locale string
	// PollRate is the poll rate in seconds the lists advertise; 0 is 60
	// (a display's live view; the standard's default is 900).
	PollRate uint32
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives the handler's log lines; nil discards them.
	Log *slog.Logger
}

// Limits of the served lists.
const (
	// MaxResults is the most items one list response carries (the
	// schema's results attribute is a UInt8).
	MaxResults = 255
	// maxAll is the largest all attribute (a UInt16).
	maxAll = 65535
	// tariffHorizon is how far ahead time tariff intervals are listed.
	tariffHorizon = 7 * 24 * time.Hour
	// maxIntervals bounds the intervals of one rate component.
	maxIntervals = 4096
	// maxDayReadings bounds the readings of one reading set.
	maxDayReadings = 20000
	// maxBody bounds a POSTed response.
	maxBody = 4096
)

// Errors of this package.
var (
	// ErrQuery is returned (wrapped) by ParseQuery for a malformed s, a
	// or l query parameter.
	ErrQuery = errors.New("sep2: bad list query")
	// ErrResponse is returned (wrapped) by ParseResponse for a body that
	// is not a Response, DrResponse or TextResponse of the schema.
	ErrResponse = errors.New("sep2: bad response")
)

// Handler serves the IEEE 2030.5 resources. It is safe for concurrent use.
type Handler struct {
	src  Source
	o    Options
	loc  *time.Location
	now  func() time.Time
	log  *slog.Logger
	poll uint32
}

// NewHandler returns the handler of the IEEE 2030.5 subset over src.
func NewHandler(src Source, opts *Options) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	if o.Prefix == "" {
		o.Prefix = "/sep2"
	}
	if o.Locale == "" {
		o.Locale = "en"
	}
	h := &Handler{src: src, o: o, loc: o.Location, now: o.Now, log: o.Log, poll: o.PollRate}
	if h.loc == nil {
		h.loc = time.Local
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.poll == 0 {
		h.poll = 60
	}
	return h
}

// Page is a list request's paging (IEEE 2030.5 query parameters): s, the
// index of the first item (default 0); a, only items whose time is at or
// after this Unix time (lists ordered by time; default none); l, at most
// this many items (default 1, as the standard says; at most MaxResults).
type Page struct {
	Start int
	After int64
	HasA  bool
	Limit int
}

// ParseQuery reads the s, a and l parameters of a list request. Other
// parameters are ignored.
func ParseQuery(q url.Values) (Page, error) {
	p := Page{Limit: 1}
	if v, ok := q["s"]; ok {
		n, err := strconv.ParseUint(last(v), 10, 31)
		if err != nil {
			return Page{}, fmt.Errorf("%w: s=%q: want a list index 0…2147483647", ErrQuery, last(v))
		}
		p.Start = int(n)
	}
	if v, ok := q["a"]; ok {
		n, err := strconv.ParseInt(last(v), 10, 64)
		if err != nil {
			return Page{}, fmt.Errorf("%w: a=%q: want a Unix time in seconds", ErrQuery, last(v))
		}
		p.After, p.HasA = n, true
	}
	if v, ok := q["l"]; ok {
		n, err := strconv.ParseUint(last(v), 10, 31)
		if err != nil {
			return Page{}, fmt.Errorf("%w: l=%q: want a count 0…%d", ErrQuery, last(v), MaxResults)
		}
		p.Limit = int(min(n, MaxResults))
	}
	return p, nil
}

func last(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// window applies p to a list of n items whose times are at(i) (nil for
// a list not ordered by time): it returns the indexes [lo, hi) to serve.
func (p Page) window(n int, at func(i int) int64) (lo, hi int) {
	idx := 0
	if p.HasA && at != nil {
		for idx < n && at(idx) < p.After {
			idx++
		}
	}
	lo = min(idx+p.Start, n)
	if p.Start > n { // overflow-safe
		lo = n
	}
	hi = min(lo+p.Limit, n)
	return lo, hi
}

func clampAll(n int) uint32 { return uint32(min(n, maxAll)) }

func u32p(v uint32) *uint32 { return &v }

// errNotFound ends a request with 404.
var errNotFound = errors.New("not found")

func (h *Handler) href(parts ...string) string {
	return h.o.Prefix + "/" + strings.Join(parts, "/")
}

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	seg := strings.Split(path, "/")
	post := path == "rsps/0/rsp"
	switch {
	case r.Method == http.MethodPost && post:
		h.postResponse(w, r)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		if post {
			w.Header().Set("Allow", "GET, HEAD, POST")
		} else {
			w.Header().Set("Allow", "GET, HEAD")
		}
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	pg, err := ParseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	doc, name, err := h.resource(r, seg, pg)
	switch {
	case errors.Is(err, errNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		h.log.Error("sep2: serving a resource failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b, err := Marshal(doc, name)
	if err != nil {
		h.log.Error("sep2: encoding a resource failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ContentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// Marshal encodes v as a document whose root element is name in the
// 2030.5 namespace.
func Marshal(v any, name string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Space: Namespace, Local: name}}); err != nil {
		return nil, fmt.Errorf("sep2: encode %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("sep2: encode %s: %w", name, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// resource builds the document for path segments seg.
func (h *Handler) resource(r *http.Request, seg []string, pg Page) (any, string, error) {
	n := len(seg)
	at := func(i int, s string) bool { return i < n && seg[i] == s }
	switch {
	case n == 1 && seg[0] == "dcap":
		return h.dcap(r), "DeviceCapability", nil
	case n == 1 && seg[0] == "tm":
		return h.timeDoc(), "Time", nil
	case at(0, "upt"):
		return h.metering(r, seg[1:], pg)
	case at(0, "tp"):
		return h.pricing(seg[1:], pg)
	case at(0, "msg"):
		return h.messaging(seg[1:], pg)
	case at(0, "drp"):
		return h.demandResponse(seg[1:], pg)
	case at(0, "rsps"):
		return h.responses(seg[1:])
	}
	return nil, "", errNotFound
}

func (h *Handler) dcap(r *http.Request) *deviceCapability {
	return &deviceCapability{
		Href:                          h.href("dcap"),
		PollRate:                      h.poll,
		DemandResponseProgramListLink: &listLink{Href: h.href("drp"), All: u32p(1)},
		MessagingProgramListLink:      &listLink{Href: h.href("msg"), All: u32p(1)},
		ResponseSetListLink:           &listLink{Href: h.href("rsps"), All: u32p(1)},
		TariffProfileListLink:         &listLink{Href: h.href("tp"), All: u32p(clampAll(len(h.src.Schedules())))},
		TimeLink:                      &link{Href: h.href("tm")},
		UsagePointListLink:            &listLink{Href: h.href("upt"), All: u32p(clampAll(len(h.meters(r))))},
	}
}

// timeDoc is the Time resource: UTC now, the zone's standard offset and
// this year's daylight-saving rule.
func (h *Handler) timeDoc() *timeResource {
	now := h.now()
	t := &timeResource{Href: h.href("tm"), PollRate: 900, CurrentTime: now.Unix(), Quality: 7}
	if h.o.Synced == nil || h.o.Synced() {
		t.Quality = 3
	}
	std, dstStart, dstEnd, dstOff := zoneRule(now, h.loc)
	t.TZOffset, t.DSTOffset, t.DSTStartTime, t.DSTEndTime = std, dstOff, dstStart, dstEnd
	_, off := now.In(h.loc).Zone()
	lt := now.Unix() + int64(off)
	t.LocalTime = &lt
	return t
}

// zoneRule returns loc's standard offset and, for now's year, when
// daylight-saving time starts and ends and by how much it shifts (all
// zero without DST).
func zoneRule(now time.Time, loc *time.Location) (std int32, start, end int64, off int32) {
	y := now.In(loc).Year()
	jan := time.Date(y, 1, 1, 12, 0, 0, 0, loc)
	jul := time.Date(y, 7, 1, 12, 0, 0, 0, loc)
	_, oj := jan.Zone()
	_, ou := jul.Zone()
	if oj == ou {
		return int32(oj), 0, 0, 0
	}
	dst := jul
	if oj > ou {
		dst = jan
	}
	s, e := dst.ZoneBounds()
	return int32(min(oj, ou)), s.Unix(), e.Unix(), int32(max(oj, ou) - min(oj, ou))
}
