package zigbee

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/han/zigbee/ihdsim"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/tariff"
)

// lastResponse waits for the last frame the ESI sent with command cmd of
// frame type ft on cluster, and returns its payload.
func (e *env) lastResponse(cluster uint16, ft zcl.FrameType, cmd uint8) []byte {
	e.t.Helper()
	for i := 0; i < 1000; i++ {
		fs := e.ncp.sentFrames()
		for j := len(fs) - 1; j >= 0; j-- {
			f, err := zcl.ParseFrame(fs[j].Payload)
			if err == nil && fs[j].Cluster == cluster && f.Type == ft && f.Command == cmd {
				return f.Payload
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no command 0x%02x on cluster 0x%04x within 10 s", cmd, cluster)
	return nil
}

func TestDiscoverAttributes(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.send(zcl.ClusterMetering, e.ihd.Frame(zcl.FrameGlobal, zcl.CmdDiscoverAttributes, zcl.AppendDiscoverAttributes(nil, zcl.DiscoverAttributes{Start: 0x0300, MaxCount: 4})))
	d, err := zcl.ParseDiscoverAttributesResponse(e.lastResponse(zcl.ClusterMetering, zcl.FrameGlobal, zcl.CmdDiscoverAttributesResponse))
	if err != nil {
		t.Fatal(err)
	}
	want := []zcl.AttrInfo{{ID: zcl.MeterUnitOfMeasure, Type: zcl.TypeEnum8}, {ID: zcl.MeterMultiplier, Type: zcl.TypeUint24},
		{ID: zcl.MeterDivisor, Type: zcl.TypeUint24}, {ID: zcl.MeterSummationFormatting, Type: zcl.TypeBitmap8}}
	if d.Complete || len(d.Attrs) != 4 {
		t.Fatalf("discover: %+v", d)
	}
	for i := range want {
		if d.Attrs[i] != want[i] {
			t.Errorf("attr %d: %+v, want %+v", i, d.Attrs[i], want[i])
		}
	}
}

func TestIdentify(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.send(zcl.ClusterIdentify, e.ihd.Frame(zcl.FrameCluster, zcl.CmdIdentify, []byte{30, 0}))
	e.send(zcl.ClusterIdentify, e.ihd.Frame(zcl.FrameCluster, zcl.CmdIdentifyQuery, nil))
	p := e.lastResponse(zcl.ClusterIdentify, zcl.FrameCluster, zcl.CmdIdentifyQueryResponse)
	if len(p) != 2 || p[0] == 0 || p[0] > 31 {
		t.Errorf("identify query response % x", p)
	}
	// IdentifyTime is writable.
	w, _ := zcl.AppendAttrValues(nil, []zcl.AttrValue{{ID: zcl.IdentifyTime, Value: zcl.Uint(zcl.TypeUint16, 0)}})
	e.send(zcl.ClusterIdentify, e.ihd.Frame(zcl.FrameGlobal, zcl.CmdWriteAttributes, w))
	rs, err := zcl.ParseWriteAttributesResponse(e.lastResponse(zcl.ClusterIdentify, zcl.FrameGlobal, zcl.CmdWriteAttributesResponse))
	if err != nil || len(rs) != 1 || rs[0].Status != zcl.StatusSuccess {
		t.Errorf("write IdentifyTime: %+v %v", rs, err)
	}
}

func TestGetScheduledEventsAndLastMessage(t *testing.T) {
	e := startEnv(t, nil)
	ctx := context.Background()
	if err := e.tm.StartEvent(ctx, tariff.Event{ID: "a", Start: t0.Add(time.Hour), Minutes: 15, Criticality: 9, DeviceClasses: []string{"battery"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.tm.PostMessage(ctx, tariff.Message{ID: "m", Text: "Hallo, Öl 💡 " + string(make([]byte, 0)), Priority: "critical", Start: t0, Minutes: 30}); err != nil {
		t.Fatal(err)
	}
	e.joinIHD() // gets the event and the message pushed
	e.wait("the pushed event and message", func(v *ihdsim.View) bool { return len(v.Events()) == 1 && len(v.Messages()) == 1 })
	e.send(zcl.ClusterDRLC, e.ihd.Frame(zcl.FrameCluster, zcl.CmdGetScheduledEvents, zcl.AppendGetScheduled(nil, zcl.GetScheduled{})))
	e.send(zcl.ClusterMessaging, e.ihd.Frame(zcl.FrameCluster, zcl.CmdGetLastMessage, nil))
	e.wait("the answers", func(v *ihdsim.View) bool { return len(v.Events()) == 2 && len(v.Messages()) == 2 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		ev := v.Events()[1]
		if ev.DeviceClass != zcl.ClassGeneration || ev.Criticality != 9 || ev.AvgLoadAdjust != -128 {
			t.Errorf("event %+v", ev)
		}
		m := v.Messages()[1]
		if m.Control != zcl.MsgImportanceCritical || m.Duration != 30 || string(m.Message) != "Hallo, Öl 💡 " {
			t.Errorf("message %+v %q", m, m.Message)
		}
		return true
	})
}

// A long message is cut at a character boundary to fit one APS frame.
func TestLongMessageCut(t *testing.T) {
	e := startEnv(t, nil)
	long := ""
	for len(long) < 200 {
		long += "Ünïcödé "
	}
	if err := e.tm.PostMessage(context.Background(), tariff.Message{ID: "long", Text: long, Priority: "low", Start: t0}); err != nil {
		t.Fatal(err)
	}
	e.joinIHD()
	e.wait("the message", func(v *ihdsim.View) bool { return len(v.Messages()) == 1 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		m := v.Messages()[0].Message
		if len(m) > 82-3-12 || len(m) < 60 || string(m) != long[:len(m)] {
			t.Errorf("cut message %d bytes %q", len(m), m)
		}
		return true
	})
	for _, f := range e.ncp.sentFrames() {
		if len(f.Payload) > 82 {
			t.Errorf("a frame of %d bytes was sent", len(f.Payload))
		}
	}
}
