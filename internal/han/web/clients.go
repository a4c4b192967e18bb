package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// Records is the part of the store paired clients are kept in
// (store.Store implements it). Record returns an error wrapping the
// Options.NotFound error for a missing name.
type Records interface {
	PutRecord(ctx context.Context, kind, name string, value []byte) error
	Record(kind, name string) ([]byte, error)
	RecordNames(kind, prefix string) ([]string, error)
}

// RecordKind is the store record kind of paired clients: one sealed
// record per client, named by its id, holding the SHA-256 of its token's
// secret (never the token).
const RecordKind = "han-client"

// Client is a paired display or energy manager as `smgw han clients`
// lists it. Its token is never kept, only a hash of it.
type Client struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Paired  time.Time `json:"paired"`
	LastUse time.Time `json:"last_use,omitzero"` // in memory only: since the daemon started
	// Meters are the meters the client may see; empty is every meter of
	// the gateway.
	Meters []meter.MeterID `json:"meters,omitempty"`
	// CertSHA256 is the hex SHA-256 of the TLS client certificate the
	// client paired with, "" for none: that certificate then
	// authenticates the client as its token does (IEEE 2030.5 clients).
	CertSHA256 string     `json:"cert_sha256,omitempty"`
	Revoked    *time.Time `json:"revoked,omitempty"`
}

// clientRecord is a Client as stored.
type clientRecord struct {
	Client
	Hash string `json:"hash"` // hex SHA-256 of the token's secret
}

// PairingCode is a one-time code `smgw han pair` shows.
type PairingCode struct {
	Code    string          `json:"code"` // "1234-5678"
	Expires time.Time       `json:"expires"`
	Meters  []meter.MeterID `json:"meters,omitempty"` // what it binds to; empty: every meter
}

type pendingCode struct {
	salt    [16]byte
	hash    [32]byte
	expires time.Time
	meters  []meter.MeterID
}

// clients keeps the pairing codes (in memory, hashed) and the paired
// clients (in the store, and cached here).
type clients struct {
	recs     Records
	notFound error
	now      func() time.Time
	lifetime time.Duration
	max      int
	meters   []meter.MeterID // the household's, Options.Meters

	mu      sync.Mutex
	codes   []pendingCode
	byID    map[string]*clientRecord
	byCert  map[string]string // cert fingerprint → client id
	lastUse map[string]time.Time
}

func newClients(recs Records, notFound error, now func() time.Time, lifetime time.Duration, max int, household []meter.MeterID) (*clients, error) {
	c := &clients{recs: recs, notFound: notFound, now: now, lifetime: lifetime, max: max, meters: household,
		byID: map[string]*clientRecord{}, byCert: map[string]string{}, lastUse: map[string]time.Time{}}
	if recs == nil {
		return c, nil
	}
	names, err := recs.RecordNames(RecordKind, "")
	if err != nil {
		return nil, fmt.Errorf("web: list paired clients: %w", err)
	}
	for _, n := range names {
		b, err := recs.Record(RecordKind, n)
		if err != nil {
			return nil, fmt.Errorf("web: paired client %s: %w", n, err)
		}
		var r clientRecord
		if err := json.Unmarshal(b, &r); err != nil || r.ID != n || len(r.Hash) != 64 {
			return nil, fmt.Errorf("web: paired client %s: malformed record", n)
		}
		c.byID[n] = &r
		if r.CertSHA256 != "" && r.Revoked == nil {
			c.byCert[r.CertSHA256] = n
		}
	}
	return c, nil
}

// codeDigits is the number of decimal digits of a pairing code.
const codeDigits = 8

