package zcl

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The cross-check against zigbee-herdsman (npm): the same ZCL frames are
// encoded by herdsman (testdata/herdsman/encode.js) and by this package and
// compared byte for byte. herdsman is installed with npm into a cache
// directory outside the tree (SMGW_HERDSMAN_DIR, else the user cache dir)
// from testdata/herdsman/package.json and package-lock.json. The test
// skips only when node or npm is missing.

const herdsmanVersion = "11.1.1"

// herdsmanModules returns the node_modules directory holding herdsman,
// installing it on first use.
func herdsmanModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("zigbee-herdsman cross-check skipped: node is not installed (apt-get install nodejs npm)")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("zigbee-herdsman cross-check skipped: npm is not installed (apt-get install npm)")
	}
	dir := os.Getenv("SMGW_HERDSMAN_DIR")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		dir = filepath.Join(c, "smgw", "zigbee-herdsman-"+herdsmanVersion)
	}
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "zigbee-herdsman", "package.json")); err == nil {
		return mods
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "herdsman", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// --ignore-scripts: the serial-port bindings' native build is not
	// needed for the ZCL code.
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing zigbee-herdsman %s into %s with npm ci: %v\n%s", herdsmanVersion, dir, err, out)
	}
	return mods
}

// hcase is one frame for both encoders.
type hcase struct {
	name  string
	frame Frame          // ours: header and payload
	h     map[string]any // herdsman's create() arguments
}

func hValue(v Value) any {
	switch types[v.Type].class {
	case 's':
		return v.I
	case 'b':
		return string(v.B)
	}
	return v.U
}

