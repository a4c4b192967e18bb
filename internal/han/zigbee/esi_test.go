package zigbee

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/han/zigbee/ihdsim"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/zcl"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/tariff"
)

func TestEndpointsRegistered(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.ncp.mu.Lock()
	cfg := e.ncp.cfg
	e.ncp.mu.Unlock()
	if len(cfg.Endpoints) != 2 || cfg.Endpoints[0].Profile != zcl.ProfileSmartEnergy || cfg.Endpoints[0].DeviceID != zcl.DeviceESI ||
		cfg.Endpoints[1].ID != 2 || cfg.Endpoints[1].DeviceID != DeviceMeteringDevice {
		t.Fatalf("endpoints: %+v", cfg.Endpoints)
	}
	if cfg.Channel != testNet.Channel || cfg.NetworkKey != testNet.NetworkKey {
		t.Errorf("network: %+v", cfg)
	}
	ds := e.svc.Devices()
	if len(ds) != 1 || ds[0].EUI64 != ihdEUI || ds[0].NWK != ihdNWK || ds[0].Endpoint != 1 || ds[0].LQI != 180 {
		t.Errorf("devices: %+v", ds)
	}
}

// The Metering attributes match the store: exact decimals rounded to Wh
// and W, days from the 15-minute register.
func TestMeteringAttributesMatchStore(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	ids := []uint16{zcl.MeterCurrentSummationDelivered, zcl.MeterCurrentSummationReceived,
		zcl.MeterTierSummationDelivered(1), zcl.MeterTierSummationDelivered(2), zcl.MeterTierSummationDelivered(3),
		zcl.MeterInstantaneousDemand, zcl.MeterUnitOfMeasure, zcl.MeterMultiplier, zcl.MeterDivisor,
		zcl.MeterSummationFormatting, zcl.MeterDeviceType, zcl.MeterStatus,
		zcl.MeterCurrentDayConsumptionDelivered, zcl.MeterPreviousDayConsumptionDelivered}
	// Two requests: one frame does not hold every answer.
	e.send(zcl.ClusterMetering, e.ihd.ReadAttributes(ids[:7]...))
	e.send(zcl.ClusterMetering, e.ihd.ReadAttributes(ids[7:]...))
	e.wait("metering attributes", func(v *ihdsim.View) bool {
		_, ok := v.Attr(zcl.ClusterMetering, zcl.MeterPreviousDayConsumptionDelivered)
		_, ok2 := v.Attr(zcl.ClusterMetering, zcl.MeterCurrentSummationDelivered)
		return ok && ok2
	})
	latest, _ := e.st.Latest(elec, meter.MustOBIS("1-0:1.8.0"))
	wantSum, _ := latest.Value.Round(0)
	// 12:00 UTC on t0's day: 48 readings since midnight at 250 Wh.
	midnight := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	curDay := uint64(t0.Sub(midnight)/(15*time.Minute)) * 250
	want := map[uint16]zcl.Value{
		zcl.MeterCurrentSummationDelivered:       zcl.Uint(zcl.TypeUint48, uint64(wantSum.M)),
		zcl.MeterCurrentSummationReceived:        zcl.Uint(zcl.TypeUint48, 4567),
		zcl.MeterTierSummationDelivered(1):       zcl.Uint(zcl.TypeUint48, 6000123),
		zcl.MeterTierSummationDelivered(2):       zcl.Uint(zcl.TypeUint48, 4001000),
		zcl.MeterTierSummationDelivered(3):       zcl.Invalid(zcl.TypeUint48),
		zcl.MeterInstantaneousDemand:             zcl.Int(zcl.TypeInt24, 1300),
		zcl.MeterUnitOfMeasure:                   zcl.Uint(zcl.TypeEnum8, uint64(zcl.UnitKWh)),
		zcl.MeterMultiplier:                      zcl.Uint(zcl.TypeUint24, 1),
		zcl.MeterDivisor:                         zcl.Uint(zcl.TypeUint24, 1000),
		zcl.MeterSummationFormatting:             zcl.Uint(zcl.TypeBitmap8, 0xb3),
		zcl.MeterDeviceType:                      zcl.Uint(zcl.TypeBitmap8, 0),
		zcl.MeterStatus:                          zcl.Uint(zcl.TypeBitmap8, 0),
		zcl.MeterCurrentDayConsumptionDelivered:  zcl.Uint(zcl.TypeUint24, curDay),
		zcl.MeterPreviousDayConsumptionDelivered: zcl.Uint(zcl.TypeUint24, 96*250),
	}
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		for id, w := range want {
			got, ok := v.Attr(zcl.ClusterMetering, id)
			if !ok || got.String() != w.String() {
				t.Errorf("attribute 0x%04x: %v (%v), want %v", id, got, ok, w)
			}
		}
		return true
	})
	// 10 MWh + 0.4 Wh… rounded: the stored exact decimal, not a float.
	if wantSum.M != 10_000_000+int64(36*4)*250 {
		t.Errorf("seeded register %v", latest.Value)
	}
}

