package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A plain OMS gas meter telegram (already decrypted by its receiver) and
// a mode-5 one with its key, from the wmbusmeters test corpus.
const (
	gasTelegram   = "2E44A5119870659930037A060020052F2F0C933E842784060A3B00000A5A5901C4016D3B37DF2CCC01933E24032606"
	heatTelegram  = "42442D2C3636363635048D20E18025B62087D0780406A500000004FF072B01000004FF089C000000041421020000043B120000000259D014025D000904FF2200000000"
	wrongKey      = "00112233445566778899AABBCCDDEEFF"
	modeFiveFrame = "5E4409077372727210077A710050052F2F046D0110A92704130022000004933B0000000004933C00000000023B000002592A0A446D0000A12744130000000044933B0000000044933C0000000001FD74622F2F2F2F2F2F2F2F2F2F2F2F2F2F"
)

type decodeJSON struct {
	Meter struct {
		Manufacturer, ID, Version, Type, Medium string
	} `json:"meter"`
	Security struct {
		Mode         int  `json:"mode"`
		Decrypted    bool `json:"decrypted"`
		AccessNumber int  `json:"access_number"`
	} `json:"security"`
	Error   *string `json:"error"`
	Records []struct {
		OBIS     string `json:"obis"`
		Quantity string `json:"quantity"`
		Value    string `json:"value"`
		Unit     string `json:"unit"`
		Storage  int    `json:"storage"`
		Tariff   int    `json:"tariff"`
		Subunit  int    `json:"subunit"`
		Function string `json:"function"`
		DIFVIF   string `json:"dif_vif"`
	} `json:"records"`
}

func parseDecodeJSON(t *testing.T, out string) []decodeJSON {
	t.Helper()
	var res []decodeJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d decodeJSON
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		res = append(res, d)
	}
	return res
}

func TestDecodeJSON(t *testing.T) {
	code, out, errs := runCLI(t, "decode", gasTelegram, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	d := parseDecodeJSON(t, out)[0]
	if d.Meter.Manufacturer != "DME" || d.Meter.ID != "99657098" || d.Meter.Medium != "gas" || d.Error != nil || d.Security.Mode != 5 || d.Security.AccessNumber != 6 {
		t.Fatalf("%+v", d)
	}
	r := d.Records[0]
	if r.OBIS != "7-0:13.0.0*255" || r.Value != "6842.784" || r.Unit != "m3" || r.Function != "instantaneous" || r.DIFVIF != "0c933e" {
		t.Fatalf("record %+v", r)
	}
	var dt bool
	for _, r := range d.Records {
		if r.Quantity == "datetime" && r.Value == "2022-12-31T23:59:00" && r.Storage == 3 {
			dt = true
		}
	}
	if !dt {
		t.Fatalf("no ISO 8601 date-time record: %+v", d.Records)
	}
}

func TestDecodeTableAndErrors(t *testing.T) {
	code, out, _ := runCLI(t, "decode", heatTelegram)
	if code != exitOK || !strings.Contains(out, "6-0:1.0.0*255") || !strings.Contains(out, "165000") || !strings.Contains(out, "kamstrup-heat") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// A wrong key: exit 1, the error in the JSON, no records.
	code, out, _ = runCLI(t, "decode", "--key", wrongKey, "--format", "json", modeFiveFrame)
	if code != exitFail {
		t.Fatalf("wrong key: exit %d", code)
	}
	if d := parseDecodeJSON(t, out)[0]; d.Error == nil || !strings.Contains(*d.Error, "decryption") || len(d.Records) != 0 {
		t.Fatalf("wrong key: %s", out)
	}
	for _, args := range [][]string{
		{"decode"},
		{"decode", "zz"},
		{"decode", gasTelegram, "--format", "xml"},
		{"decode", gasTelegram, "--key", "0011"},
		{"decode", gasTelegram, "--file", "x"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestDecodeFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "telegrams.txt")
	text := "# from a receiver\n" +
		gasTelegram + "\n\n" +
		"T1;1;1;2019-04-03 19:00:42.000;97;148;99657098;0x" + gasTelegram + "\n" +
		heatTelegram + " NOKEY\n" +
		modeFiveFrame + " " + wrongKey + "\n" +
		"nothex\n"
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "decode", "--file", f, "--format", "json")
	if code != exitFail {
		t.Fatalf("exit %d, want 1 (one bad key, one bad line)", code)
	}
	res := parseDecodeJSON(t, out)
	if len(res) != 4 || res[0].Meter.ID != "99657098" || res[1].Meter.ID != "99657098" || res[2].Meter.Manufacturer != "KAM" || res[3].Error == nil {
		t.Fatalf("%d results: %s", len(res), out)
	}
	if !strings.Contains(errs, ":7:") {
		t.Fatalf("bad line not reported with its number: %q", errs)
	}
}