// NewCode makes a pairing code binding to meters (nil: the household's).
func (c *clients) NewCode(meters []meter.MeterID) (PairingCode, error) {
	if len(meters) == 0 {
		meters = c.meters
	}
	for _, id := range meters {
		if err := id.Validate(); err != nil {
			return PairingCode{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
	}
	var raw [8]byte
	rand.Read(raw[:])
	n := uint64(0)
	for _, b := range raw {
		n = n<<8 | uint64(b)
	}
	digits := fmt.Sprintf("%0*d", codeDigits, n%100_000_000)
	now := c.now()
	p := pendingCode{expires: now.Add(c.lifetime), meters: slices.Clone(meters)}
	rand.Read(p.salt[:])
	p.hash = hashCode(p.salt, digits)
	c.mu.Lock()
	c.prune(now)
	if len(c.codes) >= 16 {
		c.codes = c.codes[1:] // the oldest goes
	}
	c.codes = append(c.codes, p)
	c.mu.Unlock()
	return PairingCode{Code: digits[:4] + "-" + digits[4:], Expires: p.expires, Meters: p.meters}, nil
}

func hashCode(salt [16]byte, digits string) [32]byte {
	h := sha256.New()
	h.Write(salt[:])
	h.Write([]byte(digits))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (c *clients) prune(now time.Time) {
	c.codes = slices.DeleteFunc(c.codes, func(p pendingCode) bool { return !now.Before(p.expires) })
}

// normalizeCode keeps the digits of a code as typed ("1234 5678", "1234-5678").
func normalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == codeDigits
}

// Pair exchanges a code for a token: the code is used up, a client
// record is stored. certSHA256 is the TLS client certificate's
// fingerprint, "" for none.
func (c *clients) Pair(ctx context.Context, code, name, certSHA256 string) (token string, cl Client, err error) {
	digits, ok := normalizeCode(code)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(now)
	found := -1
	for i, p := range c.codes {
		h := hashCode(p.salt, digits)
		// Every pending code is compared, in constant time each.
		if subtle.ConstantTimeCompare(h[:], p.hash[:]) == 1 && ok {
			found = i
		}
	}
	if found < 0 {
		return "", Client{}, ErrBadCode
	}
	p := c.codes[found]
	active := 0
	for _, r := range c.byID {
		if r.Revoked == nil {
			active++
		}
	}
	if active >= c.max {
		return "", Client{}, fmt.Errorf("%w: %d clients are paired already; revoke one first", ErrFull, active)
	}
	c.codes = slices.Delete(c.codes, found, found+1)
	var idb [6]byte
	rand.Read(idb[:])
	var secret [32]byte
	rand.Read(secret[:])
	sum := sha256.Sum256(secret[:])
	name = strings.TrimSpace(name)
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "display"
	}
	r := &clientRecord{Client: Client{ID: "c" + hex.EncodeToString(idb[:]), Name: sanitize(name), Paired: now.UTC(),
		Meters: p.meters, CertSHA256: certSHA256}, Hash: hex.EncodeToString(sum[:])}
	if err := c.save(ctx, r); err != nil {
		return "", Client{}, err
	}
	c.byID[r.ID] = r
	if certSHA256 != "" {
		c.byCert[certSHA256] = r.ID
	}
	return r.ID + "." + base64.RawURLEncoding.EncodeToString(secret[:]), r.Client, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func (c *clients) save(ctx context.Context, r *clientRecord) error {
	if c.recs == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := c.recs.PutRecord(ctx, RecordKind, r.ID, b); err != nil {
		return fmt.Errorf("web: store paired client %s: %w", r.ID, err)
	}
	return nil
}

// authToken returns the client a bearer token belongs to.
func (c *clients) authToken(token string) (Client, bool) {
	id, sec, ok := strings.Cut(token, ".")
	if !ok || len(id) > 32 {
		return Client{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sec)
	if err != nil || len(raw) != 32 {
		return Client{}, false
	}
	sum := sha256.Sum256(raw)
	got := hex.EncodeToString(sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.byID[id]
	want := strings.Repeat("0", 64) // compared anyway, so an unknown id costs the same
	if r != nil {
		want = r.Hash
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || r == nil || r.Revoked != nil {
		return Client{}, false
	}
	c.lastUse[id] = c.now()
	return r.Client, true
}

// authCert returns the client a verified TLS client certificate (by its
// SHA-256) was paired with.
func (c *clients) authCert(fp string) (Client, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byCert[fp]
	if !ok {
		return Client{}, false
	}
	r := c.byID[id]
	if r == nil || r.Revoked != nil || subtle.ConstantTimeCompare([]byte(r.CertSHA256), []byte(fp)) != 1 {
		return Client{}, false
	}
	c.lastUse[id] = c.now()
	return r.Client, true
}

// List returns the clients, revoked ones too, by pairing time.
func (c *clients) List() []Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Client, 0, len(c.byID))
	for id, r := range c.byID {
		cl := r.Client
		cl.LastUse = c.lastUse[id]
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b Client) int { return a.Paired.Compare(b.Paired) })
	return out
}

// Revoke revokes client id: its token and certificate stop working at once.
func (c *clients) Revoke(ctx context.Context, id string) (Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.byID[id]
	if r == nil {
		return Client{}, fmt.Errorf("%w: no paired client %q", ErrNoClient, id)
	}
	if r.Revoked != nil {
		return r.Client, nil
	}
	now := c.now().UTC()
	nr := *r
	nr.Revoked = &now
	if err := c.save(ctx, &nr); err != nil {
		return Client{}, err
	}
	*r = nr
	delete(c.byCert, r.CertSHA256)
	return r.Client, nil
}

// Errors of pairing.
var (
	// ErrBadCode is returned by pairing for a code that is unknown,
	// expired or used.
	ErrBadCode = errors.New("web: pairing code unknown, expired or already used")
	// ErrFull is returned (wrapped) when Options.MaxClients are paired.
	ErrFull = errors.New("web: too many paired clients")
	// ErrNoClient is returned (wrapped) by Revoke for an unknown client id.
	ErrNoClient = errors.New("web: no such client")
	// ErrBadRequest is returned (wrapped) for malformed arguments.
	ErrBadRequest = errors.New("web: bad request")
)