func TestGasMirrorEndpoint(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.sendTo(2, zcl.ClusterMetering, e.ihd.ReadAttributes(zcl.MeterCurrentSummationDelivered, zcl.MeterUnitOfMeasure, zcl.MeterDeviceType, zcl.MeterInstantaneousDemand))
	e.wait("gas attributes", func(v *ihdsim.View) bool { _, ok := v.Attr(zcl.ClusterMetering, zcl.MeterDeviceType); return ok })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterCurrentSummationDelivered); a.U != 1234567 {
			t.Errorf("gas summation %v, want 1234567 l", a)
		}
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterUnitOfMeasure); a.U != uint64(zcl.UnitCubicMetre) {
			t.Errorf("gas unit %v", a)
		}
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterDeviceType); a.U != uint64(zcl.DeviceMirroredGas) {
			t.Errorf("gas device type %v", a)
		}
		return true
	})
	// The gas endpoint serves no Price cluster.
	e.sendTo(2, zcl.ClusterPrice, e.ihd.GetCurrentPrice())
	e.wait("UNSUPPORTED_CLUSTER", func(v *ihdsim.View) bool {
		for _, d := range v.Defaults() {
			if d.Cluster == zcl.ClusterPrice && d.Status == zcl.StatusUnsupportedCluster {
				return true
			}
		}
		return false
	})
}

