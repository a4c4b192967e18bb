package main

import (
	"strings"
	"testing"
)

func TestZigbeeCLIUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"han", "zigbee"}, exitUsage, "smgw han zigbee permit"},
		{[]string{"han", "zigbee", "--help"}, exitOK, "remove   ask the device"},
		{[]string{"han", "zigbee", "bogus"}, exitUsage, `unknown subcommand "bogus"`},
		{[]string{"han", "zigbee", "permit", "--eui64", "000D6F0011223344"}, exitUsage, "permit needs --eui64 and --install-code"},
		{[]string{"han", "zigbee", "permit", "--eui64", "1", "--install-code", "2", "--for", "2h"}, exitUsage, "--for 2h0m0s: 1s…1h"},
		{[]string{"han", "zigbee", "remove"}, exitUsage, "want: smgw han zigbee remove EUI"},
		{[]string{"han", "zigbee", "devices", "--format", "xml"}, exitUsage, "--format: table or json"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: exit %d, want %d; output lacks %q:\n%s%s", c.args, code, c.code, c.want, stdout, stderr)
		}
	}
}
