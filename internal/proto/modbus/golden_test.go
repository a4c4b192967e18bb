package modbus

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenExchange is one decoded exchange of testdata/rtu_frames.txt.
type goldenExchange struct {
	Request   string   `json:"request"`
	Unit      byte     `json:"unit,omitempty"`
	Function  byte     `json:"function,omitempty"`
	Address   uint16   `json:"address,omitempty"`
	Quantity  uint16   `json:"quantity,omitempty"`
	Values    []uint16 `json:"values,omitempty"`
	Response  string   `json:"response"`
	Registers []uint16 `json:"registers,omitempty"`
	Echo      string   `json:"echo,omitempty"`
	Exception string   `json:"exception,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func decodeExchange(reqHex, respHex string) goldenExchange {
	g := goldenExchange{Request: reqHex, Response: respHex}
	reqb, _ := hex.DecodeString(strings.ReplaceAll(reqHex, " ", ""))
	respb, _ := hex.DecodeString(strings.ReplaceAll(respHex, " ", ""))
	unit, pdu, err := ParseRTU(reqb)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	req, err := ParseRequest(pdu)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	g.Unit, g.Function, g.Address, g.Quantity, g.Values = unit, req.Function, req.Address, req.Quantity, req.Values
	n, err := SplitRTUResponse(respb, unit, req)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	_, rpdu, _ := ParseRTU(respb[:n])
	resp, err := ParseResponse(rpdu, req)
	var ex *Exception
	switch {
	case errors.As(err, &ex):
		g.Exception = fmt.Sprintf("%d %s", ex.Code, ex.Code)
	case err != nil:
		g.Error = err.Error()
	case resp.Data != nil:
		g.Registers = resp.Registers()
	default:
		g.Echo = fmt.Sprintf("address %d quantity %d value %d", resp.Address, resp.Quantity, resp.Value)
	}
	return g
}

func TestGoldenExchanges(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "rtu_frames.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []goldenExchange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		req, resp, ok := strings.Cut(line, "|")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		got = append(got, decodeExchange(strings.TrimSpace(req), strings.TrimSpace(resp)))
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	golden := filepath.Join("testdata", "rtu_frames.golden.json")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("decoded exchanges differ from %s (run with -update to accept):\n%s", golden, out)
	}
}