// Statuses for what we do not serve, per ZCL's rules.
func TestErrorStatuses(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	seqOf := func(b []byte) uint8 { return b[1] }
	type want struct {
		seq     uint8
		cluster uint16
		cmd     uint8
		st      zcl.Status
	}
	var ws []want
	// An unknown attribute: a record with UNSUPPORTED_ATTRIBUTE.
	e.send(zcl.ClusterMetering, e.ihd.ReadAttributes(0x0999))
	// A cluster we do not serve (On/Off).
	f := e.ihd.ReadAttributes(0x0000)
	ws = append(ws, want{seqOf(f), 0x0006, zcl.CmdReadAttributes, zcl.StatusUnsupportedCluster})
	e.send(0x0006, f)
	// An unknown cluster command.
	f = e.ihd.Frame(zcl.FrameCluster, 0x42, nil)
	ws = append(ws, want{seqOf(f), zcl.ClusterMetering, 0x42, zcl.StatusUnsupClusterCommand})
	e.send(zcl.ClusterMetering, f)
	// An unknown global command.
	f = e.ihd.Frame(zcl.FrameGlobal, 0x1f, nil)
	ws = append(ws, want{seqOf(f), zcl.ClusterMetering, 0x1f, zcl.StatusUnsupGeneralCommand})
	e.send(zcl.ClusterMetering, f)
	// A malformed GetProfile.
	f = e.ihd.Frame(zcl.FrameCluster, zcl.CmdGetProfile, []byte{0})
	ws = append(ws, want{seqOf(f), zcl.ClusterMetering, zcl.CmdGetProfile, zcl.StatusMalformedCommand})
	e.send(zcl.ClusterMetering, f)
	// A write to a read-only attribute: a write response record.
	p, _ := zcl.AppendAttrValues(nil, []zcl.AttrValue{{ID: zcl.MeterMultiplier, Value: zcl.Uint(zcl.TypeUint24, 5)}})
	e.send(zcl.ClusterMetering, e.ihd.Frame(zcl.FrameGlobal, zcl.CmdWriteAttributes, p))
	// An error even with the disable-default-response bit set.
	h := zcl.Header{Type: zcl.FrameCluster, DisableDefaultResponse: true, Seq: 0xee, Command: 0x33}
	ws = append(ws, want{0xee, zcl.ClusterPrice, 0x33, zcl.StatusUnsupClusterCommand})
	e.send(zcl.ClusterPrice, zcl.AppendHeader(nil, h))
	// A manufacturer-specific command.
	h = zcl.Header{Type: zcl.FrameCluster, ManufacturerSpecific: true, Manufacturer: 0x1234, Seq: 0xef, Command: 0x01}
	ws = append(ws, want{0xef, zcl.ClusterMetering, 0x01, zcl.StatusUnsupManufClusterCommand})
	e.send(zcl.ClusterMetering, zcl.AppendHeader(nil, h))
	// Garbage: logged and counted, no answer possible.
	e.send(zcl.ClusterMetering, []byte{0x03})

	e.wait("all default responses", func(v *ihdsim.View) bool { return len(v.Defaults()) >= len(ws) })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		got := map[uint8]ihdsim.Default{}
		for _, d := range v.Defaults() {
			got[d.Seq] = d
		}
		for _, w := range ws {
			d, ok := got[w.seq]
			if !ok || d.Cluster != w.cluster || d.Command != w.cmd || d.Status != w.st {
				t.Errorf("seq %d: default response %+v (%v), want cluster 0x%04x command 0x%02x %s", w.seq, d, ok, w.cluster, w.cmd, w.st)
			}
		}
		return true
	})
	// The unsupported attribute and the read-only write were answered by
	// their own responses, never a default response.
	var sawReadOnly, sawUnsup bool
	for _, fr := range e.ncp.sentFrames() {
		f, _ := zcl.ParseFrame(fr.Payload)
		switch f.Command {
		case zcl.CmdWriteAttributesResponse:
			rs, _ := zcl.ParseWriteAttributesResponse(f.Payload)
			sawReadOnly = len(rs) == 1 && rs[0].Status == zcl.StatusReadOnly && rs[0].ID == zcl.MeterMultiplier
		case zcl.CmdReadAttributesResponse:
			rs, _ := zcl.ParseReadAttributesResponse(f.Payload)
			if len(rs) == 1 && rs[0].ID == 0x0999 && rs[0].Status == zcl.StatusUnsupportedAttribute {
				sawUnsup = true
			}
		}
	}
	if !sawReadOnly || !sawUnsup {
		t.Errorf("READ_ONLY write response %v, UNSUPPORTED_ATTRIBUTE record %v", sawReadOnly, sawUnsup)
	}
	// The garbage frame went last; the responses above do not wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.Stats().Malformed == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if e.svc.Stats().Malformed != 1 {
		t.Errorf("malformed count %d", e.svc.Stats().Malformed)
	}
}

