package main

import (
	"strings"
	"testing"
)

func TestHANCommand(t *testing.T) {
	if code, _, errs := runCLI(t, "han"); code != exitUsage || !strings.Contains(errs, "smgw han pair") {
		t.Errorf("han: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "han", "help"); code != exitOK || !strings.Contains(out, "clients") {
		t.Errorf("han help: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "han", "frobnicate"); code != exitUsage {
		t.Errorf("han frobnicate: %d", code)
	}
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "han", "pair", "--data", dir); code != exitFail || !strings.Contains(errs, "not running") {
		t.Errorf("han pair without a daemon: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "han", "clients", "revoke", "--data", dir); code != exitUsage {
		t.Errorf("revoke without an id: %d", code)
	}
}
