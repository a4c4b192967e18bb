package sep2

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/smgw/smgw/internal/tariff"
)

func (h *Handler) responses(seg []string) (any, string, error) {
	switch {
	case len(seg) == 0:
		l := &responseSetList{}
		l.Href, l.All, l.Results = h.href("rsps"), 1, 1
		l.Items = []responseSet{h.responseSet()}
		return l, "ResponseSetList", nil
	case seg[0] != "0":
		return nil, "", errNotFound
	case len(seg) == 1:
		x := h.responseSet()
		return &x, "ResponseSet", nil
	case len(seg) == 2 && seg[1] == "rsp":
		l := &responseList{}
		l.Href = h.href("rsps", "0", "rsp") // responses are acted on, not kept
		return l, "ResponseList", nil
	}
	return nil, "", errNotFound
}

func (h *Handler) responseSet() responseSet {
	return responseSet{
		Href:             h.href("rsps", "0"),
		identified:       identified{MRID: mRID("ResponseSet", "0"), Description: "responses"},
		ResponseListLink: &listLink{Href: h.href("rsps", "0", "rsp"), All: u32p(0)},
	}
}

// Response statuses acted on (IEEE 2030.5 Table 27).
const (
	// StatusOptOut is "the user has chosen to opt out" of a
	// demand-response event: recorded in the tariff model.
	StatusOptOut = 4
	// StatusAcknowledged is the user's acknowledgement of a text
	// message: recorded as its confirmation.
	StatusAcknowledged = 11
)

// postResponse takes a client's Response to an event. An opt-out of a
// demand-response event and the acknowledgement of a text message are
// recorded; other statuses are acknowledged and logged only.
func (h *Handler) postResponse(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	resp, err := ParseResponse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	dev := ""
	if h.o.Device != nil {
		dev = h.o.Device(r)
	}
	if dev == "" {
		dev = "sep2:" + clip(resp.EndDeviceLFDI, 40)
	}
	switch {
	case resp.Status == StatusAcknowledged && resp.Kind != "DrResponse":
		ms := h.src.Messages()
		k := slices.IndexFunc(ms, func(m tariff.Message) bool { return mRID("TextMessage", m.ID) == resp.Subject })
		if k < 0 {
			http.NotFound(w, r)
			return
		}
		now := h.now()
		if !ms[k].ActiveAt(now) {
			http.Error(w, "sep2: this message is not shown now (ended, cancelled or not started)", http.StatusConflict)
			return
		}
		if err := h.src.Confirm(r.Context(), ms[k].ID, dev, now); err != nil {
			if errors.Is(err, tariff.ErrNotFound) {
				http.NotFound(w, r)
				return
			}
			h.log.Error("sep2: message confirmation failed", "message", ms[k].ID, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.log.Info("sep2: a client confirmed a message", "message", ms[k].ID, "device", dev)
	case resp.Status == StatusOptOut && resp.Kind != "TextResponse":
		evs := h.src.Events()
		k := slices.IndexFunc(evs, func(e tariff.Event) bool { return mRID("EndDeviceControl", e.ID) == resp.Subject })
		if k < 0 {
			http.NotFound(w, r)
			return
		}
		ev := evs[k]
		if !ev.OptOutAllowed || ev.Cancelled != nil || !h.now().Before(ev.End()) {
			http.Error(w, "sep2: this event does not allow opting out (mandatory, cancelled or ended)", http.StatusConflict)
			return
		}
		if err := h.src.OptOut(r.Context(), ev.ID, dev); err != nil {
			if errors.Is(err, tariff.ErrNotFound) {
				http.NotFound(w, r)
				return
			}
			h.log.Error("sep2: opt-out failed", "event", ev.ID, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.log.Info("sep2: a client opted out of a demand-response event", "event", ev.ID, "device", dev)
	default:
		h.log.Info("sep2: response received", "kind", resp.Kind, "status", resp.Status, "subject", resp.Subject)
	}
	w.Header().Set("Location", h.href("rsps", "0", "rsp"))
	w.WriteHeader(http.StatusCreated)
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("sep2: response body: %w (at most %d bytes)", err, maxBody)
	}
	return buf.Bytes()[:n], nil
}

// ParseResponse reads a POSTed Response, DrResponse or TextResponse
// document: the root must be one of them in the 2030.5 namespace, with
// endDeviceLFDI (hex, at most 20 bytes) and subject (an mRID, hex, at
// most 16 bytes). Document type declarations are refused.
func ParseResponse(b []byte) (Response, error) {
	if bytes.Contains(b, []byte("<!")) {
		return Response{}, fmt.Errorf("%w: declarations and CDATA are not accepted", ErrResponse)
	}
	var raw struct {
		XMLName       xml.Name
		Created       *string `xml:"createdDateTime"`
		EndDeviceLFDI string  `xml:"endDeviceLFDI"`
		Status        *string `xml:"status"`
		Subject       string  `xml:"subject"`
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&raw); err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrResponse, err)
	}
	if raw.XMLName.Space != Namespace {
		return Response{}, fmt.Errorf("%w: root element in namespace %q, want %q", ErrResponse, raw.XMLName.Space, Namespace)
	}
	out := Response{Kind: raw.XMLName.Local}
	switch out.Kind {
	case "Response", "DrResponse", "TextResponse":
	default:
		return Response{}, fmt.Errorf("%w: root element %q, want Response, DrResponse or TextResponse", ErrResponse, out.Kind)
	}
	lfdi, err := hexField("endDeviceLFDI", raw.EndDeviceLFDI, 20)
	if err != nil {
		return Response{}, err
	}
	subj, err := hexField("subject", raw.Subject, 16)
	if err != nil {
		return Response{}, err
	}
	out.EndDeviceLFDI, out.Subject = lfdi, subj
	if raw.Created != nil {
		n, err := strconv.ParseInt(strings.TrimSpace(*raw.Created), 10, 64)
		if err != nil {
			return Response{}, fmt.Errorf("%w: createdDateTime %q: want a Unix time", ErrResponse, clip(*raw.Created, 32))
		}
		out.Created = n
	}
	if raw.Status != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(*raw.Status), 10, 8)
		if err != nil {
			return Response{}, fmt.Errorf("%w: status %q: want 0…255", ErrResponse, clip(*raw.Status, 32))
		}
		out.Status = uint8(n)
	}
	return out, nil
}

// hexField checks a hexBinary element of at most max bytes and returns
// it in upper case.
func hexField(name, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: %s is missing", ErrResponse, name)
	}
	if len(s)%2 != 0 || len(s) > 2*max {
		return "", fmt.Errorf("%w: %s: want hex of at most %d bytes, got %d digits", ErrResponse, name, max, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("%w: %s: byte %d is not a hex digit", ErrResponse, name, i)
		}
	}
	return strings.ToUpper(s), nil
}