// Reporting: a configured attribute is reported at once, then on a
// change of at least the reportable change after the minimum interval.
func TestReportingOnAppend(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.send(zcl.ClusterMetering, e.ihd.ConfigureReporting(
		zcl.ReportingConfig{ID: zcl.MeterCurrentSummationDelivered, Type: zcl.TypeUint48, MinInterval: 0, MaxInterval: 600, Change: zcl.Uint(zcl.TypeUint48, 100)},
		zcl.ReportingConfig{ID: zcl.MeterInstantaneousDemand, Type: zcl.TypeInt24, MinInterval: 0, MaxInterval: 600, Change: zcl.Int(zcl.TypeInt24, 50)},
		zcl.ReportingConfig{ID: 0x0999, Type: zcl.TypeUint8, MaxInterval: 60},
		zcl.ReportingConfig{ID: zcl.MeterMultiplier, Type: zcl.TypeUint8, MaxInterval: 60},
	))
	e.wait("configure reporting response", func(v *ihdsim.View) bool { return len(v.ConfigureResponses()) == 2 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		rs := v.ConfigureResponses()
		if rs[0].ID != 0x0999 || rs[0].Status != zcl.StatusUnsupportedAttribute || rs[1].Status != zcl.StatusInvalidDataType {
			t.Errorf("configure responses %+v", rs)
		}
		return true
	})
	e.wait("first report", func(v *ihdsim.View) bool { return v.Reports() >= 1 })
	// A change below the threshold is not reported; one above is.
	at := t0.Add(time.Second)
	if err := e.st.Append(context.Background(), rd(elec, "1-0:1.7.0", at, meter.V(1520, 0), meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // give a wrong report time to show
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		if a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterInstantaneousDemand); a.I != 1300 {
			t.Errorf("demand reported after a change below the threshold: %v", a)
		}
		return true
	})
	if err := e.st.Append(context.Background(), rd(elec, "1-0:1.7.0", at.Add(time.Second), meter.V(2500, 0), meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	e.wait("demand report 2300 W", func(v *ihdsim.View) bool {
		a, _ := v.Attr(zcl.ClusterMetering, zcl.MeterInstantaneousDemand)
		return a.I == 2300
	})
	// Read Reporting Configuration gives back what was configured.
	e.send(zcl.ClusterMetering, e.ihd.Frame(zcl.FrameGlobal, zcl.CmdReadReportingConfig, zcl.AppendReadReportingConfig(nil, []zcl.AttrRef{{ID: zcl.MeterInstantaneousDemand}})))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, fr := range e.ncp.sentFrames() {
			f, _ := zcl.ParseFrame(fr.Payload)
			if f.Type == zcl.FrameGlobal && f.Command == zcl.CmdReadReportingConfigResp {
				rs, err := zcl.ParseReadReportingConfigResponse(f.Payload)
				if err != nil || len(rs) != 1 || rs[0].MaxInterval != 600 || rs[0].Change.I != 50 {
					t.Fatalf("read reporting configuration response %+v %v", rs, err)
				}
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no read reporting configuration response")
}

func TestPriceMessageAndEvent(t *testing.T) {
	e := startEnv(t, nil)
	e.schedule()
	e.joinIHD()
	// GetCurrentPrice answers with the tier in effect at 12:07 (Day).
	e.send(zcl.ClusterPrice, e.ihd.GetCurrentPrice())
	e.wait("a price", func(v *ihdsim.View) bool { return len(v.Prices()) >= 1 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		p := v.Prices()[len(v.Prices())-1]
		if p.Price != 3012 || p.TrailingDigit != 4 || p.Currency != 978 || p.PriceTier != 1 || p.NumberOfTiers != 2 ||
			string(p.RateLabel) != "Day" || p.UnitOfMeasure != zcl.UnitKWh {
			t.Errorf("price %+v", p)
		}
		// Until 22:00: 9 h 52.5 min → 592 minutes.
		if p.Duration != 592 {
			t.Errorf("duration %d min, want 592", p.Duration)
		}
		return true
	})
	// GetScheduledPrices: now and the next changes.
	e.send(zcl.ClusterPrice, e.ihd.GetScheduledPrices(3))
	e.wait("scheduled prices", func(v *ihdsim.View) bool {
		ps := v.Prices()
		return len(ps) >= 4 && ps[len(ps)-1].PriceTier == 1 && ps[len(ps)-1].StartTime != 0
	})
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		ps := v.Prices()[len(v.Prices())-3:]
		if ps[1].Price != 185 || ps[1].TrailingDigit != 3 || ps[1].StartTime != zcl.UTCTime(time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC)) || ps[1].Duration != 480 {
			t.Errorf("scheduled night price %+v", ps[1])
		}
		return true
	})
	// At 22:00 the new price is pushed without being asked.
	e.clk.Set(time.Date(2026, 3, 10, 22, 0, 1, 0, time.UTC))
	e.wait("a pushed night price", func(v *ihdsim.View) bool {
		ps := v.Prices()
		return ps[len(ps)-1].Price == 185 && ps[len(ps)-1].StartTime == 0
	})

	// A message needing confirmation: displayed, confirmed, in the model.
	now := e.clk.Now()
	if err := e.tm.PostMessage(context.Background(), tariff.Message{ID: "msg-1", Text: "Planned outage Thursday 10:00-11:00", Priority: "high",
		Start: now, ConfirmationRequired: true}); err != nil {
		t.Fatal(err)
	}
	e.wait("a message", func(v *ihdsim.View) bool { return len(v.Messages()) == 1 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		m := v.Messages()[0]
		if string(m.Message) != "Planned outage Thursday 10:00-11:00" || m.ID != IDOf("msg-1") || m.Control != zcl.MsgImportanceHigh|zcl.MsgConfirmRequired || m.Duration != 0xffff {
			t.Errorf("message %+v", m)
		}
		return true
	})
	waitModel(t, "the confirmation", func() bool {
		for _, m := range e.tm.AllMessages() {
			if m.ID == "msg-1" && m.Confirmed != nil && m.ConfirmedBy == "000D6F0011223344" {
				return true
			}
		}
		return false
	})

	// A DR event: sent, the display reports it received and opts out.
	e.ihd.OptOut = true
	if err := e.tm.StartEvent(context.Background(), tariff.Event{ID: "dr-7", Start: now.Add(time.Hour), Minutes: 30, Criticality: 5,
		DeviceClasses: []string{"hvac", "water-heater"}, LoadReduction: 20, OptOutAllowed: true}); err != nil {
		t.Fatal(err)
	}
	e.wait("an event", func(v *ihdsim.View) bool { return len(v.Events()) == 1 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		ev := v.Events()[0]
		if ev.IssuerEventID != IDOf("dr-7") || ev.DeviceClass != zcl.ClassHVAC|zcl.ClassWaterHeater || ev.Duration != 30 ||
			ev.Criticality != 5 || ev.AvgLoadAdjust != -20 || ev.StartTime != zcl.UTCTime(now.Add(time.Hour)) {
			t.Errorf("event %+v", ev)
		}
		return true
	})
	waitModel(t, "the opt-out", func() bool {
		for _, ev := range e.tm.AllEvents() {
			if ev.ID == "dr-7" && ev.OptedOut("000D6F0011223344") {
				return true
			}
		}
		return false
	})
	// The statuses are in the consumer log.
	n := 0
	if err := e.st.Events(context.Background(), store.LogConsumer, 0, func(ev store.Event) error {
		if ev.Kind == "dr-event-status" {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d event statuses logged, want 2 (received, opted out)", n)
	}
	// Cancelling the event and the message sends the cancellations.
	if err := e.tm.CancelEvent(context.Background(), "dr-7", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.tm.PostMessage(context.Background(), tariff.Message{ID: "msg-2", Text: "x", Priority: "low", Start: now}); err != nil {
		t.Fatal(err)
	}
	e.wait("the second message", func(v *ihdsim.View) bool { return len(v.Messages()) == 2 })
	if err := e.tm.CancelMessage(context.Background(), "msg-2", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.wait("the cancellations", func(v *ihdsim.View) bool { return len(v.EventCancels()) == 1 && len(v.Cancels()) == 1 })
}

func waitModel(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s within 10 s", what)
}

func TestGetProfile(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	e.send(zcl.ClusterMetering, e.ihd.GetProfile(4))
	e.wait("a profile", func(v *ihdsim.View) bool { return len(v.Profiles()) == 1 })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		p := v.Profiles()[0]
		if p.Status != zcl.ProfileSuccess || p.Period != zcl.Period15Min || len(p.Intervals) != 4 || p.EndTime != zcl.UTCTime(t0.Truncate(15*time.Minute)) {
			t.Fatalf("profile %+v", p)
		}
		for i, v := range p.Intervals {
			if v != 250 {
				t.Errorf("interval %d: %d Wh, want 250", i, v)
			}
		}
		return true
	})
}

func TestTimeCluster(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	e := startEnv(t, func(o *Options) { o.Location = berlin; o.Synced = func() bool { return true } })
	e.joinIHD()
	e.send(zcl.ClusterTime, e.ihd.ReadAttributes(zcl.TimeTime, zcl.TimeStatus, zcl.TimeZone, zcl.TimeDstStart, zcl.TimeDstEnd, zcl.TimeDstShift, zcl.TimeLocalTime))
	e.wait("time attributes", func(v *ihdsim.View) bool { _, ok := v.Attr(zcl.ClusterTime, zcl.TimeLocalTime); return ok })
	e.ihd.Wait(time.Second, func(v *ihdsim.View) bool {
		get := func(id uint16) zcl.Value { a, _ := v.Attr(zcl.ClusterTime, id); return a }
		if get(zcl.TimeTime).U != uint64(zcl.UTCTime(t0)) {
			t.Errorf("time %v", get(zcl.TimeTime))
		}
		if get(zcl.TimeStatus).U != 0x07 {
			t.Errorf("time status %v, want master|synchronized|master zone dst", get(zcl.TimeStatus))
		}
		if get(zcl.TimeZone).I != 3600 || get(zcl.TimeDstShift).I != 3600 {
			t.Errorf("zone %v shift %v", get(zcl.TimeZone), get(zcl.TimeDstShift))
		}
		// 2026: DST from 29 March 01:00 UTC to 25 October 01:00 UTC.
		if get(zcl.TimeDstStart).U != uint64(zcl.UTCTime(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC))) ||
			get(zcl.TimeDstEnd).U != uint64(zcl.UTCTime(time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC))) {
			t.Errorf("dst %v … %v", get(zcl.TimeDstStart), get(zcl.TimeDstEnd))
		}
		if get(zcl.TimeLocalTime).U != uint64(zcl.UTCTime(t0))+3600 {
			t.Errorf("local time %v", get(zcl.TimeLocalTime))
		}
		return true
	})
}