func meteringReadCase(t *testing.T) hcase {
	recs := []ReadRecord{
		{ID: MeterCurrentSummationDelivered, Value: Uint(TypeUint48, 123456789012)},
		{ID: MeterCurrentSummationReceived, Value: Uint(TypeUint48, 4567)},
		{ID: MeterCurrentTier1SummationDelivered, Value: Uint(TypeUint48, 80000000000)},
		{ID: MeterTierSummationDelivered(2), Value: Uint(TypeUint48, 43456789012)},
		{ID: MeterStatus, Value: Uint(TypeBitmap8, 0)},
		{ID: MeterUnitOfMeasure, Value: Uint(TypeEnum8, uint64(UnitKWh))},
		{ID: MeterMultiplier, Value: Uint(TypeUint24, 1)},
		{ID: MeterDivisor, Value: Uint(TypeUint24, 1000000)},
		{ID: MeterSummationFormatting, Value: Uint(TypeBitmap8, uint64(Formatting(3, 6, true)))},
		{ID: MeterDemandFormatting, Value: Uint(TypeBitmap8, uint64(Formatting(3, 5, true)))},
		{ID: MeterDeviceType, Value: Uint(TypeBitmap8, uint64(DeviceElectric))},
		{ID: MeterInstantaneousDemand, Value: Int(TypeInt24, -1234567)},
		{ID: MeterCurrentDayConsumptionDelivered, Value: Uint(TypeUint24, 12345678)},
		{ID: MeterPreviousDayConsumptionDelivered, Value: Uint(TypeUint24, 0xffffff)},
		{ID: 0x0999, Status: StatusUnsupportedAttribute},
	}
	p, err := AppendReadAttributesResponse(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	var hp []map[string]any
	for _, r := range recs {
		m := map[string]any{"attrId": r.ID, "status": uint8(r.Status)}
		if r.Status == StatusSuccess {
			m["dataType"], m["attrData"] = uint8(r.Value.Type), hValue(r.Value)
		}
		hp = append(hp, m)
	}
	hdr := Header{Type: FrameGlobal, Direction: ServerToClient, DisableDefaultResponse: true, Seq: 0x21, Command: CmdReadAttributesResponse}
	return hcase{"metering read attributes response", Frame{hdr, p}, map[string]any{
		"frameType": 0, "direction": 1, "ddr": true, "seq": 0x21, "cluster": "seMetering", "command": "readRsp", "payload": hp}}
}

func reportCase(t *testing.T, name string, seq uint8, ddr bool, recs []AttrValue) hcase {
	p, err := AppendAttrValues(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	var hp []map[string]any
	for _, r := range recs {
		hp = append(hp, map[string]any{"attrId": r.ID, "dataType": uint8(r.Value.Type), "attrData": hValue(r.Value)})
	}
	hdr := Header{Type: FrameGlobal, Direction: ServerToClient, DisableDefaultResponse: ddr, Seq: seq, Command: CmdReportAttributes}
	return hcase{name, Frame{hdr, p}, map[string]any{
		"frameType": 0, "direction": 1, "ddr": ddr, "seq": seq, "cluster": "seMetering", "command": "report", "payload": hp}}
}

func herdsmanCases(t *testing.T) []hcase {
	cs := []hcase{meteringReadCase(t)}
	cs = append(cs, reportCase(t, "metering report: summation and demand", 0x42, true, []AttrValue{
		{ID: MeterCurrentSummationDelivered, Value: Uint(TypeUint48, 281474976710654)},
		{ID: MeterInstantaneousDemand, Value: Int(TypeInt24, 8388607)},
	}))
	cs = append(cs, reportCase(t, "metering report: tiers and days", 0x00, false, []AttrValue{
		{ID: MeterTierSummationDelivered(1), Value: Uint(TypeUint48, 1)},
		{ID: MeterTierSummationDelivered(2), Value: Uint(TypeUint48, 0x010203040506)},
		{ID: MeterCurrentDayConsumptionDelivered, Value: Uint(TypeUint24, 0x0a0b0c)},
		{ID: MeterPreviousDayConsumptionDelivered, Value: Uint(TypeUint24, 7)},
		{ID: MeterInstantaneousDemand, Value: Int(TypeInt24, -8388608)},
		{ID: MeterStatus, Value: Uint(TypeBitmap8, uint64(MeterStatusPowerFailure|MeterStatusTamperDetect))},
	}))
	// Read Attributes from an IHD (client to server).
	ids := []uint16{MeterCurrentSummationDelivered, MeterInstantaneousDemand, MeterMultiplier, MeterDivisor}
	var hids []map[string]any
	for _, id := range ids {
		hids = append(hids, map[string]any{"attrId": id})
	}
	cs = append(cs, hcase{"metering read attributes", Frame{Header{Seq: 3, Command: CmdReadAttributes}, AppendReadAttributes(nil, ids)},
		map[string]any{"frameType": 0, "direction": 0, "ddr": false, "seq": 3, "cluster": "seMetering", "command": "read", "payload": hids}})
	// Configure Reporting from an IHD.
	cfg := []ReportingConfig{
		{ID: MeterCurrentSummationDelivered, Type: TypeUint48, MinInterval: 30, MaxInterval: 900, Change: Uint(TypeUint48, 1000)},
		{ID: MeterInstantaneousDemand, Type: TypeInt24, MinInterval: 5, MaxInterval: 60, Change: Int(TypeInt24, 100)},
		{ID: MeterStatus, Type: TypeBitmap8, MinInterval: 1, MaxInterval: 0xffff},
	}
	cp, err := AppendConfigureReporting(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var hc []map[string]any
	for _, c := range cfg {
		m := map[string]any{"direction": 0, "attrId": c.ID, "dataType": uint8(c.Type), "minRepIntval": c.MinInterval, "maxRepIntval": c.MaxInterval}
		if c.Type.Analog() {
			m["repChange"] = hValue(c.Change)
		}
		hc = append(hc, m)
	}
	cs = append(cs, hcase{"metering configure reporting", Frame{Header{Seq: 9, Command: CmdConfigureReporting}, cp},
		map[string]any{"frameType": 0, "direction": 0, "ddr": false, "seq": 9, "cluster": "seMetering", "command": "configReport", "payload": hc}})
	// Default Response from the ESI.
	cs = append(cs, hcase{"default response UNSUP_CLUSTER_COMMAND",
		Frame{Header{Direction: ServerToClient, DisableDefaultResponse: true, Seq: 0x77, Command: CmdDefaultResponse},
			AppendDefaultResponse(nil, DefaultResponse{Command: 0x05, Status: StatusUnsupClusterCommand})},
		map[string]any{"frameType": 0, "direction": 1, "ddr": true, "seq": 0x77, "cluster": "seMetering", "command": "defaultRsp",
			"payload": map[string]any{"cmdId": 5, "statusCode": 0x81}}})
	// A manufacturer-specific header.
	cs = append(cs, hcase{"manufacturer-specific report", Frame{Header{ManufacturerSpecific: true, Manufacturer: 0x1234, Direction: ServerToClient, Seq: 1, Command: CmdReportAttributes},
		mustAttrValues(t, []AttrValue{{ID: MeterMultiplier, Value: Uint(TypeUint24, 10)}})},
		map[string]any{"frameType": 0, "direction": 1, "ddr": false, "manufacturer": 0x1234, "seq": 1, "cluster": "seMetering", "command": "report",
			"payload": []map[string]any{{"attrId": MeterMultiplier, "dataType": uint8(TypeUint24), "attrData": 10}}}})
	return cs
}

func mustAttrValues(t *testing.T, recs []AttrValue) []byte {
	p, err := AppendAttrValues(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHerdsmanCrossCheck(t *testing.T) {
	mods := herdsmanModules(t)
	cases := herdsmanCases(t)
	var in []map[string]any
	for _, c := range cases {
		in = append(in, c.h)
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join("testdata", "herdsman", "encode.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	cmd.Stdin = bytes.NewReader(js)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node encode.js: %v\n%s", err, stderr.String())
	}
	var res []struct {
		Hex   string `json:"hex"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("encode.js output (%v): %s", err, out)
	}
	for i, c := range cases {
		if res[i].Error != "" {
			t.Errorf("%s: herdsman: %s", c.name, res[i].Error)
			continue
		}
		ours := hex.EncodeToString(AppendFrame(nil, c.frame))
		if ours != res[i].Hex {
			t.Errorf("%s:\n ours     %s\n herdsman %s", c.name, ours, res[i].Hex)
		}
		// And our parser reads herdsman's bytes back.
		hb, _ := hex.DecodeString(res[i].Hex)
		f, err := ParseFrame(hb)
		if err != nil || f.Header != c.frame.Header || !bytes.Equal(f.Payload, c.frame.Payload) {
			t.Errorf("%s: parsing herdsman's frame: %+v, %v", c.name, f, err)
		}
	}
}
