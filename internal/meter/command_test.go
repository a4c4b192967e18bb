package meter

import (
	"errors"
	"testing"
	"time"
)

func TestCommandValidate(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good := Command{
		ID:      "hes-0001",
		Kind:    CmdTariff,
		Origin:  OriginHES,
		Issuer:  "CN=hes.example",
		Meter:   "elec-1",
		Issued:  t0,
		Expires: t0.Add(time.Hour),
		Params:  map[string]string{"id": "t1"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	ok := []func(*Command){
		func(c *Command) { c.Meter = "" },                            // the gateway itself
		func(c *Command) { c.Expires = time.Time{} },                 // never expires
		func(c *Command) { c.Issued = time.Time{} },                  // issue time unknown
		func(c *Command) { c.Expires = c.Issued },                    // expires at once
		func(c *Command) { c.Origin = OriginConsumer },               //
		func(c *Command) { c.Origin = OriginLocal },                  //
		func(c *Command) { c.Kind = "future-kind" },                  // kinds are checked by the dispatcher
		func(c *Command) { c.Params, c.Payload = nil, []byte{1, 2} }, //
	}
	for i, modify := range ok {
		c := good
		modify(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("variant %d: Validate() = %v", i, err)
		}
	}

	bad := []struct {
		name   string
		modify func(*Command)
		also   error
	}{
		{"no id", func(c *Command) { c.ID = "" }, nil},
		{"no kind", func(c *Command) { c.Kind = "" }, nil},
		{"no origin", func(c *Command) { c.Origin = "" }, nil},
		{"unknown origin", func(c *Command) { c.Origin = "wan" }, nil},
		{"bad meter", func(c *Command) { c.Meter = "a b" }, ErrMeterID},
		{"expires before issued", func(c *Command) { c.Expires = c.Issued.Add(-time.Second) }, nil},
	}
	for _, tt := range bad {
		c := good
		tt.modify(&c)
		err := c.Validate()
		if !errors.Is(err, ErrCommand) {
			t.Errorf("%s: Validate() = %v, want ErrCommand", tt.name, err)
		}
		if tt.also != nil && !errors.Is(err, tt.also) {
			t.Errorf("%s: Validate() = %v, want it to wrap %v too", tt.name, err, tt.also)
		}
	}
}

func TestCommandExpired(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Command{Expires: t0}
	if c.Expired(t0.Add(-time.Nanosecond)) || c.Expired(t0) || !c.Expired(t0.Add(time.Nanosecond)) {
		t.Error("Expired around the expiry time")
	}
	if (Command{}).Expired(t0.AddDate(100, 0, 0)) {
		t.Error("a command without expiry expired")
	}
}

// The kinds and origins are persisted and sent on the wire.
func TestCommandNames(t *testing.T) {
	names := map[CommandKind]string{
		CmdTariff: "tariff", CmdPrice: "price", CmdMessage: "message", CmdDemandResp: "demand-response",
		CmdDisconnect: "disconnect", CmdReconnect: "reconnect", CmdConfig: "config", CmdFirmware: "firmware",
		CmdReadNow: "read-now", CmdOptOut: "opt-out", CmdAcknowledge: "acknowledge", CmdSetClock: "set-clock",
	}
	for k, want := range names {
		if string(k) != want {
			t.Errorf("kind %q, want %q", k, want)
		}
	}
	if OriginHES != "hes" || OriginConsumer != "consumer" || OriginLocal != "local" {
		t.Error("origin names changed")
	}
}
