package command

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJWS(t *testing.T) {
	f := newFixture(t)
	now := t0.Add(time.Minute)
	p := payload("read-readings")
	env, err := SignJWS(f.keys["hes-reader"], "hes-reader", p, []byte(`{"meter":"elec-1","from":"2026-11-22T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !IsJWS(env) {
		t.Fatalf("not a JWS: %s", env)
	}
	c, _, err := f.policy.Verify(env, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.JSON || c.KeyID != "hes-reader" || c.Kind != "read-readings" {
		t.Errorf("command %+v", c)
	}
	var args struct {
		Meter string    `json:"meter"`
		From  time.Time `json:"from"`
	}
	if err := c.DecodeArgs(&args); err != nil || args.Meter != "elec-1" || !args.From.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("args %+v %v", args, err)
	}
	var strict struct{ Meter string }
	if err := c.DecodeArgs(&strict); ReasonOf(err) != ReasonBadArgs {
		t.Errorf("unknown JSON argument: %v", err)
	}

	parts := strings.Split(string(env), ".")
	enc := base64.RawURLEncoding.EncodeToString
	other := newKey(t)
	forged, _ := SignJWS(other, "hes-admin", payload("disconnect"), nil)
	none := enc([]byte(`{"alg":"none","kid":"hes-admin"}`)) + "." + parts[1] + "."
	hs := enc([]byte(`{"alg":"HS256","kid":"hes-admin"}`)) + "." + parts[1] + "." + parts[2]
	pl, _ := json.Marshal(map[string]any{"v": 1, "id": "c-1", "gw": "gw-1", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "kind": "disconnect"})
	altered := parts[0] + "." + enc(pl) + "." + parts[2]
	for name, tc := range map[string]struct {
		b    string
		want Reason
	}{
		"forged":        {string(forged), ReasonBadSignature},
		"alg none":      {none, ReasonUnsigned},
		"alg HS256":     {hs, ReasonBadSignature},
		"altered":       {altered, ReasonBadSignature},
		"two parts":     {parts[0] + "." + parts[1], ReasonMalformed},
		"bad base64":    {parts[0] + ".!!!." + parts[2], ReasonMalformed},
		"short sig":     {parts[0] + "." + parts[1] + "." + enc([]byte{1, 2, 3}), ReasonBadSignature},
		"wrong gateway": {mustJWS(t, f, func(p *Payload) { p.Gateway = "gw-2" }), ReasonWrongGateway},
	} {
		if _, _, err := f.policy.Verify([]byte(tc.b), now); ReasonOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
}

func mustJWS(t *testing.T, f *fixture, edit func(*Payload)) string {
	p := payload("status")
	edit(p)
	b, err := SignJWS(f.keys["hes-admin"], "hes-admin", p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestResponseJWS(t *testing.T) {
	k := newKey(t)
	b, err := SignResponseJWS(k, "gw-1", &Response{ID: "c-1", Gateway: "gw-1", Time: t0.Unix(), OK: true}, map[string]int{"n": 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseResponseJWS(b, &k.PublicKey)
	if err != nil || r.ID != "c-1" || !r.OK || string(r.Result) != `{"n":3}` {
		t.Fatalf("ParseResponseJWS = %+v, %v", r, err)
	}
	if _, err := ParseResponseJWS(b, &newKey(t).PublicKey); err == nil {
		t.Error("verified with the wrong key")
	}
}