// A co-processor reset makes the ESI push prices and messages again.
func TestResetRepushes(t *testing.T) {
	e := startEnv(t, nil)
	e.schedule()
	e.joinIHD()
	e.wait("the pushed price", func(v *ihdsim.View) bool { return len(v.Prices()) == 1 })
	e.ncp.events <- halReset("watchdog")
	e.wait("the price again", func(v *ihdsim.View) bool { return len(v.Prices()) == 2 })
	if e.svc.Stats().Resets != 1 {
		t.Errorf("resets %d", e.svc.Stats().Resets)
	}
}

func TestPermitRemoveAndPersistence(t *testing.T) {
	e := startEnv(t, nil)
	e.joinIHD()
	if err := e.svc.Permit(context.Background(), 0x1122, []byte{1, 2, 3}, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The device list survives a restart of the service.
	svc2, err := New(e.st, &Options{NCP: newFakeNCP(), Meters: []Meter{{ID: elec}}})
	if err != nil {
		t.Fatal(err)
	}
	if ds := svc2.Devices(); len(ds) != 1 || ds[0].EUI64 != ihdEUI {
		t.Errorf("reloaded devices %+v", ds)
	}
	if err := e.svc.Remove(context.Background(), ihdEUI); err != nil {
		t.Fatal(err)
	}
	if len(e.svc.Devices()) != 0 {
		t.Errorf("devices after remove: %+v", e.svc.Devices())
	}
	if err := e.svc.Remove(context.Background(), ihdEUI); err == nil {
		t.Error("removing an unknown device: no error")
	}
	e.ncp.mu.Lock()
	defer e.ncp.mu.Unlock()
	if len(e.ncp.permits) != 1 || len(e.ncp.removed) != 1 || e.ncp.removed[0].NWK != ihdNWK {
		t.Errorf("permits %v removed %v", e.ncp.permits, e.ncp.removed)
	}
}

func TestNewErrors(t *testing.T) {
	st := openStore(t)
	for _, o := range []*Options{nil, {NCP: newFakeNCP()}, {NCP: newFakeNCP(), Meters: []Meter{{ID: "x", Kind: "heat"}}},
		{NCP: newFakeNCP(), Meters: []Meter{{ID: ""}}}, {NCP: newFakeNCP(), Meters: []Meter{{ID: "x"}}, MaxPayload: 10}} {
		if _, err := New(st, o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}
