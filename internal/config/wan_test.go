package config

import (
	"errors"
	"testing"
	"time"
)

func TestWANLinkModemCommands(t *testing.T) {
	c, err := Parse("test.toml", []byte(ok+`[wan.link]
ethernet = "end0"
lte = "wwan1"
probe_every = "30s"

[wan.modem]
device = "/dev/ttyUSB2"
apn = "iot.1nce.net"
daily_budget = "50MiB"

[wan.commands]
max_skew = "2m"
max_validity = "12h"

[[wan.commands.key]]
id = "hes-ops"
role = "operator"
public_key_file = "/etc/smgw/hes-ops.pem"

[[wan.commands.key]]
id = "hes-admin"
role = "admin"
public_key_file = "/etc/smgw/hes-admin.pem"
`))
	if err != nil {
		t.Fatal(err)
	}
	w := c.WAN
	if w.Link.Ethernet != "end0" || w.Link.LTE != "wwan1" || w.Link.ProbeEvery.Std() != 30*time.Second ||
		w.Modem.Device != "/dev/ttyUSB2" || w.Modem.APN != "iot.1nce.net" || w.Modem.DailyBudget != 50*MiB ||
		w.Commands.MaxSkew.Std() != 2*time.Minute || w.Commands.MaxValidity.Std() != 12*time.Hour ||
		len(w.Commands.Keys) != 2 || w.Commands.Keys[1].Role != RoleAdmin {
		t.Errorf("got %+v", w)
	}
	d := Default().WAN
	if d.Link.Ethernet != "eth0" || d.Link.LTE != "wwan0" || d.Modem.Device != "" || d.Modem.DailyBudget != 0 ||
		d.Commands.MaxSkew.Std() != 5*time.Minute || d.Commands.MaxValidity.Std() != 24*time.Hour {
		t.Errorf("defaults %+v", d)
	}
}

func TestWANProblems(t *testing.T) {
	tests := []struct {
		name, toml string
		want       at
	}{
		{"iface slash", "[wan.link]\nethernet = \"eth/0\"\n", at{4, "wan.link.ethernet"}},
		{"iface long", "[wan.link]\nlte = \"abcdefghijklmnop\"\n", at{4, "wan.link.lte"}},
		{"same iface", "[wan.link]\nethernet = \"eth0\"\nlte = \"eth0\"\n", at{5, "wan.link.lte"}},
		{"probe", "[wan.link]\n\nprobe_every = \"0\"\n", at{5, "wan.link.probe_every"}},
		{"device relative", "[wan.modem]\ndevice = \"ttyUSB2\"\n", at{4, "wan.modem.device"}},
		{"apn quote", "[wan.modem]\napn = \"a\\\"b\"\n", at{4, "wan.modem.apn"}},
		{"budget", "[wan.modem]\ndaily_budget = 5\n", at{4, "wan.modem.daily_budget"}},
		{"skew", "[wan.commands]\nmax_skew = \"2h\"\n", at{4, "wan.commands.max_skew"}},
		{"validity", "[wan.commands]\nmax_validity = \"30s\"\n", at{4, "wan.commands.max_validity"}},
		{"key role", "[[wan.commands.key]]\nid = \"k\"\nrole = \"root\"\npublic_key_file = \"/k.pem\"\n", at{5, "wan.commands.key[0].role"}},
		{"key file", "[[wan.commands.key]]\nid = \"k\"\nrole = \"admin\"\npublic_key_file = \"k.pem\"\n", at{6, "wan.commands.key[0].public_key_file"}},
		{"key id", "[[wan.commands.key]]\nid = \"k k\"\nrole = \"admin\"\npublic_key_file = \"/k.pem\"\n", at{4, "wan.commands.key[0].id"}},
		{"dup key", "[[wan.commands.key]]\nid = \"k\"\nrole = \"admin\"\npublic_key_file = \"/k.pem\"\n[[wan.commands.key]]\nid = \"k\"\nrole = \"reader\"\npublic_key_file = \"/r.pem\"\n", at{8, "wan.commands.key[1].id"}},
		{"unknown", "[wan.modem]\nbaud = \"9600\"\n", at{4, "wan.modem.baud"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(ok+tc.toml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			if len(ce.Problems) != 1 || (at{ce.Problems[0].Line, ce.Problems[0].Key}) != tc.want {
				t.Errorf("problems %v, want one at %v", err, tc.want)
			}
		})
	}
}
