package zcl

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenFrame is one decoded line of testdata/frames.txt.
type goldenFrame struct {
	Cluster string `json:"cluster"`
	Hex     string `json:"hex"`
	Header  string `json:"header,omitempty"`
	Payload any    `json:"payload,omitempty"`
	Error   string `json:"error,omitempty"`
}

// decodePayload decodes a frame's payload by what it is, for golden files
// and the fuzzers.
func decodePayload(cluster uint16, f Frame) (any, error) {
	if f.Type == FrameGlobal {
		switch f.Command {
		case CmdReadAttributes:
			return ParseReadAttributes(f.Payload)
		case CmdReadAttributesResponse:
			return ParseReadAttributesResponse(f.Payload)
		case CmdWriteAttributes, CmdWriteAttributesUndivided, CmdWriteAttributesNoResponse, CmdReportAttributes:
			return ParseAttrValues(f.Payload)
		case CmdWriteAttributesResponse:
			return ParseWriteAttributesResponse(f.Payload)
		case CmdConfigureReporting:
			return ParseConfigureReporting(f.Payload)
		case CmdConfigureReportingResponse:
			return ParseConfigureReportingResponse(f.Payload)
		case CmdReadReportingConfig:
			return ParseReadReportingConfig(f.Payload)
		case CmdReadReportingConfigResp:
			return ParseReadReportingConfigResponse(f.Payload)
		case CmdDefaultResponse:
			return ParseDefaultResponse(f.Payload)
		case CmdDiscoverAttributes:
			return ParseDiscoverAttributes(f.Payload)
		case CmdDiscoverAttributesResponse:
			return ParseDiscoverAttributesResponse(f.Payload)
		}
		return nil, nil
	}
	s2c := f.Direction == ServerToClient
	switch {
	case cluster == ClusterPrice && !s2c && f.Command == CmdGetCurrentPrice:
		return ParseGetCurrentPrice(f.Payload)
	case cluster == ClusterPrice && !s2c && f.Command == CmdGetScheduledPrices:
		return ParseGetScheduled(f.Payload)
	case cluster == ClusterPrice && s2c && f.Command == CmdPublishPrice:
		return ParsePublishPrice(f.Payload)
	case cluster == ClusterMessaging && s2c && f.Command == CmdDisplayMessage:
		return ParseDisplayMessage(f.Payload)
	case cluster == ClusterMessaging && s2c && f.Command == CmdCancelMessage:
		return ParseCancelMessage(f.Payload)
	case cluster == ClusterMessaging && !s2c && f.Command == CmdMessageConfirmation:
		return ParseMessageConfirmation(f.Payload)
	case cluster == ClusterDRLC && s2c && f.Command == CmdLoadControlEvent:
		return ParseLoadControlEvent(f.Payload)
	case cluster == ClusterDRLC && s2c && f.Command == CmdCancelLoadControlEvent:
		return ParseCancelLoadControlEvent(f.Payload)
	case cluster == ClusterDRLC && !s2c && f.Command == CmdReportEventStatus:
		return ParseReportEventStatus(f.Payload)
	case cluster == ClusterDRLC && !s2c && f.Command == CmdGetScheduledEvents:
		return ParseGetScheduled(f.Payload)
	case cluster == ClusterMetering && !s2c && f.Command == CmdGetProfile:
		return ParseGetProfile(f.Payload)
	case cluster == ClusterMetering && s2c && f.Command == CmdGetProfileResponse:
		return ParseGetProfileResponse(f.Payload)
	}
	return nil, nil
}

func decodeGolden(cluster uint16, b []byte) goldenFrame {
	g := goldenFrame{Cluster: strconv.FormatUint(uint64(cluster), 16), Hex: hex.EncodeToString(b)}
	f, err := ParseFrame(b)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	g.Header = f.Header.String()
	v, err := decodePayload(cluster, f)
	if err != nil {
		g.Error = err.Error()
	}
	g.Payload = v
	return g
}

func readFrames(t testing.TB) (clusters []uint16, frames [][]byte) {
	f, err := os.Open(filepath.Join("testdata", "frames.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		cl, rest, _ := strings.Cut(line, " ")
		c, err := strconv.ParseUint(cl, 16, 16)
		if err != nil {
			t.Fatalf("frames.txt: %q: %v", line, err)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(rest, " ", ""))
		if err != nil {
			t.Fatalf("frames.txt: %q: %v", line, err)
		}
		clusters, frames = append(clusters, uint16(c)), append(frames, b)
	}
	return clusters, frames
}

func TestGoldenFrames(t *testing.T) {
	cl, frames := readFrames(t)
	var out []goldenFrame
	for i, b := range frames {
		out = append(out, decodeGolden(cl[i], b))
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "frames.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decoded frames differ from %s (go test -run Golden -update, then review the diff)", path)
	}
}
