package command

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	policy Policy
	keys   map[string]*ecdsa.PrivateKey
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{keys: map[string]*ecdsa.PrivateKey{}}
	f.policy = Policy{Gateway: "gw-1", Keys: map[string]*Key{}, MaxSkew: 5 * time.Minute, MaxValidity: 24 * time.Hour}
	for _, r := range []Role{RoleReader, RoleOperator, RoleAdmin} {
		k := newKey(t)
		id := "hes-" + string(r)
		f.keys[id] = k
		f.policy.Keys[id] = &Key{ID: id, Role: r, Public: &k.PublicKey}
	}
	return f
}

func payload(kind string) *Payload {
	return &Payload{Version: 1, ID: "c-1", Gateway: "gw-1", Issued: t0.Unix(), Expires: t0.Add(time.Hour).Unix(), Kind: kind}
}

func (f *fixture) sign(t testing.TB, kid string, p *Payload) []byte {
	b, err := Sign(f.keys[kid], kid, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyOK(t *testing.T) {
	f := newFixture(t)
	p := payload("status")
	p.Args, _ = Marshal(map[string]any{"x": 1})
	c, pl, err := f.policy.Verify(f.sign(t, "hes-reader", p), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "c-1" || c.KeyID != "hes-reader" || c.Role != RoleReader || pl.Kind != "status" {
		t.Errorf("command = %+v", c)
	}
	// Untagged COSE_Sign1 (without the leading tag 18) is accepted too.
	tagged := f.sign(t, "hes-reader", payload("status"))
	if tagged[0] != 0xd2 {
		t.Fatalf("not tagged: %x", tagged[0])
	}
	if _, _, err := f.policy.Verify(tagged[1:], t0); err != nil {
		t.Errorf("untagged: %v", err)
	}
	var args struct {
		X int `json:"x"`
	}
	if err := c.DecodeArgs(&args); err != nil || args.X != 1 {
		t.Errorf("DecodeArgs: %v %+v", err, args)
	}
	var wrong struct {
		Y int `json:"y"`
	}
	if err := c.DecodeArgs(&wrong); !errors.Is(err, &Rejection{Reason: ReasonBadArgs}) {
		t.Errorf("unknown argument: %v", err)
	}
}

// TestReject is the fault set of the envelope: each is refused with its
// reason.
func TestReject(t *testing.T) {
	f := newFixture(t)
	other := newKey(t)
	now := t0.Add(time.Minute)
	tests := []struct {
		name string
		msg  func() []byte
		now  time.Time
		want Reason
	}{
		{"bare map", func() []byte { b, _ := Marshal(payload("status")); return b }, now, ReasonUnsigned},
		{"json", func() []byte { return []byte(`{"id":"c-1"}`) }, now, ReasonUnsigned},
		{"empty signature", func() []byte {
			prot, _ := Marshal(map[int]any{1: -7, 4: []byte("hes-admin")})
			pl, _ := Marshal(payload("status"))
			b, err := Marshal(cbor.Tag{Number: 18, Content: []any{prot, map[int]any{}, pl, []byte{}}})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, now, ReasonUnsigned},
		{"forged: signed by another key", func() []byte {
			b, _ := Sign(other, "hes-admin", payload("status"))
			return b
		}, now, ReasonBadSignature},
		{"forged: payload changed", func() []byte {
			b := f.sign(t, "hes-admin", payload("status"))
			i := strings.Index(string(b), "c-1")
			b[i+2] = '2'
			return b
		}, now, ReasonBadSignature},
		{"unknown key", func() []byte { b, _ := Sign(other, "nobody", payload("status")); return b }, now, ReasonUnknownKey},
		{"expired", func() []byte { return f.sign(t, "hes-admin", payload("status")) }, t0.Add(time.Hour + 6*time.Minute), ReasonExpired},
		{"not yet valid", func() []byte { return f.sign(t, "hes-admin", payload("status")) }, t0.Add(-6 * time.Minute), ReasonNotYetValid},
		{"too long", func() []byte {
			p := payload("status")
			p.Expires = p.Issued + 25*3600
			return f.sign(t, "hes-admin", p)
		}, now, ReasonTooLong},
		{"wrong gateway", func() []byte {
			p := payload("status")
			p.Gateway = "gw-2"
			return f.sign(t, "hes-admin", p)
		}, now, ReasonWrongGateway},
		{"reader may not disconnect", func() []byte { return f.sign(t, "hes-reader", payload("disconnect")) }, now, ReasonForbidden},
		{"operator may not disconnect", func() []byte { return f.sign(t, "hes-operator", payload("disconnect")) }, now, ReasonForbidden},
		{"unknown kind", func() []byte { return f.sign(t, "hes-admin", payload("firmware")) }, now, ReasonUnknownKind},
		{"no id", func() []byte {
			p := payload("status")
			p.ID = ""
			return f.sign(t, "hes-admin", p)
		}, now, ReasonMalformed},
		{"garbage", func() []byte { return []byte{0xd2, 0x84, 0x01} }, now, ReasonMalformed},
		{"empty", func() []byte { return nil }, now, ReasonMalformed},
		{"too big", func() []byte { return make([]byte, MaxEnvelope+1) }, now, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := f.policy.Verify(tt.msg(), tt.now)
			if c != nil || ReasonOf(err) != tt.want {
				t.Errorf("Verify = %v, %v; want reason %s", c, err, tt.want)
			}
		})
	}
	// Within the skew is fine, on both ends.
	for _, at := range []time.Time{t0.Add(-4 * time.Minute), t0.Add(time.Hour + 4*time.Minute)} {
		if _, _, err := f.policy.Verify(f.sign(t, "hes-admin", payload("status")), at); err != nil {
			t.Errorf("at %s: %v", at, err)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, k := range Kinds() {
		if !RoleAdmin.Allows(k) {
			t.Errorf("admin may not %s", k)
		}
	}
	if !RoleReader.Allows(KindReadReadings) || RoleReader.Allows(KindTariff) || !RoleOperator.Allows(KindTariff) ||
		RoleOperator.Allows(KindImportMeterKey) || RoleOperator.Allows(KindFirmwareUpdate) || Role("root").Allows(KindStatus) {
		t.Error("roles matrix wrong")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("ParseRole(root) accepted")
	}
}

func TestKeyPEM(t *testing.T) {
	k := newKey(t)
	b, err := EncodeKeyPEM(&k.PublicKey, RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	pub, role, err := ParseKeyPEM(b)
	if err != nil || role != "operator" || !pub.Equal(&k.PublicKey) {
		t.Errorf("ParseKeyPEM = %v %q %v", pub, role, err)
	}
	if _, _, err := ParseKeyPEM([]byte("junk")); err == nil {
		t.Error("junk accepted")
	}
}

func TestResponse(t *testing.T) {
	k := newKey(t)
	res, _ := Marshal(map[string]int{"n": 3})
	b, err := SignResponse(k, "gw-1", &Response{ID: "c-1", Gateway: "gw-1", Time: t0.Unix(), OK: true, Result: res})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseResponse(b, &k.PublicKey)
	if err != nil || r.ID != "c-1" || !r.OK || r.Version != 1 {
		t.Fatalf("ParseResponse = %+v, %v", r, err)
	}
	if _, err := ParseResponse(b, &newKey(t).PublicKey); err == nil {
		t.Error("response verified with the wrong key")
	}
}

// memRecords is an in-memory Records for the guard's tests.
type memRecords struct {
	mu sync.Mutex
	m  map[string][]byte
}

var errNotFound = errors.New("not found")

func (r *memRecords) PutRecord(_ context.Context, kind, name string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[kind+"/"+name] = append([]byte(nil), v...)
	return nil
}
func (r *memRecords) Record(kind, name string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[kind+"/"+name]
	if !ok {
		return nil, errNotFound
	}
	return v, nil
}
func (r *memRecords) DeleteRecord(_ context.Context, kind, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, kind+"/"+name)
	return nil
}
func (r *memRecords) RecordNames(kind, prefix string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k := range r.m {
		if n, ok := strings.CutPrefix(k, kind+"/"); ok && strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}

func TestGuard(t *testing.T) {
	ctx := context.Background()
	recs := &memRecords{m: map[string][]byte{}}
	g, err := NewGuard(ctx, recs, 5*time.Minute, 3, t0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(id string, exp time.Time) *Command {
		return &Command{Payload: Payload{ID: id, Issued: t0.Unix(), Expires: exp.Unix()}}
	}
	if err := g.Admit(ctx, cmd("a", t0.Add(time.Hour)), t0); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(ctx, cmd("a", t0.Add(time.Hour)), t0); ReasonOf(err) != ReasonReplayed {
		t.Fatalf("replay: %v", err)
	}
	// A restart: the id is still remembered.
	g2, err := NewGuard(ctx, recs, 5*time.Minute, 3, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Admit(ctx, cmd("a", t0.Add(time.Hour)), t0.Add(time.Minute)); ReasonOf(err) != ReasonReplayed {
		t.Fatalf("replay after restart: %v", err)
	}
	// Full: busy, until the ids expire.
	g2.Admit(ctx, cmd("b", t0.Add(time.Hour)), t0)
	g2.Admit(ctx, cmd("c", t0.Add(time.Hour)), t0)
	if err := g2.Admit(ctx, cmd("d", t0.Add(2*time.Hour)), t0); ReasonOf(err) != ReasonBusy {
		t.Fatalf("full guard: %v", err)
	}
	later := t0.Add(time.Hour + 6*time.Minute)
	if err := g2.Admit(ctx, cmd("d", later.Add(time.Hour)), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if g2.Len() != 1 {
		t.Errorf("Len = %d after the sweep, want 1", g2.Len())
	}
	if n, _ := recs.RecordNames(RecordKind, seenPrefix); len(n) != 1 {
		t.Errorf("records after the sweep: %q", n)
	}
}

// TestPayloadGolden pins the CBOR encoding of the worked example in
// docs/commands.md (deterministic encoding: keys sorted by length, then
// bytes).
func TestPayloadGolden(t *testing.T) {
	p := &Payload{Version: 1, ID: "c-0001", Gateway: "gw-0042", Kind: "disconnect",
		Issued: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC).Unix(), Expires: time.Date(2026, 11, 22, 6, 10, 0, 0, time.UTC).Unix()}
	p.Args, _ = Marshal(map[string]string{"meter": "elec-1"})
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = "a76176016267776767772d3030343262696466632d30303031636578701a6b028738636961741a6b0284e0" +
		"6461726773a1656d6574657266656c65632d31646b696e646a646973636f6e6e656374"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
	var back Payload
	if err := Unmarshal(b, &back); err != nil || back.ID != p.ID || string(back.Args) != string(p.Args) {
		t.Errorf("round trip: %+v %v", back, err)
	}
	// The envelope of the example (its signature differs every time).
	env, _ := hex.DecodeString("d284582ea3012603781d6170706c69636174696f6e2f736d67772d636f6d6d616e642b63626f7204496865732d61646d696ea0584e" + want +
		"58409303517d9e0cabe34feafe8acd5450a848e01b549a7326bc34528efad1bc7d5778326ca3cd3e75a028ac888a55127b6e7000dd815854c62444049ae4a9b3ebf5")
	e, err := Parse(env)
	if err != nil || e.KeyID != "hes-admin" || e.Payload().Kind != "disconnect" {
		t.Errorf("Parse(example) = %+v, %v", e, err)
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.sign(f, "hes-admin", payload("status")))
	b, _ := Marshal(payload("status"))
	f.Add(b)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := fx.policy.Verify(b, t0)
		if (c == nil) == (err == nil) {
			t.Fatalf("Verify = %v, %v", c, err)
		}
		var r *Rejection
		if err != nil && !errors.As(err, &r) {
			t.Fatalf("error is no Rejection: %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	fx := newFixture(b)
	msg := fx.sign(b, "hes-admin", payload("status"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := fx.policy.Verify(msg, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignResponse(b *testing.B) {
	k := newKey(b)
	r := &Response{ID: "c-1", Gateway: "gw-1", Time: t0.Unix(), OK: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignResponse(k, "gw-1", r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGuardStale: records of forgotten ids are deleted a few per command,
// not all at once at start.
func TestGuardStale(t *testing.T) {
	ctx := context.Background()
	recs := &memRecords{m: map[string][]byte{}}
	g, _ := NewGuard(ctx, recs, 0, 0, t0)
	for i := range 20 {
		c := &Command{Payload: Payload{ID: fmt.Sprintf("old-%d", i), Issued: t0.Unix(), Expires: t0.Add(time.Minute).Unix()}}
		if err := g.Admit(ctx, c, t0); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(time.Hour)
	g2, err := NewGuard(ctx, recs, 0, 0, later)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := recs.RecordNames(RecordKind, seenPrefix); g2.Len() != 0 || len(n) != 20 {
		t.Fatalf("after start: %d remembered, %d records; want 0 and 20 (none deleted at start)", g2.Len(), len(n))
	}
	for i := range 3 {
		c := &Command{Payload: Payload{ID: fmt.Sprintf("new-%d", i), Issued: later.Unix(), Expires: later.Add(time.Minute).Unix()}}
		if err := g2.Admit(ctx, c, later); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := recs.RecordNames(RecordKind, seenPrefix); len(n) != 3 {
		t.Errorf("%d records after 3 commands, want the 3 new ones (8 stale deleted per command)", len(n))
	}
}
