package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// WMBusStatus is what the daemon's wireless M-Bus service reports
// (GET /v1/wmbus): the receiver, the configured meters' health, unknown
// meters heard nearby and the last bad telegrams. `smgw meters --nearby`
// shows it.
type WMBusStatus struct {
	// Receiver is the receiver's kind and state ("im871a /dev/ttyUSB0:
	// running"); "" when no receiver is configured.
	Receiver string        `json:"receiver"`
	Stats    WMBusStats    `json:"stats"`
	Meters   []WMBusHealth `json:"meters"`
	Nearby   []WMBusNearby `json:"nearby"`
	Bad      []WMBusBad    `json:"bad"`
}

// WMBusStats counts what the service saw.
type WMBusStats struct {
	Frames      uint64 `json:"frames"`
	Unreadable  uint64 `json:"unreadable"`
	Unknown     uint64 `json:"unknown"`
	Stored      uint64 `json:"stored"`
	Readings    uint64 `json:"readings"`
	Dropped     uint64 `json:"dropped"`
	ReceiverBad uint64 `json:"receiver_bad"` // frames the receiver dropped (checksum, syntax)
}

// WMBusHealth is one configured wM-Bus meter's health.
type WMBusHealth struct {
	Meter          string            `json:"meter"`
	Manufacturer   string            `json:"manufacturer"`
	Address        string            `json:"address"`
	Medium         string            `json:"medium,omitempty"`
	LastSeen       time.Time         `json:"last_seen,omitzero"`
	RSSI           *int              `json:"rssi,omitempty"`
	Telegrams      uint64            `json:"telegrams"`
	Stored         uint64            `json:"stored"`
	Readings       uint64            `json:"readings"`
	Duplicates     uint64            `json:"duplicates"`
	Replays        uint64            `json:"replays"`
	Errors         map[string]uint64 `json:"errors,omitempty"`
	LastError      string            `json:"last_error,omitempty"`
	AccessNumber   int               `json:"access_number"`
	Counter        uint32            `json:"message_counter,omitempty"`
	Security       string            `json:"security,omitempty"`
	MeterTime      time.Time         `json:"meter_time,omitzero"`
	IVReuse        uint64            `json:"iv_reuse,omitempty"`
	SameCiphertext uint64            `json:"same_ciphertext,omitempty"`
	Flags          []string          `json:"flags,omitempty"`
}

// WMBusNearby is a meter heard that is not configured.
type WMBusNearby struct {
	Manufacturer string    `json:"manufacturer"`
	ID           string    `json:"id"`
	Version      uint8     `json:"version"`
	DeviceType   uint8     `json:"device_type"`
	Medium       string    `json:"medium"`
	Encrypted    bool      `json:"encrypted"`
	RSSI         *int      `json:"rssi,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Count        uint64    `json:"count"`
}

// WMBusBad is a telegram dropped as bad, kept for diagnosis.
type WMBusBad struct {
	Time   time.Time `json:"time"`
	Meter  string    `json:"meter,omitempty"`
	Reason string    `json:"reason"`
	Err    string    `json:"error"`
	Hex    string    `json:"hex"`
}

// WMBusBackend is implemented by a Backend that runs wireless M-Bus
// meters (the daemon); the server answers /v1/wmbus with it, and 404
// (ErrNotFound) when the backend does not implement it.
type WMBusBackend interface {
	WMBus(ctx context.Context) (WMBusStatus, error)
}

func (s *Server) handleWMBus(w http.ResponseWriter, r *http.Request) {
	wb, ok := s.b.(WMBusBackend)
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: this daemon has no wireless M-Bus service", ErrNotFound), nil)
		return
	}
	st, err := wb.WMBus(r.Context())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	b, err := json.Marshal(st)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, append(b, '\n'))
}

// WMBus implements WMBusBackend over the socket.
func (c *Client) WMBus(ctx context.Context) (WMBusStatus, error) {
	var st WMBusStatus
	err := c.getJSON(ctx, "/v1/wmbus", nil, &st)
	return st, err
}

var _ WMBusBackend = (*Client)(nil)
